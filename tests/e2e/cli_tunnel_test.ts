/**
 * End to end: real `tou server` and `tou client` processes on loopback,
 * started with `deno run -A cli/main.ts`, ephemeral ports read from their
 * JSON logs, killed by PID at the end.
 */

import assert from "node:assert/strict";
import { runTou, TouProcess } from "../cli/_process.ts";
import {
  connectLocal,
  echoService,
  pattern,
  readAll,
  readOutcome,
  tcpService,
  within,
  writeAll,
} from "../tunnel/_harness.ts";

const KEY_A = "6b0d3f0a9b1c2e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccd";
const KEY_B = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

interface Tunnel {
  server: TouProcess;
  client: TouProcess;
  /** The client's local TCP port. */
  localPort: number;
  serverControl: number;
  stop(): Promise<void>;
}

async function startTunnel(opts: {
  targetPort: number;
  serverArgs?: string[];
  clientArgs?: string[];
  serverEnv?: Record<string, string>;
  clientEnv?: Record<string, string>;
}): Promise<Tunnel> {
  const server = new TouProcess([
    "server",
    "--listen",
    "127.0.0.1:0",
    "--forward",
    `80=127.0.0.1:${opts.targetPort}`,
    "--control",
    "127.0.0.1:0",
    ...(opts.serverArgs ?? []),
  ], opts.serverEnv ?? { TOU_KEY: KEY_A });
  let client: TouProcess | undefined;
  try {
    const udp = await server.port("server listening", "udp");
    const serverControl = await server.port("control endpoint listening", "http");
    client = new TouProcess([
      "tunnel",
      "client",
      "--server",
      `127.0.0.1:${udp}`,
      "--local",
      "127.0.0.1:0=80",
      ...(opts.clientArgs ?? []),
    ], opts.clientEnv ?? { TOU_KEY: KEY_A });
    const localPort = await client.port("client listening", "tcp");
    const c = client;
    return {
      server,
      client: c,
      localPort,
      serverControl,
      stop: async () => {
        c.signal("SIGKILL");
        server.signal("SIGKILL");
        await Promise.all([c.stop(), server.stop()]);
      },
    };
  } catch (e) {
    client?.signal("SIGKILL");
    server.signal("SIGKILL");
    await Promise.all([client?.stop(), server.stop()]);
    throw e;
  }
}

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
      fetch(`http://127.0.0.1:${t.localPort}/through/the/tunnel`, { method: "POST", client }),
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

Deno.test("tou client propagates half-close both ways through the processes", async () => {
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
    const app = await connectLocal(t.localPort);
    await writeAll(app, request);
    await app.closeWrite();
    assert.deepEqual(await within(30_000, "response", readAll(app)), response);
    app.close();
  } finally {
    await t.stop();
    await svc.close();
  }
});

Deno.test("tou server drops a client with the wrong key and counts it in tou stat", async () => {
  const echo = echoService();
  const dir = await Deno.makeTempDir();
  try {
    // The client's config file makes it give up after one SYN retransmission.
    await Deno.writeTextFile(
      `${dir}/client.json`,
      JSON.stringify({ tcp: { synRetries: 1, rtoInitial: 300 } }),
    );
    const t = await startTunnel({
      targetPort: echo.port,
      clientArgs: ["--config", `${dir}/client.json`],
      clientEnv: { TOU_KEY: KEY_B },
    });
    try {
      const app = await connectLocal(t.localPort);
      assert.equal(await within(20_000, "app outcome", readOutcome(app)), "ConnectionReset");
      app.close();
      await t.client.waitFor((r) => /cannot open tunnel/.test(r.msg), "client failure log");
      const metrics = await runTou(["stat", "--control", String(t.serverControl), "--metrics"]);
      assert.equal(metrics.code, 0, metrics.stderr);
      const drops = metrics.stdout.match(/^tou_seal_auth_failures_total\{role="server"\} (\d+)$/m);
      assert.ok(drops && Number(drops[1]) >= 2, metrics.stdout);
      assert.match(metrics.stdout, /^tou_sessions_opened_total\{role="server"\} 0$/m);
      const table = await runTou(["stat", "--control", `127.0.0.1:${t.serverControl}`]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^tou server udp 127\.0\.0\.1:\d+ \(encrypted\), 0 connections$/m);
      assert.equal(echo.conns.length, 0);
    } finally {
      await t.stop();
    }
  } finally {
    await echo.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM drains an active transfer through tou processes without losing bytes", async () => {
  const echo = echoService();
  const t = await startTunnel({
    targetPort: echo.port,
    serverArgs: ["--drain-timeout", "60"],
    clientArgs: ["--drain-timeout", "60"],
  });
  try {
    const data = pattern(24 * 1024 * 1024, 9);
    const app = await connectLocal(t.localPort);
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
      const late = await connectLocal(t.localPort);
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
