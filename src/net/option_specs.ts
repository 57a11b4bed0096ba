/**
 * The table of every tou tunable (unit, range, default, description) and
 * the option types built on it. The zod schema in `options.ts` is built
 * from this table; so is the options table in docs/api.md.
 *
 * @module
 */

import { DEFAULT_TCP_CONFIG } from "../tcp/config.ts";
import { DEFAULT_EPHEMERAL_RANGE } from "../stack/ports.ts";
import { SELECTABLE_CONGESTION } from "../tcp/congestion/defaults.ts";

/**
 * What an option measures; used in messages and docs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type OptionUnit, TOU_OPTION_SPECS } from "./option_specs.ts";
 * const unit: OptionUnit = TOU_OPTION_SPECS.msl.unit;
 * assert.equal(unit, "ms");
 * ```
 */
export type OptionUnit = "ms" | "bytes" | "segments" | "count" | "boolean" | "name" | "ports";

/**
 * Describes one option: its unit, range and default (the source of the
 * schema and the docs table).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type OptionSpec, TOU_OPTION_SPECS } from "./option_specs.ts";
 * const spec: OptionSpec = TOU_OPTION_SPECS.delayedAck;
 * assert.deepEqual([spec.min, spec.max, spec.default], [0, 200, 40]);
 * ```
 */
export interface OptionSpec {
  /** What it measures. */
  readonly unit: OptionUnit;
  /** Smallest allowed value (numbers). */
  readonly min?: number;
  /** Largest allowed value (numbers). */
  readonly max?: number;
  /** Allowed names (unit "name"). */
  readonly choices?: readonly string[];
  /** The default. */
  readonly default: number | boolean | string | readonly [number, number];
  /** One line for docs and JSON Schema. */
  readonly description: string;
}

const C = DEFAULT_TCP_CONFIG;

/**
 * The table every option is built from: unit, range, default, description.
 *
 * @example Look up a range
 * ```ts
 * import assert from "node:assert/strict";
 * import { TOU_OPTION_SPECS } from "./option_specs.ts";
 * assert.equal(TOU_OPTION_SPECS.msl.max, 600_000);
 * assert.equal(TOU_OPTION_SPECS.synRetries.default, 6);
 * ```
 */
export const TOU_OPTION_SPECS = {
  segmentBudget: {
    unit: "bytes",
    min: 64,
    max: 65_503,
    default: C.segmentBudget,
    description: "Largest TCP segment (header + options + payload) put in one UDP datagram, " +
      "after the 4-byte tou envelope; the MSS is this minus the TCP header and options.",
  },
  sendBufferSize: {
    unit: "bytes",
    min: 1024,
    max: 1 << 30,
    default: C.sendBufferSize,
    description: "Send buffer per connection (SO_SNDBUF).",
  },
  recvBufferSize: {
    unit: "bytes",
    min: 1024,
    max: 1 << 30,
    default: C.recvBufferSize,
    description: "Receive buffer per connection (SO_RCVBUF); bounds the advertised window.",
  },
  msl: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.msl,
    description: "Maximum segment lifetime; TIME_WAIT lasts 2·MSL.",
  },
  finWait2Timeout: {
    unit: "ms",
    min: 1,
    max: 3_600_000,
    default: C.finWait2Timeout,
    description: "How long an orphaned connection waits in FIN_WAIT_2 (tcp_fin_timeout).",
  },
  rtoInitial: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.rtoInitial,
    description: "Retransmission timeout before the first RTT sample (RFC 6298 §2.1).",
  },
  rtoMin: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.rtoMin,
    description: "Lower bound of the retransmission timeout (Linux 200 ms).",
  },
  rtoMax: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.rtoMax,
    description: "Upper bound of the retransmission timeout, also after backoff.",
  },
  synRetries: {
    unit: "count",
    min: 0,
    max: 127,
    default: C.synRetries,
    description: "SYN retransmissions before connect gives up (tcp_syn_retries).",
  },
  synAckRetries: {
    unit: "count",
    min: 0,
    max: 255,
    default: C.synAckRetries,
    description: "SYN-ACK retransmissions for a passive open (tcp_synack_retries).",
  },
  retries: {
    unit: "count",
    min: 0,
    max: 255,
    default: C.retries,
    description: "Data retransmissions before the connection is aborted (tcp_retries2).",
  },
  delayedAck: {
    unit: "ms",
    min: 0,
    max: 200,
    default: C.delayedAck,
    description: "Delayed-ACK timeout; 0 acknowledges every segment at once.",
  },
  noDelay: {
    unit: "boolean",
    default: C.noDelay,
    description: "Disable Nagle's algorithm on new connections (TCP_NODELAY).",
  },
  keepAlive: {
    unit: "boolean",
    default: C.keepAlive,
    description: "Send keepalive probes on idle connections (SO_KEEPALIVE).",
  },
  keepAliveIdle: {
    unit: "ms",
    min: 1,
    max: 32_767_000,
    default: C.keepAliveIdle,
    description: "Idle time before the first keepalive probe (tcp_keepalive_time).",
  },
  keepAliveInterval: {
    unit: "ms",
    min: 1,
    max: 32_767_000,
    default: C.keepAliveInterval,
    description: "Time between keepalive probes (tcp_keepalive_intvl).",
  },
  keepAliveCount: {
    unit: "count",
    min: 1,
    max: 127,
    default: C.keepAliveCount,
    description: "Unanswered probes before the peer is declared dead (tcp_keepalive_probes).",
  },
  windowScaling: {
    unit: "boolean",
    default: C.windowScaling,
    description: "Offer and accept window scaling (RFC 7323).",
  },
  timestamps: {
    unit: "boolean",
    default: C.timestamps,
    description: "Offer and accept timestamps (RFC 7323).",
  },
  sack: {
    unit: "boolean",
    default: C.sack,
    description: "Offer and accept selective acknowledgements (RFC 2018).",
  },
  congestionControl: {
    unit: "name",
    choices: SELECTABLE_CONGESTION,
    default: C.congestionControl,
    description: "Congestion control algorithm: cubic (RFC 9438, the library default), bbr " +
      "(the tunnel's default), newreno, none.",
  },
  pacing: {
    unit: "boolean",
    default: C.pacing,
    description: "Pace data at gain·cwnd/SRTT (2 in slow start, 1.2 after, as Linux) " +
      "instead of sending a window back to back.",
  },
  pacingBurst: {
    unit: "segments",
    min: 1,
    max: 1024,
    default: C.pacingBurst,
    description: "Most data segments sent back to back when pacing (fits the peer's UDP " +
      "receive buffer, about 90 full datagrams).",
  },
  initialCwnd: {
    unit: "segments",
    min: 1,
    max: 1000,
    default: C.initialCwnd,
    description: "Initial congestion window (RFC 6928).",
  },
  challengeAckLimit: {
    unit: "count",
    min: 0,
    max: 1_000_000,
    default: C.challengeAckLimit,
    description: "Challenge ACKs sent per second at most (RFC 5961 §7).",
  },
  maxOutOfOrderRanges: {
    unit: "count",
    min: 1,
    max: 4096,
    default: C.maxOutOfOrderRanges,
    description: "Out-of-order ranges held for reassembly at most.",
  },
  backlog: {
    unit: "count",
    min: 0,
    max: 65_535,
    default: 128,
    description: "Default accept-queue bound of a listener (listen(2) backlog).",
  },
  synQueueLimit: {
    unit: "count",
    min: 1,
    max: 65_535,
    default: 256,
    description: "Embryonic (SYN_RCVD) connections per listener at most (tcp_max_syn_backlog).",
  },
  coalesceAcks: {
    unit: "boolean",
    default: true,
    description: "Answer all in-order segments of one UDP receive batch with one cumulative " +
      "ACK (like Linux's GRO stretch ACKs); out-of-order data, FINs and PSH are ACKed at once.",
  },
  abortOnOverflow: {
    unit: "boolean",
    default: false,
    description: "Reset a handshake that completes while the accept queue is full " +
      "(tcp_abort_on_overflow) instead of dropping its ACK.",
  },
  portRange: {
    unit: "ports",
    min: 1,
    max: 65_535,
    default: DEFAULT_EPHEMERAL_RANGE,
    description: "Ephemeral TCP port range [low, high] for connections (ip_local_port_range).",
  },
} as const satisfies Record<string, OptionSpec>;

/**
 * The name of a tunable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TOU_OPTION_SPECS, type TouOptionName } from "./option_specs.ts";
 * const names = Object.keys(TOU_OPTION_SPECS) as TouOptionName[];
 * assert.ok(names.includes("keepAliveIdle"));
 * ```
 */
export type TouOptionName = keyof typeof TOU_OPTION_SPECS;

/**
 * Every tunable after validation, defaults filled in. Ranges and defaults
 * are in {@linkcode TOU_OPTION_SPECS} and docs/api.md.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTouOptions } from "./options.ts";
 * import type { ResolvedTouOptions } from "./option_specs.ts";
 * const o: ResolvedTouOptions = resolveTouOptions({ rtoMin: 100 });
 * assert.deepEqual([o.rtoMin, o.rtoMax], [100, 120_000]);
 * ```
 */
export interface ResolvedTouOptions {
  /**
   * Largest TCP segment (header + options + payload) in one UDP datagram, after the 4-byte envelope.
   * Bytes, 64–65503, default 1448 (a 1500-byte MTU path); when not given, 16384 for an endpoint
   * bound to a loopback address and for `connect()` to a loopback peer.
   */
  segmentBudget: number;
  /** Send buffer per connection (SO_SNDBUF). Bytes, 1024–2^30, default 4 MiB. */
  sendBufferSize: number;
  /** Receive buffer per connection (SO_RCVBUF); bounds the advertised window. Bytes, 1024–2^30, default 4 MiB. */
  recvBufferSize: number;
  /** Maximum segment lifetime; TIME_WAIT lasts 2·MSL. ms, 1–600000, default 30000. */
  msl: number;
  /** FIN_WAIT_2 timeout of an orphaned connection (tcp_fin_timeout). ms, 1–3600000, default 60000. */
  finWait2Timeout: number;
  /** RTO before the first RTT sample (RFC 6298 §2.1). ms, 1–600000, default 1000. */
  rtoInitial: number;
  /** Lower bound of the RTO. ms, 1–600000, default 200; at most `rtoMax`. */
  rtoMin: number;
  /** Upper bound of the RTO, also after backoff. ms, 1–600000, default 120000. */
  rtoMax: number;
  /** SYN retransmissions before connect gives up (tcp_syn_retries). 0–127, default 6. */
  synRetries: number;
  /** SYN-ACK retransmissions of a passive open (tcp_synack_retries). 0–255, default 5. */
  synAckRetries: number;
  /** Data retransmissions before the connection is aborted (tcp_retries2). 0–255, default 15. */
  retries: number;
  /** Delayed-ACK timeout; 0 acknowledges every segment at once. ms, 0–200, default 40. */
  delayedAck: number;
  /** Disable Nagle's algorithm on new connections (TCP_NODELAY). Default false. */
  noDelay: boolean;
  /** Keepalive probes on idle connections (SO_KEEPALIVE). Default false. */
  keepAlive: boolean;
  /** Idle time before the first keepalive probe. ms, 1–32767000, default 7200000. */
  keepAliveIdle: number;
  /** Time between keepalive probes. ms, 1–32767000, default 75000. */
  keepAliveInterval: number;
  /** Unanswered probes before the peer is declared dead. 1–127, default 9. */
  keepAliveCount: number;
  /** Offer and accept window scaling (RFC 7323). Default true. */
  windowScaling: boolean;
  /** Offer and accept timestamps (RFC 7323). Default true. */
  timestamps: boolean;
  /** Offer and accept SACK (RFC 2018). Default true. */
  sack: boolean;
  /** Congestion control algorithm ("bbr", "cubic", "newreno", "none"). Default: see `LIBRARY_DEFAULT_CONGESTION`. */
  congestionControl: "bbr" | "cubic" | "newreno" | "none";
  /** Pace data at gain·cwnd/SRTT instead of sending a window back to back. Default true. */
  pacing: boolean;
  /** Most data segments sent back to back when pacing. 1–1024, default 32. */
  pacingBurst: number;
  /** Initial congestion window in segments (RFC 6928). 1–1000, default 10. */
  initialCwnd: number;
  /** Challenge ACKs per second at most (RFC 5961 §7). 0–1000000, default 1000. */
  challengeAckLimit: number;
  /** Out-of-order ranges held for reassembly at most. 1–4096, default 64. */
  maxOutOfOrderRanges: number;
  /** Default accept-queue bound of a listener. 0–65535, default 128. */
  backlog: number;
  /** Embryonic connections per listener at most (tcp_max_syn_backlog). 1–65535, default 256. */
  synQueueLimit: number;
  /** One cumulative ACK per UDP receive batch (stretch ACKs). Default true. */
  coalesceAcks: boolean;
  /** Reset a handshake completing while the accept queue is full (tcp_abort_on_overflow). Default false. */
  abortOnOverflow: boolean;
  /** Ephemeral TCP port range [low, high] (ip_local_port_range). 1–65535, default [32768, 60999]. */
  portRange: [number, number];
}

/**
 * Tunables as the user passes them: every field optional (see
 * {@linkcode ResolvedTouOptions}). `openEndpoint`, `listen` and `connect`
 * take them in the same object as their address fields.
 *
 * @example A low-latency profile
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TouOptions } from "./option_specs.ts";
 * import { resolveTouOptions } from "./options.ts";
 * const lowLatency: TouOptions = { noDelay: true, delayedAck: 0, rtoMin: 20 };
 * assert.equal(resolveTouOptions(lowLatency).delayedAck, 0);
 * ```
 */
export interface TouOptions {
  /**
   * Largest TCP segment (header + options + payload) in one UDP datagram, after the 4-byte envelope.
   * Bytes, 64–65503, default 1448 (a 1500-byte MTU path); when not given, 16384 for an endpoint
   * bound to a loopback address and for `connect()` to a loopback peer.
   */
  readonly segmentBudget?: number;
  /** Send buffer per connection (SO_SNDBUF). Bytes, 1024–2^30, default 4 MiB. */
  readonly sendBufferSize?: number;
  /** Receive buffer per connection (SO_RCVBUF); bounds the advertised window. Bytes, 1024–2^30, default 4 MiB. */
  readonly recvBufferSize?: number;
  /** Maximum segment lifetime; TIME_WAIT lasts 2·MSL. ms, 1–600000, default 30000. */
  readonly msl?: number;
  /** FIN_WAIT_2 timeout of an orphaned connection (tcp_fin_timeout). ms, 1–3600000, default 60000. */
  readonly finWait2Timeout?: number;
  /** RTO before the first RTT sample (RFC 6298 §2.1). ms, 1–600000, default 1000. */
  readonly rtoInitial?: number;
  /** Lower bound of the RTO. ms, 1–600000, default 200; at most `rtoMax`. */
  readonly rtoMin?: number;
  /** Upper bound of the RTO, also after backoff. ms, 1–600000, default 120000. */
  readonly rtoMax?: number;
  /** SYN retransmissions before connect gives up (tcp_syn_retries). 0–127, default 6. */
  readonly synRetries?: number;
  /** SYN-ACK retransmissions of a passive open (tcp_synack_retries). 0–255, default 5. */
  readonly synAckRetries?: number;
  /** Data retransmissions before the connection is aborted (tcp_retries2). 0–255, default 15. */
  readonly retries?: number;
  /** Delayed-ACK timeout; 0 acknowledges every segment at once. ms, 0–200, default 40. */
  readonly delayedAck?: number;
  /** Disable Nagle's algorithm on new connections (TCP_NODELAY). Default false. */
  readonly noDelay?: boolean;
  /** Keepalive probes on idle connections (SO_KEEPALIVE). Default false. */
  readonly keepAlive?: boolean;
  /** Idle time before the first keepalive probe. ms, 1–32767000, default 7200000. */
  readonly keepAliveIdle?: number;
  /** Time between keepalive probes. ms, 1–32767000, default 75000. */
  readonly keepAliveInterval?: number;
  /** Unanswered probes before the peer is declared dead. 1–127, default 9. */
  readonly keepAliveCount?: number;
  /** Offer and accept window scaling (RFC 7323). Default true. */
  readonly windowScaling?: boolean;
  /** Offer and accept timestamps (RFC 7323). Default true. */
  readonly timestamps?: boolean;
  /** Offer and accept SACK (RFC 2018). Default true. */
  readonly sack?: boolean;
  /** Congestion control algorithm ("bbr", "cubic", "newreno", "none"). Default: see `LIBRARY_DEFAULT_CONGESTION`. */
  readonly congestionControl?: "bbr" | "cubic" | "newreno" | "none";
  /** Pace data at gain·cwnd/SRTT instead of sending a window back to back. Default true. */
  readonly pacing?: boolean;
  /** Most data segments sent back to back when pacing. 1–1024, default 32. */
  readonly pacingBurst?: number;
  /** Initial congestion window in segments (RFC 6928). 1–1000, default 10. */
  readonly initialCwnd?: number;
  /** Challenge ACKs per second at most (RFC 5961 §7). 0–1000000, default 1000. */
  readonly challengeAckLimit?: number;
  /** Out-of-order ranges held for reassembly at most. 1–4096, default 64. */
  readonly maxOutOfOrderRanges?: number;
  /** Default accept-queue bound of a listener. 0–65535, default 128. */
  readonly backlog?: number;
  /** Embryonic connections per listener at most (tcp_max_syn_backlog). 1–65535, default 256. */
  readonly synQueueLimit?: number;
  /** One cumulative ACK per UDP receive batch (stretch ACKs). Default true. */
  readonly coalesceAcks?: boolean;
  /** Reset a handshake completing while the accept queue is full (tcp_abort_on_overflow). Default false. */
  readonly abortOnOverflow?: boolean;
  /** Ephemeral TCP port range [low, high] (ip_local_port_range). 1–65535, default [32768, 60999]. */
  readonly portRange?: readonly [number, number];
}
