/**
 * End to end: resets through real `tou server` and `tou client` processes.
 * A reset on either side becomes a reset on the other; an unreachable
 * forward target and an unconfigured tunnel port both reset the
 * application's connection (never an open relay), and the reason is
 * logged once.
 */

import assert from "node:assert/strict";
import { startTunnel } from "../cli/_tunnel.ts";
import { resetTcpConn } from "../../src/tunnel/kernel_reset.ts";
import {
  connectLocal,
  echoService,
  readOutcome,
  tcpService,
  within,
  writeAll,
} from "../tunnel/_harness.ts";

function deadPort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  return port;
}

Deno.test("a reset on either side of tou processes becomes a reset on the other side", async () => {
  // The service resets the connection whose first byte is "R", and reports how the others end.
  const serviceSaw: Promise<string>[] = [];
  const svc = tcpService(async (c) => {
    const buf = new Uint8Array(1);
    if (await c.read(buf) === null) return;
    if (buf[0] === 0x52) {
      resetTcpConn(c);
      return;
    }
    await writeAll(c, buf);
    const { promise, resolve } = Promise.withResolvers<string>();
    serviceSaw.push(promise);
    resolve(await readOutcome(c));
    c.close();
  });
  const t = await startTunnel({ targetPort: svc.port });
  try {
    // Application → service: the application resets, the service sees a reset.
    const a = await connectLocal(t.localPort());
    await writeAll(a, new TextEncoder().encode("x"));
    assert.equal(await within(10_000, "echo", readOutcome(a)), "data 1");
    assert.ok(resetTcpConn(a), "needs Linux and FFI to send a RST");
    await within(
      10_000,
      "service side",
      (async () => {
        while (serviceSaw.length === 0) await new Promise((r) => setTimeout(r, 10));
      })(),
    );
    assert.equal(await within(10_000, "service outcome", serviceSaw[0]), "ConnectionReset");
    // Service → application: the service resets, the application sees a reset.
    const b = await connectLocal(t.localPort());
    await writeAll(b, new TextEncoder().encode("R"));
    assert.equal(await within(10_000, "app outcome", readOutcome(b)), "ConnectionReset");
    b.close();
    await t.server.waitFor((r) => r.msg === "session reset by tunnel side", "server reset log");
    await t.server.waitFor((r) => r.msg === "session reset by tcp side", "server reset log");
  } finally {
    await t.stop();
    await svc.close();
  }
});

Deno.test("tou server resets the connection and logs the reason once when the target is unreachable", async () => {
  const dead = deadPort();
  const t = await startTunnel({ forwards: [`22=127.0.0.1:${dead}`], tunnelPorts: [22] });
  try {
    for (let i = 0; i < 2; i++) {
      const app = await connectLocal(t.localPort());
      assert.equal(await within(10_000, "app outcome", readOutcome(app)), "ConnectionReset");
      app.close();
    }
    await t.server.waitFor(
      () => t.server.records.filter((r) => /cannot reach forward target/.test(r.msg)).length >= 2,
      "two failure records",
    );
    await t.client.waitFor(
      () => t.client.records.filter((r) => /session reset/.test(r.msg)).length >= 2,
      "two client resets",
    );
    // One record per failed connection, naming the target and the reason; nothing else warns.
    const failures = t.server.records.filter((r) => /cannot reach forward target/.test(r.msg));
    assert.equal(failures.length, 2);
    assert.equal(
      failures[0].msg,
      `cannot reach forward target 127.0.0.1:${dead}: connection refused`,
    );
    assert.equal(failures[0].level, "warn");
    const warnings = [...t.server.records, ...t.client.records].filter((r) =>
      r.level === "warn" || r.level === "error"
    );
    assert.deepEqual(warnings.map((r) => r.msg), failures.map((r) => r.msg));
  } finally {
    await t.stop();
  }
});

Deno.test("tou server is not an open relay: a connection to an unconfigured tunnel port is reset", async () => {
  const echo = echoService();
  // The client maps a second local port to tunnel port 23, which the server does not forward.
  const t = await startTunnel({
    forwards: [`22=127.0.0.1:${echo.port}`],
    tunnelPorts: [22, 23],
  });
  try {
    const ok = await connectLocal(t.localPort(0));
    await writeAll(ok, new Uint8Array([1]));
    assert.equal(await within(10_000, "echo", readOutcome(ok)), "data 1");
    ok.close();
    const app = await connectLocal(t.localPort(1));
    assert.equal(await within(10_000, "app outcome", readOutcome(app)), "ConnectionReset");
    app.close();
    const refused = await t.client.waitFor((r) => /cannot open tunnel/.test(r.msg), "client log");
    assert.match(
      refused.msg,
      /port 23: connection refused \(the server forwards no service on port 23\)$/,
    );
    assert.equal(echo.conns.length, 1);
    assert.equal(
      t.server.records.filter((r) => /cannot reach forward target/.test(r.msg)).length,
      0,
    );
  } finally {
    await t.stop();
    await echo.close();
  }
});
