import assert from "node:assert/strict";
import { openEndpoint } from "../../mod.ts";
import { pattern, readAll, waitFor, writeAll } from "../net/_util.ts";

Deno.test("TouConn.closeWrite lets the server read EOF and keep writing when the client half-closes", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1" });
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const listener = server.listen({ tcpPort: 80 });
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 80 });
  const peer = await listener.accept();

  const request = pattern(10_000, 1);
  await writeAll(conn, request);
  await conn.closeWrite();
  await assert.rejects(conn.write(new Uint8Array(1)), Deno.errors.BrokenPipe);

  // The server reads the whole request, then EOF.
  const got = await readAll(peer);
  assert.deepEqual(got, request);
  assert.equal(peer.state, "CLOSE_WAIT");
  await waitFor(() => conn.state === "FIN_WAIT_2", 2000, "client FIN_WAIT_2");

  // ...and keeps writing a large response on its open half.
  const response = pattern(2_000_000, 2);
  const reading = readAll(conn);
  await writeAll(peer, response);
  peer.close();
  const back = await reading;
  assert.equal(back.length, response.length);
  assert.deepEqual(back, response);
  conn.close();
  const [c, p] = await Promise.all([conn.closed, peer.closed]);
  assert.equal(c.state, "TIME_WAIT");
  assert.equal(p.state, "CLOSED");
});

Deno.test("TouConn.shutdownRead makes reads return EOF when the app stops reading", async () => {
  await using ep = await openEndpoint({ hostname: "127.0.0.1" });
  const listener = ep.listen();
  const conn = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port });
  const peer = await listener.accept();
  conn.shutdownRead();
  assert.equal(await conn.read(new Uint8Array(10)), null);
  await writeAll(conn, new Uint8Array([1, 2, 3]));
  const buf = new Uint8Array(3);
  assert.equal(await peer.read(buf), 3);
  conn.close();
  peer.close();
});
