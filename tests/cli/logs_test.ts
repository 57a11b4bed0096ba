import assert from "node:assert/strict";
import { main } from "../../cli/main.ts";
import type { CliIo } from "../../cli/_common.ts";
import { warnIfKeyFileOpen, warnIfPlaintext } from "../../cli/_common.ts";
import { Logger } from "../../src/tunnel/log.ts";

/** Runs `tou <args>` in-process until "server listening" (or exit), then stops it; returns stderr. */
async function serverStderr(args: string[], env: Record<string, string> = {}): Promise<string> {
  let err = "";
  const { promise: up, resolve } = Promise.withResolvers<void>();
  const io: CliIo = {
    stdout: () => {},
    stderr: (t) => {
      err += t;
      if (/server listening/.test(err)) resolve();
    },
    env: (name) => env[name],
    stdin: { read: () => Promise.resolve(null) },
    stdoutBytes: { write: (p) => Promise.resolve(p.length) },
  };
  const { promise: trigger, resolve: stop } = Promise.withResolvers<string>();
  const plain = env.TOU_KEY === undefined ? ["--plaintext"] : [];
  const run = main([
    "server",
    "--listen",
    "127.0.0.1:0",
    "--forward",
    "1=127.0.0.1:1",
    ...plain,
    ...args,
  ], {
    io,
    shutdownTrigger: trigger,
  });
  // With a high log level "server listening" is not written: give it a moment instead.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([up, new Promise((r) => timer = setTimeout(r, 500))]);
  clearTimeout(timer);
  stop("test");
  assert.equal(await run, 0, err);
  return err;
}

const KEY = { TOU_KEY: "0123456789abcdef".repeat(4) };

Deno.test("tou server writes readable text logs when no format is given", async () => {
  const lines = (await serverStderr([], KEY)).trimEnd().split("\n");
  assert.match(
    lines[0],
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}server listening role=server udp=127\.0\.0\.1:\d+ forward="1=127\.0\.0\.1:1" encrypted=true cipher="(aes-256-gcm|chacha20-poly1305) \([^"]+\)"$/,
  );
  assert.match(lines.at(-1)!, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}stopped role=server$/);
});

Deno.test("tou server writes one JSON object per line when given --log-format json", async () => {
  const records = (await serverStderr(["--log-format", "json"], KEY)).trimEnd().split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(records[0]), [
    "time",
    "level",
    "msg",
    "role",
    "udp",
    "forward",
    "encrypted",
    "cipher",
  ]);
  assert.equal(records[0].msg, "server listening");
  assert.equal(records[0].encrypted, true);
  assert.match(records[0].cipher, /^(aes-256-gcm|chacha20-poly1305) /);
  assert.ok(!Number.isNaN(Date.parse(records[0].time)));
});

Deno.test("tou server writes only records at or above --log-level", async () => {
  // warn: the info records are gone, the plaintext warning stays.
  const warn = (await serverStderr(["--log-level", "warn", "--log-format", "json"])).trimEnd()
    .split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(warn.map((r) => [r.level, /PLAINTEXT/.test(r.msg)]), [["warn", true]]);
  // error: the plaintext warning is still shown, as an error, and nothing else.
  const error = (await serverStderr(["--log-level", "error", "--log-format", "json"])).trimEnd()
    .split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(error.map((r) => [r.level, /PLAINTEXT/.test(r.msg)]), [["error", true]]);
  // debug: everything, info included.
  const debug = await serverStderr(["--log-level", "debug"], KEY);
  assert.match(debug, / INFO {2}server listening /);
});

Deno.test("warnIfPlaintext warns once per logger when there is no key", () => {
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l), format: "json" });
  warnIfPlaintext(log, { key: new Uint8Array(32), source: "env" });
  assert.equal(lines.length, 0);
  warnIfPlaintext(log, { key: undefined, source: "none" });
  warnIfPlaintext(log, { key: undefined, source: "none" });
  warnIfPlaintext(log.child({ role: "x" }), { key: undefined, source: "none" });
  assert.equal(lines.length, 1);
  assert.match(JSON.parse(lines[0]).msg, /^NO KEY: tunnel traffic is PLAINTEXT/);
});

Deno.test("warnIfKeyFileOpen warns once when group or others may read the key file", () => {
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l), format: "json" });
  const key = new Uint8Array(32);
  warnIfKeyFileOpen(log, { key, source: "key-file", fileMode: 0o600 }, "a.key");
  warnIfKeyFileOpen(log, { key, source: "key-file", fileMode: 0o400 }, "a.key");
  warnIfKeyFileOpen(log, { key, source: "env" }, undefined);
  assert.equal(lines.length, 0);
  warnIfKeyFileOpen(log, { key, source: "key-file", fileMode: 0o640 }, "a.key");
  warnIfKeyFileOpen(log, { key, source: "key-file", fileMode: 0o644 }, "a.key");
  assert.equal(lines.length, 1);
  assert.equal(
    JSON.parse(lines[0]).msg,
    "key file a.key is accessible by other users (mode 640); restrict it with: chmod 600 a.key",
  );
});
