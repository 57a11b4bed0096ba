import assert from "node:assert/strict";
import { TunnelClient } from "../../src/tunnel/client.ts";
import { TunnelServer } from "../../src/tunnel/server.ts";
import type { ObservableEndpoint } from "../../src/tunnel/tou_endpoint.ts";
import { EnvelopeType, parseEnvelope } from "../../src/wire/envelope.ts";
import { captureLog, connectLocal, echoService, readAll, within, writeAll } from "./_harness.ts";

/**
 * A UDP middlebox on loopback between a tunnel client and server: it
 * records every datagram each way (what an eavesdropper sees) and forwards
 * each one twice (what a replaying attacker does).
 */
function middlebox(server: { hostname: string; port: number }) {
  const front = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const back = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const seen: { dir: "c2s" | "s2c"; data: Uint8Array }[] = [];
  let client: Deno.NetAddr | undefined;
  const to: Deno.NetAddr = { transport: "udp", ...server };
  const pump = async (
    from: Deno.DatagramConn,
    dir: "c2s" | "s2c",
    send: (d: Uint8Array) => Promise<unknown>,
  ) => {
    try {
      for (;;) {
        const [data, addr] = await from.receive();
        if (dir === "c2s") client = addr as Deno.NetAddr;
        seen.push({ dir, data: data.slice() });
        await send(data);
        await send(data);
      }
    } catch { /* closed */ }
  };
  const loops = Promise.all([
    pump(front, "c2s", (d) => back.send(d, to)),
    pump(back, "s2c", (d) => client ? front.send(d, client) : Promise.resolve()),
  ]);
  return {
    port: (front.addr as Deno.NetAddr).port,
    seen,
    close: async () => {
      front.close();
      back.close();
      await loops;
    },
  };
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("TunnelClient and TunnelServer put only sealed datagrams with fresh nonces on the wire", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const echo = echoService();
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: echo.port } }],
    key,
    logger: captureLog().logger,
  });
  const box = middlebox({ hostname: "127.0.0.1", port: server.addr.port });
  const client = await TunnelClient.start({
    server: { hostname: "127.0.0.1", port: box.port },
    locals: [{ listen: { hostname: "127.0.0.1", port: 0 }, tunnelPort: 7 }],
    key,
    logger: captureLog().logger,
  });
  try {
    const marker = new TextEncoder().encode("tou-plaintext-marker!");
    const data = new Uint8Array(marker.length * 20_000);
    for (let i = 0; i < 20_000; i++) data.set(marker, i * marker.length);
    const app = await connectLocal(client.listeners[0].addr.port);
    const sending = writeAll(app, data).then(() => app.closeWrite());
    assert.deepEqual(await within(30_000, "echo", readAll(app)), data);
    await sending;
    app.close();

    assert.ok(box.seen.length > 300, `only ${box.seen.length} datagrams`);
    const nonces = new Set<string>();
    const salts = { c2s: new Set<string>(), s2c: new Set<string>() };
    for (const { dir, data: d } of box.seen) {
      // Every datagram is a sealed envelope: nothing of the TCP segment shows.
      const env = parseEnvelope(d);
      assert.ok(env.ok && env.value.type === EnvelopeType.SEALED, `unsealed datagram ${dir}`);
      assert.ok(!contains(d, marker), `plaintext on the wire ${dir}`);
      // Salt (the sender's session) and counter: the nonce of its key, never repeated.
      const salt = hex(d.subarray(4, 20));
      salts[dir].add(salt);
      const nonce = `${salt}/${hex(d.subarray(20, 28))}`;
      assert.ok(!nonces.has(nonce), `nonce reused: ${nonce}`);
      nonces.add(nonce);
    }
    // One session per sender, a different one for each direction.
    assert.equal(salts.c2s.size, 1);
    assert.equal(salts.s2c.size, 1);
    assert.notDeepEqual([...salts.c2s], [...salts.s2c]);
    // Every datagram was sent twice; a copy that arrived after its original (loopback UDP may
    // drop some under the doubled load) was dropped as a replay, and nothing failed to open.
    const sm = (server.endpoint as ObservableEndpoint).metrics();
    const cm = (client.endpoint as ObservableEndpoint).metrics();
    const c2s = box.seen.filter((s) => s.dir === "c2s").length;
    const s2c = box.seen.length - c2s;
    for (const [m, n] of [[sm, c2s], [cm, s2c]] as const) {
      assert.ok(m.seal_opened <= n && m.seal_opened + m.seal_replays <= 2 * n, JSON.stringify(m));
      assert.ok(m.seal_replays > n / 4, JSON.stringify(m));
      assert.equal(m.seal_auth_failures, 0);
    }
  } finally {
    await client.close({ drainTimeoutMs: 1_000 });
    await server.close({ drainTimeoutMs: 1_000 });
    await box.close();
    await echo.close();
  }
});

Deno.test("a tunnel whose ends seal with different ciphers carries data; each datagram names its cipher", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const echo = echoService();
  const serverLog = captureLog();
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: echo.port } }],
    key,
    cipher: "chacha20-poly1305",
    logger: serverLog.logger,
  });
  const box = middlebox({ hostname: "127.0.0.1", port: server.addr.port });
  const clientLog = captureLog();
  const client = await TunnelClient.start({
    server: { hostname: "127.0.0.1", port: box.port },
    locals: [{ listen: { hostname: "127.0.0.1", port: 0 }, tunnelPort: 7 }],
    key,
    cipher: "aes-256-gcm",
    logger: clientLog.logger,
  });
  try {
    const data = new Uint8Array(100_000).map((_, i) => i * 13);
    const app = await connectLocal(client.listeners[0].addr.port);
    const sending = writeAll(app, data).then(() => app.closeWrite());
    assert.deepEqual(await within(30_000, "echo", readAll(app)), data);
    await sending;
    app.close();
    // Envelope flags = cipher id: client -> server AES-256-GCM (1), server -> client ChaCha20-Poly1305 (0).
    for (const { dir, data: d } of box.seen) {
      assert.equal((d[2] << 8) | d[3], dir === "c2s" ? 1 : 0, dir);
    }
    assert.ok(clientLog.lines.some((l) => l.includes("aes-256-gcm")), clientLog.lines.join("\n"));
    assert.ok(serverLog.lines.some((l) => l.includes("chacha20-poly1305")));
    for (const ep of [server.endpoint, client.endpoint]) {
      assert.equal((ep as ObservableEndpoint).metrics().seal_auth_failures, 0);
    }
  } finally {
    await client.close({ drainTimeoutMs: 1_000 });
    await server.close({ drainTimeoutMs: 1_000 });
    await box.close();
    await echo.close();
  }
});
