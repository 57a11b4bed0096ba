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

Deno.test("Endpoint.connect with fastOpen: SYNs held in one task without a write all go on the shared release timer", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1", fastOpen: true });
  const listener = server.listen({ tcpPort: 80 });
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const to = { hostname: "127.0.0.1", port: server.addr.port, tcpPort: 80, fastOpen: true };
  (await client.connect(to)).close(); // fetches the cookie
  (await listener.accept()).close();
  // three connects in one task, none writes: every held SYN is released (no Fast Open data)
  const conns = await Promise.all([client.connect(to), client.connect(to), client.connect(to)]);
  for (const c of conns) assert.equal(c.state, "SYN_SENT");
  const peers = [await listener.accept(), await listener.accept(), await listener.accept()];
  for (const c of conns) {
    await c.write(new TextEncoder().encode("x"));
    assert.notEqual(c.state, "SYN_SENT");
  }
  const buf = new Uint8Array(4);
  for (const p of peers) assert.equal(await p.read(buf), 1);
  assert.equal(client.connections().filter((c) => c.state === "ESTABLISHED").length, 3);
  for (const c of [...conns, ...peers]) c.close();
});

Deno.test("Endpoint.connect with fastOpen: a write one turn of the event loop late (after a setImmediate) still rides on the SYN", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1", fastOpen: true });
  const listener = server.listen({ tcpPort: 80 });
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const to = { hostname: "127.0.0.1", port: server.addr.port, tcpPort: 80, fastOpen: true };
  (await client.connect(to)).close(); // fetches the cookie
  (await listener.accept()).close();
  const c = await client.connect(to);
  // The end-of-turn check finds the SYN still held and leaves it to the release timer.
  await new Promise((r) => setImmediate(r));
  assert.equal(c.state, "SYN_SENT");
  await c.write(new TextEncoder().encode("late"));
  const peer = await listener.accept();
  const buf = new Uint8Array(16);
  const n = await peer.read(buf);
  assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "late");
  assert.equal(server.counters.fastOpenPassive, 1); // the data came on the SYN
  c.close();
  peer.close();
});
