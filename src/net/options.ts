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
import type { StackOptions } from "../stack/stack_options.ts";
import { InvalidOptionError } from "./errors.ts";
import {
  type OptionsOfLayer,
  type OptionSpec,
  type ResolvedTouOptions,
  TOU_OPTION_SPECS,
  type TouOptionName,
  type TouOptions,
} from "./option_specs.ts";

type NumberBounds = Pick<OptionSpec, "unit" | "min" | "max">;

function show(v: unknown): string {
  if (typeof v === "number" || typeof v === "bigint" || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function rangeText(spec: NumberBounds, integer: boolean): string {
  const unit = spec.unit === "ms" || spec.unit === "bytes" || spec.unit === "segments"
    ? ` ${spec.unit}`
    : "";
  return `must be ${integer ? "an integer " : ""}between ${spec.min} and ${spec.max}${unit}`;
}

function numberField(spec: NumberBounds) {
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

function field(spec: OptionSpec): z.ZodType {
  switch (spec.unit) {
    case "boolean":
      return flag(spec);
    case "name":
      return choice(spec, spec.choices as readonly [string, ...string[]]);
    case "ports":
      return ports(spec);
    default:
      return num(spec);
  }
}

/**
 * The zod field of each option, typed from {@linkcode ResolvedTouOptions}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type TouOptionsShape, touOptionsShape } from "./options.ts";
 * const shape: TouOptionsShape = touOptionsShape;
 * assert.equal(shape.msl.parse(undefined), 30_000);
 * ```
 */
export type TouOptionsShape = {
  readonly [K in TouOptionName]: z.ZodDefault<
    z.ZodType<ResolvedTouOptions[K], ResolvedTouOptions[K]>
  >;
};

/**
 * The fields of {@linkcode touOptionsSchema} without its cross-field checks,
 * for composing other schemas (zod v4 refuses `.extend`/`.partial` on a
 * refined object). Built from {@linkcode TOU_OPTION_SPECS}, in its order.
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
export const touOptionsShape: TouOptionsShape = Object.fromEntries(
  Object.entries(TOU_OPTION_SPECS).map(([name, spec]) => [name, field(spec)]),
) as unknown as TouOptionsShape;

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
  // Only frozen flat objects are ever stored (and they cannot change): a hit needs no re-check.
  if (typeof input === "object" && input !== null) {
    const hit = frozenParsed.get(input);
    if (hit !== undefined && hit.schema === schema) return hit.data as z.output<T>;
  }
  const frozen = isFrozenFlat(input);
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw optionError(r.error);
  if (frozen) frozenParsed.set(input, { schema, data: r.data });
  return r.data;
}

/**
 * What {@linkcode parseOptions} made of a frozen options object whose values
 * are all primitives or abort signals: such an object cannot change, so the
 * same object passed again (a tunnel passes one per connect window) is
 * validated once, not on every call.
 */
const frozenParsed = new WeakMap<object, { readonly schema: z.ZodType; readonly data: unknown }>();

function isFrozenFlat(input: unknown): input is object {
  if (typeof input !== "object" || input === null || !Object.isFrozen(input)) return false;
  for (const v of Object.values(input)) {
    if (typeof v === "object" && v !== null && !(v instanceof AbortSignal)) return false;
    if (typeof v === "function") return false;
  }
  return true;
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

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
type Specs = typeof TOU_OPTION_SPECS;
type TcpOptionName = OptionsOfLayer<"tcp">;
type StackOptionName = OptionsOfLayer<"stack">;
type StackKeyOf<K extends StackOptionName> = Specs[K] extends { readonly stackKey: infer S } ? S
  : K;

/**
 * `TcpConfig` fields that are not user tunables (set by the stack or the
 * testbed only), so they need no table entry: the stack fills their
 * defaults. RFC 1337 on/off and the initial window in bytes are reachable
 * from the test seam (`createTestbed({ tcp })`). (The user timeout is a
 * user tunable: the tunnel sets it.) `recvAutoTune` (receive-window
 * auto-tuning) is on unless `recvBufferSize` is set below its default.
 */
type InternalTcpField = "rfc1337" | "initialWindowBytes" | "pacingHorizon" | "recvAutoTune";

// Compile-time checks that the table and the layers below it agree.
// Every TcpConfig field but the internal ones is a "tcp" option, and every "tcp" option a field:
const _tcpNames: Equal<TcpOptionName, Exclude<keyof TcpConfig, InternalTcpField>> = true;
// ... whose value the field accepts:
const _tcpTypes: Pick<ResolvedTouOptions, TcpOptionName> extends Omit<TcpConfig, InternalTcpField>
  ? true
  : never = true;
// Every "stack" option names a StackOptions field that accepts its value (else its name shows):
const _stackTypes: {
  [K in StackOptionName]: StackKeyOf<K> extends keyof StackOptions
    ? ResolvedTouOptions[K] extends NonNullable<StackOptions[StackKeyOf<K>]> ? true : K
    : K;
}[StackOptionName] = true;

/**
 * The stack configuration of resolved options: each `"tcp"` option goes to
 * `tcp` under its own name, each `"stack"` option to its `StackOptions`
 * field (`stackKey`); `"endpoint"` options stay with the endpoint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTouOptions, toStackOptions } from "./options.ts";
 * const s = toStackOptions(resolveTouOptions({ synRetries: 2 }));
 * assert.equal(s.tcp?.synRetries, 2);
 * assert.equal(s.synQueueLimit, 256);
 * assert.deepEqual(s.ephemeralPortRange, [32768, 60999]);
 * ```
 */
export function toStackOptions(o: ResolvedTouOptions): StackOptions {
  const tcp: Record<string, unknown> = {};
  const stack: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(TOU_OPTION_SPECS) as [TouOptionName, OptionSpec][]) {
    const v = o[name];
    const value = Array.isArray(v) ? [...v] : v;
    if (spec.layer === "tcp") tcp[name] = value;
    else if (spec.layer === "stack") stack[spec.stackKey ?? name] = value;
  }
  return { ...stack, tcp: tcp as unknown as TcpConfig };
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
  return numberField({ unit: "count", min, max: 65_535 });
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

/**
 * A function field whose error reads "must be a function <shape>, got …".
 *
 * @param shape How the function looks, for the message, e.g. "(udp) => DatagramSocket".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { functionOption } from "./options.ts";
 * const f = functionOption<() => void>("() => void");
 * assert.equal(f.safeParse(() => {}).success, true);
 * assert.equal(f.safeParse(5).success, false);
 * ```
 */
export function functionOption<F extends (...args: never[]) => unknown>(
  shape: string,
): z.ZodType<F> {
  const error = (iss: { input?: unknown }) => `must be a function ${shape}, got ${show(iss.input)}`;
  return z.custom<F>((v) => typeof v === "function", { error });
}
