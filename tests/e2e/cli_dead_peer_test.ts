/**
 * End to end: dead-peer detection of real `tou server` and `tou client`
 * processes (issue 11, findings 1–3). A peer killed with SIGKILL is noticed
 * within the keepalive / user-timeout bounds and the kernel TCP connection
 * on the surviving side is reset; a first connection to a server that does
 * not answer (here: it has a different key) fails within the connect
 * timeout with the diagnosis line, and the server says "wrong key?".
 * Small --keepalive / --user-timeout values keep the tests short; the
 * default bounds (25 s idle, 20 s with data in flight) are the same code
 * with other numbers (tests/tunnel/dead_peer_test.ts).
 */

import assert from "node:assert/strict";
import { runTou } from "../cli/_process.ts";
import { KEY_A, KEY_B, startTunnel } from "../cli/_tunnel.ts";
import { connectLocal, tcpService, within } from "../tunnel/_harness.ts";

/** A service that sends an endless stream and records how its connection ended. */
function downloadService() {
  const ended: { error: string; at: number }[] = [];
  const svc = tcpService(async (c) => {
    const chunk = new Uint8Array(64 * 1024).fill(7);
    try {
      for (;;) await c.write(chunk);
    } catch (e) {
      ended.push({ error: (e as Error).name, at: performance.now() });
    } finally {
      try {
        c.close();
      } catch { /* closed */ }
    }
  });
  return { ...svc, ended };
}

/** Reads `conn` until it ends; resolves with "eof" or the error's name, and the bytes read. */
async function drain(conn: Deno.Conn, onBytes: (total: number) => void): Promise<string> {
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return "eof";
      total += n;
      onBytes(total);
    }
  } catch (e) {
    return (e as Error).name;
  }
}

Deno.test("a client resets the application's TCP connection within 2.5 × --keepalive when the server is killed during a download", async () => {
  const svc = downloadService();
  const t = await startTunnel({
    targetPort: svc.port,
    clientArgs: ["--keepalive", "1", "--user-timeout", "2"],
  });
  try {
    const app = await connectLocal(t.localPort());
    const { promise: started, resolve: onStarted } = Promise.withResolvers<void>();
    const outcome = drain(app, (n) => n >= 1024 * 1024 && onStarted());
    await within(20_000, "first MiB", started);
    t.server.signal("SIGKILL");
    const killed = performance.now();
    // Before: no EOF and no reset in 240 s (keepalive off, RTO up to 120 s).
    assert.equal(await within(15_000, "app reset", outcome), "ConnectionReset");
    const took = performance.now() - killed;
    assert.ok(took < 6_000, `noticed after ${took.toFixed(0)} ms`);
    app.close();
    const reset = await t.client.waitFor((r) => /^session reset by tunnel side/.test(r.msg), "log");
    assert.equal(reset.level, "info");
    assert.equal(reset.error, "TimedOut");
  } finally {
    await t.stop();
    await svc.close();
  }
});

Deno.test("a client resets the application's TCP connection even when the application stopped reading, when the server is killed", async () => {
  const svc = downloadService();
  const t = await startTunnel({
    targetPort: svc.port,
    clientArgs: ["--keepalive", "1", "--user-timeout", "2"],
  });
  try {
    const app = await connectLocal(t.localPort());
    const { promise: started, resolve: onStarted } = Promise.withResolvers<void>();
    // Read 1 MiB, then stop reading: the client's copy into this connection blocks.
    const buf = new Uint8Array(64 * 1024);
    (async () => {
      let total = 0;
      while (total < 1024 * 1024) total += (await app.read(buf)) ?? 0;
      onStarted();
    })().catch(() => {});
    await within(20_000, "first MiB", started);
    await new Promise((r) => setTimeout(r, 3_000)); // the buffers fill up
    t.server.signal("SIGKILL");
    await t.client.waitFor(
      (r) => /^session reset by tunnel side/.test(r.msg),
      "client reset",
      8_000,
    );
    // The kernel connection was reset: writing to it fails. Before, it stayed open.
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 10; i++) {
          await app.write(new Uint8Array(1024));
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
    );
    app.close();
  } finally {
    await t.stop();
    await svc.close();
  }
});

Deno.test("a server resets its connection to the target within --user-timeout when the client is killed during a download", async () => {
  const svc = downloadService();
  const t = await startTunnel({
    targetPort: svc.port,
    serverArgs: ["--keepalive", "1", "--user-timeout", "2"],
  });
  try {
    const app = await connectLocal(t.localPort());
    const { promise: started, resolve: onStarted } = Promise.withResolvers<void>();
    drain(app, (n) => n >= 1024 * 1024 && onStarted()).catch(() => {});
    await within(20_000, "first MiB", started);
    t.client.signal("SIGKILL");
    const killed = performance.now();
    // Before: the session and the target connection stayed ≈ 15 minutes (15 retransmissions).
    await within(
      15_000,
      "target reset",
      (async () => {
        while (svc.ended.length === 0) await new Promise((r) => setTimeout(r, 50));
      })(),
    );
    const took = svc.ended[0].at - killed;
    assert.ok(took < 6_000, `target reset after ${took.toFixed(0)} ms`);
    assert.equal(svc.ended[0].error, "ConnectionReset");
    const reset = await t.server.waitFor((r) => /^session reset by tunnel side/.test(r.msg), "log");
    assert.equal(reset.error, "TimedOut");
    app.close();
  } finally {
    await t.stop();
    await svc.close();
  }
});

Deno.test("a first connection to a server that does not answer fails within 10 s with the diagnosis, and the server logs the wrong key", async () => {
  const svc = downloadService();
  // The server has another key: it drops every datagram of the client, like a dead server.
  const t = await startTunnel({
    targetPort: svc.port,
    serverEnv: { TOU_KEY: KEY_B },
    clientEnv: { TOU_KEY: KEY_A },
  });
  // And `tou cat` to a UDP port where nothing answers at all.
  const silent = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const started = performance.now();
    const cat = runTou(
      ["cat", `127.0.0.1:${(silent.addr as Deno.NetAddr).port}`, "80"],
      { env: { TOU_KEY: KEY_A }, timeoutMs: 30_000 },
    );
    const app = await connectLocal(t.localPort());
    // Before: 127 s (6 SYN retransmissions) until the reset and "timed out".
    assert.equal(await within(15_000, "app reset", drain(app, () => {})), "ConnectionReset");
    const took = performance.now() - started;
    assert.ok(took <= 10_000, `failed after ${took.toFixed(0)} ms`);
    app.close();
    const warn = await t.client.waitFor((r) => /^cannot open tunnel/.test(r.msg), "client log");
    assert.match(warn.msg, /: timed out \(server down, UDP blocked, or a different key\)$/);
    // The server says why, once (rate-limited), naming the address.
    const auth = await t.server.waitFor((r) => /failed authentication/.test(r.msg), "auth log");
    assert.match(
      auth.msg,
      /^1 datagram failed authentication from 127\.0\.0\.1:\d+ in the last 10 s — wrong key\?$/,
    );
    assert.equal(auth.level, "warn");
    assert.equal(t.server.records.filter((r) => /failed authentication/.test(r.msg)).length, 1);
    const c = await cat;
    assert.equal(c.code, 1, c.stderr);
    assert.match(
      c.stderr,
      /^tou: cannot connect to 127\.0\.0\.1:\d+ port 80: timed out \(server down, UDP blocked, or a different key\)\n$/,
    );
    assert.ok(performance.now() - started < 12_000);
  } finally {
    silent.close();
    await t.stop();
    await svc.close();
  }
});
