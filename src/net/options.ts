/**
 * Every tunable of tou in one options object, validated by a zod schema.
 *
 * Defaults follow Linux (`DEFAULT_TCP_CONFIG` in src/tcp/config.ts). A bad value is
 * reported with the field and its allowed range, e.g.
 * `Invalid option msl: must be between 1 and 600000 ms, got -5`.
 *
 * The schema is exported so the CLI can validate its config file with it
 * and turn it into a JSON Schema with `z.toJSONSchema(touOptionsSchema)`.
 *
 * @module
 */

import { z } from "zod";
import type { TcpConfig } from "../tcp/config.ts";
import type { StackOptions } from "../stack/stack.ts";
import { InvalidOptionError } from "./errors.ts";
import {
  type OptionSpec,
  type ResolvedTouOptions,
  TOU_OPTION_SPECS,
  type TouOptions,
} from "./option_specs.ts";

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
  userTimeout: num(S.userTimeout),
  amplificationLimit: num(S.amplificationLimit),
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
  pacing: flag(S.pacing),
  pacingBurst: num(S.pacingBurst),
  initialCwnd: num(S.initialCwnd),
  challengeAckLimit: num(S.challengeAckLimit),
  maxOutOfOrderRanges: num(S.maxOutOfOrderRanges),
  backlog: num(S.backlog),
  synQueueLimit: num(S.synQueueLimit),
  coalesceAcks: flag(S.coalesceAcks),
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
 * The JSON Schema (draft 2020-12) of the tunables, as accepted on input
 * (every field optional, with its range, default and description), for
 * config files and editors. Made with zod v4's `z.toJSONSchema`.
 *
 * @returns A JSON Schema object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { touOptionsJsonSchema } from "./options.ts";
 * const schema = touOptionsJsonSchema() as { properties: Record<string, { maximum?: number }> };
 * assert.equal(schema.properties.msl.maximum, 600_000);
 * ```
 */
export function touOptionsJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(touOptionsSchema, { io: "input" }) as Record<string, unknown>;
}

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
    userTimeout: o.userTimeout,
    amplificationLimit: o.amplificationLimit,
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
    pacing: o.pacing,
    pacingBurst: o.pacingBurst,
    initialCwnd: o.initialCwnd,
    challengeAckLimit: o.challengeAckLimit,
    maxOutOfOrderRanges: o.maxOutOfOrderRanges,
  };
  return {
    tcp,
    ephemeralPortRange: [o.portRange[0], o.portRange[1]],
    synQueueLimit: o.synQueueLimit,
    abortOnOverflow: o.abortOnOverflow,
    coalesceAcks: o.coalesceAcks,
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
