// TouListener as a Deno.Listener: async iteration, accept(), addr, close()
// and disposal, on the simulator.

import assert from "node:assert/strict";
import { ClosedError, type TouConn } from "../../mod.ts";
import { SERVER_HOST, SERVER_PORT, simWorld } from "./_sim.ts";

Deno.test("TouListener yields established connections when iterated and stops when closed", async () => {
  const w = simWorld();
  const l = w.server.listen({ tcpPort: 80 });
  const got: TouConn[] = [];
  const serving = (async () => {
    for await (const conn of l) {
      assert.equal(conn.state, "ESTABLISHED"); // handed out after the handshake
      got.push(conn);
      if (got.length === 3) l.close();
    }
    return "ended";
  })();
  for (let i = 0; i < 3; i++) {
    await w.until(
      w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
      `connect ${i}`,
    );
  }
  assert.equal(await w.until(serving, "iteration ends"), "ended"); // no throw on close
  assert.equal(got.length, 3);
  assert.equal(new Set(got.map((c) => c.remoteAddr.port)).size, 3);
  assert.equal(l.counters.accepted, 3);
  assert.equal(l.closed, true);
  await w.close();
});

Deno.test("TouListener.addr is the UDP IP with the TCP port when listening", async () => {
  const w = simWorld();
  const l = w.server.listen({ tcpPort: 80, backlog: 7 });
  assert.deepEqual(l.addr, { transport: "tcp", hostname: SERVER_HOST, port: 80 });
  assert.deepEqual(l.touAddr, { hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 });
  assert.equal(l.backlog, 7);
  const dflt = w.server.listen(); // TCP port = UDP port; backlog from the options (128)
  assert.equal(dflt.addr.port, SERVER_PORT);
  assert.equal(dflt.backlog, 128);
  await w.close();
});

Deno.test("TouListener.accept returns a queued connection when it completed before the call", async () => {
  const w = simWorld();
  const l = w.server.listen({ tcpPort: 80 });
  const a = await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
    "connect",
  );
  await w.drive(
    () => w.server.connections().some((c) => c.state === "ESTABLISHED"),
    "handshake done on the server",
  );
  const b = await l.accept(); // already in the accept queue: no clock needed
  assert.equal(b.remoteAddr.port, a.localAddr.port);
  await w.close();
});

Deno.test("TouListener.close resets connections still in the accept queue", async () => {
  const w = simWorld();
  const l = w.server.listen({ tcpPort: 80 });
  const a = await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
    "connect",
  );
  l.close();
  l.close(); // idempotent
  await assert.rejects(l.accept(), ClosedError);
  assert.equal((await w.until(a.closed, "reset reaches the client")).reason, "reset");
  await w.close();
});

Deno.test("TouListener closes when disposed by using", async () => {
  const w = simWorld();
  let l;
  {
    using inner = w.server.listen({ tcpPort: 80 });
    l = inner;
    assert.equal(l.closed, false);
  }
  assert.equal(l.closed, true);
  w.server.listen({ tcpPort: 80 }).close(); // the port is free again
  await w.close();
});

Deno.test("TouListener closes when a for await loop over it is left early, as Deno.Listener does", async () => {
  const w = simWorld();
  const l = w.server.listen({ tcpPort: 80 });
  const serving = (async () => {
    for await (const conn of l) {
      conn.close();
      break;
    }
  })();
  await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
    "connect",
  );
  await w.until(serving, "loop left");
  assert.equal(l.closed, true);
  await assert.rejects(l.accept(), ClosedError);
  await w.close();
});

Deno.test("Endpoint.listenerCounters keeps a closed listener's counts in the totals (counters never go down)", async () => {
  const w = simWorld();
  for (let round = 1; round <= 2; round++) {
    const l = w.server.listen({ tcpPort: 80 + round }); // a fresh port each round: the last one is still in use
    const a = await w.until(
      w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 + round }),
      "connect",
    );
    const b = await w.until(l.accept(), "accept");
    assert.equal(w.server.listenerCounters().accepted, round);
    l.close();
    assert.equal(w.server.listenerCounters().accepted, round, "still counted once closed");
    a.close();
    b.close();
  }
  await w.close();
});
