import assert from "node:assert/strict";
import { main } from "../../cli/main.ts";
import type { CliIo } from "../../cli/_common.ts";
import { helpText } from "../../cli/gen_docs.ts";

interface Captured {
  io: CliIo;
  out: () => string;
  err: () => string;
  /** Resolves when stderr contains `pattern`. */
  waitErr(pattern: RegExp, ms?: number): Promise<string>;
}

function capture(env: Record<string, string> = {}): Captured {
  let out = "";
  let err = "";
  const waiters: { re: RegExp; resolve: (s: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = err.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[0]);
      }
    }
  };
  return {
    io: {
      stdout: (t) => out += t,
      stderr: (t) => {
        err += t;
        check();
      },
      env: (name) => env[name],
      stdin: { read: () => Promise.resolve(null) },
      stdoutBytes: {
        write: (p) => (out += new TextDecoder().decode(p), Promise.resolve(p.length)),
      },
    },
    out: () => out,
    err: () => err,
    waitErr: (re, ms = 10_000) => {
      const m = err.match(re);
      if (m) return Promise.resolve(m[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} in stderr: ${err}`)), ms);
        waiters.push({
          re,
          resolve: (s) => {
            clearTimeout(timer);
            resolve(s);
          },
        });
      });
    },
  };
}

async function usage(args: string[], env: Record<string, string> = {}): Promise<string> {
  const c = capture(env);
  const code = await main(args, { io: c.io });
  assert.equal(code, 2, `exit status of ${args.join(" ")}: stderr ${c.err()}`);
  const lines = c.err().split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line for ${args.join(" ")}, got ${c.err()}`);
  assert.equal(c.out(), "");
  return lines[0];
}

Deno.test("main exits 2 with one line naming the problem when flags are bad", async () => {
  assert.equal(await usage(["server", "--bogus"]), "tou: unknown option '--bogus'");
  assert.equal(
    await usage(["server", "--lissten", "x"]),
    "tou: unknown option '--lissten' (Did you mean --listen?)",
  );
  assert.equal(
    await usage(["server", "--forward", "22=127.0.0.1:22", "--listen", "0.0.0.0:70000"]),
    'tou: --listen: invalid port "70000" in "0.0.0.0:70000": must be 0..65535',
  );
  assert.equal(
    await usage(["server", "--forward", "ssh=127.0.0.1:22"]),
    'tou: --forward: invalid port "ssh" in "ssh=127.0.0.1:22": must be a number 1..65535',
  );
  assert.equal(
    await usage(["client", "--server", "example", "--local", "2222=22"]),
    'tou: --server: missing port in "example": expected host:port',
  );
  assert.equal(
    await usage(["server"]),
    "tou: missing --forward: a server needs at least one " +
      "TUNNELPORT=HOST:PORT (e.g. 22=127.0.0.1:22)",
  );
  assert.equal(
    await usage(["server", "--listen"]),
    "tou: option '--listen <addr>' argument missing",
  );
  assert.equal(await usage(["frobnicate"]), "tou: unknown command 'frobnicate'");
  assert.equal(
    await usage(["stat", "--control", "7001", "extra"]),
    "tou: too many arguments for 'stat'. Expected 0 arguments but got 1: extra.",
  );
  assert.equal(
    await usage(["cat", "127.0.0.1:7000", "99999"]),
    'tou: TUNNELPORT: invalid port "99999": must be 1..65535',
  );
});

Deno.test("main exits 2 with one line when the key is missing or short", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(
      await usage(["server", "--forward", "22=127.0.0.1:22", "--key-file", `${dir}/nope.key`]),
      `tou: cannot read key file ${dir}/nope.key: no such file`,
    );
    await Deno.writeTextFile(`${dir}/short.key`, "00112233445566778899aabbccddeeff\n", {
      mode: 0o600,
    });
    assert.equal(
      await usage([
        "client",
        "--server",
        "127.0.0.1:1",
        "--local",
        "0=1",
        "--key-file",
        `${dir}/short.key`,
      ]),
      `tou: key file ${dir}/short.key: key too short: 16 bytes, need at least 32`,
    );
    assert.equal(
      await usage(["server", "--forward", "22=127.0.0.1:22"], { TOU_KEY: "abc" }),
      "tou: TOU_KEY: key looks like hex but has an odd number of digits (3)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main exits 2 with one line when the config file is invalid", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/c.json`,
      JSON.stringify({ forward: ["22=127.0.0.1:22"], tcp: { msl: -5 } }),
    );
    assert.equal(
      await usage(["server", "--config", `${dir}/c.json`]),
      `tou: config file ${dir}/c.json: tcp.msl: must be between 1 and 600000 ms, got -5`,
    );
    await Deno.writeTextFile(`${dir}/u.json`, JSON.stringify({ forward: [], colour: "red" }));
    assert.equal(
      await usage(["server", "--config", `${dir}/u.json`, "--forward", "22=127.0.0.1:22"]),
      `tou: config file ${dir}/u.json: unknown key "colour"`,
    );
    await Deno.writeTextFile(`${dir}/j.json`, "{ forward: [] }");
    assert.match(
      await usage(["server", "--config", `${dir}/j.json`]),
      new RegExp(
        `^tou: config file ${dir}/j\\.json is not valid JSON( \\(line \\d+ column \\d+\\))?$`,
      ),
    );
    assert.equal(
      await usage(["client", "--config", `${dir}/missing.json`]),
      `tou: cannot read config file ${dir}/missing.json: no such file`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main prints each command's help and exits 0 when given --help", async () => {
  for (
    const path of [
      [],
      ["server"],
      ["client"],
      ["cat"],
      ["stat"],
      ["demo"],
      ["keygen"],
      ["tunnel"],
      ["tunnel", "client"],
    ]
  ) {
    const c = capture();
    assert.equal(await main([...path, "--help"], { io: c.io }), 0);
    assert.equal(c.out(), helpText(path), path.join(" "));
    assert.equal(c.err(), "");
  }
  const v = capture();
  assert.equal(await main(["--version"], { io: v.io }), 0);
  assert.equal(v.out(), "0.1.0\n");
});

Deno.test("main keygen prints a fresh key and refuses to overwrite a key file", async () => {
  const a = capture();
  assert.equal(await main(["keygen"], { io: a.io }), 0);
  assert.match(a.out(), /^[0-9a-f]{64}\n$/);
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tou.key`;
    const b = capture();
    assert.equal(await main(["keygen", "--out", path], { io: b.io }), 0);
    assert.match(await Deno.readTextFile(path), /^[0-9a-f]{64}\n$/);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const c = capture();
    assert.equal(await main(["keygen", "--out", path], { io: c.io }), 1);
    assert.equal(c.err(), `tou: cannot write ${path}: file exists (not overwriting a key)\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main server takes the config file and lets flags override it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The file says port 1 (not bindable without privileges) and text logs; the flags say
    // an ephemeral port and json logs.
    await Deno.writeTextFile(
      `${dir}/tou.json`,
      JSON.stringify({
        $schema: "../docs/tou.schema.json",
        listen: "127.0.0.1:1",
        forward: ["22=127.0.0.1:22"],
        logFormat: "text",
        plaintext: true,
        drainTimeout: 1,
        tcp: { msl: 1000 },
      }),
    );
    const c = capture();
    const { promise: trigger, resolve: stop } = Promise.withResolvers<string>();
    const run = main(
      ["server", "--config", `${dir}/tou.json`, "--listen", "127.0.0.1:0", "--log-format", "json"],
      { io: c.io, shutdownTrigger: trigger },
    );
    await c.waitErr(/"msg":"server listening"/);
    stop("test");
    assert.equal(await run, 0);
    const records = c.err().trim().split("\n").map((l) => JSON.parse(l));
    const listening = records.find((r) => r.msg === "server listening");
    assert.match(listening.udp, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(listening.udp, "127.0.0.1:1");
    assert.equal(listening.forward, "22=127.0.0.1:22");
    assert.equal(listening.encrypted, false);
    const warnings = records.filter((r) => r.level === "warn" && /PLAINTEXT/.test(r.msg));
    assert.equal(warnings.length, 1);
    assert.ok(records.some((r) => r.msg === "stopped"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main exits 1 with one line when the UDP address is taken", async () => {
  const taken = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const c = capture({ TOU_KEY: "0123456789abcdef".repeat(4) });
    const code = await main([
      "server",
      "--listen",
      `127.0.0.1:${port}`,
      "--forward",
      "1=127.0.0.1:1",
    ], {
      io: c.io,
    });
    assert.equal(code, 1);
    const lines = c.err().trim().split("\n");
    assert.equal(lines.length, 1, c.err());
    assert.equal(lines[0], `tou: cannot listen on udp 127.0.0.1:${port}: address already in use`);
  } finally {
    taken.close();
  }
});

Deno.test("main exits 1 naming the address when a client's local TCP port or control port is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = taken.addr.port;
    const key = { TOU_KEY: "0123456789abcdef".repeat(4) };
    const a = capture(key);
    const local = ["client", "--server", "127.0.0.1:9", "--local", `127.0.0.1:${port}=22`];
    assert.equal(await main(local, { io: a.io }), 1);
    assert.equal(a.err(), `tou: cannot listen on tcp 127.0.0.1:${port}: address already in use\n`);
    const b = capture(key);
    const control = ["server", "--listen", "127.0.0.1:0", "--forward", "1=127.0.0.1:1"];
    const code = await main([...control, "--control", String(port), "--log-level", "warn"], {
      io: b.io,
    });
    assert.equal(code, 1);
    assert.equal(
      b.err(),
      `tou: cannot listen on control 127.0.0.1:${port}: address already in use\n`,
    );
  } finally {
    taken.close();
  }
});

Deno.test("main exits 2 with a hint when a secret is given on the command line or in the config", async () => {
  assert.equal(
    await usage(["server", "--forward", "22=127.0.0.1:22", "--key", "00ff"]),
    "tou: unknown option '--key' (a key is never taken from the command line: use --key-file " +
      "or TOU_KEY)",
  );
  assert.equal(
    await usage(["client", "--psk=00ff"]),
    "tou: unknown option '--psk=00ff' (a key is never taken from the command line: use " +
      "--key-file or TOU_KEY)",
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify({ forward: [], psk: "00ff" }));
    assert.equal(
      await usage(["server", "--config", `${dir}/c.json`]),
      `tou: config file ${dir}/c.json: unknown key "psk": secrets are not accepted here, use ` +
        "keyFile or TOU_KEY",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main exits with one line naming the problem when demo or keygen get bad input", async () => {
  assert.equal(
    await usage(["demo", "--mib", "0"]),
    'tou: --mib: must be a number of MiB above 0 and at most 4096, got "0"',
  );
  const c = capture();
  assert.equal(await main(["keygen", "--out", "/nonexistent/dir/tou.key"], { io: c.io }), 1);
  assert.equal(c.err(), "tou: cannot write /nonexistent/dir/tou.key: no such directory\n");
  assert.equal(c.out(), "");
});

Deno.test("main stops with one line when SIGTERM comes while the config and key are read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tou.json`, JSON.stringify({ forward: ["22=127.0.0.1:22"] }));
    const c = capture({ TOU_KEY: "0123456789abcdef".repeat(4) });
    const code = await main(["server", "--config", `${dir}/tou.json`, "--listen", "127.0.0.1:0"], {
      io: c.io,
      shutdownTrigger: Promise.resolve("SIGTERM"),
    });
    assert.equal(code, 1);
    assert.equal(c.err(), "tou: SIGTERM while reading the configuration and key: not started\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
