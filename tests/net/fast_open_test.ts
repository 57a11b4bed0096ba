import assert from "node:assert/strict";
import { openEndpoint } from "../../src/net/endpoint.ts";

Deno.test("Endpoint.connect with fastOpen resolves before the handshake once a cookie is cached, and the first write rides on the SYN", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1", fastOpen: true });
  const listener = server.listen({ tcpPort: 80 });
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const to = { hostname: "127.0.0.1", port: server.addr.port, tcpPort: 80, fastOpen: true };
  // first connection: no cookie yet, a normal handshake that fetches one
  const first = await client.connect(to);
  assert.equal(first.state, "ESTABLISHED");
  (await listener.accept()).close();
  first.close();
  // second: resolves in SYN_SENT, the SYN waits for the write
  const second = await client.connect(to);
  assert.equal(second.state, "SYN_SENT");
  await second.write(new TextEncoder().encode("GET /"));
  const peer = await listener.accept();
  const buf = new Uint8Array(16);
  const n = await peer.read(buf);
  assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "GET /");
  assert.equal(server.counters.fastOpenPassive, 1);
  await peer.write(new TextEncoder().encode("ok"));
  assert.equal(await second.read(buf), 2);
  assert.equal(client.counters.fastOpenActive, 1);
  second.close();
  peer.close();
});
