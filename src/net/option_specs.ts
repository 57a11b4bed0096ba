/**
 * The table of every tou tunable, and the one source of everything about
 * one: the option types ({@linkcode TouOptions}, {@linkcode ResolvedTouOptions})
 * are mapped from it here, the zod schema and the stack mapping
 * (`touOptionsShape`, `toStackOptions`) in `options.ts`, the JSON Schema
 * (docs/tou.schema.json, `cli/gen_schema.ts`) from that schema, and the
 * options table of docs/api.md (`cli/gen_docs.ts`).
 *
 * ## Adding a tunable
 * 1. If the TCP core reads it: add the field to `TcpConfig` and its default
 *    to `DEFAULT_TCP_CONFIG` (src/tcp/config.ts).
 * 2. Add one entry to {@linkcode TOU_OPTION_SPECS}: unit, range (or
 *    choices), default (`C.<field>` for a TCP one), one-line description,
 *    and `layer`: `"tcp"` (copied into `TcpConfig` under the same name),
 *    `"stack"` (a `StackOptions` field, named by `stackKey` when it differs)
 *    or `"endpoint"` (read by src/net/endpoint.ts itself).
 * 3. Run `deno run -A cli/gen_docs.ts && deno run -A cli/gen_schema.ts`
 *    to regenerate docs/api.md's table and docs/tou.schema.json (tests
 *    fail while they are out of date).
 *
 * The compiler checks the rest (src/net/options.ts): every `TcpConfig`
 * field must have a `"tcp"` entry of a matching type (a field that is not a
 * user tunable goes in `InternalTcpField` there instead), and every
 * `"stack"` entry must name a `StackOptions` field (src/stack/stack_options.ts)
 * of a matching type.
 *
 * Over 600 lines because it is the one option table (one entry per option,
 * with its unit, range, default, layer and Linux names); splitting it would
 * undo the point of having one table.
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
export type OptionUnit =
  | "ms"
  | "bytes"
  | "segments"
  | "count"
  | "percent"
  | "boolean"
  | "name"
  | "ports";

/**
 * Where a resolved option goes: into every connection's `TcpConfig`, into
 * the stack's `StackOptions`, or to the endpoint itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type OptionLayer, TOU_OPTION_SPECS } from "./option_specs.ts";
 * const layer: OptionLayer = TOU_OPTION_SPECS.backlog.layer;
 * assert.equal(layer, "endpoint");
 * ```
 */
export type OptionLayer = "tcp" | "stack" | "endpoint";

/**
 * Describes one option: its unit, range and default (the source of the
 * types, the schema, the stack mapping and the docs table).
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
  /** Where the value goes (see {@linkcode OptionLayer}). */
  readonly layer: OptionLayer;
  /**
   * The `StackOptions` field of a `"stack"` option, when not named like the
   * option (checked against `StackOptions` at compile time in options.ts).
   */
  readonly stackKey?: string;
  /**
   * The Linux sysctls and socket options this option stands for (as
   * docs/linux-knobs.md lists them; checked by tests/net/linux_knobs_test.ts).
   */
  readonly linux?: readonly string[];
  /** Text after the default in docs/api.md (a footnote mark). */
  readonly docNote?: string;
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
    docNote: "¹",
    description: "Largest TCP segment (header + options + payload) put in one UDP datagram, " +
      "after the 4-byte tou envelope; the MSS is this minus the TCP header and options.",
    layer: "tcp",
  },
  sendBufferSize: {
    unit: "bytes",
    min: 1024,
    max: 1 << 30,
    default: C.sendBufferSize,
    description: "Send buffer per connection (SO_SNDBUF).",
    layer: "tcp",
    linux: ["SO_SNDBUF"],
  },
  recvBufferSize: {
    unit: "bytes",
    min: 1024,
    max: 1 << 30,
    default: C.recvBufferSize,
    description: "Receive buffer per connection (SO_RCVBUF); bounds the advertised window.",
    layer: "tcp",
    linux: ["SO_RCVBUF"],
  },
  msl: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.msl,
    description: "Maximum segment lifetime; TIME_WAIT lasts 2·MSL.",
    layer: "tcp",
  },
  finWait2Timeout: {
    unit: "ms",
    min: 1,
    max: 3_600_000,
    default: C.finWait2Timeout,
    description: "How long an orphaned connection waits in FIN_WAIT_2 (tcp_fin_timeout).",
    layer: "tcp",
    linux: ["tcp_fin_timeout", "TCP_LINGER2"],
  },
  rtoInitial: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.rtoInitial,
    description: "Retransmission timeout before the first RTT sample (RFC 6298 §2.1).",
    layer: "tcp",
  },
  rtoFallback: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.rtoFallback,
    description:
      "Retransmission timeout once data flows after a retransmitted SYN or SYN-ACK with no RTT sample (RFC 6298 §5.7).",
    layer: "tcp",
  },
  rtoMin: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.rtoMin,
    description: "Lower bound of the retransmission timeout (Linux 200 ms); at most `rtoMax`.",
    layer: "tcp",
    linux: ["rto_min (ip route)"],
  },
  rtoMax: {
    unit: "ms",
    min: 1,
    max: 600_000,
    default: C.rtoMax,
    description: "Upper bound of the retransmission timeout, also after backoff.",
    layer: "tcp",
  },
  synRetries: {
    unit: "count",
    min: 0,
    max: 127,
    default: C.synRetries,
    description: "SYN retransmissions before connect gives up (tcp_syn_retries).",
    layer: "tcp",
    linux: ["tcp_syn_retries", "TCP_SYNCNT"],
  },
  synAckRetries: {
    unit: "count",
    min: 0,
    max: 255,
    default: C.synAckRetries,
    description: "SYN-ACK retransmissions for a passive open (tcp_synack_retries).",
    layer: "tcp",
    linux: ["tcp_synack_retries"],
  },
  retries: {
    unit: "count",
    min: 0,
    max: 255,
    default: C.retries,
    description: "Data retransmissions before the connection is aborted (tcp_retries2).",
    layer: "tcp",
    linux: ["tcp_retries2"],
  },
  orphanRetries: {
    unit: "count",
    min: 0,
    max: 255,
    default: C.orphanRetries,
    description: "Retransmissions of an orphaned (closed) connection, its FIN included, " +
      "before it is aborted; 0 means 8, as Linux (tcp_orphan_retries).",
    layer: "tcp",
    linux: ["tcp_orphan_retries"],
  },
  userTimeout: {
    unit: "ms",
    min: 0,
    max: 32_767_000,
    default: C.userTimeout,
    description:
      "Abort when sent data stays unacknowledged (or zero-window probes unanswered) this long; 0 off (TCP_USER_TIMEOUT).",
    layer: "tcp",
    linux: ["TCP_USER_TIMEOUT"],
  },
  idleTimeout: {
    unit: "ms",
    min: 0,
    max: 86_400_000,
    default: C.idleTimeout,
    description: "Reset a connection over which no data went either way this long " +
      "(keepalive probes and bare ACKs do not count); 0 off. The tunnel sets 600000.",
    layer: "tcp",
  },
  amplificationLimit: {
    unit: "count",
    min: 0,
    max: 100,
    default: C.amplificationLimit,
    description:
      "Before the peer acknowledges our SYN, send it at most this many times the bytes received from it (SYN-ACK retransmissions held back); 0 off.",
    layer: "tcp",
  },
  delayedAck: {
    unit: "ms",
    min: 0,
    max: 200,
    default: C.delayedAck,
    description: "Delayed-ACK timeout; 0 acknowledges every segment at once.",
    layer: "tcp",
  },
  noDelay: {
    unit: "boolean",
    default: C.noDelay,
    description: "Disable Nagle's algorithm on new connections (TCP_NODELAY).",
    layer: "tcp",
    linux: ["TCP_NODELAY"],
  },
  lazyAcks: {
    unit: "boolean",
    default: C.lazyAcks,
    description: "Let the ACK of the peer's FIN on an ESTABLISHED connection, and of a SYN-ACK " +
      "that acknowledged all our Fast Open data when nothing more waits, wait (delayedAck at " +
      "most) for our next segment: closing on EOF sends one FIN+ACK (as Linux's pingpong mode), " +
      "and the ACK of the handshake rides on the close or the next request. Off, both are " +
      "ACKed at once. The tunnel turns it on.",
    layer: "tcp",
  },
  keepAlive: {
    unit: "boolean",
    default: C.keepAlive,
    description: "Send keepalive probes on idle connections (SO_KEEPALIVE).",
    layer: "tcp",
    linux: ["SO_KEEPALIVE"],
  },
  keepAliveIdle: {
    unit: "ms",
    min: 1,
    max: 32_767_000,
    default: C.keepAliveIdle,
    description: "Idle time before the first keepalive probe (tcp_keepalive_time).",
    layer: "tcp",
    linux: ["tcp_keepalive_time", "TCP_KEEPIDLE"],
  },
  keepAliveInterval: {
    unit: "ms",
    min: 1,
    max: 32_767_000,
    default: C.keepAliveInterval,
    description: "Time between keepalive probes (tcp_keepalive_intvl).",
    layer: "tcp",
    linux: ["tcp_keepalive_intvl", "TCP_KEEPINTVL"],
  },
  keepAliveCount: {
    unit: "count",
    min: 1,
    max: 127,
    default: C.keepAliveCount,
    description: "Unanswered probes before the peer is declared dead (tcp_keepalive_probes).",
    layer: "tcp",
    linux: ["tcp_keepalive_probes", "TCP_KEEPCNT"],
  },
  windowScaling: {
    unit: "boolean",
    default: C.windowScaling,
    description: "Offer and accept window scaling (RFC 7323).",
    layer: "tcp",
    linux: ["tcp_window_scaling"],
  },
  timestamps: {
    unit: "boolean",
    default: C.timestamps,
    description: "Offer and accept timestamps (RFC 7323).",
    layer: "tcp",
    linux: ["tcp_timestamps"],
  },
  sack: {
    unit: "boolean",
    default: C.sack,
    description: "Offer and accept selective acknowledgements (RFC 2018).",
    layer: "tcp",
    linux: ["tcp_sack"],
  },
  congestionControl: {
    unit: "name",
    choices: SELECTABLE_CONGESTION,
    default: C.congestionControl,
    description: "Congestion control algorithm: cubic (RFC 9438, the library default), bbr " +
      "(the tunnel's default), newreno, none.",
    layer: "tcp",
    linux: ["tcp_congestion_control", "TCP_CONGESTION"],
  },
  lossTolerance: {
    unit: "percent",
    min: 0,
    max: 50,
    default: C.lossTolerance,
    description: "Loss rate of a round above which BBR reads loss as congestion; 0: BBR's own " +
      "2 % (BBRLossThresh). The tunnel's default is 10 (its paths have random loss).",
    layer: "tcp",
  },
  pacing: {
    unit: "boolean",
    default: C.pacing,
    description: "Pace data at gain·cwnd/SRTT (2 in slow start, 1.2 after, as Linux) " +
      "instead of sending a window back to back.",
    layer: "tcp",
  },
  pacingBurst: {
    unit: "segments",
    min: 1,
    max: 1024,
    default: C.pacingBurst,
    description: "Most data segments sent back to back when pacing (fits the peer's UDP " +
      "receive buffer, about 90 full datagrams).",
    layer: "tcp",
  },
  initialCwnd: {
    unit: "segments",
    min: 1,
    max: 1000,
    default: C.initialCwnd,
    description: "Initial congestion window (RFC 6928).",
    layer: "tcp",
    linux: ["initcwnd (ip route)"],
  },
  challengeAckLimit: {
    unit: "count",
    min: 0,
    max: 1_000_000,
    default: C.challengeAckLimit,
    description: "Challenge ACKs sent per second at most (RFC 5961 §7).",
    layer: "tcp",
    linux: ["tcp_challenge_ack_limit"],
  },
  maxOutOfOrderRanges: {
    unit: "count",
    min: 1,
    max: 4096,
    default: C.maxOutOfOrderRanges,
    description: "Out-of-order ranges held for reassembly at most.",
    layer: "tcp",
  },
  backlog: {
    unit: "count",
    min: 0,
    max: 65_535,
    default: 128,
    description: "Default accept-queue bound of a listener (listen(2) backlog).",
    layer: "endpoint",
    linux: ["listen() backlog"],
  },
  synQueueLimit: {
    unit: "count",
    min: 1,
    max: 65_535,
    default: 256,
    description: "Embryonic (SYN_RCVD) connections per listener at most (tcp_max_syn_backlog).",
    layer: "stack",
    linux: ["tcp_max_syn_backlog"],
  },
  coalesceAcks: {
    unit: "boolean",
    default: true,
    description: "Answer all in-order segments of one UDP receive batch with one cumulative " +
      "ACK (like Linux's GRO stretch ACKs); out-of-order data, FINs and PSH are ACKed at once.",
    layer: "stack",
  },
  abortOnOverflow: {
    unit: "boolean",
    default: false,
    description: "Reset a handshake that completes while the accept queue is full " +
      "(tcp_abort_on_overflow) instead of dropping its ACK.",
    layer: "stack",
    linux: ["tcp_abort_on_overflow"],
  },
  twReuse: {
    unit: "count",
    min: 0,
    max: 2,
    default: 2,
    description: "connect() may take a 4-tuple still in TIME_WAIT when timestamps make it safe " +
      "(its last timestamp at least 1 s old): 0 never, 1 always, 2 loopback peers only (tcp_tw_reuse).",
    layer: "stack",
    linux: ["tcp_tw_reuse"],
  },
  maxTwBuckets: {
    unit: "count",
    min: 0,
    max: 1 << 24,
    default: 131_072,
    description: "TIME_WAIT connections at most; past it a closing connection skips TIME_WAIT " +
      "and is counted (tcp_max_tw_buckets; Linux sizes it from memory).",
    layer: "stack",
    linux: ["tcp_max_tw_buckets"],
  },
  somaxconn: {
    unit: "count",
    min: 0,
    max: 65_535,
    default: 4096,
    description: "Cap on every listener's backlog (net.core.somaxconn, Linux ≥ 5.4 default).",
    layer: "stack",
    linux: ["somaxconn"],
  },
  fastOpen: {
    unit: "boolean",
    default: false,
    description: "TCP Fast Open (RFC 7413) on this endpoint's listeners: give cookies and take " +
      "the data of SYNs with a valid one (a connection uses it with connect's fastOpen).",
    layer: "stack",
    linux: ["tcp_fastopen"],
  },
  fastOpenQueueLimit: {
    unit: "count",
    min: 1,
    max: 65_535,
    default: 256,
    description: "Fast Open connections per listener that took a SYN's data and have not " +
      "completed their handshake, at most (RFC 7413 §5.1); above it a SYN's data is ignored, " +
      "the handshake proceeds as usual, and listen_fast_open_listen_overflow counts it.",
    layer: "stack",
    linux: ["TCP_FASTOPEN qlen"],
  },
  synCookies: {
    unit: "count",
    min: 0,
    max: 2,
    default: 1,
    description: "SYN cookies (tcp_syncookies): 0 off, 1 when a listener's SYN queue is full, " +
      "2 for every SYN; a cookie SYN-ACK keeps no state and the final ACK creates the connection.",
    layer: "stack",
    linux: ["tcp_syncookies"],
  },
  maxConnections: {
    unit: "count",
    min: 0,
    max: 1 << 24,
    default: 0,
    description: "Connections this endpoint's listeners hold at most (handshaking or open, " +
      "not TIME_WAIT); past it a SYN is answered with a RST and counted; 0 no limit. " +
      "The tunnel server sets 4096.",
    layer: "stack",
  },
  maxConnectionsPerAddr: {
    unit: "count",
    min: 0,
    max: 1 << 24,
    default: 0,
    description: "As maxConnections, per peer IP address; 0 no limit. The tunnel server sets 2048.",
    layer: "stack",
  },
  memoryBudget: {
    unit: "bytes",
    min: 0,
    max: 2 ** 40,
    default: 0,
    description: "Send + receive buffer memory of all connections of this endpoint at most: " +
      "each connection's buffers are bounded by an equal share (windows shrink as connections " +
      "are added), and a SYN is refused with a RST when a share would fall below 8 KiB; " +
      "0 no budget. The tunnel sets 256 MiB.",
    layer: "stack",
    linux: ["tcp_mem"],
  },
  portRange: {
    unit: "ports",
    min: 1,
    max: 65_535,
    default: DEFAULT_EPHEMERAL_RANGE,
    description: "Ephemeral TCP port range [low, high] for connections (ip_local_port_range).",
    layer: "stack",
    stackKey: "ephemeralPortRange",
    linux: ["ip_local_port_range"],
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
 * Every tunable after validation, defaults filled in. Mapped from
 * {@linkcode TOU_OPTION_SPECS}, where each option's unit, range, default
 * and meaning are (also in docs/api.md, "Options").
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
export type ResolvedTouOptions = {
  -readonly [K in TouOptionName]: (typeof TOU_OPTION_SPECS)[K] extends { unit: "boolean" } ? boolean
    : (typeof TOU_OPTION_SPECS)[K] extends { choices: readonly string[] }
      ? Extract<(typeof TOU_OPTION_SPECS)[K], { choices: readonly string[] }>["choices"][number]
    : (typeof TOU_OPTION_SPECS)[K] extends { unit: "ports" } ? [number, number]
    : number;
};

/**
 * Tunables as the user passes them: every field optional (see
 * {@linkcode ResolvedTouOptions}). `openEndpoint`, `listen` and `connect`
 * take them in the same object as their address fields.
 *
 * Note on `segmentBudget`: when not given, an endpoint bound to a loopback
 * address, and `connect()` to a loopback peer, use 16384 (docs/api.md ¹).
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
export type TouOptions = {
  readonly [K in TouOptionName]?: (typeof TOU_OPTION_SPECS)[K] extends { unit: "ports" }
    ? readonly [number, number]
    : ResolvedTouOptions[K];
};

/**
 * The names of the options of one layer.
 *
 * @example
 * ```ts
 * import type { OptionsOfLayer } from "./option_specs.ts";
 * const name: OptionsOfLayer<"stack"> = "synQueueLimit";
 * void name;
 * ```
 */
export type OptionsOfLayer<L extends OptionLayer> = {
  [K in TouOptionName]: (typeof TOU_OPTION_SPECS)[K]["layer"] extends L ? K : never;
}[TouOptionName];
