/**
 * End to end: `tou cat --listen` and `tou cat` processes talking to each
 * other, and `tou demo`.
 */

import assert from "node:assert/strict";
import { runTou } from "../cli/_process.ts";
import { readAll, tcpService, within, writeAll } from "../tunnel/_harness.ts";
import { parsePsk } from "../../src/seal/psk.ts";
import { TunnelServer } from "../../src/tunnel/server.ts";
import { Logger } from "../../src/tunnel/log.ts";

const root = new URL("../../", import.meta.url);
const KEY = "c0ffee00c0ffee01c0ffee02c0ffee03c0ffee04c0ffee05c0ffee06c0ffee07";

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let s = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) s += chunk;
  return s;
}

Deno.test("tou cat --listen and tou cat exchange stdin both ways and exit 0", async () => {
  const listener = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/main.ts",
      "cat",
      "--listen",
      "127.0.0.1:0",
      "--log-level",
      "info",
      "--log-format",
      "json",
    ],
    cwd: root.pathname,
    env: { NO_COLOR: "1", TOU_KEY: KEY },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = collect(listener.stdout);
  try {
    // The bound UDP port, from the "cat listening" log record.
    let port = 0;
    let stderr = "";
    const reader = listener.stderr.pipeThrough(new TextDecoderStream()).getReader();
    await within(
      20_000,
      "cat listening",
      (async () => {
        while (port === 0) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`listener exited: ${stderr}`);
          stderr += value;
          const m = stderr.match(/"msg":"cat listening","udp":"127\.0\.0\.1:(\d+)"/);
          if (m) port = Number(m[1]);
        }
      })(),
    );
    const drain = (async () => {
      while (!(await reader.read()).done) { /* keep the pipe flowing */ }
    })();
    const w = listener.stdin.getWriter();
    await w.write(new TextEncoder().encode("world\n"));
    await w.close();
    const conn = await runTou(["cat", `127.0.0.1:${port}`], {
      env: { TOU_KEY: KEY },
      stdin: new TextEncoder().encode("hello\n"),
      timeoutMs: 20_000,
    });
    assert.equal(conn.code, 0, conn.stderr);
    assert.equal(conn.stdout, "world\n");
    assert.equal(conn.stderr, "");
    const st = await within(20_000, "listener exit", listener.status);
    assert.equal(st.code, 0);
    assert.equal(await stdout, "hello\n");
    await drain;
  } finally {
    try {
      listener.kill("SIGKILL");
    } catch { /* exited */ }
    await listener.status;
    await stdout.catch(() => "");
  }
});

Deno.test("tou cat half-closes at stdin EOF and prints the reply that follows", async () => {
  // The service answers only after the request's EOF arrived, with more than a pipe buffer.
  const reply = "x".repeat(300_000) + "end\n";
  const svc = tcpService(async (c) => {
    const request = new TextDecoder().decode(await readAll(c));
    await writeAll(c, new TextEncoder().encode(`${request.length} bytes then EOF\n${reply}`));
    c.close();
  });
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: svc.port } }],
    key: parsePsk(KEY),
    logger: new Logger({ sink: () => {} }),
  });
  try {
    const r = await runTou(["cat", `127.0.0.1:${server.addr.port}`, "7"], {
      env: { TOU_KEY: KEY },
      stdin: new TextEncoder().encode("GET /\n"),
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `6 bytes then EOF\n${reply}`);
    assert.equal(r.stderr, "");
    assert.equal(server.relay.counters.sessionsClosed, 1);
  } finally {
    await server.close({ drainTimeoutMs: 1_000 });
    await svc.close();
  }
});

Deno.test("tou cat exits 1 naming the address when the connection is refused", async () => {
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: 9 } }],
    logger: new Logger({ sink: () => {} }),
  });
  try {
    const target = `127.0.0.1:${server.addr.port}`;
    const r = await runTou(["cat", target, "8", "--plaintext"], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.match(lines[0], /WARN +NO KEY: tunnel traffic is PLAINTEXT/);
    assert.equal(
      lines[1],
      `tou: cannot connect to ${target} port 8: connection refused (the server forwards no service on port 8)`,
    );
    assert.equal(lines.length, 2);
  } finally {
    await server.close();
  }
});

Deno.test("tou cat exits 2 when the key file is empty or not a regular file", async () => {
  const r = await runTou(["cat", "127.0.0.1:9", "--key-file", "/dev/null"], { timeoutMs: 20_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, "tou: key file /dev/null is a character device, not a regular file\n");
  const path = await Deno.makeTempFile();
  try {
    const e = await runTou(["cat", "127.0.0.1:9", "--key-file", path], { timeoutMs: 20_000 });
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, /^tou: key file .*: key is empty/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("deno task demo pushes data through server and client and reports it", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "demo", "--mib", "4"],
    cwd: root.pathname,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const r = { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  assert.equal(r.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(r.stdout, /^tou demo: a TCP echo service reached through a tou tunnel/);
  assert.match(r.stdout, /encryption +(aes-256-gcm|chacha20-poly1305) \(/);
  assert.match(r.stdout, /time [0-9.]+ s, throughput [0-9.]+ MiB\/s each way/);
  assert.match(r.stdout, /rtt [0-9.]+ ms, rto \d+ ms, mss \d+, cwnd \d+ segments/);
  assert.match(r.stdout, /Flags \[S\]/);
  assert.match(r.stdout, /Flags \[S\.\]/);
  assert.match(r.stdout, /Flags \[F/);
  assert.match(r.stdout, /sent 4194304 bytes, got 4194304 bytes back, sha256 equal/);
  assert.match(r.stdout, /retransmits \d+/);
});
