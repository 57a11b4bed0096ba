import assert from "node:assert/strict";
import { connect, ConnectionResetError, listen, openEndpoint } from "../../mod.ts";
import { pattern, readAll, writeAll } from "../net/_util.ts";

Deno.test("listen and connect release their UDP ports when listener and connections finish", async () => {
  const listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const serverPort = listener.touAddr.port;
  const conn = await connect({ hostname: "127.0.0.1", port: serverPort });
  const clientPort = conn.tuple.local.port;
  const peer = await listener.accept();
  listener.close();
  await writeAll(conn, new Uint8Array([1, 2, 3]));
  await conn.closeWrite();
  assert.deepEqual(await readAll(peer), new Uint8Array([1, 2, 3]));
  peer.close();
  assert.equal((await readAll(conn)).length, 0);
  conn.close();
  const [a, b] = await Promise.all([conn.closed, peer.closed]);
  assert.equal(a.state, "TIME_WAIT");
  assert.equal(b.state, "CLOSED");
  // Both UDP ports are free again: TIME_WAIT did not keep the endpoints open.
  for (const port of [serverPort, clientPort]) {
    const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
    s.close();
  }
});

Deno.test("Endpoint.close closes live connections as a process exit does: the peer reads EOF", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1" });
  const client = await openEndpoint({ hostname: "127.0.0.1" });
  const listener = server.listen();
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const peer = await listener.accept();
  const pending = conn.read(new Uint8Array(10));
  client.close();
  await assert.rejects(pending, {
    name: "ConnectionAborted",
    message: `Connection to 127.0.0.1:${server.addr.port} tcp ${server.addr.port} aborted: ` +
      "its endpoint was closed",
  });
  await client.closed;
  const info = await conn.closed;
  assert.equal(info.reason, "aborted");
  assert.ok(info.error instanceof Deno.errors.ConnectionAborted);
  // nothing was left unread: a FIN (RFC 2525 §2.17), so the peer reads EOF
  assert.equal(await peer.read(new Uint8Array(10)), null);
  peer.abort(); // nobody is left at the client to acknowledge a FIN
  await assert.rejects(client.connect({ hostname: "127.0.0.1", port: 1 }), Deno.errors.BadResource);
});

Deno.test("Endpoint.abort resets live connections when the endpoint goes away", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1" });
  const client = await openEndpoint({ hostname: "127.0.0.1" });
  const listener = server.listen();
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const peer = await listener.accept();
  client.abort();
  await client.closed;
  assert.equal((await conn.closed).reason, "aborted");
  await assert.rejects(peer.read(new Uint8Array(10)), ConnectionResetError);
  assert.equal((await peer.closed).reason, "reset");
});

Deno.test("Endpoint.closeGracefully delivers queued bytes before closing when data is in flight", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1" });
  const client = await openEndpoint({ hostname: "127.0.0.1" });
  const listener = server.listen();
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const peer = await listener.accept();
  const data = pattern(1_000_000, 5);
  assert.equal(await conn.write(data), data.length); // all queued, little sent yet
  const reading = readAll(peer).then((got) => {
    peer.close(); // the peer closes too once it has read everything
    return got;
  });
  await client.closeGracefully({ timeout: 5000 });
  assert.deepEqual(await reading, data);
  assert.equal((await conn.closed).reason, "closed");
  assert.equal((await peer.closed).reason, "closed");
});
