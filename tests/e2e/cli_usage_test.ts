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
  const paths = [["server"], ["client"], ["cat"], ["stat"], ["tunnel"]];
  const results = await Promise.all(paths.map((p) => runTou([...p, "--help"])));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      docs.includes("```text\n" + r.stdout.trimEnd() + "\n```"),
      `tou ${paths[i].join(" ")} --help differs from docs/cli.md (run deno run -A cli/gen_docs.ts)`,
    );
  });
});

Deno.test("deno task tunnel client --help prints the client's help", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "tunnel", "client", "--help"],
    cwd: root.pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const text = new TextDecoder().decode(out.stdout);
  assert.match(text, /^Usage: tou tunnel client \[options\]/);
  assert.match(text, /--local <spec>/);
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
