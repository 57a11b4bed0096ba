/**
 * Command-line flags for the Linux knobs, generated from the option table
 * (`TOU_OPTION_SPECS`, src/net/option_specs.ts): every option whose `linux`
 * names include a sysctl (a lower-case name such as `tcp_syn_retries`) gets
 * a flag named after it, `tcp_` dropped: `--syn-retries`,
 * `--keepalive-time`, `--somaxconn`, `--ip-local-port-range`, ... The one
 * exception is `tcp_congestion_control`, which is `--congestion`.
 *
 * A flag takes the value as Linux's sysctl does: seconds where tou's option
 * is in ms (`--fin-timeout 30` is `finWait2Timeout: 30000`), 0 or 1 for a
 * boolean, `LOW-HIGH` for the port range. Each is validated by a zod schema
 * in the flag's own unit, so its message names the flag and that unit; the
 * value then becomes the `tcp.<option>` of the config (a flag overrides the
 * same key of the `--config` file's `tcp` object).
 *
 * @module
 */

import { z } from "zod";
import { type OptionSpec, TOU_OPTION_SPECS, type TouOptionName } from "../net/option_specs.ts";
import type { TouOptions } from "../net/mod.ts";
import { ConfigError } from "./config_error.ts";
import { tunnelTcp } from "./dead_peer.ts";

/** One generated flag. */
export interface KnobFlag {
  /** The option it sets, `tcp.<option>` in a config file. */
  readonly option: TouOptionName;
  /** The Linux sysctl it is named after. */
  readonly linux: string;
  /** The flag, e.g. "--syn-retries". */
  readonly flag: string;
  /** Commander's attribute name of the flag, e.g. "synRetries". */
  readonly attribute: string;
  /** Its argument as help shows it, e.g. "<count>". */
  readonly arg: string;
  /** Help text. */
  readonly help: string;
  /** Validates the flag's value (a number, or the text when it is not one) and converts it. */
  readonly parse: (value: unknown) => TouOptions[TouOptionName];
}

/**
 * The tunnel's own defaults where they differ from the library's: keepalive
 * from `--keepalive`, Fast Open on (`tou_endpoint.ts`).
 */
const TUNNEL_DEFAULTS: Readonly<Record<string, unknown>> = {
  fastOpen: true,
  ...tunnelTcp(undefined, {}),
};

/** Options with a sysctl name that keep another flag. */
const OTHER_FLAG: ReadonlySet<string> = new Set(["congestionControl"]);

const SYSCTL = /^[a-z][a-z0-9_]*$/;

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function camel(flag: string): string {
  return flag.slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The text of a default as the flag takes it. */
function flagValue(spec: OptionSpec, v: unknown): string {
  if (spec.unit === "ms") return `${(v as number) / 1000} s`;
  if (spec.unit === "boolean") return v ? "1" : "0";
  if (spec.unit === "ports") return (v as readonly number[]).join("-");
  return String(v);
}

function schemaOf(spec: OptionSpec): { arg: string; schema: z.ZodType<unknown, unknown> } {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = spec;
  switch (spec.unit) {
    case "ms": {
      const lo = min / 1000, hi = max / 1000;
      const error = (iss: { input?: unknown }) =>
        `must be a number of seconds between ${lo} and ${hi}, got ${show(iss.input)}`;
      return {
        arg: "<seconds>",
        schema: z.number({ error }).min(lo, { error }).max(hi, { error })
          .transform((s) => Math.round(s * 1000)),
      };
    }
    case "boolean": {
      const error = (iss: { input?: unknown }) => `must be 0 or 1, got ${show(iss.input)}`;
      return {
        arg: "<bool>",
        schema: z.union([z.literal(0), z.literal(1), z.literal("true"), z.literal("false")], {
          error,
        }).transform((v) => v === 1 || v === "true"),
      };
    }
    case "ports": {
      const message = (input: unknown) =>
        `must be LOW-HIGH with ${min} <= LOW <= HIGH <= ${max}, e.g. 32768-60999, got ${
          show(input)
        }`;
      return {
        arg: "<low-high>",
        schema: z.string({ error: (iss) => message(iss.input) }).transform((t, ctx) => {
          const m = /^(\d+)-(\d+)$/.exec(t);
          const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
          if (!(min <= lo && lo <= hi && hi <= max)) {
            ctx.addIssue({ code: "custom", input: t, message: message(t) });
            return z.NEVER;
          }
          return [lo, hi] as [number, number];
        }),
      };
    }
    default: {
      const error = (iss: { input?: unknown }) =>
        `must be a whole number between ${min} and ${max}, got ${show(iss.input)}`;
      return {
        arg: "<n>",
        schema: z.number({ error }).int({ error }).min(min, { error }).max(max, { error }),
      };
    }
  }
}

function build(): KnobFlag[] {
  const out: KnobFlag[] = [];
  for (const [name, raw] of Object.entries(TOU_OPTION_SPECS)) {
    const spec = raw as OptionSpec;
    const linux = spec.linux?.find((l) => SYSCTL.test(l));
    if (linux === undefined || OTHER_FLAG.has(name)) continue;
    const flag = `--${linux.replace(/^tcp_/, "").replaceAll("_", "-")}`;
    const { arg, schema } = schemaOf(spec);
    out.push({
      option: name as TouOptionName,
      linux,
      flag,
      attribute: camel(flag),
      arg,
      help: `${spec.description.includes(linux) ? "" : `${linux}: `}${spec.description} ` +
        `[tcp.${name}; default ${flagValue(spec, TUNNEL_DEFAULTS[name] ?? spec.default)}]`,
      parse: (value) => {
        const r = schema.safeParse(value);
        if (!r.success) throw new ConfigError(`${flag}: ${r.error.issues[0].message}`);
        return r.data as TouOptions[TouOptionName];
      },
    });
  }
  return out;
}

/**
 * The flags, in the option table's order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KNOB_FLAGS } from "./knob_flags.ts";
 * const fin = KNOB_FLAGS.find((k) => k.flag === "--fin-timeout")!;
 * assert.equal(fin.option, "finWait2Timeout");
 * assert.equal(fin.parse(30), 30_000);
 * assert.throws(() => fin.parse(0), /--fin-timeout: must be a number of seconds/);
 * ```
 */
export const KNOB_FLAGS: readonly KnobFlag[] = build();

/**
 * Takes the knob flags out of parsed flags (by commander attribute) and
 * returns the rest and, validated and converted, the `tcp` options they set.
 *
 * @param flags Commander's options.
 * @returns The other flags, and the knobs' options (empty when none was given).
 * @throws {ConfigError} Naming the flag, when a value is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { takeKnobFlags } from "./knob_flags.ts";
 * const { rest, tcp } = takeKnobFlags({ listen: "7000", synRetries: 2, sack: 0 });
 * assert.deepEqual(rest, { listen: "7000" });
 * assert.deepEqual(tcp, { synRetries: 2, sack: false });
 * ```
 */
export function takeKnobFlags(
  flags: Readonly<Record<string, unknown>>,
): { rest: Record<string, unknown>; tcp: TouOptions } {
  const rest: Record<string, unknown> = { ...flags };
  const tcp: Record<string, unknown> = {};
  for (const k of KNOB_FLAGS) {
    const v = rest[k.attribute];
    delete rest[k.attribute];
    if (v !== undefined) tcp[k.option] = k.parse(v);
  }
  return { rest, tcp: tcp as TouOptions };
}
