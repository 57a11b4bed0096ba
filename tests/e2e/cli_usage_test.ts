/**
 * End to end: the `tou` process's exit codes and messages for bad input,
 * --help against docs/cli.md, and a config file overridden by flags.
 */

import assert from "node:assert/strict";
import { runTou, TouProcess } from "../cli/_process.ts";

const root = new URL("../../", import.meta.url);

Deno.test("tou exits 2 with a one-line message when a flag, address or key is bad", async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["server", "--forward", "22=127.0.0.1:22", "--bogus"], {}, /^tou: unknown option '--bogus'$/],
    [["client", "--server", "1.2.3.4:99999", "--local", "2222=22"], {}, /invalid port "99999"/],
    [["tunnel", "server", "--forward", "22=nowhere"], {}, /missing port in "nowhere"/],
    [
      ["server", "--forward", "22=127.0.0.1:22"],
      { TOU_KEY: "00ff" },
      /^tou: TOU_KEY: key too short/,
    ],
    [
      ["server", "--forward", "22=127.0.0.1:22", "--key-file", "/nonexistent/tou.key"],
      {},
      /^tou: cannot read key file \/nonexistent\/tou\.key: no such file$/,
    ],
    [["server", "--forward", "22="], {}, /^tou: --forward: invalid forward "22=": missing target/],
    [["server", "--forward", "22=host:99999"], {}, /^tou: --forward: invalid port "99999"/],
    [["server", "--forward", "22=127.0.0.1:22", "--key", "s3cret"], {}, /--key-file or TOU_KEY\)$/],
    [["client", "--server", "127.0.0.1:7000", "--local", "2222"], {}, /^tou: --local: invalid/],
    [["cat", "host:99999"], {}, /^tou: HOST:PORT: invalid port "99999"/],
    [["stat", "--control", "10.0.0.1:7001"], {}, /is not a loopback address$/],
    [["demo", "--mib", "lots"], {}, /^tou: --mib: must be a number/],
  ];
  const results = await Promise.all(cases.map(([args, env]) => runTou(args, { env })));
  results.forEach((r, i) => {
    const [args, , re] = cases[i];
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[0], re);
    assert.equal(r.stdout, "");
  });
});

Deno.test("tou --help output of each subcommand appears verbatim in docs/cli.md", async () => {
  const docs = await Deno.readTextFile(new URL("docs/cli.md", root));
  const paths = [[], ["server"], ["client"], ["cat"], ["stat"], ["demo"], ["keygen"], ["tunnel"]];
  const results = await Promise.all(paths.map((p) => runTou([...p, "--help"])));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      docs.includes("```text\n" + r.stdout.trimEnd() + "\n```"),
      `tou ${paths[i].join(" ")} --help differs from docs/cli.md (run deno run -A cli/gen_docs.ts)`,
    );
  });
});

async function denoTask(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: root.pathname,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("deno task tunnel client|server runs the client and server commands", async () => {
  const [client, server, bad] = await Promise.all([
    denoTask(["tunnel", "client", "--help"]),
    denoTask(["tunnel", "server", "--help"]),
    denoTask(["tunnel", "server", "--forward", "22=nowhere"]),
  ]);
  assert.equal(client.code, 0, client.stderr);
  assert.match(client.stdout, /^Usage: tou tunnel client \[options\]/);
  assert.match(client.stdout, /--local <spec>/);
  assert.equal(server.code, 0, server.stderr);
  assert.match(server.stdout, /^Usage: tou tunnel server \[options\]/);
  assert.match(server.stdout, /--forward <spec>/);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'tou: --forward: missing port in "nowhere": expected host:port\n');
});

Deno.test("tou server reads its config file and lets flags override it", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/tou.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      $schema: "../docs/tou.schema.json",
      listen: "127.0.0.1:1",
      forward: ["22=127.0.0.1:22", "80=127.0.0.1:8080"],
      logLevel: "warn",
    }),
  );
  // --listen overrides the file's (unbindable) port 1; --log-level makes "listening" visible.
  const server = new TouProcess(
    ["server", "--config", file, "--listen", "127.0.0.1:0", "--log-level", "info"],
    { TOU_KEY: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" },
  );
  try {
    const rec = await server.waitFor((r) => r.msg === "server listening", "listening");
    assert.match(String(rec.udp), /^127\.0\.0\.1:\d+$/);
    assert.notEqual(rec.udp, "127.0.0.1:1");
    assert.equal(rec.forward, "22=127.0.0.1:22,80=127.0.0.1:8080");
    assert.equal(rec.encrypted, true);
    server.signal("SIGTERM");
    const st = await server.stop();
    assert.equal(st.code, 0);
  } finally {
    server.signal("SIGKILL");
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
