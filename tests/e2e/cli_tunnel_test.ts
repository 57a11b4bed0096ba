/**
 * End to end: real `tou server` and `tou client` processes on loopback,
 * started with `deno run -A cli/main.ts`, ephemeral ports read from their
 * JSON logs, killed by PID at the end. The data paths: HTTP, half-close in
 * both directions, one tunnel connection per TCP connection, several
 * services, the key from a file.
 */

import assert from "node:assert/strict";
import { runTou } from "../cli/_process.ts";
import { KEY_A, startTunnel } from "../cli/_tunnel.ts";
import type { StatSnapshot } from "../../src/tunnel/stat.ts";
import {
  connectLocal,
  pattern,
  readAll,
  tcpService,
  within,
  writeAll,
} from "../tunnel/_harness.ts";

Deno.test("tou server and tou client carry an HTTP request to a Deno.serve", async () => {
  const ac = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<number>();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: (a) => resolve(a.port) },
    (req) => Response.json({ path: new URL(req.url).pathname, method: req.method }),
  );
  const t = await startTunnel({ targetPort: await listening });
  try {
    const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    const res = await within(
      20_000,
      "fetch",
      fetch(`http://127.0.0.1:${t.localPort()}/through/the/tunnel`, { method: "POST", client }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { path: "/through/the/tunnel", method: "POST" });
    client.close();
    assert.equal(t.server.records.filter((r) => /PLAINTEXT/.test(r.msg)).length, 0);
  } finally {
    await t.stop();
    ac.abort();
    await http.finished;
  }
});

Deno.test("tou client propagates the application's half-close and the reply keeps flowing", async () => {
  const request = pattern(500_000, 7);
  const response = pattern(700_000, 8);
  const svc = tcpService(async (c) => {
    // Reads to EOF (the app's FIN came through), then answers on the other half.
    assert.deepEqual(await readAll(c), request);
    await writeAll(c, response);
    await c.closeWrite();
    c.close();
  });
  const t = await startTunnel({ targetPort: svc.port });
  try {
    const app = await connectLocal(t.localPort());
    await writeAll(app, request);
    await app.closeWrite();
    assert.deepEqual(await within(30_000, "response", readAll(app)), response);
    app.close();
  } finally {
    await t.stop();
    await svc.close();
  }
});

Deno.test("tou server propagates the service's half-close and the request keeps flowing", async () => {
  const banner = pattern(300_000, 11);
  const request = pattern(400_000, 12);
  const { promise: serviceGot, resolve } = Promise.withResolvers<Uint8Array>();
  const svc = tcpService(async (c) => {
    // Sends everything and half-closes first, then reads the request to EOF.
    await writeAll(c, banner);
    await c.closeWrite();
    resolve(await readAll(c));
    c.close();
  });
  const t = await startTunnel({ targetPort: svc.port });
  try {
    const app = await connectLocal(t.localPort());
    assert.deepEqual(await within(30_000, "banner", readAll(app)), banner); // EOF came through
    await writeAll(app, request); // our half is still open
    await app.closeWrite();
    assert.deepEqual(await within(30_000, "request", serviceGot), request);
    app.close();
  } finally {
    await t.stop();
    await svc.close();
  }
});

Deno.test("tou client carries each TCP connection over its own tunnel connection to its service", async () => {
  // Two services behind one server, answering each chunk with their name; the client maps a
  // local port to each.
  const tagged = (name: string) =>
    tcpService(async (c) => {
      const buf = new Uint8Array(1024);
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        await writeAll(
          c,
          new TextEncoder().encode(`${name}:${new TextDecoder().decode(buf.subarray(0, n))}`),
        );
      }
      c.close();
    });
  const alpha = tagged("alpha");
  const beta = tagged("beta");
  const dir = await Deno.makeTempDir();
  try {
    // The server reads its key from a file, the client from TOU_KEY: the same key either way.
    await Deno.writeTextFile(`${dir}/tou.key`, KEY_A + "\n", { mode: 0o600 });
    const t = await startTunnel({
      forwards: [`1=127.0.0.1:${alpha.port}`, `2=localhost:${beta.port}`],
      tunnelPorts: [1, 2],
      serverArgs: ["--key-file", `${dir}/tou.key`],
      serverEnv: {},
    });
    try {
      const plan: [number, string][] = [[0, "a1"], [1, "b1"], [0, "a2"], [1, "b2"], [0, "a3"]];
      const conns = await Promise.all(plan.map(([i]) => connectLocal(t.localPort(i))));
      const replies = await within(
        30_000,
        "replies",
        Promise.all(conns.map(async (c, k) => {
          const text = plan[k][1];
          await writeAll(c, new TextEncoder().encode(text));
          const want = `${plan[k][0] === 0 ? "alpha" : "beta"}:${text}`;
          let got = "";
          const buf = new Uint8Array(64);
          while (got.length < want.length) {
            const n = await c.read(buf);
            if (n === null) break;
            got += new TextDecoder().decode(buf.subarray(0, n));
          }
          return got;
        })),
      );
      assert.deepEqual(replies, ["alpha:a1", "beta:b1", "alpha:a2", "beta:b2", "alpha:a3"]);
      // All five open at once: five ESTABLISHED tunnel connections, each carrying one session.
      const stat = await runTou(["stat", "--control", String(t.serverControl), "--json"]);
      assert.equal(stat.code, 0, stat.stderr);
      const snap = JSON.parse(stat.stdout) as StatSnapshot;
      assert.equal(snap.encrypted, true);
      const rows = snap.connections.filter((r) => r.state === "ESTABLISHED");
      assert.equal(rows.length, 5, stat.stdout);
      assert.equal(new Set(rows.map((r) => r.peer)).size, 5);
      assert.equal(new Set(rows.map((r) => r.session?.id)).size, 5);
      assert.deepEqual(rows.map((r) => r.local.split("/")[1]).sort(), ["1", "1", "1", "2", "2"]);
      for (const c of conns) {
        await c.closeWrite();
        assert.equal(await within(10_000, "eof", readAll(c)).then((b) => b.length), 0);
        c.close();
      }
      assert.equal(alpha.conns.length, 3);
      assert.equal(beta.conns.length, 2);
      assert.equal(t.server.records.filter((r) => /readable by other users/.test(r.msg)).length, 0);
    } finally {
      await t.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await alpha.close();
    await beta.close();
  }
});
