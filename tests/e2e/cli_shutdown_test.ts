/**
 * End to end: graceful shutdown of real `tou server` and `tou client`
 * processes on SIGTERM and SIGINT: stop accepting, let open streams drain
 * up to --drain-timeout, reset what is left, exit 0.
 */

import assert from "node:assert/strict";
import { startTunnel } from "../cli/_tunnel.ts";
import {
  connectLocal,
  echoService,
  pattern,
  readOutcome,
  within,
  writeAll,
} from "../tunnel/_harness.ts";

Deno.test("SIGTERM drains an active transfer through tou processes without losing bytes", async () => {
  const echo = echoService();
  const t = await startTunnel({
    targetPort: echo.port,
    serverArgs: ["--drain-timeout", "60"],
    clientArgs: ["--drain-timeout", "60"],
  });
  try {
    const data = pattern(24 * 1024 * 1024, 9);
    const app = await connectLocal(t.localPort());
    const sending = (async () => {
      await writeAll(app, data);
      await app.closeWrite();
    })();
    // Read the echo into `got`, telling us once the first MiB is back (mid-transfer).
    const got = new Uint8Array(data.length);
    let received = 0;
    const { promise: firstMiB, resolve: onFirstMiB } = Promise.withResolvers<void>();
    const receiving = (async () => {
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await app.read(buf);
        if (n === null) return;
        got.set(buf.subarray(0, n), received);
        received += n;
        if (received >= 1024 * 1024) onFirstMiB();
      }
    })();
    receiving.catch(() => {}); // failures surface where it is awaited below
    sending.catch(() => {});
    await within(30_000, "first MiB", firstMiB);
    assert.ok(received < data.length, "the transfer ended before the signal");
    t.client.signal("SIGTERM");
    t.server.signal("SIGTERM");
    await t.client.waitFor((r) => /^SIGTERM: draining 1 open session/.test(r.msg), "client drain");
    // New connections get nowhere while draining: the client no longer listens (a connect
    // racing with the listener's close may be accepted by the kernel, then reset).
    try {
      const late = await connectLocal(t.localPort());
      await late.write(new Uint8Array([1])).catch(() => 0);
      assert.match(
        await within(10_000, "late outcome", readOutcome(late)),
        /^(ConnectionReset|eof)$/,
      );
      late.close();
    } catch (e) {
      assert.ok(e instanceof Deno.errors.ConnectionRefused, String(e));
    }
    await within(60_000, "send", sending);
    await within(60_000, "echo", receiving);
    assert.equal(received, data.length);
    assert.deepEqual(got, data);
    app.close();
    const [cs, ss] = await Promise.all([t.client.stop(30_000), t.server.stop(30_000)]);
    assert.equal(cs.code, 0);
    assert.equal(ss.code, 0);
    assert.equal(echo.conns.length, 1);
    const drained = t.client.records.find((r) => r.msg === "drained");
    assert.equal(drained?.finished, 1);
    assert.equal(drained?.reset, 0);
  } finally {
    await t.stop();
    await echo.close();
  }
});

Deno.test("SIGINT resets the sessions still open when the drain timeout expires", async () => {
  const echo = echoService();
  const t = await startTunnel({ targetPort: echo.port, serverArgs: ["--drain-timeout", "0.5"] });
  try {
    // An idle session that would never finish on its own.
    const app = await connectLocal(t.localPort());
    await writeAll(app, new Uint8Array([42]));
    assert.equal(await within(10_000, "echo", readOutcome(app)), "data 1");
    const started = performance.now();
    t.server.signal("SIGINT");
    // The server resets the tunnel connection; the client resets the application's TCP one.
    assert.equal(await within(10_000, "app outcome", readOutcome(app)), "ConnectionReset");
    app.close();
    const st = await t.server.stop(10_000);
    assert.equal(st.code, 0);
    assert.ok(performance.now() - started >= 400, "reset before the drain timeout");
    const msgs = t.server.records.map((r) => r.msg);
    assert.ok(msgs.some((m) => /^SIGINT: draining 1 open session for up to 0\.5 s/.test(m)));
    const drained = t.server.records.find((r) => r.msg === "drained");
    assert.equal(drained?.finished, 0);
    assert.equal(drained?.reset, 1);
    assert.equal(msgs.at(-1), "stopped");
    // The client lives on, and logged the reset it passed on.
    await t.client.waitFor((r) => r.msg === "session reset by tunnel side", "client reset log");
  } finally {
    await t.stop();
    await echo.close();
  }
});

Deno.test("a second SIGTERM resets every open session at once when draining", async () => {
  const echo = echoService();
  const t = await startTunnel({ targetPort: echo.port, clientArgs: ["--drain-timeout", "600"] });
  try {
    const app = await connectLocal(t.localPort());
    await writeAll(app, new Uint8Array([7]));
    assert.equal(await within(10_000, "echo", readOutcome(app)), "data 1");
    t.client.signal("SIGTERM");
    await t.client.waitFor((r) => /^SIGTERM: draining 1 open session/.test(r.msg), "draining");
    t.client.signal("SIGTERM");
    assert.equal(await within(10_000, "app outcome", readOutcome(app)), "ConnectionReset");
    app.close();
    const st = await t.client.stop(10_000);
    assert.equal(st.code, 0);
    assert.ok(t.client.records.some((r) => /^SIGTERM again: resetting/.test(r.msg)));
  } finally {
    await t.stop();
    await echo.close();
  }
});
