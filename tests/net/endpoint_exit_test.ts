// Endpoint.close closes connections as a process exit does on Linux (FIN,
// or RST when received data was never read: RFC 2525 §2.17); Endpoint.abort
// resets them. Watched from the peer endpoint on the simulator.

import assert from "node:assert/strict";
import { ConnectionResetError, type TouConn } from "../../mod.ts";
import { SERVER_HOST, SERVER_PORT, type SimWorld, simWorld } from "./_sim.ts";

async function pair(w: SimWorld): Promise<{ a: TouConn; b: TouConn }> {
  const l = w.server.listen({ tcpPort: 80 });
  const a = await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
    "connect",
  );
  const b = await w.until(l.accept(), "accept");
  return { a, b };
}

Deno.test("Endpoint.close (process exit): the peer reads EOF when nothing was left unread", async () => {
  const w = simWorld();
  const { b } = await pair(w);
  w.client.close();
  const buf = new Uint8Array(16);
  assert.equal(await w.until(b.read(buf), "read EOF"), null);
  assert.ok(w.segments().some((s) => s.startsWith("c>") && s.includes("Flags [F.]")));
  assert.ok(!w.segments().some((s) => s.includes("Flags [R")));
  await w.close();
});

Deno.test("Endpoint.close (process exit): unread received data turns the FIN into a RST", async () => {
  const w = simWorld();
  const { b } = await pair(w);
  await w.until(b.write(new TextEncoder().encode("unread")), "write");
  await w.run(50);
  w.client.close();
  await assert.rejects(() => w.until(b.read(new Uint8Array(16)), "read"), ConnectionResetError);
  await w.close();
});

Deno.test("Endpoint.abort resets every connection", async () => {
  const w = simWorld();
  const { b } = await pair(w);
  w.client.abort();
  await assert.rejects(() => w.until(b.read(new Uint8Array(16)), "read"), ConnectionResetError);
  await w.close();
});
