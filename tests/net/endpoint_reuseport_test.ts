// SO_REUSEPORT through the public API: two listeners of one endpoint share a
// TCP port when both set reusePort, and connections spread between them.
import assert from "node:assert/strict";
import { AddrInUseError, type TouConn, type TouListener } from "../../mod.ts";
import { SERVER_HOST, SERVER_PORT, simWorld } from "./_sim.ts";

Deno.test("Endpoint.listen with reusePort: two listeners share port 80 and each accepts a part of 16 connections", async () => {
  const w = simWorld();
  const a = w.server.listen({ tcpPort: 80, reusePort: true });
  assert.throws(() => w.server.listen({ tcpPort: 80 }), AddrInUseError);
  const b = w.server.listen({ tcpPort: 80, reusePort: true });
  const accepted = [0, 0];
  const take = async (l: TouListener, i: number) => {
    for await (const c of l) {
      accepted[i]++;
      c.close();
    }
  };
  const loops = [take(a, 0), take(b, 1)];
  const conns: TouConn[] = [];
  for (let i = 0; i < 16; i++) {
    conns.push(
      await w.until(
        w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
        `connect ${i}`,
      ),
    );
  }
  await w.drive(() => accepted[0] + accepted[1] === 16, "accept 16");
  assert.ok(accepted[0] > 0 && accepted[1] > 0, `spread: ${accepted}`);
  for (const c of conns) c.abort();
  a.close();
  b.close();
  await w.run(10);
  await Promise.all(loops);
  await w.close();
});
