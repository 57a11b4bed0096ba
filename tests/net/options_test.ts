import assert from "node:assert/strict";
import { z } from "zod";
import { DEFAULT_TCP_CONFIG } from "../../src/tcp/config.ts";
import {
  connect,
  InvalidOptionError,
  listen,
  openEndpoint,
  resolveTouOptions,
  TOU_OPTION_SPECS,
  touOptionsJsonSchema,
} from "../../mod.ts";
import {
  parseOptions,
  toStackOptions,
  touOptionsSchema,
  touOptionsShape,
} from "../../src/net/options.ts";
import type { OptionSpec, ResolvedTouOptions, TouOptions } from "../../src/net/option_specs.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidOptionError, `expected InvalidOptionError, got ${err}`);
    return err.message;
  }
  assert.fail("expected a throw");
}

Deno.test("resolveTouOptions fills Linux defaults when given nothing", () => {
  const o = resolveTouOptions();
  const tcp = toStackOptions(o).tcp!;
  // the internal (testbed-only) TcpConfig fields are not options: the stack fills their defaults
  const { rfc1337: _r, initialWindowBytes: _i, pacingHorizon: _p, ...publicDefaults } =
    DEFAULT_TCP_CONFIG;
  assert.deepEqual({ ...tcp }, publicDefaults);
  assert.equal(o.backlog, 128);
  assert.equal(o.synQueueLimit, 256);
  assert.equal(o.abortOnOverflow, false);
  assert.deepEqual(o.portRange, [32768, 60999]);
  // issue 13 knobs, Linux defaults
  assert.deepEqual([o.twReuse, o.maxTwBuckets, o.somaxconn, o.orphanRetries], [
    2,
    131_072,
    4096,
    0,
  ]);
});

Deno.test("resolveTouOptions keeps given values when they are in range", () => {
  const o = resolveTouOptions({
    msl: 1,
    noDelay: true,
    congestionControl: "none",
    portRange: [1000, 1000],
  });
  assert.equal(o.msl, 1);
  assert.equal(o.noDelay, true);
  assert.equal(o.congestionControl, "none");
  assert.deepEqual(toStackOptions(o).ephemeralPortRange, [1000, 1000]);
});

Deno.test("resolveTouOptions names the field and range when a number is out of range", () => {
  assert.equal(
    message(() => resolveTouOptions({ msl: -5 })),
    "Invalid option msl: must be between 1 and 600000 ms, got -5",
  );
  assert.equal(
    message(() => resolveTouOptions({ sendBufferSize: 10 })),
    "Invalid option sendBufferSize: must be between 1024 and 1073741824 bytes, got 10",
  );
  assert.equal(
    message(() => resolveTouOptions({ synRetries: 1000 })),
    "Invalid option synRetries: must be between 0 and 127, got 1000",
  );
  assert.equal(
    message(() => resolveTouOptions({ delayedAck: 201 })),
    "Invalid option delayedAck: must be between 0 and 200 ms, got 201",
  );
});

Deno.test("resolveTouOptions asks for an integer when a count is fractional", () => {
  assert.equal(
    message(() => resolveTouOptions({ retries: 1.5 })),
    "Invalid option retries: must be an integer between 0 and 255, got 1.5",
  );
});

Deno.test("resolveTouOptions rejects wrong types with the value shown", () => {
  assert.equal(
    message(() => resolveTouOptions({ msl: "5" as unknown as number })),
    'Invalid option msl: must be between 1 and 600000 ms, got "5"',
  );
  assert.equal(
    message(() => resolveTouOptions({ rtoMax: Number.NaN })),
    "Invalid option rtoMax: must be between 1 and 600000 ms, got NaN",
  );
  assert.equal(
    message(() => resolveTouOptions({ noDelay: "yes" as unknown as boolean })),
    'Invalid option noDelay: must be true or false, got "yes"',
  );
  assert.equal(
    message(() => resolveTouOptions({ congestionControl: "vegas" as "none" })),
    'Invalid option congestionControl: must be one of "bbr", "cubic", "newreno", "none", got "vegas"',
  );
});

Deno.test("resolveTouOptions rejects unknown keys by name", () => {
  assert.equal(
    message(() => resolveTouOptions({ msll: 5 } as never)),
    "Invalid option msll: unknown option",
  );
});

Deno.test("resolveTouOptions checks cross-field rules when bounds cross", () => {
  assert.equal(
    message(() => resolveTouOptions({ rtoMin: 5000, rtoMax: 1000 })),
    "Invalid option rtoMin: must not exceed rtoMax (1000 ms), got 5000",
  );
  assert.equal(
    message(() => resolveTouOptions({ portRange: [50000, 40000] })),
    "Invalid option portRange: must be [low, high] with low <= high, got [50000,40000]",
  );
  assert.equal(
    message(() => resolveTouOptions({ portRange: [0, 40000] })),
    "Invalid option portRange.0: must be between 1 and 65535, got 0",
  );
});

Deno.test("touOptionsSchema converts to a JSON Schema with every option, range and default", () => {
  const json = z.toJSONSchema(touOptionsSchema, { io: "input" }) as {
    properties: Record<string, { minimum?: number; maximum?: number; default?: unknown }>;
    additionalProperties: boolean;
  };
  assert.deepEqual(Object.keys(json.properties).sort(), Object.keys(TOU_OPTION_SPECS).sort());
  assert.equal(json.properties.msl.minimum, 1);
  assert.equal(json.properties.msl.maximum, 600_000);
  assert.equal(json.properties.msl.default, 30_000);
  assert.equal(json.additionalProperties, false);
  assert.deepEqual(touOptionsJsonSchema(), json);
});

Deno.test("TOU_OPTION_SPECS defaults agree with the schema when parsed empty", () => {
  const o = resolveTouOptions() as unknown as Record<string, unknown>;
  for (const [name, spec] of Object.entries(TOU_OPTION_SPECS)) {
    assert.deepEqual(o[name], spec.default, name);
  }
});

Deno.test("openEndpoint rejects a bad option before binding a socket", async () => {
  await assert.rejects(
    openEndpoint({ hostname: "127.0.0.1", msl: 0 }),
    {
      name: "InvalidOption",
      message: "Invalid option msl: must be between 1 and 600000 ms, got 0",
    },
  );
  await assert.rejects(
    openEndpoint({ port: 70000 }),
    { message: "Invalid option port: must be between 0 and 65535, got 70000" },
  );
});

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

Deno.test("ResolvedTouOptions matches the schema's inferred output when type-checked", () => {
  const shape = z.strictObject(touOptionsShape);
  const same: Equal<z.output<typeof shape>, ResolvedTouOptions> = true;
  const keys: Equal<keyof z.input<typeof shape>, keyof TouOptions> = true;
  assert.ok(same && keys);
});

/** Other options that keep `name` clear of the cross-field rules at any in-range value. */
function companions(name: string): TouOptions {
  if (name === "rtoMin") return { rtoMax: 600_000 };
  if (name === "rtoMax") return { rtoMin: 1 };
  return {};
}

/** Every bad value of one option, with the exact message it must give. */
function badValues(name: string): [unknown, string][] {
  const spec = TOU_OPTION_SPECS[name as keyof typeof TOU_OPTION_SPECS];
  switch (spec.unit) {
    case "boolean":
      return [["yes", `Invalid option ${name}: must be true or false, got "yes"`]];
    case "name":
      return [[
        "vegas",
        `Invalid option ${name}: must be one of ${
          (spec as { choices: readonly string[] }).choices.map((c) => `"${c}"`).join(", ")
        }, got "vegas"`,
      ]];
    case "ports": {
      const { min, max } = spec as { min: number; max: number };
      const range = `must be between ${min} and ${max}`;
      return [
        [[min - 1, max], `Invalid option ${name}.0: ${range}, got ${min - 1}`],
        [[min, max + 1], `Invalid option ${name}.1: ${range}, got ${max + 1}`],
        [
          5,
          `Invalid option ${name}: must be [low, high] with ports between ${min} and ${max}, got 5`,
        ],
      ];
    }
    default: {
      const { min, max, unit } = spec as { min: number; max: number; unit: string };
      const u = unit === "ms" || unit === "bytes" || unit === "segments" ? ` ${unit}` : "";
      const range = `between ${min} and ${max}${u}`;
      return [
        [min - 1, `Invalid option ${name}: must be ${range}, got ${min - 1}`],
        [max + 1, `Invalid option ${name}: must be ${range}, got ${max + 1}`],
        [min + 0.5, `Invalid option ${name}: must be an integer ${range}, got ${min + 0.5}`],
        ["1", `Invalid option ${name}: must be ${range}, got "1"`],
      ];
    }
  }
}

Deno.test("resolveTouOptions names the field and its allowed range when any tunable is out of range", () => {
  const names = Object.keys(TOU_OPTION_SPECS);
  assert.equal(names.length, 43);
  for (const name of names) {
    for (const [value, expected] of badValues(name)) {
      const input = { ...companions(name), [name]: value } as TouOptions;
      assert.equal(message(() => resolveTouOptions(input)), expected, `${name} = ${value}`);
    }
  }
});

Deno.test("resolveTouOptions accepts every numeric tunable at both ends of its range", () => {
  for (const [name, spec] of Object.entries(TOU_OPTION_SPECS)) {
    if (!("min" in spec) || spec.unit === "ports") continue;
    for (const v of [spec.min, spec.max]) {
      const o = resolveTouOptions({ ...companions(name), [name]: v } as TouOptions);
      assert.equal((o as unknown as Record<string, unknown>)[name], v, `${name} = ${v}`);
    }
  }
  assert.deepEqual(resolveTouOptions({ portRange: [1, 65535] }).portRange, [1, 65535]);
});

Deno.test("listen, connect and openEndpoint reject every bad tunable before opening a socket", async () => {
  for (const name of Object.keys(TOU_OPTION_SPECS)) {
    const [value, expected] = badValues(name)[0];
    const bad = { ...companions(name), [name]: value } as TouOptions;
    const calls: [string, () => Promise<unknown>][] = [
      ["openEndpoint", () => openEndpoint({ hostname: "127.0.0.1", ...bad })],
      ["listen", () => listen({ hostname: "127.0.0.1", ...bad })],
      ["connect", () => connect({ hostname: "127.0.0.1", port: 9, ...bad })],
    ];
    for (const [fn, call] of calls) {
      await assert.rejects(call(), { name: "InvalidOption", message: expected }, `${fn} ${name}`);
    }
  }
});

Deno.test("resolveTouOptions defaults follow Linux when given nothing", () => {
  const o = resolveTouOptions();
  // Each value, with the Linux knob it mirrors.
  assert.equal(o.rtoInitial, 1_000); // TCP_TIMEOUT_INIT (RFC 6298 §2.1)
  assert.equal(o.rtoMin, 200); // TCP_RTO_MIN
  assert.equal(o.rtoMax, 120_000); // TCP_RTO_MAX
  assert.equal(o.synRetries, 6); // net.ipv4.tcp_syn_retries
  assert.equal(o.synAckRetries, 5); // net.ipv4.tcp_synack_retries
  assert.equal(o.retries, 15); // net.ipv4.tcp_retries2
  assert.equal(o.delayedAck, 40); // TCP_DELACK_MIN
  assert.equal(o.finWait2Timeout, 60_000); // net.ipv4.tcp_fin_timeout
  assert.equal(o.msl, 30_000); // TCP_TIMEWAIT_LEN = 60 s = 2·MSL
  assert.equal(o.keepAlive, false); // SO_KEEPALIVE off unless asked
  assert.equal(o.keepAliveIdle, 7_200_000); // net.ipv4.tcp_keepalive_time
  assert.equal(o.keepAliveInterval, 75_000); // net.ipv4.tcp_keepalive_intvl
  assert.equal(o.keepAliveCount, 9); // net.ipv4.tcp_keepalive_probes
  assert.equal(o.noDelay, false); // Nagle on
  assert.equal(o.initialCwnd, 10); // TCP_INIT_CWND (RFC 6928)
  assert.equal(o.pacing, true); // Linux TCP internal pacing (tcp_internal_pacing / sch_fq)
  assert.equal(o.pacingBurst, 32);
  assert.equal(o.windowScaling, true); // net.ipv4.tcp_window_scaling
  assert.equal(o.timestamps, true); // net.ipv4.tcp_timestamps
  assert.equal(o.sack, true); // net.ipv4.tcp_sack
  assert.equal(o.challengeAckLimit, 1_000); // net.ipv4.tcp_challenge_ack_limit
  assert.equal(o.backlog, 128); // the classic SOMAXCONN
  assert.equal(o.synQueueLimit, 256); // net.ipv4.tcp_max_syn_backlog (small hosts)
  assert.equal(o.abortOnOverflow, false); // net.ipv4.tcp_abort_on_overflow
  assert.equal(o.coalesceAcks, true); // stretch ACKs after GRO
  assert.deepEqual(o.portRange, [32768, 60999]); // net.ipv4.ip_local_port_range
  // A 1500-byte MTU path: 1500 - 20 (IPv4) - 8 (UDP) - 4 (tou envelope).
  assert.equal(o.segmentBudget, 1448);
});

Deno.test("docs/api.md lists every tunable of TOU_OPTION_SPECS with its default", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/api.md", import.meta.url));
  for (const [name, spec] of Object.entries(TOU_OPTION_SPECS)) {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${name}\``));
    assert.ok(row, `docs/api.md has no row for ${name}`);
    if (typeof spec.default !== "object") {
      const shown = typeof spec.default === "string" ? `"${spec.default}"` : String(spec.default);
      assert.ok(row.includes(` ${shown} `) || /\d+ (MiB|KiB)/.test(row), `${name}: ${row}`);
    }
  }
});

Deno.test("toStackOptions puts each option where its table entry's layer says", () => {
  const o = resolveTouOptions({
    msl: 1234,
    synQueueLimit: 7,
    coalesceAcks: false,
    abortOnOverflow: true,
    portRange: [2000, 3000],
    backlog: 9,
  });
  const s = toStackOptions(o);
  assert.equal(s.tcp?.msl, 1234);
  assert.equal(s.synQueueLimit, 7);
  assert.equal(s.coalesceAcks, false);
  assert.equal(s.abortOnOverflow, true);
  assert.deepEqual(s.ephemeralPortRange, [2000, 3000]);
  assert.notEqual(s.ephemeralPortRange, o.portRange, "a copy, not the caller's array");
  for (const [name, spec] of Object.entries(TOU_OPTION_SPECS) as [string, OptionSpec][]) {
    const where: unknown = spec.layer === "tcp"
      ? (s.tcp as Record<string, unknown>)[name]
      : spec.layer === "stack"
      ? (s as Record<string, unknown>)[spec.stackKey ?? name]
      : undefined;
    if (spec.layer === "endpoint") assert.equal(name in s, false, name);
    else assert.deepEqual(where, (o as unknown as Record<string, unknown>)[name], name);
  }
});

Deno.test("parseOptions validates a frozen flat options object once and hands back the same result", () => {
  const frozen = Object.freeze({ msl: 1000, signal: new AbortController().signal });
  const a = parseOptions(z.object({ msl: z.number(), signal: z.any() }), frozen);
  const schema = z.strictObject({ msl: z.number().int().min(1), signal: z.any().optional() });
  const b = parseOptions(schema, frozen);
  assert.equal(parseOptions(schema, frozen), b); // cached for this schema
  assert.notEqual(a, b); // not across schemas
  const open = { msl: 1000 };
  assert.notEqual(parseOptions(schema, open), parseOptions(schema, open)); // not frozen: every time
  const nested = Object.freeze({ msl: 1000, signal: [1] });
  assert.notEqual(parseOptions(schema, nested), parseOptions(schema, nested)); // not flat
  assert.throws(() => parseOptions(schema, Object.freeze({ msl: -1 })), /msl/);
  assert.throws(() => parseOptions(schema, Object.freeze({ msl: -1 })), /msl/); // errors are not cached
});
