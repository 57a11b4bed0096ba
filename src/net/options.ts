/**
 * Every tunable of tou in one options object, validated by a zod schema.
 *
 * Defaults follow Linux (see {@linkcode DEFAULT_TCP_CONFIG}). A bad value is
 * reported with the field and its allowed range, e.g.
 * `Invalid option msl: must be between 1 and 600000 ms, got -5`.
 *
 * The schema is exported so the CLI can validate its config file with it
 * and turn it into a JSON Schema with `z.toJSONSchema(touOptionsSchema)`.
 *
 * @module
 */

import { z } from "zod";
import { DEFAULT_TCP_CONFIG, type TcpConfig } from "../tcp/config.ts";
import type { StackOptions } from "../stack/stack.ts";
import { DEFAULT_EPHEMERAL_RANGE } from "../stack/ports.ts";
import { InvalidOptionError } from "./errors.ts";

/** What an option measures; used in messages and docs. */
export type OptionUnit = "ms" | "bytes" | "segments" | "count" | "boolean" | "name" | "ports";

/** Describes one option: its unit, range and default (the source of the schema and the docs table). */
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
 * import { TOU_OPTION_SPECS } from "./options.ts";
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
    choices: ["newreno", "none"],
    default: C.congestionControl,
    description: "Congestion control algorithm.",
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

/** The name of a tunable. */
export type TouOptionName = keyof typeof TOU_OPTION_SPECS;

function show(v: unknown): string {
  if (typeof v === "number" || typeof v === "bigint" || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function rangeText(spec: OptionSpec, integer: boolean): string {
  const unit = spec.unit === "ms" || spec.unit === "bytes" || spec.unit === "segments"
    ? ` ${spec.unit}`
    : "";
  return `must be ${integer ? "an integer " : ""}between ${spec.min} and ${spec.max}${unit}`;
}

function numberField(spec: OptionSpec) {
  const error = (iss: { input?: unknown }) => {
    const v = iss.input;
    const fractional = typeof v === "number" && Number.isFinite(v) && !Number.isInteger(v);
    return `${rangeText(spec, fractional)}, got ${show(v)}`;
  };
  return z.number({ error }).int({ error }).min(spec.min!, { error }).max(spec.max!, { error });
}

function num(spec: OptionSpec) {
  return numberField(spec).default(spec.default as number).describe(spec.description);
}

function flag(spec: OptionSpec) {
  const error = (iss: { input?: unknown }) => `must be true or false, got ${show(iss.input)}`;
  return z.boolean({ error }).default(spec.default as boolean).describe(spec.description);
}

function choice<const T extends readonly [string, ...string[]]>(spec: OptionSpec, choices: T) {
  const error = (iss: { input?: unknown }) =>
    `must be one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${show(iss.input)}`;
  return z.enum(choices, { error }).default(spec.default as T[number]).describe(
    spec.description,
  );
}

function ports(spec: OptionSpec) {
  const port = numberField(spec);
  const error = (iss: { input?: unknown }) =>
    `must be [low, high] with ports between ${spec.min} and ${spec.max}, got ${show(iss.input)}`;
  const def = spec.default as readonly [number, number];
  return z.tuple([port, port], { error }).default([def[0], def[1]]).describe(spec.description);
}

const S = TOU_OPTION_SPECS;

/**
 * The fields of {@linkcode touOptionsSchema} without its cross-field checks,
 * for composing other schemas (zod v4 refuses `.extend`/`.partial` on a
 * refined object).
 *
 * @example Compose a config-file schema
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { touOptionsShape } from "./options.ts";
 * const file = z.object({ listen: z.string(), ...touOptionsShape }).partial();
 * assert.equal(file.parse({ msl: 5 }).msl, 5);
 * ```
 */
export const touOptionsShape = {
  segmentBudget: num(S.segmentBudget),
  sendBufferSize: num(S.sendBufferSize),
  recvBufferSize: num(S.recvBufferSize),
  msl: num(S.msl),
  finWait2Timeout: num(S.finWait2Timeout),
  rtoInitial: num(S.rtoInitial),
  rtoMin: num(S.rtoMin),
  rtoMax: num(S.rtoMax),
  synRetries: num(S.synRetries),
  synAckRetries: num(S.synAckRetries),
  retries: num(S.retries),
  delayedAck: num(S.delayedAck),
  noDelay: flag(S.noDelay),
  keepAlive: flag(S.keepAlive),
  keepAliveIdle: num(S.keepAliveIdle),
  keepAliveInterval: num(S.keepAliveInterval),
  keepAliveCount: num(S.keepAliveCount),
  windowScaling: flag(S.windowScaling),
  timestamps: flag(S.timestamps),
  sack: flag(S.sack),
  congestionControl: choice(S.congestionControl, S.congestionControl.choices),
  initialCwnd: num(S.initialCwnd),
  challengeAckLimit: num(S.challengeAckLimit),
  maxOutOfOrderRanges: num(S.maxOutOfOrderRanges),
  backlog: num(S.backlog),
  synQueueLimit: num(S.synQueueLimit),
  abortOnOverflow: flag(S.abortOnOverflow),
  portRange: ports(S.portRange),
} as const;

/** Cross-field rules shared by every schema built on {@linkcode touOptionsShape}. */
export function checkTouOptions(
  v: { rtoMin?: number; rtoMax?: number; portRange?: readonly [number, number] },
  ctx: z.RefinementCtx,
): void {
  if (v.rtoMin !== undefined && v.rtoMax !== undefined && v.rtoMin > v.rtoMax) {
    ctx.addIssue({
      code: "custom",
      path: ["rtoMin"],
      input: v.rtoMin,
      message: `must not exceed rtoMax (${v.rtoMax} ms), got ${v.rtoMin}`,
    });
  }
  if (v.portRange !== undefined && v.portRange[0] > v.portRange[1]) {
    ctx.addIssue({
      code: "custom",
      path: ["portRange"],
      input: v.portRange,
      message: `must be [low, high] with low <= high, got ${show(v.portRange)}`,
    });
  }
}

/**
 * Every tunable after validation, defaults filled in. Ranges and defaults
 * are in {@linkcode TOU_OPTION_SPECS} and docs/api.md.
 */
export interface ResolvedTouOptions {
  /** Largest TCP segment (header + options + payload) in one UDP datagram, after the 4-byte envelope. Bytes, 64–65503, default 1448. */
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
  /** Congestion control algorithm. Default "newreno". */
  congestionControl: "newreno" | "none";
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
  /** Reset a handshake completing while the accept queue is full (tcp_abort_on_overflow). Default false. */
  abortOnOverflow: boolean;
  /** Ephemeral TCP port range [low, high] (ip_local_port_range). 1–65535, default [32768, 60999]. */
  portRange: [number, number];
}

/** Tunables as the user passes them: every field optional (see {@linkcode ResolvedTouOptions}). */
export interface TouOptions {
  /** Largest TCP segment (header + options + payload) in one UDP datagram, after the 4-byte envelope. Bytes, 64–65503, default 1448. */
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
  /** Congestion control algorithm. Default "newreno". */
  readonly congestionControl?: "newreno" | "none";
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
  /** Reset a handshake completing while the accept queue is full (tcp_abort_on_overflow). Default false. */
  readonly abortOnOverflow?: boolean;
  /** Ephemeral TCP port range [low, high] (ip_local_port_range). 1–65535, default [32768, 60999]. */
  readonly portRange?: readonly [number, number];
}

/**
 * The zod schema of every tunable. Unknown keys are rejected; missing ones
 * take their Linux-like default.
 *
 * @example Validate and convert to JSON Schema
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { touOptionsSchema } from "./options.ts";
 * assert.equal(touOptionsSchema.parse({}).msl, 30_000);
 * assert.equal(touOptionsSchema.safeParse({ msl: -5 }).success, false);
 * const json = z.toJSONSchema(touOptionsSchema, { io: "input" }) as {
 *   properties: Record<string, { maximum?: number }>;
 * };
 * assert.equal(json.properties.msl.maximum, 600_000);
 * ```
 */
export const touOptionsSchema: z.ZodType<ResolvedTouOptions, TouOptions> = z.strictObject(
  touOptionsShape,
).superRefine(checkTouOptions);

/**
 * Turns the first issue of a failed parse into an {@linkcode InvalidOptionError}
 * such as `Invalid option msl: must be between 1 and 600000 ms, got -5`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { touOptionsSchema, optionError } from "./options.ts";
 * const r = touOptionsSchema.safeParse({ retries: 1.5 });
 * assert.ok(!r.success);
 * assert.equal(
 *   optionError(r.error).message,
 *   "Invalid option retries: must be an integer between 0 and 255, got 1.5",
 * );
 * ```
 */
export function optionError(error: z.ZodError): InvalidOptionError {
  const issue = error.issues[0];
  if (issue === undefined) return new InvalidOptionError("options", "invalid options");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "?";
    return new InvalidOptionError(key, "unknown option");
  }
  const name = issue.path.length > 0 ? issue.path.map(String).join(".") : "options";
  if (name === "options" && issue.code === "invalid_type") {
    return new InvalidOptionError(name, "must be an object");
  }
  return new InvalidOptionError(name, issue.message);
}

/**
 * Parses `input` with `schema`, throwing an {@linkcode InvalidOptionError}
 * naming the first bad field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions, touOptionsSchema } from "./options.ts";
 * assert.throws(
 *   () => parseOptions(touOptionsSchema, { msl: -5 }),
 *   { message: "Invalid option msl: must be between 1 and 600000 ms, got -5" },
 * );
 * ```
 */
export function parseOptions<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw optionError(r.error);
  return r.data;
}

/**
 * Validates tunables and fills in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTouOptions } from "./options.ts";
 * const o = resolveTouOptions({ msl: 1000 });
 * assert.equal(o.msl, 1000);
 * assert.equal(o.rtoMin, 200);
 * assert.deepEqual(o.portRange, [32768, 60999]);
 * ```
 */
export function resolveTouOptions(input: TouOptions = {}): ResolvedTouOptions {
  return parseOptions(touOptionsSchema, input);
}

/** Picks the tunables out of a larger options object (other keys are left out). */
export function pickTouOptions(input: Record<string, unknown>): TouOptions {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(TOU_OPTION_SPECS)) {
    if (input[k] !== undefined) out[k] = input[k];
  }
  return out as TouOptions;
}

/**
 * The stack configuration of resolved options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTouOptions, toStackOptions } from "./options.ts";
 * const s = toStackOptions(resolveTouOptions({ synRetries: 2 }));
 * assert.equal(s.tcp?.synRetries, 2);
 * assert.equal(s.synQueueLimit, 256);
 * ```
 */
export function toStackOptions(o: ResolvedTouOptions): StackOptions {
  const tcp: TcpConfig = {
    segmentBudget: o.segmentBudget,
    sendBufferSize: o.sendBufferSize,
    recvBufferSize: o.recvBufferSize,
    msl: o.msl,
    finWait2Timeout: o.finWait2Timeout,
    rtoInitial: o.rtoInitial,
    rtoMin: o.rtoMin,
    rtoMax: o.rtoMax,
    synRetries: o.synRetries,
    synAckRetries: o.synAckRetries,
    retries: o.retries,
    delayedAck: o.delayedAck,
    noDelay: o.noDelay,
    keepAlive: o.keepAlive,
    keepAliveIdle: o.keepAliveIdle,
    keepAliveInterval: o.keepAliveInterval,
    keepAliveCount: o.keepAliveCount,
    windowScaling: o.windowScaling,
    timestamps: o.timestamps,
    sack: o.sack,
    congestionControl: o.congestionControl,
    initialCwnd: o.initialCwnd,
    challengeAckLimit: o.challengeAckLimit,
    maxOutOfOrderRanges: o.maxOutOfOrderRanges,
  };
  return {
    tcp,
    ephemeralPortRange: [o.portRange[0], o.portRange[1]],
    synQueueLimit: o.synQueueLimit,
    abortOnOverflow: o.abortOnOverflow,
  };
}

/**
 * A port number field (`min` 0 allows "any" when binding) whose errors read
 * "must be between 1 and 65535, got 70000".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { portOption } from "./options.ts";
 * assert.equal(portOption(1).safeParse(0).success, false);
 * assert.equal(portOption(0).parse(0), 0);
 * ```
 */
export function portOption(min: 0 | 1): z.ZodNumber {
  return numberField({ unit: "count", min, max: 65_535, default: 0, description: "" });
}

/**
 * A hostname field: a non-empty string (IP literal or DNS name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostnameOption } from "./options.ts";
 * assert.equal(hostnameOption().safeParse("").success, false);
 * ```
 */
export function hostnameOption(): z.ZodString {
  const error = (iss: { input?: unknown }) =>
    `must be an IP address or host name, got ${show(iss.input)}`;
  return z.string({ error }).min(1, { error });
}

/**
 * An AbortSignal field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signalOption } from "./options.ts";
 * assert.equal(signalOption().safeParse(AbortSignal.timeout(1)).success, true);
 * ```
 */
export function signalOption(): z.ZodType<AbortSignal> {
  const error = (iss: { input?: unknown }) => `must be an AbortSignal, got ${show(iss.input)}`;
  return z.instanceof(AbortSignal, { error });
}

/**
 * A boolean field whose error reads "must be true or false, got …".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { booleanOption } from "./options.ts";
 * assert.equal(booleanOption().safeParse("yes").success, false);
 * ```
 */
export function booleanOption(): z.ZodBoolean {
  const error = (iss: { input?: unknown }) => `must be true or false, got ${show(iss.input)}`;
  return z.boolean({ error });
}
