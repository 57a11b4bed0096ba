/**
 * Every tunable of one TCP connection, with Linux-like defaults. The public
 * API validates user input against a zod schema in `src/net/`; the core only
 * sees this plain, already-valid object.
 *
 * @module
 */

import type { Duration } from "../time.ts";
import { LIBRARY_DEFAULT_CONGESTION } from "./congestion/defaults.ts";

/** Tunables of a TCP connection. All durations in ms, sizes in bytes. */
export interface TcpConfig {
  /** Largest TCP segment (header + options + payload) that fits one datagram, after the envelope. Default 1452 - 4 (envelope). */
  readonly segmentBudget: number;
  /** Send buffer size. Default 4 MiB. */
  readonly sendBufferSize: number;
  /** Receive buffer size (bounds RCV.WND and reassembly memory). Default 4 MiB. */
  readonly recvBufferSize: number;
  /** Maximum segment lifetime; TIME_WAIT lasts 2·MSL. Default 30 s (Linux TIME_WAIT is 60 s). */
  readonly msl: Duration;
  /** FIN_WAIT_2 timeout for an orphaned (fully closed) socket. Default 60 s (tcp_fin_timeout). */
  readonly finWait2Timeout: Duration;
  /** Initial RTO (RFC 6298 §2.1). Default 1000. */
  readonly rtoInitial: Duration;
  /**
   * RTO once data transmission begins after a retransmitted SYN or SYN-ACK
   * when no RTT sample exists (RFC 6298 §5.7; Linux TCP_TIMEOUT_FALLBACK).
   * Only raises the RTO: a larger `rtoInitial` stays. Default 3000.
   */
  readonly rtoFallback: Duration;
  /** Lower bound of RTO. Default 200 (Linux; RFC 6298 says 1 s). */
  readonly rtoMin: Duration;
  /** Upper bound of RTO. Default 120 000. */
  readonly rtoMax: Duration;
  /** SYN retransmissions before giving up (tcp_syn_retries). Default 6. */
  readonly synRetries: number;
  /** SYN-ACK retransmissions (tcp_synack_retries). Default 5. */
  readonly synAckRetries: number;
  /** Data retransmissions before the connection is aborted (tcp_retries2). Default 15. */
  readonly retries: number;
  /**
   * Retransmissions of an orphaned connection (after `close()`: its FIN and
   * any data still unacknowledged) before it is aborted (tcp_orphan_retries).
   * Default 0, which means 8, as Linux (`tcp_orphan_retries()`).
   */
  readonly orphanRetries: number;
  /**
   * User timeout (RFC 9293 §3.8.3 "USER TIMEOUT", RFC 5482; Linux
   * TCP_USER_TIMEOUT): the connection is
   * aborted when data, a SYN or a FIN stays unacknowledged, or zero-window
   * probes stay unanswered, this long without progress; the retransmission
   * timer is clamped so that this happens on time. 0 turns it off (the
   * retry counts alone decide). Default 0.
   */
  readonly userTimeout: Duration;
  /**
   * Anti-amplification (RFC 9000 §8.1 in spirit): until the peer has
   * acknowledged our SYN, a passive open sends at most this many times the
   * bytes it received from the peer; a SYN-ACK retransmission that would
   * exceed it is skipped (a retransmitted SYN from the peer raises the
   * allowance). Bounds what a replayed or spoofed SYN draws. 0 turns it off.
   * Default 0.
   */
  readonly amplificationLimit: number;
  /** Delayed-ACK timeout; 0 disables delayed ACKs. Default 40 (Linux ATO min), at most 200. */
  readonly delayedAck: Duration;
  /** Disable Nagle's algorithm (TCP_NODELAY). Default false. */
  readonly noDelay: boolean;
  /**
   * Request/response ACKs: let two ACKs wait, as delayed ACKs, for the next
   * segment we send. The ACK of the peer's FIN on an ESTABLISHED connection
   * (an application that closes on EOF then sends one FIN+ACK instead of an
   * ACK and a FIN: Linux's pingpong mode after a FIN), and the ACK of a
   * SYN-ACK that acknowledged all our Fast Open data when we have nothing
   * more to send (the answer is due within a round trip and takes the ACK
   * along). Off: both are ACKed at once. Default false.
   */
  readonly lazyAcks: boolean;
  /** Keepalive on (SO_KEEPALIVE). Default false. */
  readonly keepAlive: boolean;
  /** Idle time before the first keepalive probe (tcp_keepalive_time). Default 7 200 000. */
  readonly keepAliveIdle: Duration;
  /** Interval between probes (tcp_keepalive_intvl). Default 75 000. */
  readonly keepAliveInterval: Duration;
  /** Unanswered probes before the peer is declared dead (tcp_keepalive_probes). Default 9. */
  readonly keepAliveCount: number;
  /** Offer/accept window scaling (RFC 7323). Default true. */
  readonly windowScaling: boolean;
  /** Offer/accept timestamps (RFC 7323). Default true. */
  readonly timestamps: boolean;
  /** Offer/accept SACK (RFC 2018). Default true. */
  readonly sack: boolean;
  /** Congestion control algorithm name. Default `LIBRARY_DEFAULT_CONGESTION` ("cubic" once registered, else "newreno"). */
  readonly congestionControl: string;
  /**
   * Pace data segments at gain·cwnd/SRTT (2 in slow start, 1.2 in congestion
   * avoidance, as Linux) instead of sending a window back to back. Default true.
   */
  readonly pacing: boolean;
  /** Most segments paced data may send back to back (the token bucket). Default 32. */
  readonly pacingBurst: number;
  /**
   * The pacing bucket also holds this many ms of data at the pacing rate when
   * that exceeds `pacingBurst` segments (Linux sizes a burst to ≈ 1 ms at the
   * rate): a real runtime's timers fire 1–2 ms late, and a smaller bucket
   * would cap the rate at one burst per wake-up. 0: `pacingBurst` only.
   * Default 2.
   */
  readonly pacingHorizon: number;
  /**
   * Loss rate in percent above which a congestion controller that compares
   * loss with a threshold (BBR) reads it as congestion; 0: the algorithm's
   * own (BBR 2 %). The tunnel sets 10: its paths have random loss. Default 0.
   */
  readonly lossTolerance: number;
  /** Initial congestion window in segments (RFC 6928). Default 10. */
  readonly initialCwnd: number;
  /**
   * Initial congestion window in bytes instead of segments, rounded down to
   * whole segments of the connection's MSS, at least one (RFC 3390 / RFC
   * 6928 give it in bytes). 0: use `initialCwnd`. Default 0.
   */
  readonly initialWindowBytes: number;
  /**
   * Ignore a RST in TIME_WAIT (RFC 1337: the TIME-WAIT assassination
   * hazard). Off: an exact RST closes TIME_WAIT at once (RFC 9293
   * §3.10.7.4; Linux `tcp_rfc1337=0`). Default true.
   */
  readonly rfc1337: boolean;
  /** Challenge ACKs allowed per second (RFC 5961 §7, tcp_challenge_ack_limit). Default 1000. */
  readonly challengeAckLimit: number;
  /** Largest out-of-order segments held for reassembly, as a count of ranges. Default 64. */
  readonly maxOutOfOrderRanges: number;
  /**
   * Auto-tune the receive window (rcv_autotune.ts): offer what the reader
   * consumes per RTT (×2 and more while it rises), growing up to
   * `recvBufferSize`. Default: on when `recvBufferSize` is at least the
   * default 4 MiB; a smaller buffer is a fixed window, as Linux's SO_RCVBUF.
   */
  readonly recvAutoTune?: boolean;
}

/** Bytes of the tou encapsulation header in front of every TCP segment. */
export const ENVELOPE_HEADER_LEN = 4;

/** Linux-like defaults. */
export const DEFAULT_TCP_CONFIG: TcpConfig = Object.freeze({
  segmentBudget: 1452 - ENVELOPE_HEADER_LEN,
  sendBufferSize: 4 * 1024 * 1024,
  recvBufferSize: 4 * 1024 * 1024,
  msl: 30_000,
  finWait2Timeout: 60_000,
  rtoInitial: 1_000,
  rtoFallback: 3_000,
  rtoMin: 200,
  rtoMax: 120_000,
  synRetries: 6,
  synAckRetries: 5,
  retries: 15,
  orphanRetries: 0,
  userTimeout: 0,
  amplificationLimit: 0,
  delayedAck: 40,
  noDelay: false,
  lazyAcks: false,
  keepAlive: false,
  keepAliveIdle: 7_200_000,
  keepAliveInterval: 75_000,
  keepAliveCount: 9,
  windowScaling: true,
  timestamps: true,
  sack: true,
  congestionControl: LIBRARY_DEFAULT_CONGESTION,
  pacing: true,
  pacingBurst: 32,
  pacingHorizon: 2,
  lossTolerance: 0,
  initialCwnd: 10,
  initialWindowBytes: 0,
  rfc1337: true,
  challengeAckLimit: 1000,
  maxOutOfOrderRanges: 64,
});

/**
 * Fills in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tcpConfig } from "./config.ts";
 * assert.equal(tcpConfig({ msl: 1000 }).msl, 1000);
 * assert.equal(tcpConfig().synRetries, 6);
 * ```
 */
export function tcpConfig(overrides: Partial<TcpConfig> = {}): TcpConfig {
  return { ...DEFAULT_TCP_CONFIG, ...overrides };
}

/**
 * The initial window in segments for an MSS: `initialWindowBytes` rounded
 * down to whole segments (at least one) when set, else `initialCwnd`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initialWindowSegments, tcpConfig } from "./config.ts";
 * assert.equal(initialWindowSegments(tcpConfig(), 1400), 10);
 * assert.equal(initialWindowSegments(tcpConfig({ initialWindowBytes: 14600 }), 1400), 10);
 * assert.equal(initialWindowSegments(tcpConfig({ initialWindowBytes: 4000 }), 1400), 2);
 * assert.equal(initialWindowSegments(tcpConfig({ initialWindowBytes: 100 }), 1400), 1);
 * ```
 */
export function initialWindowSegments(config: TcpConfig, mss: number): number {
  if (config.initialWindowBytes <= 0) return config.initialCwnd;
  return Math.max(1, Math.floor(config.initialWindowBytes / Math.max(1, mss)));
}

/**
 * Retransmissions an orphaned connection makes before it is aborted: the
 * configured `orphanRetries`, or 8 when it is 0 (Linux `tcp_orphan_retries()`
 * for a connection whose RTO has not yet reached its maximum).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orphanRetryLimit, tcpConfig } from "./config.ts";
 * assert.equal(orphanRetryLimit(tcpConfig()), 8);
 * assert.equal(orphanRetryLimit(tcpConfig({ orphanRetries: 2 })), 2);
 * ```
 */
export function orphanRetryLimit(config: TcpConfig): number {
  return config.orphanRetries === 0 ? 8 : config.orphanRetries;
}
