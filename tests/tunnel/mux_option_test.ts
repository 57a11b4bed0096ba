/**
 * The client's `mux` option in the config (flag `--mux`, key `"mux"` of the
 * config file) and the tunnel port it reserves: a forward or local spec on
 * MUX_PORT (65535) is refused wherever specs come from.
 */
import assert from "node:assert/strict";
import {
  ConfigError,
  mergeConfig,
  readConfigFile,
  resolveClientSettings,
  resolveServerSettings,
  validateConfig,
} from "../../src/tunnel/config.ts";
import { AddressError } from "../../src/tunnel/address.ts";
import { MUX_PORT } from "../../src/tunnel/mux_frame.ts";

const CLIENT = { server: "127.0.0.1:7000", local: ["2222=22"] };
const RESERVED = `tunnel port ${MUX_PORT} is reserved for multiplexed sessions (tou client --mux)`;

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.ok(!e.message.includes("\n"), "message must be one line");
    return e.message;
  }
  assert.fail("did not throw");
}

Deno.test("--mux / mux reaches the client settings from flags or the file; absent means false", () => {
  for (const mux of [true, false]) {
    const fromFlags = resolveClientSettings(validateConfig({ ...CLIENT, mux }, { kind: "flags" }));
    assert.equal(fromFlags.mux, mux);
    const fromFile = resolveClientSettings(
      validateConfig({ ...CLIENT, mux }, { kind: "file", path: "t.json" }),
    );
    assert.equal(fromFile.mux, mux);
  }
  assert.equal(resolveClientSettings(validateConfig(CLIENT, { kind: "flags" })).mux, false);
  // A flag given wins over the file; a flag not given leaves the file's value.
  assert.equal(mergeConfig({ ...CLIENT, mux: false }, { mux: true }).mux, true);
  assert.equal(mergeConfig({ ...CLIENT, mux: true }, {}).mux, true);
});

Deno.test("mux rejects a value that is not true or false, naming the flag or the file and key", () => {
  assert.equal(
    usageMessage(() => validateConfig({ ...CLIENT, mux: "yes" }, { kind: "file", path: "t.json" })),
    'config file t.json: mux: must be true or false, got "yes"',
  );
  assert.equal(
    usageMessage(() => validateConfig({ ...CLIENT, mux: 1 }, { kind: "flags" })),
    "--mux: must be true or false, got 1",
  );
});

Deno.test("readConfigFile takes mux from a config file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, JSON.stringify({ ...CLIENT, mux: true }));
    assert.equal(resolveClientSettings(await readConfigFile(path)).mux, true);
    await Deno.writeTextFile(path, JSON.stringify({ ...CLIENT, mux: "on" }));
    await assert.rejects(() => readConfigFile(path), {
      name: "ConfigError",
      message: `config file ${path}: mux: must be true or false, got "on"`,
    });
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("a forward on tunnel port 65535 (MUX_PORT) is refused from --forward and from the config file", () => {
  assert.equal(MUX_PORT, 65535);
  const spec = `${MUX_PORT}=127.0.0.1:22`;
  assert.equal(
    usageMessage(() => validateConfig({ forward: [spec] }, { kind: "flags" })),
    `--forward: invalid forward "${spec}": ${RESERVED}`,
  );
  assert.equal(
    usageMessage(() =>
      validateConfig({ forward: ["22=127.0.0.1:22", spec] }, { kind: "file", path: "s.json" })
    ),
    `config file s.json: forward[1]: invalid forward "${spec}": ${RESERVED}`,
  );
  // An unvalidated config handed straight to resolveServerSettings is refused too.
  assert.throws(() => resolveServerSettings({ forward: [spec] }), {
    name: "AddressError",
    message: `invalid forward "${spec}": ${RESERVED}`,
  });
  // The port below it is an ordinary service port.
  assert.equal(
    resolveServerSettings(validateConfig({ forward: ["65534=127.0.0.1:22"] }, { kind: "flags" }))
      .forwards[0].tunnelPort,
    65534,
  );
});

Deno.test("a local listener on tunnel port 65535 (MUX_PORT) is refused: no service can be there", () => {
  assert.equal(
    usageMessage(() =>
      validateConfig({ server: CLIENT.server, local: ["2222=65535"] }, { kind: "flags" })
    ),
    `--local: invalid local "2222=65535": ${RESERVED}`,
  );
  assert.throws(
    () => resolveClientSettings({ server: CLIENT.server, local: ["2222=65535"] }),
    (e: unknown) => e instanceof AddressError && e.message.endsWith(RESERVED),
  );
});
