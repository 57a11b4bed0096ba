/**
 * A tou stack: one datagram socket carrying many TCP connections.
 *
 * Flow (quinn-style driver): a datagram comes in → envelope and segment are
 * decoded → demux by (remote datagram address, local port, remote port) →
 * `handleSegment` → {@linkcode Stack.process} drains `pollTransmit` (each
 * segment encoded straight into one reusable buffer and sent), then
 * `pollEvent`, then re-reads `pollTimeout` into one timer queue. The stack
 * arms a single runtime timer at the earliest deadline of all connections.
 *
 * The same code runs over real UDP and over the simulator: the socket and
 * the runtime are injected.
 *
 * About 1,300 lines, kept in one class on purpose: the receive path, the
 * drain loop (with end-of-batch ACK coalescing), the timer queue, the
 * listener paths (SYN cookies, Fast Open, TIME_WAIT reuse and its table
 * limit) and the limits (connection caps, memory budget shares) all read
 * and change the same private connection, listener and port tables; moving
 * a path out would mean exposing those tables. What needs none of them
 * lives elsewhere: options and counters (`stack_options.ts`), listeners,
 * ports, ISNs, tracing, the Fast Open cookie jar and cache
 * (`fast_open_cookies.ts`), the SYN-cookie arithmetic
 * (`../tcp/syn_cookie.ts`) and the limits' counting and share arithmetic
 * (`limits.ts`).
 *
 * @module
 */

import { DEFAULT_TCP_CONFIG, type TcpConfig } from "../tcp/config.ts";
import { type FastOpenParams, TcpConnection } from "../tcp/connection.ts";
import type { TcpEvent } from "../tcp/events.ts";
import { generateIsn, type IsnTuple as TcpTuple } from "../tcp/isn.ts";
import {
  cookieConnection,
  cookieSynAck,
  SYN_COOKIE_MAX_AGE,
  SYN_COOKIE_PERIOD_MS,
  SynCookieJar,
} from "../tcp/syn_cookie.ts";
import { siphash24Low32 } from "../tcp/siphash.ts";
import { ACK, PSH, RST, SYN } from "../wire/tcp_flags.ts";
import { type Seq, seq, seqAdd } from "../wire/seq.ts";
import { segmentSeqLen, type TcpSegment } from "../wire/tcp_segment.ts";
import { decodeSegment, emitSegment, segmentEncodedLength } from "../wire/tcp_codec.ts";
import { WireError } from "../wire/wire_error.ts";
import {
  emitEnvelope,
  ENVELOPE_HEADER_LEN,
  EnvelopeType,
  parseEnvelope,
} from "../wire/envelope.ts";
import type { DatagramAddr, DatagramSocket } from "../udp/datagram_socket.ts";
import { AddrInUseError } from "../udp/errors.ts";
import type { Runtime, TimerId } from "./runtime.ts";
import { TimerQueue } from "./timer_queue.ts";
import { DEFAULT_EPHEMERAL_RANGE, pickEphemeralPort } from "./ports.ts";
import {
  addrKey,
  type ConnectionDriver,
  formatTuple,
  portsKey,
  StackConnection,
  tupleKey,
} from "./stack_connection.ts";
import { StackListener } from "./stack_listener.ts";
import { bufferShare, ConnectionLimits, MIN_BUFFER_SHARE } from "./limits.ts";
import { type TcpDropCounters, zeroDropCounters } from "../tcp/drop_counters.ts";
import { FastOpenCache, FastOpenCookies, SHARED_FAST_OPEN_CACHE } from "./fast_open_cookies.ts";
import {
  type IsnTuple,
  type StackConnectOptions,
  type StackCounters,
  type StackListenOptions,
  type StackOptions,
  type StackReconfigure,
  zeroCounters,
} from "./stack_options.ts";
import type { StackTracer } from "./trace.ts";

export type { TcpDropCounters } from "../tcp/drop_counters.ts";
export type {
  IsnTuple,
  StackConnectOptions,
  StackCounters,
  StackListenOptions,
  StackOptions,
  StackReconfigure,
} from "./stack_options.ts";

const TX_BUFFER_SIZE = 65_536 + ENVELOPE_HEADER_LEN;

/** The first two bytes of a version-0 TCP segment envelope without extension fields. */
const [TCP_HEAD0, TCP_HEAD1] = (() => {
  const h = new Uint8Array(ENVELOPE_HEADER_LEN);
  emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, h, 0);
  return h;
})();

/**
 * One datagram socket, many TCP connections.
 *
 * @example Two stacks on a simulated network
 * ```ts
 * import assert from "node:assert/strict";
 * import { Stack } from "./stack.ts";
 * import { SimNetwork } from "../sim/sim_network.ts";
 * import { VirtualClock } from "../sim/virtual_clock.ts";
 *
 * const clock = new VirtualClock({ seed: 1 });
 * const net = new SimNetwork(clock);
 * const a = new Stack(net.bind({ hostname: "127.0.0.1", port: 7000 }), clock);
 * const b = new Stack(net.bind({ hostname: "127.0.0.2", port: 0 }), clock);
 * const l = a.listen(22);
 * const c = b.connect({ hostname: "127.0.0.1", port: 7000 }, 22);
 * clock.runUntilIdle();
 * assert.equal(c.state, "ESTABLISHED");
 * assert.equal(l.accept()?.state, "ESTABLISHED");
 * a.close();
 * b.close();
 * ```
 */
export class Stack implements ConnectionDriver {
  /** The datagram socket. */
  readonly socket: DatagramSocket;
  /** Clock, timers, randomness. */
  readonly runtime: Runtime;
  #config: TcpConfig;
  /** Counters. */
  readonly counters: StackCounters = zeroCounters();
  #tracer: StackTracer | undefined;
  /** Whether the tracer has `onTrace`: then every connection makes trace events. */
  #tracing = false;

  /** Every connection, in the order they were added. */
  #conns = new Set<StackConnection>();
  /**
   * Demux: by remote hostname, then by {@linkcode portsKey} (remote UDP
   * port, local and remote TCP port): no key string per datagram.
   */
  #demux = new Map<string, Map<number, StackConnection>>();
  /** The connection the last datagram went to, and its address and key (bulk transfers hit it). */
  #lastConn: StackConnection | undefined;
  #lastFrom: DatagramAddr | undefined;
  /** The remote address object of the last passive connection (see `#remoteOf`). */
  #lastRemote: DatagramAddr | undefined;
  #lastKey = -1;
  /** False under a socket that authenticates every byte (no TCP checksum, docs/wire-format.md). */
  readonly #checksums: boolean;
  /** Listeners by port: one, or several SO_REUSEPORT ones. */
  #listeners = new Map<number, StackListener[]>();
  /** Counters of the listeners closed so far, summed (they stay in the totals, as counters must). */
  #closedListenerCounters: Record<string, number> = {};
  /** The listener of each passive connection still in its queues. */
  #listenerOf = new Map<StackConnection, StackListener>();
  /** Connections in TIME_WAIT (tcp_max_tw_buckets counts them). */
  #timeWait = new Set<StackConnection>();
  /** Connections not in TIME_WAIT: the ones whose buffers a memory budget pass bounds. */
  #live = new Set<StackConnection>();
  /** Key of the SO_REUSEPORT hash; drawn when first needed. */
  #reusePortKey: Uint8Array | undefined;
  #portUse = new Map<number, number>(); // local port → connections using it
  #timers = new TimerQueue<StackConnection>();
  #armedAt = Number.POSITIVE_INFINITY;
  #armedId: TimerId | undefined;
  #tx = new Uint8Array(TX_BUFFER_SIZE);
  #isnSecret: Uint8Array;
  /** ISNs for the next connections, in order (test seam). */
  #isnQueue: Seq[] = [];
  /** ISNs bound to a 4-tuple (test seam), by tuple key. */
  #isnByTuple = new Map<string, Seq>();
  /** Scratch of `#random32`. */
  readonly #rand4 = new Uint8Array(4);
  #range: readonly [number, number];
  #synQueueLimit: number;
  #fastOpenQueueLimit: number;
  #abortOnOverflow: boolean;
  #synCookies: number;
  #cookieJar: SynCookieJar | undefined;
  #twReuse: number;
  #maxTwBuckets: number;
  #somaxconn: number;
  #ownsSocket: boolean;
  #processing: StackConnection | undefined;
  /** Connections whose drain waits for the end of the receive batch. */
  #deferred: StackConnection[] = [];
  #deferBound: (() => void) | undefined;
  #again = false;
  #closed = false;
  #localAddrText: string;
  #fastOpen: boolean;
  #fastOpenCache: FastOpenCache;
  #cookies: FastOpenCookies | undefined;
  #limits: ConnectionLimits;
  #memoryBudget: number;
  /** The exact per-direction buffer share of `memoryBudget` now (Infinity: no budget in force). */
  #share = Number.POSITIVE_INFINITY;
  /** The share connections are given: `#share` with headroom (see `#rebalance`). */
  #target = Number.POSITIVE_INFINITY;
  /** The largest share any connection holds since the last pass over all of them. */
  #maxApplied = Number.POSITIVE_INFINITY;
  #pressure = false;
  #closing = false;
  /** Drop counters of the connections already released. */
  #goneDrops: TcpDropCounters = zeroDropCounters();

  /** Creates a stack over `socket`, driven by `runtime`. */
  constructor(socket: DatagramSocket, runtime: Runtime, options: StackOptions = {}) {
    this.socket = socket;
    this.runtime = runtime;
    this.#config = { ...DEFAULT_TCP_CONFIG, ...options.tcp };
    this.#range = options.ephemeralPortRange ?? DEFAULT_EPHEMERAL_RANGE;
    this.#synQueueLimit = options.synQueueLimit ?? 256;
    this.#fastOpenQueueLimit = options.fastOpenQueueLimit ?? 256;
    this.#abortOnOverflow = options.abortOnOverflow ?? false;
    this.#synCookies = options.synCookies ?? 1;
    this.#twReuse = options.twReuse ?? DEFAULT_TW_REUSE;
    this.#maxTwBuckets = options.maxTwBuckets ?? DEFAULT_MAX_TW_BUCKETS;
    this.#somaxconn = options.somaxconn ?? DEFAULT_SOMAXCONN;
    this.#ownsSocket = options.ownsSocket ?? true;
    this.#limits = new ConnectionLimits(
      options.maxConnections ?? 0,
      options.maxConnectionsPerAddr ?? 0,
    );
    this.#memoryBudget = options.memoryBudget ?? 0;
    if (options.isnSecret) {
      this.#isnSecret = options.isnSecret;
    } else {
      this.#isnSecret = new Uint8Array(16);
      runtime.randomBytes(this.#isnSecret);
    }
    this.#localAddrText = `${socket.localAddr.hostname}|${socket.localAddr.port}`;
    this.#checksums = socket.authenticated !== true;
    this.#fastOpen = options.fastOpen ?? false;
    this.#fastOpenCache = options.fastOpenCache ?? SHARED_FAST_OPEN_CACHE;
    this.#deferBound = runtime.defer !== undefined && (options.coalesceAcks ?? true)
      ? () => this.#flushDeferred()
      : undefined;
    socket.setHandler((data, from) => this.#onDatagram(data, from));
  }

  /** The local UDP address. */
  get localAddr(): DatagramAddr {
    return this.socket.localAddr;
  }

  /** True after {@linkcode Stack.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Every connection, including embryonic (SYN queue) and orphaned ones. */
  connections(): StackConnection[] {
    return [...this.#conns];
  }

  /** Every listener. */
  listeners(): StackListener[] {
    return [...this.#listeners.values()].flat();
  }

  /** The counters of every listener closed so far, summed (those of open ones: `listeners()`). */
  closedListenerCounters(): Readonly<Record<string, number>> {
    return this.#closedListenerCounters;
  }

  /** Finds a connection by its 4-tuple. */
  find(remote: DatagramAddr, localPort: number, remotePort: number): StackConnection | undefined {
    return this.#demux.get(remote.hostname)?.get(portsKey(remote.port, localPort, remotePort));
  }

  /** TCP configuration of the connections opened from now on. */
  get config(): TcpConfig {
    return this.#config;
  }

  /**
   * Changes tunables of a live stack: TCP tunables apply to connections
   * opened afterwards (a connection keeps the configuration it was opened
   * with), `synQueueLimit` to listeners opened afterwards, the rest at once.
   *
   * @param options What to change; absent fields stay.
   */
  reconfigure(options: StackReconfigure): void {
    if (options.tcp !== undefined) this.#config = { ...this.#config, ...options.tcp };
    if (options.ephemeralPortRange !== undefined) this.#range = options.ephemeralPortRange;
    if (options.synQueueLimit !== undefined) this.#synQueueLimit = options.synQueueLimit;
    if (options.fastOpen !== undefined) this.#fastOpen = options.fastOpen;
    if (options.fastOpenQueueLimit !== undefined) {
      this.#fastOpenQueueLimit = options.fastOpenQueueLimit;
    }
    if (options.abortOnOverflow !== undefined) this.#abortOnOverflow = options.abortOnOverflow;
    if (options.synCookies !== undefined) this.#synCookies = options.synCookies;
    if (options.twReuse !== undefined) this.#twReuse = options.twReuse;
    if (options.maxTwBuckets !== undefined) this.#maxTwBuckets = options.maxTwBuckets;
    if (options.somaxconn !== undefined) this.#somaxconn = options.somaxconn;
    if (options.coalesceAcks !== undefined) {
      this.#deferBound = this.runtime.defer !== undefined && options.coalesceAcks
        ? () => this.#flushDeferred()
        : undefined;
    }
    this.#limits.set(options.maxConnections, options.maxConnectionsPerAddr);
    if (options.memoryBudget !== undefined) {
      this.#memoryBudget = options.memoryBudget;
      this.#rebalance(true);
    }
  }

  /**
   * The drop counters of every connection (drop_counters.ts), live and
   * released, summed: the endpoint-level view of per-connection drops such as
   * RFC 5961 challenge ACKs and rate-limited invalid-segment ACKs.
   */
  dropCounters(): TcpDropCounters {
    const sum = { ...this.#goneDrops };
    for (const c of this.#conns) c.tcp.addDropCountersTo(sum);
    return sum;
  }

  /** Bytes of memory held by the send and receive buffers of every connection (a gauge). */
  bufferBytes(): number {
    let n = 0;
    for (const c of this.#conns) n += c.tcp.bufferBytes;
    return n;
  }

  /**
   * The per-direction buffer bound each connection gets from `memoryBudget`
   * now (`Infinity` without a budget; the configured sizes cap it).
   */
  get bufferShare(): number {
    return this.#share === Number.POSITIVE_INFINITY
      ? this.#share
      : Math.max(MIN_BUFFER_SHARE, this.#share);
  }

  /** Connections the connection caps count now (passive, not TIME_WAIT). */
  get cappedConnections(): number {
    return this.#limits.count;
  }

  /**
   * Test seam: fixes ISNs instead of the RFC 6528 ones. With a `tuple`, the
   * next connection on that 4-tuple gets `iss` (one-shot per tuple; it wins
   * over the queue). Without one, `iss` (or each of a list, in order) goes to
   * the next connections this stack creates, by `connect()` (their SYN) or by
   * a listener (their SYN-ACK); later ones get generated ISNs again. A call
   * without a tuple replaces the queue.
   *
   * @param iss One ISN or a queue of them.
   * @param tuple The 4-tuple the ISN is for.
   */
  setNextIsn(iss: number | readonly number[], tuple?: IsnTuple): void {
    if (tuple !== undefined) {
      if (typeof iss !== "number") throw new TypeError("setNextIsn: one ISN per 4-tuple");
      this.#isnByTuple.set(tupleKey(tuple.remote, tuple.localPort, tuple.remotePort), seq(iss));
      return;
    }
    this.#isnQueue = (typeof iss === "number" ? [iss] : [...iss]).map((n) => seq(n));
  }

  /**
   * The earliest timer deadline of all connections (`Infinity` when none):
   * the time the stack's one runtime timer will run connection timers next.
   */
  nextTimeout(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.#conns) min = Math.min(min, c.tcp.pollTimeout());
    return min;
  }

  /**
   * Listens on a TCP port.
   *
   * Binding rules (Linux): without `reuseAddress`, a port used by any
   * connection, even one in TIME_WAIT, is refused with an address-in-use
   * error; with it, only another listener conflicts, unless both set
   * `reusePort` (SO_REUSEPORT): then new connections are spread among the
   * listeners of the port by a hash of their 4-tuple. The backlog is capped
   * at `somaxconn` (Linux `__sys_listen`).
   */
  listen(port: number, options: StackListenOptions = {}): StackListener {
    this.#assertOpen();
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Cannot listen on tcp port ${port}: must be 1–65535`);
    }
    const group = this.#listeners.get(port);
    const sharing = group !== undefined && options.reusePort === true &&
      group.every((x) => x.reusePort);
    if (group !== undefined && !sharing) {
      throw new AddrInUseError(
        `Cannot listen on tcp port ${port}: a listener already uses it` +
          (options.reusePort ? " without reusePort" : ""),
      );
    }
    if (!options.reuseAddress && !sharing) {
      const inUse = this.#portUse.get(port) ?? 0;
      if (inUse > 0) {
        const tw = this.connections().some((c) => c.localPort === port && c.state === "TIME_WAIT");
        throw new AddrInUseError(
          `Cannot listen on tcp port ${port}: address in use by ${inUse} connection(s)` +
            (tw ? " (TIME_WAIT; set reuseAddress to allow)" : ""),
        );
      }
    }
    const l = new StackListener(
      port,
      Math.min(options.backlog ?? 128, this.#somaxconn), // Linux: min(backlog, somaxconn)
      this.#synQueueLimit,
      (x) => this.#closeListener(x),
      options.reusePort ?? false,
      this.#fastOpenQueueLimit,
    );
    if (group !== undefined) group.push(l);
    else this.#listeners.set(port, [l]);
    this.#tracer?.onListenerEvent?.(this.runtime.now(), l, {
      type: "state",
      from: "CLOSED",
      to: "LISTEN",
      cause: "listen()",
    });
    return l;
  }

  /** Starts an active open to TCP port `remotePort` at UDP address `remote`. */
  connect(
    remote: DatagramAddr,
    remotePort: number,
    options: StackConnectOptions = {},
  ): StackConnection {
    this.#assertOpen();
    let localPort = options.localPort;
    const now = this.runtime.now();
    let reused: StackConnection | undefined;
    if (localPort !== undefined && localPort !== 0) {
      const existing = this.find(remote, localPort, remotePort);
      if (existing && this.#twReusable(existing, now)) {
        reused = existing;
      } else if (existing) {
        throw new AddrInUseError(
          `Cannot connect ${formatTuple(existing)}: the 4-tuple is in use (${existing.state})`,
        );
      }
      const users = (this.#portUse.get(localPort) ?? 0) - (reused ? 1 : 0);
      if (!options.reuseAddress && users > 0) {
        throw new AddrInUseError(
          `Cannot bind tcp port ${localPort}: address in use (set reuseAddress to share it)`,
        );
      }
      if (this.#listeners.has(localPort) && !options.reuseAddress) {
        throw new AddrInUseError(`Cannot bind tcp port ${localPort}: a listener uses it`);
      }
    } else {
      const r = new Uint32Array(1);
      this.runtime.randomBytes(new Uint8Array(r.buffer));
      localPort = pickEphemeralPort(
        this.#range,
        r[0],
        (p) => {
          if (this.#listeners.has(p)) return false;
          const c = this.find(remote, p, remotePort);
          // Linux __inet_check_established: a TIME_WAIT 4-tuple may be taken over
          if (c !== undefined && this.#twReusable(c, now)) reused = c;
          return c === undefined || reused === c;
        },
      );
      if (localPort === undefined) {
        throw new AddrInUseError(
          `Cannot connect to ${remote.hostname}:${remote.port} tcp ${remotePort}: ` +
            `no free ephemeral port in ${this.#range[0]}–${this.#range[1]}`,
        );
      }
    }
    let fastOpen: FastOpenParams | undefined;
    if (options.fastOpen !== undefined) {
      // RFC 7413 §4.1.2: the cookie this server gave, else a cookie request
      const e = this.#fastOpenCache.get(addrKey(remote));
      fastOpen = e === undefined
        ? { cookie: NO_COOKIE }
        : { cookie: e.cookie, synDataMax: e.mss, holdSyn: options.fastOpen.holdSyn };
    }
    let iss: Seq;
    let tsOffset: number;
    if (reused !== undefined) {
      // tcp_tw_reuse (Linux tcp_twsk_unique): the new incarnation starts above
      // the old one's sequence space and keeps its timestamp clock, so its
      // TSvals are newer than anything the old one sent (PAWS, RFC 7323 §5)
      iss = reused.tcp.timeWaitReuseIss(now)!;
      tsOffset = reused.tcp.tsOffset;
      this.counters.timeWaitReused++;
      this.#release(reused);
    } else {
      iss = this.#takeIsn(remote, localPort, remotePort, now);
      tsOffset = this.#random32();
    }
    const tcp = TcpConnection.connect(now, {
      localPort,
      remotePort,
      iss,
      config: this.#config,
      tsOffset,
      fastOpen,
    });
    const c = new StackConnection(this, tcp, remote, undefined);
    this.#add(c);
    this.counters.activeOpens++;
    this.process(c);
    return c;
  }

  /** The runtime's current time (for app calls on connections). */
  now(): number {
    return this.runtime.now();
  }

  /**
   * Drains a connection at the end of the current I/O batch (with the
   * receive batch's connections; Linux's autocorking is the nearest kin):
   * an answer written and then half-closed in one task is one segment with
   * FIN, and several writes of one task share segments. Without a runtime
   * that can defer (or with `coalesceAcks` off), at once.
   */
  processSoon(c: StackConnection): void {
    if (this.#deferBound !== undefined) this.#deferDrain(c);
    else this.process(c);
  }

  /** Drains a connection's output and events and re-arms its timer. */
  process(c: StackConnection): void {
    if (this.#processing !== undefined) {
      // Re-entered from an event callback: let the outer loop go again.
      if (this.#processing === c) {
        this.#again = true;
        return;
      }
    }
    const outer = this.#processing;
    this.#processing = c;
    try {
      do {
        this.#again = false;
        this.#drain(c);
      } while (this.#again);
    } finally {
      this.#processing = outer;
    }
  }

  /**
   * Closes the stack as a process exit closes its sockets on Linux:
   * listeners stop (their queued connections are reset), and every live
   * connection is closed: a FIN when nothing unread is pending, a RST when
   * received data was never read (RFC 2525 §2.17, RFC 1122 4.2.2.13). Then
   * timers are cancelled and the socket is closed when the stack owns it, so
   * the FIN is sent once and never retransmitted. {@linkcode Stack.abort}
   * resets every connection instead (SO_LINGER 0). Idempotent.
   */
  close(): void {
    this.#shutdown(false);
  }

  /**
   * Closes the stack abortively: as {@linkcode Stack.close}, but every live
   * connection is reset (as `SO_LINGER` with a zero timeout). Idempotent.
   */
  abort(): void {
    this.#shutdown(true);
  }

  #shutdown(abortive: boolean): void {
    if (this.#closed) return;
    this.#closing = true;
    for (const l of this.listeners()) l.close();
    for (const c of [...this.#conns]) {
      if (c.state !== "CLOSED" && c.state !== "TIME_WAIT") {
        if (abortive) c.abort();
        else c.close();
      } // a connection that closed within the current receive batch still has its
      // events ("error", "closed") queued for the end-of-batch drain: deliver them
      else if (c.deferred) this.process(c);
      this.#release(c);
    }
    this.#closed = true;
    if (this.#armedId !== undefined) this.runtime.cancel(this.#armedId);
    this.#armedId = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    this.#timers.clear();
    if (this.#ownsSocket) this.socket.close();
  }

  // ---- internals -------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new Deno.errors.BadResource("The tou stack is closed");
  }

  #random32(): number {
    const b = this.#rand4;
    this.runtime.randomBytes(b);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  #takeIsn(remote: DatagramAddr, localPort: number, remotePort: number, now: number): Seq {
    if (this.#isnByTuple.size > 0) { // test seams: no key string per connection without them
      const key = tupleKey(remote, localPort, remotePort);
      const bound = this.#isnByTuple.get(key);
      if (bound !== undefined) {
        this.#isnByTuple.delete(key);
        return bound;
      }
    }
    if (this.#isnQueue.length > 0) return this.#isnQueue.shift()!;
    // RFC 6528 §3
    return generateIsn(this.#isnSecret, {
      localAddr: this.#localAddrText,
      localPort,
      remoteAddr: addrKey(remote),
      remotePort,
    }, now);
  }

  /**
   * Optional tracer: sees every segment in/out, every connection event and,
   * when it has `onTrace`, every connection's trace events (assigning one
   * with `onTrace` turns them on for all connections, now and later).
   */
  get tracer(): StackTracer | undefined {
    return this.#tracer;
  }
  set tracer(t: StackTracer | undefined) {
    this.#tracer = t;
    const on = t?.onTrace !== undefined;
    if (on === this.#tracing) return;
    this.#tracing = on;
    for (const c of this.#conns.values()) c.tcp.traced = on;
  }

  #add(c: StackConnection): void {
    if (this.#tracing) c.tcp.traced = true;
    const host = c.remote.hostname;
    let byPorts = this.#demux.get(host);
    if (byPorts === undefined) this.#demux.set(host, byPorts = new Map());
    const old = byPorts.get(c.key);
    if (old !== undefined) {
      this.#conns.delete(old); // replaced, as a map entry would be
      this.#live.delete(old);
    }
    this.#lastConn = this.#lastFrom = undefined;
    byPorts.set(c.key, c);
    this.#conns.add(c);
    this.#live.add(c);
    this.#portUse.set(c.localPort, (this.#portUse.get(c.localPort) ?? 0) + 1);
    if (c.listenerPort !== undefined) {
      c.capped = true;
      this.#limits.add(c.remote.hostname);
    }
    this.#rebalance(false);
    if (this.#target !== Number.POSITIVE_INFINITY) this.#applyShare(c);
  }

  #uncap(c: StackConnection): void {
    if (!c.capped) return;
    c.capped = false;
    this.#limits.remove(c.remote.hostname);
  }

  /**
   * The memory budget (limits.ts): every connection's buffers bounded by an
   * equal share; counts each entry into pressure (share below the configured sizes).
   *
   * Cheap per connection added or released (issue 15: a pass over every
   * connection whenever the quantised share moved cost 4–6 µs per short
   * connection of a tunnel, thousands of them in TIME_WAIT). Connections in
   * TIME_WAIT neither count in the share nor take part in a pass: their
   * buffers are given back and never grow again (`maxTwBuckets` bounds how
   * many there are); counting them refused every new SYN once a tunnel had
   * made ≈ 16 000 short connections in one 2MSL (128 MiB / 2 / 4 KiB).
   * Connections are given `#target`,
   * the share of an eighth more connections than there are, so that a count
   * going up and down across one share step starts no pass: it takes about
   * an eighth more connections than when one last got its share before the
   * others are shrunk again (a pass, `#maxApplied` above the exact share).
   * A share that grows is not pushed to every connection: each takes the
   * new target at its next drain (`#drain`) once that is over a quarter
   * above its own, and a new connection at once. The budget holds
   * throughout: no live connection may hold more than the exact share of
   * the present count.
   * `force` (a reconfiguration) applies the target to every connection now.
   */
  #rebalance(force: boolean): void {
    if (this.#closing || (this.#memoryBudget <= 0 && this.#share === Number.POSITIVE_INFINITY)) {
      return;
    }
    const n = this.#live.size;
    const share = bufferShare(this.#memoryBudget, n);
    const pressure = share < Math.max(this.#config.recvBufferSize, this.#config.sendBufferSize);
    if (pressure && !this.#pressure) this.counters.memoryPressure++;
    this.#pressure = pressure;
    if (share === this.#share && !force) return;
    this.#share = share;
    const target = bufferShare(this.#memoryBudget, n + (n >> 3));
    this.#target = target === Number.POSITIVE_INFINITY
      ? target
      : Math.max(MIN_BUFFER_SHARE, Math.min(target, this.bufferShare));
    if (!force && this.#maxApplied <= this.bufferShare) return;
    this.#maxApplied = this.#target;
    for (const c of this.#live) this.#applyShare(c);
  }

  /** Gives `c` the current target share (and counts it in `#maxApplied`). */
  #applyShare(c: StackConnection): void {
    const per = this.#target;
    if (per > this.#maxApplied) this.#maxApplied = per;
    if (c.memoryShare === per) return;
    c.memoryShare = per;
    c.tcp.setMemoryLimits(per, per);
  }

  /**
   * Whether the caps and the memory budget let one more passive connection
   * from `from` in; counts a refusal.
   */
  #admits(from: DatagramAddr): boolean {
    const v = this.#limits.admit(from.hostname);
    if (v === "total") this.counters.connLimitRefused++;
    else if (v === "addr") this.counters.connLimitPerAddrRefused++;
    else if (
      this.#memoryBudget > 0 &&
      bufferShare(this.#memoryBudget, this.#live.size + 1) < MIN_BUFFER_SHARE
    ) {
      this.counters.memoryRefused++;
    } else return true;
    return false;
  }

  #release(c: StackConnection): void {
    if (c.released) return;
    c.released = true;
    c.tcp.addDropCountersTo(this.#goneDrops);
    const byPorts = this.#demux.get(c.remote.hostname);
    if (byPorts !== undefined && byPorts.get(c.key) === c) {
      byPorts.delete(c.key);
      if (byPorts.size === 0) this.#demux.delete(c.remote.hostname);
    }
    this.#conns.delete(c);
    if (this.#lastConn === c) this.#lastConn = this.#lastFrom = undefined;
    const n = (this.#portUse.get(c.localPort) ?? 1) - 1;
    if (n <= 0) this.#portUse.delete(c.localPort);
    else this.#portUse.set(c.localPort, n);
    this.#timeWait.delete(c);
    this.#live.delete(c);
    this.#uncap(c);
    this.#rebalance(false);
    const l = this.#listenerOf.get(c);
    if (c.fastOpenPending) this.#fastOpenDone(c, l);
    if (l !== undefined) {
      this.#listenerOf.delete(c);
      l.synQueue.delete(c);
      const i = l.acceptQueue.indexOf(c);
      if (i >= 0) l.acceptQueue.splice(i, 1);
    }
  }

  #closeListener(l: StackListener): void {
    const group = this.#listeners.get(l.port);
    const at = group?.indexOf(l) ?? -1;
    if (group !== undefined && at >= 0) {
      group.splice(at, 1);
      if (group.length === 0) this.#listeners.delete(l.port);
      const sum = this.#closedListenerCounters;
      for (const [k, v] of Object.entries(l.counters)) {
        if (typeof v === "number") sum[k] = (sum[k] ?? 0) + v;
      }
    }
    this.#tracer?.onListenerEvent?.(this.runtime.now(), l, {
      type: "state",
      from: "LISTEN",
      to: "CLOSED",
      cause: "close()",
    });
    // As Linux (inet_csk_listen_stop) and gVisor on close(listen_fd): embryonic
    // connections (SYN_RCVD) are dropped silently, so a later ACK of the peer
    // draws a RST as for any unknown connection (RFC 9293 §3.10.7.1);
    // established ones never accepted are reset.
    for (const c of [...l.synQueue]) {
      c.tcp.discard(this.runtime.now(), "listener closed: embryonic connection dropped");
      this.process(c);
    }
    for (const c of [...l.acceptQueue]) c.abort();
    l.synQueue.clear();
    l.acceptQueue.length = 0;
  }

  #drain(c: StackConnection): void {
    const tcp = c.tcp;
    // a share grown by a quarter since (#rebalance; smaller steps wait, as they come and go)
    if (c.memoryShare * 1.25 < this.#target) this.#applyShare(c);
    const now = this.runtime.now();
    for (let seg = tcp.pollTransmit(now); seg !== undefined; seg = tcp.pollTransmit(now)) {
      if (this.#tracing) this.#fanOutTrace(c); // a retransmission's event before its segment
      this.#send(c.remote, seg, c);
    }
    if (this.#tracing) this.#fanOutTrace(c);
    for (let ev = tcp.pollEvent(); ev !== undefined; ev = tcp.pollEvent()) {
      this.#onEvent(c, ev);
    }
    if (c.released) return;
    const d = tcp.pollTimeout();
    if (d < c.queuedDeadline) {
      c.queuedDeadline = d;
      this.#timers.push(d, c);
      this.#arm();
    }
  }

  /** Hands a connection's queued trace events to the tracer. */
  #fanOutTrace(c: StackConnection): void {
    const now = this.runtime.now();
    const tcp = c.tcp;
    for (let ev = tcp.pollTrace(); ev !== undefined; ev = tcp.pollTrace()) {
      this.#tracer?.onTrace?.(now, c, ev);
    }
  }

  #onEvent(c: StackConnection, ev: TcpEvent): void {
    this.#tracer?.onEvent?.(this.runtime.now(), c, ev);
    switch (ev.type) {
      case "connected":
        if (c.embryonic) {
          c.embryonic = false;
          const l = this.#listenerOf.get(c);
          if (l !== undefined && !l.closed) {
            l.synQueue.delete(c);
            l.acceptQueue.push(c);
            c.onEvent?.(ev);
            l.onAcceptable?.();
            return;
          }
        }
        if (c.fastOpenPending) this.#fastOpenDone(c, this.#listenerOf.get(c));
        if (c.listenerPort === undefined && c.tcp.fastOpen !== undefined) this.#learnCookie(c);
        break;
      case "error":
        c.error = { kind: ev.kind, detail: ev.detail };
        if (c.tcp.idleExpired) this.counters.idleExpired++;
        else if (c.embryonic && ev.kind === "timed_out") this.counters.halfOpenExpired++;
        break;
      case "state":
        if (ev.to === "TIME_WAIT") {
          this.#uncap(c); // TIME_WAIT holds no session
          if (this.#timeWait.size >= this.#maxTwBuckets) {
            // tcp_max_tw_buckets (Linux inet_twsk_alloc fails, tcp_time_wait
            // then tcp_done): the connection closes at once, silently; the
            // TIME_WAIT connections already there stay
            this.counters.timeWaitOverflow++;
            c.onEvent?.(ev);
            c.tcp.discard(this.runtime.now(), "TIME_WAIT table full (maxTwBuckets)");
            return;
          }
          this.#timeWait.add(c);
          this.#live.delete(c); // its buffers are given back and never grow again
          this.#rebalance(false); // ... and it no longer takes a share of the budget
        }
        break;
      case "closed":
        c.onEvent?.(ev);
        this.#release(c);
        return;
    }
    c.onEvent?.(ev);
  }

  /** A Fast Open connection completed its handshake or went away: it leaves the pending queue. */
  #fastOpenDone(c: StackConnection, l: StackListener | undefined): void {
    c.fastOpenPending = false;
    if (l !== undefined) l.fastOpenPending--;
  }

  /** RFC 7413 §4.1.3: remember the server's cookie; forget one it refused. */
  #learnCookie(c: StackConnection): void {
    const tfo = c.tcp.fastOpen!;
    const key = addrKey(c.remote);
    if (tfo.dataAcked === true) this.counters.fastOpenActive++;
    else if (tfo.dataAcked === false) this.counters.fastOpenActiveFail++;
    if (tfo.cookieIn !== undefined) {
      this.#fastOpenCache.set(key, { cookie: tfo.cookieIn, mss: c.tcp.info().mss });
    } else if (tfo.dataAcked === false) {
      this.#fastOpenCache.delete(key);
    }
  }

  #send(to: DatagramAddr, seg: TcpSegment, c: StackConnection | undefined): void {
    this.counters.segmentsOut++;
    this.#tracer?.onSegment?.(this.runtime.now(), "out", to, seg, c);
    if (this.#closed) return; // the socket is gone (or no longer ours) once the stack closed
    const connected = this.socket.remoteAddr;
    const dest = connected !== undefined && connected.port === to.port &&
        connected.hostname === to.hostname
      ? undefined
      : to;
    const batch = this.socket.batch;
    if (batch !== undefined) {
      // Batched output: the segment is encoded straight into the socket's send
      // buffer, and the socket hands everything this timer tick or receive
      // batch produced to the kernel in one call at the end of the task.
      const len = ENVELOPE_HEADER_LEN + segmentEncodedLength(seg);
      const buf = batch.reserve(len);
      emitSegment(seg, buf, emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 0), this.#checksums);
      batch.commit(len, dest);
      return;
    }
    const buf = this.#tx;
    const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 0);
    const len = n + emitSegment(seg, buf, n, this.#checksums);
    if (dest === undefined) this.socket.send(buf.subarray(0, len));
    else this.socket.send(buf.subarray(0, len), dest);
  }

  #arm(): void {
    const next = this.#timers.peekDeadline();
    if (next >= this.#armedAt || this.#closed) return;
    if (this.#armedId !== undefined) this.runtime.cancel(this.#armedId);
    this.#armedAt = next;
    this.#armedId = this.runtime.schedule(next, () => this.#onTimer());
  }

  #deferDrain(c: StackConnection): void {
    if (c.deferred) return;
    c.deferred = true;
    if (this.#deferred.push(c) === 1) this.runtime.defer!(this.#deferBound!);
  }

  /** End of a receive batch: drains every connection that got segments in it. */
  #flushDeferred(): void {
    const list = this.#deferred;
    this.#deferred = [];
    for (const c of list) {
      c.deferred = false;
      if (!c.released && !this.#closed) this.process(c);
    }
  }

  #onTimer(): void {
    this.#armedId = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    const now = this.runtime.now();
    const q = this.#timers;
    while (q.peekDeadline() <= now) {
      const at = q.peekDeadline();
      const c = q.pop()!;
      if (c.released) continue;
      if (c.queuedDeadline === at) c.queuedDeadline = Number.POSITIVE_INFINITY;
      const d = c.tcp.pollTimeout();
      if (d > now) {
        // A stale entry: the deadline moved later (most often a delayed ACK that the answer
        // carried, under request/response load). Nothing is due: re-queue, skip the drain.
        if (d < c.queuedDeadline) {
          c.queuedDeadline = d;
          q.push(d, c);
        }
        continue;
      }
      c.tcp.handleTimeout(now);
      this.process(c);
    }
    if (q.size > 4 * this.#conns.size + 64) this.#compactTimers();
    this.#arm();
  }

  #compactTimers(): void {
    this.#timers.clear();
    for (const c of this.#conns) {
      c.queuedDeadline = Number.POSITIVE_INFINITY;
      const d = c.tcp.pollTimeout();
      if (d !== Number.POSITIVE_INFINITY) {
        c.queuedDeadline = d;
        this.#timers.push(d, c);
      }
    }
  }

  #onDatagram(data: Uint8Array, from: DatagramAddr): void {
    if (this.#closed) return;
    this.counters.datagramsIn++;
    let body: Uint8Array;
    if (data.length >= ENVELOPE_HEADER_LEN && data[0] === TCP_HEAD0 && data[1] === TCP_HEAD1) {
      body = data.subarray(ENVELOPE_HEADER_LEN); // the usual header (version 0, no extensions)
    } else {
      const env = parseEnvelope(data);
      if (!env.ok) {
        this.counters.badEnvelopes++;
        return;
      }
      if (env.value.type !== EnvelopeType.TCP_SEGMENT) {
        this.counters.controlIn++;
        return;
      }
      body = env.value.body;
    }
    const seg = decodeSegment(body, this.#checksums);
    if (seg instanceof WireError) {
      this.counters.badSegments++;
      return;
    }
    this.counters.segmentsIn++;
    const key = portsKey(from.port, seg.dstPort, seg.srcPort);
    let c: StackConnection | undefined;
    if (from === this.#lastFrom && key === this.#lastKey) c = this.#lastConn;
    else {
      c = this.#demux.get(from.hostname)?.get(key);
      if (c !== undefined) {
        this.#lastConn = c;
        this.#lastFrom = from;
        this.#lastKey = key;
      }
    }
    this.#tracer?.onSegment?.(this.runtime.now(), "in", from, seg, c);
    if (c !== undefined) {
      if (c.embryonic && (seg.flags & ACK) !== 0 && (seg.flags & (SYN | RST)) === 0) {
        const l = this.#listenerOf.get(c);
        if (l !== undefined && l.acceptQueueFull) {
          l.counters.listenOverflows++;
          if (this.#abortOnOverflow) c.abort();
          return; // drop the ACK: the SYN-ACK will be retransmitted (Linux)
        }
        // An ACK of another ISS than this embryonic connection's: its SYN was a
        // retransmission of one we answered with a SYN cookie, and the peer took the
        // cookie SYN-ACK. As Linux (tcp_check_req hands it back to the listener, whose
        // cookie_v4_check creates the connection), a valid cookie replaces this
        // connection instead of drawing a RST that kills the peer's. A Fast Open
        // connection already handed to the application (not embryonic) is never
        // replaced: as Linux's Fast Open child, it answers for itself (an ACK below
        // its RCV.NXT gets an ACK, an in-window one acknowledging nothing a RST).
        if (
          l !== undefined && c.tcp.state === "SYN_RCVD" && seg.ack !== seqAdd(c.tcp.iss, 1) &&
          this.#cookieAck(l, from, seg, c)
        ) {
          return;
        }
      }
      const verdict = c.tcp.handleSegment(this.runtime.now(), seg);
      if (verdict === "reopen" && this.#listeners.has(seg.dstPort)) {
        // TIME_WAIT's verdict: a new SYN may start a new incarnation (RFC 9293
        // §3.6.1 note, RFC 6191; Linux TCP_TW_SYN): the listener takes it, and
        // the old connection's answer is never sent.
        this.counters.timeWaitRecycled++;
        this.#release(c);
        this.#onListenerSegment(from, seg);
        return;
      }
      // Segments of one receive batch share one drain, so one cumulative
      // (stretch) ACK answers them. Urgent output goes at once, and so does
      // the answer to a PSH segment: its sender had nothing more queued, so
      // no batch follows (request/response keeps its latency).
      if (this.#deferBound !== undefined && (seg.flags & PSH) === 0 && !c.tcp.outputUrgent) {
        this.#deferDrain(c);
      } else {
        this.process(c);
      }
      return;
    }
    if (this.#listeners.has(seg.dstPort)) {
      this.#onListenerSegment(from, seg);
      return;
    }
    this.counters.noSocket++;
    this.#sendRstFor(from, seg);
  }

  /** RFC 9293 §3.10.7.2: a segment for a listener's port and no connection. */
  #onListenerSegment(from: DatagramAddr, seg: TcpSegment): void {
    const l = this.#pickListener(from, seg);
    if (l !== undefined) {
      // RFC 9293 §3.10.7.2: LISTEN
      if (seg.flags & RST) return;
      if (seg.flags & ACK) {
        if (!(seg.flags & SYN) && this.#cookieAck(l, from, seg)) return;
        this.#sendRstFor(from, seg);
        return;
      }
      if (seg.flags & SYN) {
        if (l.acceptQueueFull) {
          l.counters.listenDrops++;
          return;
        }
        if (!this.#admits(from)) {
          this.#sendRstFor(from, seg, false); // refused at once, not left to retry (limits.ts)
          return;
        }
        if (
          this.#synCookies === 2 || (this.#synCookies === 1 && l.synQueue.size >= l.synQueueLimit)
        ) {
          this.#cookieSyn(l, from, seg); // RFC 4987 §3.6: answer without state
          return;
        }
        if (l.synQueue.size >= l.synQueueLimit) {
          l.counters.synQueueDrops++;
          return;
        }
        const now = this.runtime.now();
        const fastOpen = this.#fastOpen && seg.options.fastOpen !== undefined
          ? this.#checkCookie(l, from.hostname, seg, now)
          : undefined;
        const tcp = TcpConnection.accept(now, {
          localPort: seg.dstPort,
          remotePort: seg.srcPort,
          iss: this.#takeIsn(from, seg.dstPort, seg.srcPort, now),
          config: this.#config,
          tsOffset: this.#random32(),
          fastOpen,
        }, seg);
        const nc = new StackConnection(this, tcp, this.#remoteOf(from), l.port);
        this.#add(nc);
        this.#listenerOf.set(nc, l);
        this.counters.passiveOpens++;
        if (tcp.fastOpen !== undefined && tcp.fastOpen.dataAccepted > 0) {
          // RFC 7413 §4.2.2: the application gets the connection (and the SYN's data) now
          nc.embryonic = false;
          nc.fastOpenPending = true;
          l.fastOpenPending++;
          l.acceptQueue.push(nc);
          this.process(nc);
          l.onAcceptable?.();
          return;
        }
        l.synQueue.add(nc);
        this.process(nc);
      }
    }
  }

  /**
   * The remote address of a new passive connection: a copy of `from`, one
   * object for consecutive connections from the same peer (a tunnel server's
   * connections all come from its client), so that the socket's per-address
   * cache (its encoded sockaddr) serves them all instead of validating and
   * encoding the address again for every connection.
   */
  #remoteOf(from: DatagramAddr): DatagramAddr {
    const r = this.#lastRemote;
    if (r !== undefined && r.hostname === from.hostname && r.port === from.port) return r;
    return this.#lastRemote = { hostname: from.hostname, port: from.port };
  }

  #cookieTuple(from: DatagramAddr, seg: TcpSegment): TcpTuple {
    return {
      localAddr: this.#localAddrText,
      localPort: seg.dstPort,
      remoteAddr: addrKey(from),
      remotePort: seg.srcPort,
    };
  }

  /** Answers a SYN with a SYN cookie (src/tcp/syn_cookie.ts); nothing is kept. */
  #cookieSyn(l: StackListener, from: DatagramAddr, syn: TcpSegment): void {
    const now = this.runtime.now();
    this.#cookieJar ??= new SynCookieJar({ random: (b) => this.runtime.randomBytes(b) });
    l.counters.synCookiesSent++;
    l.lastCookieAt = now;
    const synAck = cookieSynAck(
      this.#cookieJar,
      this.#config,
      now,
      this.#cookieTuple(from, syn),
      syn,
    );
    this.#send(from, synAck, undefined);
  }

  /**
   * An ACK for a listener and no connection: when this listener sent cookies
   * lately (Linux `tcp_synq_no_recent_overflow`), a valid cookie creates the
   * connection. Returns whether the ACK was taken (or dropped for a full
   * accept queue). With `replacing` (an embryonic connection of the same
   * 4-tuple and another ISS), a valid cookie drops that connection silently
   * for the new one, and an invalid one is left to it (false).
   */
  #cookieAck(
    l: StackListener,
    from: DatagramAddr,
    seg: TcpSegment,
    replacing?: StackConnection,
  ): boolean {
    const now = this.runtime.now();
    const jar = this.#cookieJar;
    if (jar === undefined || now - l.lastCookieAt >= SYN_COOKIE_MAX_AGE * SYN_COOKIE_PERIOD_MS) {
      return false;
    }
    const tcp = cookieConnection(jar, this.#config, now, this.#cookieTuple(from, seg), seg);
    if (tcp === undefined) {
      l.counters.synCookiesFailed++;
      // A segment with data may be a later one of a cookie connection whose first
      // segment is late (SEG.SEQ - 1 is then not the ISN the cookie covers): drop it
      // rather than reset the connection (Linux resets); the peer retransmits.
      return replacing === undefined && seg.payload.length > 0;
    }
    l.counters.synCookiesRecv++;
    if (l.acceptQueueFull) {
      l.counters.listenOverflows++;
      return true; // dropped: the peer's retransmission may get in later (Linux)
    }
    if (replacing !== undefined) {
      replacing.tcp.discard(now, "superseded by the connection of a SYN cookie");
      this.process(replacing);
      this.#release(replacing); // its slot under the caps goes to the new connection
    }
    if (!this.#admits(from)) {
      this.#sendRstFor(from, seg, false);
      return true;
    }
    const nc = new StackConnection(this, tcp, this.#remoteOf(from), l.port);
    this.#add(nc);
    this.#listenerOf.set(nc, l);
    l.synQueue.add(nc); // leaves it at once for the accept queue ("connected")
    this.counters.passiveOpens++;
    this.process(nc);
    return true;
  }

  /**
   * RFC 7413 §4.2.1: a SYN's Fast Open option. A valid cookie lets its data
   * in; a request, an invalid cookie or one of the previous secret gets a
   * fresh cookie in the SYN-ACK. With `fastOpenQueueLimit` Fast Open
   * handshakes of `l` pending (RFC 7413 §5.1), a valid cookie's data is
   * ignored and the SYN-ACK carries a fresh cookie (the client keeps using
   * Fast Open; Linux sends none): the handshake proceeds as usual.
   */
  #checkCookie(l: StackListener, ip: string, syn: TcpSegment, now: number): FastOpenParams {
    const cookie = syn.options.fastOpen!;
    const jar = this.#cookies ??= new FastOpenCookies((b) => this.runtime.randomBytes(b));
    if (cookie.length === 0) return { cookie: jar.cookie(ip, now) };
    const v = jar.check(ip, cookie, now);
    if (v === "invalid") {
      this.counters.fastOpenPassiveFail++;
      return { cookie: jar.cookie(ip, now) };
    }
    if (syn.payload.length > 0 && l.fastOpenPending >= l.fastOpenQueueLimit) {
      l.counters.fastOpenListenOverflow++;
      return { cookie: jar.cookie(ip, now) };
    }
    this.counters.fastOpenPassive++;
    return v === "valid" ? { acceptData: true } : { acceptData: true, cookie: jar.cookie(ip, now) };
  }

  /**
   * The listener of a segment's port; among SO_REUSEPORT listeners, the one
   * a hash of the 4-tuple picks (Linux `reuseport_select_sock`: hash scaled
   * to the group size), so every segment of one peer reaches the same one.
   */
  #pickListener(from: DatagramAddr, seg: TcpSegment): StackListener | undefined {
    const group = this.#listeners.get(seg.dstPort);
    if (group === undefined || group.length <= 1) return group?.[0];
    if (this.#reusePortKey === undefined) {
      this.#reusePortKey = new Uint8Array(16);
      this.runtime.randomBytes(this.#reusePortKey);
    }
    const key = TEXT.encode(tupleKey(from, seg.dstPort, seg.srcPort));
    const h = siphash24Low32(this.#reusePortKey, key);
    return group[Math.floor((h / 0x1_0000_0000) * group.length)];
  }

  /** tcp_tw_reuse: whether `connect()` may take over `c`'s 4-tuple now. */
  #twReusable(c: StackConnection, now: number): boolean {
    if (this.#twReuse === 0 || c.state !== "TIME_WAIT") return false;
    if (this.#twReuse !== 1 && !isLoopback(c.remote.hostname) && !this.#localLoopback) {
      return false;
    }
    return c.tcp.timeWaitReuseIss(now) !== undefined;
  }

  get #localLoopback(): boolean {
    return isLoopback(this.socket.localAddr.hostname);
  }

  /** RFC 9293 §3.10.7.1: answer a segment for no connection (never a RST); also a refused SYN. */
  #sendRstFor(to: DatagramAddr, seg: TcpSegment, noSocket = true): void {
    if (seg.flags & RST) return;
    if (noSocket) this.counters.rstsForNoSocket++;
    const ack = (seg.flags & ACK) !== 0;
    this.#send(to, {
      srcPort: seg.dstPort,
      dstPort: seg.srcPort,
      seq: ack ? seg.ack : seq(0),
      ack: ack ? seq(0) : seqAdd(seg.seq, segmentSeqLen(seg)),
      flags: ack ? RST : RST | ACK,
      window: 0,
      urgentPointer: 0,
      options: {},
      payload: EMPTY,
    }, undefined);
  }
}

const EMPTY = new Uint8Array(0);
const NO_COOKIE = new Uint8Array(0);
const TEXT = new TextEncoder();

/** tcp_tw_reuse default: 2, loopback only (Linux's default). */
const DEFAULT_TW_REUSE = 2;
/** tcp_max_tw_buckets default (Linux: half the established hash; 131072 on this project's test machine). */
const DEFAULT_MAX_TW_BUCKETS = 131_072;
/** net.core.somaxconn default (Linux ≥ 5.4). */
const DEFAULT_SOMAXCONN = 4096;

/** Whether a hostname is a loopback address (127.0.0.0/8, ::1, localhost). */
function isLoopback(hostname: string): boolean {
  return hostname.startsWith("127.") || hostname === "::1" || hostname === "localhost" ||
    hostname.startsWith("::ffff:127.");
}
