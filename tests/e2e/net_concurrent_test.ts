import assert from "node:assert/strict";
import { openEndpoint, type TouConn } from "../../mod.ts";
import { pattern, readAll, writeAll } from "../net/_util.ts";

const CONNECTIONS = 200;
const BYTES_EACH = 10_000;

Deno.test("Endpoint carries 200 concurrent connections each echoing its own data", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1" });
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const listener = server.listen({ tcpPort: 7, backlog: 512 });
  const echoes: Promise<unknown>[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      echoes.push(conn.readable.pipeTo(conn.writable).then(() => conn.close()));
    }
  })();

  async function one(i: number): Promise<void> {
    const conn: TouConn = await client.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
      tcpPort: 7,
    });
    const data = pattern(BYTES_EACH, i + 1);
    const [, back] = await Promise.all([
      writeAll(conn, data).then(() => conn.closeWrite()),
      readAll(conn),
    ]);
    assert.equal(back.length, data.length, `connection ${i}`);
    assert.deepEqual(back, data, `connection ${i}`);
    conn.close();
    await conn.closed;
  }

  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => one(i)));
  listener.close();
  await serving;
  await Promise.all(echoes);
  assert.equal(server.counters.passiveOpens, CONNECTIONS);
  assert.equal(client.counters.activeOpens, CONNECTIONS);
  assert.equal(listener.counters.accepted, CONNECTIONS);
  const ports = new Set(client.connections().map((c) => c.tuple.local.tcpPort));
  assert.equal(ports.size, CONNECTIONS); // every client conn in TIME_WAIT, distinct ports
});
