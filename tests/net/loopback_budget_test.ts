// Segment size on loopback: with no segmentBudget given, an endpoint bound
// to a loopback address (and connect() to a loopback peer) sizes segments
// for loopback's 64 KiB MTU instead of a 1500-byte path.

import assert from "node:assert/strict";
import { connect, listen, openEndpoint } from "../../mod.ts";
import { pattern, readAll, writeAll } from "./_util.ts";

const LOOPBACK_BUDGET = 16_384;
/** Payload per segment: the budget minus the TCP header (20) and timestamps (12). */
const mssOf = (budget: number) => budget - 32;

Deno.test("openEndpoint sizes segments for loopback when bound to a loopback address", async () => {
  for (const [hostname, budget] of [["127.0.0.1", LOOPBACK_BUDGET], ["0.0.0.0", 1448]] as const) {
    await using ep = await openEndpoint({ hostname });
    assert.equal(ep.options.segmentBudget, budget, hostname);
  }
  await using explicit = await openEndpoint({ hostname: "127.0.0.1", segmentBudget: 1448 });
  assert.equal(explicit.options.segmentBudget, 1448);
});

Deno.test("listen and connect use loopback-sized segments when both ends are on loopback", async () => {
  const listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await connect({ hostname: "127.0.0.1", port: listener.touAddr.port });
  const peer = await listener.accept();
  listener.close();
  assert.equal(conn.info().mss, mssOf(LOOPBACK_BUDGET));
  assert.equal(peer.info().mss, mssOf(LOOPBACK_BUDGET));
  const data = pattern(1_000_000, 8);
  await writeAll(conn, data);
  await conn.closeWrite();
  assert.deepEqual(await readAll(peer), data);
  assert.equal(peer.info().rcvMss, mssOf(LOOPBACK_BUDGET)); // full-size segments arrived
  peer.close();
  conn.close();
  await Promise.all([conn.closed, peer.closed]);
});

Deno.test("connect falls back to the peer's smaller segments when the listener is not loopback-bound", async () => {
  await using server = await openEndpoint({ hostname: "0.0.0.0" });
  const listener = server.listen();
  const conn = await connect({ hostname: "127.0.0.1", port: server.addr.port });
  const peer = await listener.accept();
  assert.equal(conn.info().mss, mssOf(1448)); // the peer's MSS option caps us
  assert.equal(peer.info().mss, mssOf(1448));
  await writeAll(conn, pattern(100_000, 9));
  await conn.closeWrite();
  assert.equal((await readAll(peer)).length, 100_000);
  peer.close();
  conn.close();
  await conn.closed;
});
