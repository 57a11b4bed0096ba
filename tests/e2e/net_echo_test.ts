import assert from "node:assert/strict";
import { openEndpoint } from "../../mod.ts";
import { pattern, readAll, writeAll } from "../net/_util.ts";

Deno.test("TouConn echoes every byte when a client talks to a listener over loopback UDP", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1" });
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const listener = server.listen({ tcpPort: 22 });
  const serving = (async () => {
    const conn = await listener.accept();
    assert.equal(conn.localAddr.port, 22);
    await conn.readable.pipeTo(conn.writable); // echo until FIN, then FIN back
    conn.close();
    return conn.closed;
  })();

  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 22 });
  assert.equal(conn.state, "ESTABLISHED");
  assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port: 22 });
  assert.equal(conn.tuple.remote.port, server.addr.port);
  assert.equal(conn.tuple.local.port, client.addr.port);
  const data = pattern(300_000, 7);
  const [, echoed] = await Promise.all([
    writeAll(conn, data).then(() => conn.closeWrite()),
    readAll(conn),
  ]);
  assert.equal(echoed.length, data.length);
  assert.deepEqual(echoed, data);
  conn.close();
  const [c, s] = await Promise.all([conn.closed, serving]);
  assert.equal(c.reason, "closed");
  assert.equal(s.reason, "closed");
  const info = conn.info();
  assert.equal(info.bytesAcked, data.length);
  assert.equal(info.bytesReceived, data.length);
});

Deno.test("TouConn.read resolves null and TouConn.closed resolves when the peer closes first", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1" });
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const listener = server.listen();
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const peer = await listener.accept();
  await writeAll(peer, new TextEncoder().encode("bye"));
  peer.close();
  assert.equal(new TextDecoder().decode(await readAll(conn)), "bye");
  assert.equal(await conn.read(new Uint8Array(1)), null);
  conn.close();
  const [a, b] = await Promise.all([conn.closed, peer.closed]);
  assert.equal(a.state, "CLOSED"); // the passive closer ends in CLOSED
  assert.equal(b.state, "TIME_WAIT"); // the active closer ends in TIME_WAIT
  await assert.rejects(conn.read(new Uint8Array(1)), Deno.errors.BadResource);
});
