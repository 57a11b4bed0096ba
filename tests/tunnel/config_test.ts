import assert from "node:assert/strict";
import {
  ConfigError,
  mergeConfig,
  readConfigFile,
  resolveClientSettings,
  resolveServerSettings,
  validateConfig,
} from "../../src/tunnel/config.ts";
import { loadKey } from "../../src/tunnel/key_file.ts";
import { AddressError } from "../../src/tunnel/address.ts";
import { MUX_PORT } from "../../src/tunnel/mux_frame.ts";

const KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

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

Deno.test("validateConfig names the flag when a flag value is invalid", () => {
  assert.equal(
    usageMessage(() => validateConfig({ listen: "1.2.3.4:x" }, { kind: "flags" })),
    '--listen: invalid port "x" in "1.2.3.4:x": must be a number 0..65535',
  );
  assert.equal(
    usageMessage(() => validateConfig({ local: ["2222"] }, { kind: "flags" })),
    '--local: invalid local "2222": expected [HOST:]PORT=TUNNELPORT, like 127.0.0.1:2222=22',
  );
  assert.equal(
    usageMessage(() => validateConfig({ drainTimeout: "abc" }, { kind: "flags" })),
    '--drain-timeout: must be a number of seconds between 0 and 3600, got "abc"',
  );
  assert.equal(
    usageMessage(() => validateConfig({ logLevel: "loud" }, { kind: "flags" })),
    '--log-level: must be one of debug, info, warn, error, got "loud"',
  );
  assert.equal(
    usageMessage(() => validateConfig({ control: "0.0.0.0:9000" }, { kind: "flags" })),
    '--control: control address "0.0.0.0:9000" must be on loopback (127.0.0.1, ::1)',
  );
});

Deno.test("validateConfig gives the same reason for a bad value from a flag or the file", () => {
  const cases: Record<string, unknown>[] = [
    { listen: "h:99999" },
    { forward: ["22="] },
    { server: "example" },
    { local: ["1=0"] },
    { control: "10.0.0.1:1" },
    { drainTimeout: -1 },
    { logLevel: "loud" },
    { logFormat: "xml" },
    { keyFile: "" },
  ];
  for (const c of cases) {
    const flag = usageMessage(() => validateConfig(c, { kind: "flags" }));
    const file = usageMessage(() => validateConfig(c, { kind: "file", path: "f.json" }));
    const reason = flag.slice(flag.indexOf(": ") + 2);
    assert.ok(flag.startsWith("--"), flag);
    assert.ok(file.startsWith("config file f.json: ") && file.endsWith(`: ${reason}`), file);
  }
});

Deno.test("validateConfig names the file and key when the config file is invalid", () => {
  const src = { kind: "file", path: "tou.json" } as const;
  assert.equal(
    usageMessage(() => validateConfig({ forward: ["22=x:1", "80"] }, src)),
    'config file tou.json: forward[1]: invalid forward "80": expected TUNNELPORT=HOST:PORT, like 22=127.0.0.1:22',
  );
  assert.equal(
    usageMessage(() => validateConfig({ tcp: { synRetries: 1000 } }, src)),
    "config file tou.json: tcp.synRetries: must be between 0 and 127, got 1000",
  );
  assert.equal(
    usageMessage(() => validateConfig({ lissten: "x" }, src)),
    'config file tou.json: unknown key "lissten"',
  );
  assert.equal(
    usageMessage(() => validateConfig([], src)),
    "config file tou.json: must be a JSON object",
  );
  assert.equal(
    usageMessage(() => validateConfig({ forward: ["22=a:1", "22=b:2"] }, src)),
    'config file tou.json: forward[1]: tunnel port 22 is forwarded twice ("22=a:1" and "22=b:2")',
  );
  assert.equal(
    usageMessage(() => validateConfig({ local: ["2222=22", "127.0.0.1:2222=80"] }, src)),
    'config file tou.json: local[1]: local address is given twice ("2222=22" and ' +
      '"127.0.0.1:2222=80")',
  );
  assert.doesNotThrow(() =>
    validateConfig({ local: ["0=22", "0=22", "[::1]:2222=1", "2222=1"] }, src)
  );
});

Deno.test("validateConfig refuses a key value when one is put in the config", () => {
  assert.equal(
    usageMessage(() => validateConfig({ key: KEY_HEX }, { kind: "file", path: "c.json" })),
    'config file c.json: unknown key "key": secrets are not accepted here, use keyFile or TOU_KEY',
  );
  for (const name of ["psk", "secret", "password", "Key"]) {
    assert.equal(
      usageMessage(() => validateConfig({ [name]: KEY_HEX }, { kind: "file", path: "c.json" })),
      `config file c.json: unknown key "${name}": secrets are not accepted here, use keyFile or ` +
        "TOU_KEY",
    );
  }
  assert.equal(
    usageMessage(() => validateConfig({ tcp: { key: KEY_HEX } }, { kind: "file", path: "c.json" })),
    'config file c.json: tcp: unknown key "key": secrets are not accepted here, use keyFile or ' +
      "TOU_KEY",
  );
});

Deno.test("mergeConfig lets flags override the file when both set a value", () => {
  const file = validateConfig({
    listen: "0.0.0.0:7000",
    forward: ["22=127.0.0.1:22", "80=127.0.0.1:80"],
    logLevel: "debug",
  }, { kind: "file", path: "f" });
  const flags = validateConfig({ forward: ["443=127.0.0.1:8443"] }, { kind: "flags" });
  const s = resolveServerSettings(mergeConfig(file, flags));
  assert.deepEqual(s.listen, { hostname: "0.0.0.0", port: 7000 });
  assert.equal(s.logLevel, "debug");
  assert.deepEqual(s.forwards, [{
    tunnelPort: 443,
    target: { hostname: "127.0.0.1", port: 8443 },
  }]);
});

Deno.test("resolveServerSettings fills defaults and requires a forward", () => {
  const s = resolveServerSettings({ forward: ["22=127.0.0.1:22"], drainTimeout: 2.5 });
  assert.equal(s.drainTimeoutMs, 2500);
  assert.equal(s.logFormat, "text");
  assert.deepEqual(s.tcp, {});
  const t = resolveServerSettings(
    validateConfig({ forward: ["1=a:1"], tcp: { msl: 500 } }, { kind: "flags" }),
  );
  assert.deepEqual(t.tcp, { msl: 500 });
  assert.match(usageMessage(() => resolveServerSettings({})), /^missing --forward/);
});

Deno.test("resolveClientSettings requires the server and a local listener", () => {
  assert.match(usageMessage(() => resolveClientSettings({ local: ["1=2"] })), /^missing --server/);
  assert.match(
    usageMessage(() => resolveClientSettings({ server: "10.0.0.1:7000" })),
    /^missing --local/,
  );
  const c = resolveClientSettings({
    server: "10.0.0.1:7000",
    local: ["2222=22"],
    control: "7001",
  });
  assert.deepEqual(c.control, { hostname: "127.0.0.1", port: 7001 });
});

Deno.test("readConfigFile reports unreadable and non-JSON files in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(readConfigFile(`${dir}/missing.json`), {
      name: "ConfigError",
      message: `cannot read config file ${dir}/missing.json: no such file`,
    });
    await Deno.writeTextFile(`${dir}/bad.json`, "{ nope");
    await assert.rejects(readConfigFile(`${dir}/bad.json`), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(
        e.message,
        /^config file .*bad\.json is not valid JSON( \(line \d+ column \d+\))?$/,
      );
      assert.doesNotMatch(e.message, /nope/); // never quotes the text
      return true;
    });
    await Deno.writeTextFile(
      `${dir}/ok.json`,
      JSON.stringify({ $schema: "../docs/tou.schema.json", server: "127.0.0.1:1", local: ["1=2"] }),
    );
    assert.equal((await readConfigFile(`${dir}/ok.json`)).server, "127.0.0.1:1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKey prefers the key file and reports a missing or short key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/k`, KEY_HEX + "\n", { mode: 0o600 });
    const fromFile = await loadKey({ keyFile: `${dir}/k`, env: "ff".repeat(40) });
    assert.equal(fromFile.source, "key-file");
    assert.equal(fromFile.key?.[31], 0x1f);
    await Deno.chmod(`${dir}/k`, 0o640);
    await assert.rejects(loadKey({ keyFile: `${dir}/k` }), {
      message: `key file ${dir}/k is accessible by other users (mode 640): restrict it with ` +
        `\`chmod 600 ${dir}/k\`, or pass --allow-readable-key-file`,
    });
    assert.equal((await loadKey({ keyFile: `${dir}/k`, allowReadable: true })).fileMode, 0o640);
    const env = await loadKey({ env: KEY_HEX });
    assert.deepEqual({ ...env, key: undefined }, { key: undefined, source: "env" });
    await assert.rejects(loadKey({ keyFile: `${dir}/none` }), {
      name: "ConfigError",
      message: `cannot read key file ${dir}/none: no such file`,
    });
    await Deno.writeTextFile(`${dir}/short`, "0011223344556677", { mode: 0o600 });
    await assert.rejects(loadKey({ keyFile: `${dir}/short` }), {
      message: `key file ${dir}/short: key too short: 8 bytes, need at least 32`,
    });
    assert.deepEqual(await loadKey({}), { key: undefined, source: "none" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the limit flags are validated with one-line messages and reach the server settings in ms and bytes", () => {
  assert.equal(
    usageMessage(() => validateConfig({ maxSessions: 2.5 }, { kind: "flags" })),
    "--max-sessions: must be a whole number of sessions between 0 and 16777216, got 2.5",
  );
  assert.equal(
    usageMessage(() => validateConfig({ maxSessionsPerClient: -1 }, { kind: "flags" })),
    "--max-sessions-per-client: must be a whole number of sessions between 0 and 16777216, got -1",
  );
  assert.equal(
    usageMessage(() => validateConfig({ idleTimeout: "soon" }, { kind: "flags" })),
    '--idle-timeout: must be a number of seconds between 0 and 86400, got "soon"',
  );
  assert.equal(
    usageMessage(() => validateConfig({ memoryBudget: 1.5 }, { kind: "file", path: "t.json" })),
    "config file t.json: memoryBudget: must be a whole number of MiB between 0 and 1048576, got 1.5",
  );
  const s = resolveServerSettings(validateConfig({
    forward: ["22=127.0.0.1:22"],
    maxSessions: 10,
    maxSessionsPerClient: 2,
    idleTimeout: 1.5,
    memoryBudget: 64,
  }, { kind: "flags" }));
  assert.equal(s.maxSessions, 10);
  assert.equal(s.maxSessionsPerClient, 2);
  assert.equal(s.idleTimeoutMs, 1500);
  assert.equal(s.memoryBudgetBytes, 64 * 1024 * 1024);
  // not given: the tunnel's defaults apply later (session_limits.ts)
  const d = resolveServerSettings({ forward: ["22=127.0.0.1:22"] });
  assert.equal(d.maxSessions, undefined);
  assert.equal(d.idleTimeoutMs, undefined);
});

// ---- the client's `mux` option (flag `--mux`, key "mux") and the tunnel port it reserves:
// a forward or local spec on MUX_PORT (65535) is refused wherever specs come from

const CLIENT = { server: "127.0.0.1:7000", local: ["2222=22"] };
const RESERVED = `tunnel port ${MUX_PORT} is reserved for multiplexed sessions (tou client --mux)`;

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
