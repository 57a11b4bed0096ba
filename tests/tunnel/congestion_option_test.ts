import assert from "node:assert/strict";
import {
  ConfigError,
  resolveClientSettings,
  resolveServerSettings,
  SELECTABLE_CONGESTION,
  tcpOptionsOf,
  TUNNEL_DEFAULT_CONGESTION,
  validateConfig,
} from "../../src/tunnel/config.ts";
import {
  CONGESTION_NAMES,
  LIBRARY_DEFAULT_CONGESTION,
  MODEL_CONTROLLERS_REGISTERED,
  TUNNEL_DEFAULT_LOSS_TOLERANCE,
} from "../../src/tcp/congestion/defaults.ts";
import { DEFAULT_TCP_CONFIG } from "../../src/tcp/config.ts";
import { resolveTouOptions } from "../../src/net/options.ts";

Deno.test("--congestion sets the congestion control of the tunnel's connections", () => {
  const name = SELECTABLE_CONGESTION[0];
  const flags = validateConfig({ forward: ["22=127.0.0.1:22"], congestion: name }, {
    kind: "flags",
  });
  assert.equal(resolveServerSettings(flags).tcp.congestionControl, name);
  const client = resolveClientSettings(
    validateConfig({ server: "127.0.0.1:7000", local: ["2222=22"], congestion: name }, {
      kind: "flags",
    }),
  );
  assert.equal(client.tcp.congestionControl, name);
  // the flag overrides tcp.congestionControl from a file
  assert.deepEqual(tcpOptionsOf({ congestion: name, tcp: { congestionControl: "none" } }), {
    congestionControl: name,
  });
});

Deno.test("--congestion rejects an unknown algorithm naming the flag and the choices", () => {
  assert.throws(
    () => validateConfig({ congestion: "vegas" }, { kind: "flags" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === `--congestion: must be one of ${SELECTABLE_CONGESTION.join(", ")}, got "vegas"`,
  );
});

Deno.test("the library defaults to cubic and the tunnel to bbr once both are registered", () => {
  assert.deepEqual([...CONGESTION_NAMES], ["bbr", "cubic", "newreno", "none"]);
  assert.equal(DEFAULT_TCP_CONFIG.congestionControl, LIBRARY_DEFAULT_CONGESTION);
  assert.equal(resolveTouOptions({}).congestionControl, LIBRARY_DEFAULT_CONGESTION);
  if (MODEL_CONTROLLERS_REGISTERED) {
    assert.equal(LIBRARY_DEFAULT_CONGESTION, "cubic");
    assert.equal(TUNNEL_DEFAULT_CONGESTION, "bbr");
    // BBR in the tunnel reads loss as congestion above 10 % a round, the library's at its own 2 %
    assert.equal(TUNNEL_DEFAULT_LOSS_TOLERANCE, 10);
    assert.equal(DEFAULT_TCP_CONFIG.lossTolerance, 0);
    assert.deepEqual([...SELECTABLE_CONGESTION], [...CONGESTION_NAMES]);
  } else {
    assert.equal(LIBRARY_DEFAULT_CONGESTION, "newreno");
    assert.equal(TUNNEL_DEFAULT_CONGESTION, "newreno");
  }
});
