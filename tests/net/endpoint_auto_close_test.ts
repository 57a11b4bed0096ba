// The endpoint that `connect()`/`listen()` open closes itself once idle.
// These pin down what "idle" must not cut short: a half-closed connection
// that is still receiving, and bytes a finished connection still holds.

import assert from "node:assert/strict";
import { setAutoClose } from "../../src/net/endpoint.ts";
import type { TouConn } from "../../mod.ts";
import { pattern } from "./_util.ts";
import { SERVER_HOST, SERVER_PORT, type SimWorld, simWorld } from "./_sim.ts";

/** Connects, then makes the client endpoint auto-closing, as `connect()` does. */
async function pair(w: SimWorld): Promise<{ a: TouConn; b: TouConn }> {
  const l = w.server.listen({ tcpPort: 80 });
  const a = await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
    "connect",
  );
  setAutoClose(w.client);
  const b = await w.until(l.accept(), "accept");
  return { a, b };
}

async function readAllSim(w: SimWorld, c: TouConn): Promise<Uint8Array> {
  return await w.until(new Response(c.readable).bytes(), "read all");
}

Deno.test("connect's endpoint stays open while a half-closed connection waits for the response", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  await a.closeWrite(); // request sent; a sits in FIN_WAIT_2 for the answer
  await w.drive(() => a.state === "FIN_WAIT_2", "FIN_WAIT_2");
  await w.run(10_000); // a slow server: far beyond the orphan grace period
  assert.equal(w.client.isClosed, false);
  const data = pattern(500_000, 3);
  const writing = (async () => {
    let off = 0;
    while (off < data.length) off += await b.write(data.subarray(off));
    b.close();
  })();
  assert.deepEqual(await readAllSim(w, a), data);
  await w.until(writing, "server done");
  assert.equal((await w.until(a.closed, "a closed")).reason, "closed");
  await w.drive(() => w.client.isClosed, "auto-close after the exchange");
  await w.close();
});

Deno.test("TouConn keeps received bytes readable when its endpoint closed itself after the connection finished", async () => {
  // The data fills a's window exactly, so reading it would normally send a window update.
  const w = simWorld({ clientOptions: { recvBufferSize: 300_000 } });
  const { a, b } = await pair(w);
  await a.closeWrite(); // a closes first: it will end in TIME_WAIT
  const data = pattern(300_000, 4);
  let off = 0;
  while (off < data.length) off += await w.until(b.write(data.subarray(off)), "write");
  b.close();
  await w.drive(() => a.state === "TIME_WAIT", "a in TIME_WAIT without having read anything");
  assert.equal(a.info().recvQueue, data.length);
  await w.drive(() => w.client.isClosed, "endpoint auto-closed");
  assert.deepEqual(await readAllSim(w, a), data); // from memory, nothing sent
  assert.equal((await w.until(a.closed, "a closed")).reason, "closed");
  await w.close();
});

Deno.test("connect's endpoint closes after a grace period when an orphaned connection waits in FIN_WAIT_2", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  a.close(); // orphaned; the peer never closes its side
  await w.drive(() => a.state === "FIN_WAIT_2", "FIN_WAIT_2");
  const t0 = w.clock.now();
  await w.drive(() => w.client.isClosed, "endpoint closes");
  assert.ok(w.clock.now() - t0 <= 2_000, `closed after ${w.clock.now() - t0} ms`);
  assert.equal(b.state, "CLOSE_WAIT");
  await w.until(a.closed, "a closed");
  await w.close();
});
