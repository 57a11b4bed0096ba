import assert from "node:assert/strict";
import { z } from "zod";
import { DEFAULT_TCP_CONFIG } from "../../src/tcp/config.ts";
import {
  InvalidOptionError,
  openEndpoint,
  resolveTouOptions,
  TOU_OPTION_SPECS,
  touOptionsJsonSchema,
} from "../../mod.ts";
import { toStackOptions, touOptionsSchema, touOptionsShape } from "../../src/net/options.ts";
import type { ResolvedTouOptions, TouOptions } from "../../src/net/option_specs.ts";

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
  assert.deepEqual({ ...tcp }, { ...DEFAULT_TCP_CONFIG });
  assert.equal(o.backlog, 128);
  assert.equal(o.synQueueLimit, 256);
  assert.equal(o.abortOnOverflow, false);
  assert.deepEqual(o.portRange, [32768, 60999]);
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
    message(() => resolveTouOptions({ congestionControl: "cubic" as "none" })),
    'Invalid option congestionControl: must be one of "newreno", "none", got "cubic"',
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
