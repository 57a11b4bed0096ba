/**
 * The option bags and counters of a {@linkcode Stack}: what the layer above
 * passes in (already validated by `src/net/`) and what the stack reports, like
 * `netstat -s`. The behaviour behind each option is described in docs/stack.md.
 *
 * @module
 */

import type { TcpConfig } from "../tcp/config.ts";
import type { FastOpenCache } from "./fast_open_cookies.ts";

/** Options of a stack. Validation of user input happens in `src/net/`. */
export interface StackOptions {
  /** TCP tunables for every connection of this stack. */
  readonly tcp?: Partial<TcpConfig>;
  /** Ephemeral port range for active opens. Default 32768–60999. */
  readonly ephemeralPortRange?: readonly [number, number];
  /** Bound of each listener's SYN queue (tcp_max_syn_backlog). Default 256. */
  readonly synQueueLimit?: number;
  /** Answer a handshake-completing ACK with RST when the accept queue is full (tcp_abort_on_overflow). */
  readonly abortOnOverflow?: boolean;
  /**
   * SYN cookies (Linux tcp_syncookies): 0 off, 1 when a listener's SYN queue
   * is full (default), 2 for every SYN.
   */
  readonly synCookies?: number;
  /**
   * tcp_tw_reuse: 0 never, 1 always, 2 only when the peer (or we) is a
   * loopback address: `connect()` may take a 4-tuple still in TIME_WAIT when
   * that connection used timestamps and its last one is at least 1 s old.
   * Default 2, as Linux.
   */
  readonly twReuse?: number;
  /**
   * tcp_max_tw_buckets: TIME_WAIT connections at most; past it a connection
   * that would enter TIME_WAIT is closed at once (`timeWaitOverflow`).
   * Default 131072 (Linux sizes it from memory: half its connection hash).
   */
  readonly maxTwBuckets?: number;
  /** net.core.somaxconn: `listen()`'s backlog is capped at it. Default 4096, as Linux ≥ 5.4. */
  readonly somaxconn?: number;
  /** 16-byte secret for RFC 6528 ISNs. Default: random from the runtime. */
  readonly isnSecret?: Uint8Array;
  /** Close the datagram socket when the stack closes. Default true. */
  readonly ownsSocket?: boolean;
  /**
   * When the runtime can `defer` (real runtimes), drain a connection once per
   * receive batch instead of once per datagram, so that one cumulative ACK
   * answers every in-order segment of the batch. Default true.
   */
  readonly coalesceAcks?: boolean;
  /**
   * TCP Fast Open (RFC 7413) on listeners: answer cookie requests and take
   * data from SYNs with a valid cookie. Default false.
   */
  readonly fastOpen?: boolean;
  /** The client's Fast Open cookie cache. Default: the process-wide one. */
  readonly fastOpenCache?: FastOpenCache;
  /**
   * Fast Open connections per listener that took a SYN's data and have not
   * completed their handshake, at most (RFC 7413 §5.1; Linux TCP_FASTOPEN's
   * `qlen`, `max_qlen`); above it a SYN's data is ignored and a normal
   * handshake proceeds. Applies to listeners opened afterwards. Default 256.
   */
  readonly fastOpenQueueLimit?: number;
  /**
   * Connections the listeners hold at most (SYN_RCVD to LAST_ACK, not
   * TIME_WAIT); past it a SYN is answered with a RST (`connLimitRefused`).
   * 0 (default) no limit. See `limits.ts`.
   */
  readonly maxConnections?: number;
  /** As `maxConnections`, per peer IP address (`connLimitPerAddrRefused`). 0 (default) no limit. */
  readonly maxConnectionsPerAddr?: number;
  /**
   * Bytes for the send and receive buffers of all connections: each (not in
   * TIME_WAIT, which holds no buffers) gets an equal share (windows shrink
   * as connections are added); a SYN is refused
   * with a RST when a share would fall below 4 KiB per direction
   * (`memoryRefused`). 0 (default) no budget. See `limits.ts`.
   */
  readonly memoryBudget?: number;
}

/**
 * Tunables a live stack can change (`Stack.reconfigure`): TCP
 * tunables apply to connections opened afterwards, `synQueueLimit` to
 * listeners opened afterwards, the rest at once.
 */
export interface StackReconfigure {
  /** TCP tunables merged into the stack's configuration. */
  readonly tcp?: Partial<TcpConfig>;
  /** Ephemeral port range for active opens. */
  readonly ephemeralPortRange?: readonly [number, number];
  /** Bound of each new listener's SYN queue. */
  readonly synQueueLimit?: number;
  /** Answer a handshake-completing ACK with RST when the accept queue is full. */
  readonly abortOnOverflow?: boolean;
  /** SYN cookies: 0 off, 1 when the SYN queue is full, 2 always. */
  readonly synCookies?: number;
  /** tcp_tw_reuse (0, 1 or 2) for connects from now on. */
  readonly twReuse?: number;
  /** tcp_max_tw_buckets for connections entering TIME_WAIT from now on. */
  readonly maxTwBuckets?: number;
  /** somaxconn for listeners opened afterwards. */
  readonly somaxconn?: number;
  /** TCP Fast Open on listeners, for SYNs arriving from now on. */
  readonly fastOpen?: boolean;
  /** Bound of each new listener's Fast Open pending queue. */
  readonly fastOpenQueueLimit?: number;
  /** Drain once per receive batch when the runtime can `defer`. */
  readonly coalesceAcks?: boolean;
  /** Connection cap of the listeners (new connections only). */
  readonly maxConnections?: number;
  /** Per-address connection cap of the listeners (new connections only). */
  readonly maxConnectionsPerAddr?: number;
  /** Buffer memory budget; shares are recomputed at once. */
  readonly memoryBudget?: number;
}

/** Which connection an ISN set with `Stack.setNextIsn` is for: its 4-tuple. */
export interface IsnTuple {
  /** The peer's datagram address. */
  readonly remote: { readonly hostname: string; readonly port: number };
  /** Our TCP port. */
  readonly localPort: number;
  /** The peer's TCP port. */
  readonly remotePort: number;
}

/**
 * Stack-wide counters (like `netstat -s`).
 *
 * @example Counting the RST answered to a SYN for a closed port
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestbed } from "../testing/mod.ts";
 * const tb = createTestbed();
 * const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 81 });
 * peer.send({ flags: "S", seq: 1 });
 * assert.equal(tb.stack.counters.rstsForNoSocket, 1);
 * tb.close();
 * ```
 */
export interface StackCounters {
  /** Datagrams received. */
  datagramsIn: number;
  /** Segments sent. */
  segmentsOut: number;
  /** Segments handed to connections or listeners. */
  segmentsIn: number;
  /** Datagrams whose envelope did not parse. */
  badEnvelopes: number;
  /** Segments that did not parse (incl. bad checksums). */
  badSegments: number;
  /** RSTs sent for segments that matched no socket. */
  rstsForNoSocket: number;
  /** Segments that matched no socket. */
  noSocket: number;
  /** Connections opened actively. */
  activeOpens: number;
  /** Connections opened passively. */
  passiveOpens: number;
  /** TIME_WAIT connections replaced by a new SYN (RFC 6191-like). */
  timeWaitRecycled: number;
  /** TIME_WAIT 4-tuples taken over by `connect()` (tcp_tw_reuse; Linux TWRecycled). */
  timeWaitReused: number;
  /** Connections closed instead of entering TIME_WAIT (tcp_max_tw_buckets; Linux TCPTimeWaitOverflow). */
  timeWaitOverflow: number;
  /** Control datagrams (non-TCP envelopes) received. */
  controlIn: number;
  /** SYNs whose Fast Open data was taken (Linux TCPFastOpenPassive). */
  fastOpenPassive: number;
  /** SYNs with an invalid Fast Open cookie (Linux TCPFastOpenPassiveFail). */
  fastOpenPassiveFail: number;
  /** Our SYNs whose data the peer acknowledged (Linux TCPFastOpenActive). */
  fastOpenActive: number;
  /** Our SYNs whose data the peer did not acknowledge (Linux TCPFastOpenActiveFail). */
  fastOpenActiveFail: number;
  /** SYNs refused with a RST: the listeners hold `maxConnections`. */
  connLimitRefused: number;
  /** SYNs refused with a RST: the peer address holds `maxConnectionsPerAddr`. */
  connLimitPerAddrRefused: number;
  /** SYNs refused with a RST: one more connection would get less than 4 KiB of `memoryBudget` per direction. */
  memoryRefused: number;
  /** Times the buffer shares fell below the configured buffer sizes (windows clamped by `memoryBudget`). */
  memoryPressure: number;
  /** Embryonic (SYN_RCVD) connections that timed out: the handshake never completed. */
  halfOpenExpired: number;
  /** Connections reset by their idle timeout (`idleTimeout`). */
  idleExpired: number;
}

/**
 * A fresh set of counters, all zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zeroCounters } from "./stack_options.ts";
 * assert.equal(zeroCounters().segmentsOut, 0);
 * ```
 */
export function zeroCounters(): StackCounters {
  return {
    datagramsIn: 0,
    segmentsOut: 0,
    segmentsIn: 0,
    badEnvelopes: 0,
    badSegments: 0,
    rstsForNoSocket: 0,
    noSocket: 0,
    activeOpens: 0,
    passiveOpens: 0,
    timeWaitRecycled: 0,
    timeWaitReused: 0,
    timeWaitOverflow: 0,
    controlIn: 0,
    fastOpenPassive: 0,
    fastOpenPassiveFail: 0,
    fastOpenActive: 0,
    fastOpenActiveFail: 0,
    connLimitRefused: 0,
    connLimitPerAddrRefused: 0,
    memoryRefused: 0,
    memoryPressure: 0,
    halfOpenExpired: 0,
    idleExpired: 0,
  };
}

/** Options of `Stack.connect`. */
export interface StackConnectOptions {
  /** Local TCP port; default an ephemeral one. */
  readonly localPort?: number;
  /** Allow a local port that TIME_WAIT connections still use (SO_REUSEADDR). */
  readonly reuseAddress?: boolean;
  /**
   * TCP Fast Open (RFC 7413): with a cached cookie for this server the SYN
   * carries the first bytes written (and, with `holdSyn`, waits for them:
   * TCP_FASTOPEN_CONNECT); without one it asks for a cookie.
   */
  readonly fastOpen?: { readonly holdSyn?: boolean };
}

/** Options of `Stack.listen`. */
export interface StackListenOptions {
  /** Accept-queue bound, capped at the stack's `somaxconn`. Default 128. */
  readonly backlog?: number;
  /** Allow listening while TIME_WAIT connections use the port (SO_REUSEADDR). */
  readonly reuseAddress?: boolean;
  /**
   * SO_REUSEPORT: several listeners may share the port when each sets it;
   * new connections are spread among them by a hash of the 4-tuple (Linux
   * `reuseport_select_sock`).
   */
  readonly reusePort?: boolean;
}
