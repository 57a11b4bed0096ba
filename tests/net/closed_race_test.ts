/**
 * The `closed` promise race fixed in 93b9f10, made deterministic with
 * receive batches on virtual time (`batchRuntime`): the peer's RST closes
 * the connection's TCP at once, but its events ("error", "state",
 * "closed") wait for the end-of-batch drain. An app `close()` in that
 * window lets the auto-closing endpoint see nothing busy and close while
 * the "closed" event is still queued; `conn.closed` must settle anyway.
 *
 * Two guards cover it, checked by reverting them: the endpoint keeps a
 * connection's handle until its `closed` settles (93b9f10) and
 * `Stack.close` delivers the events a deferred drain still held (107546c).
 * With both removed `conn.closed` never settles (this test times out);
 * without the second it settles with reason "closed" instead of the peer's
 * "reset"; the first alone is now a second line of defence this path no
 * longer needs.
 */
import assert from "node:assert/strict";
import { createEndpoint, setAutoClose } from "../../src/net/endpoint.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { batchRuntime } from "../../src/testing/mod.ts";
import { drive, flushJobs } from "./_sim.ts";

Deno.test("TouConn.closed settles when an auto-close runs while the 'closed' event is still queued (end-of-batch drain)", async () => {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock, { seed: 1 });
  net.setPath("10.0.0.1", "10.0.0.2", { delay: 5 });
  const runtime = batchRuntime(clock);
  const client = createEndpoint(net.bind({ hostname: "10.0.0.1", port: 0 }), runtime);
  const server = createEndpoint(net.bind({ hostname: "10.0.0.2", port: 9000 }), runtime);
  const listener = server.listen();
  let conn: Awaited<ReturnType<typeof client.connect>> | undefined;
  client.connect({ hostname: "10.0.0.2", port: 9000 }).then((c) => conn = c);
  await drive(clock, () => conn !== undefined, "connect");
  setAutoClose(client); // as connect() does: the client endpoint closes once idle
  let peer: Awaited<ReturnType<typeof listener.accept>> | undefined;
  listener.accept().then((c) => peer = c);
  await drive(clock, () => peer !== undefined, "accept");
  let settled: { reason: string; state: string } | undefined;
  conn!.closed.then((info) => settled = info);

  peer!.abort(); // RST to the client
  // step event by event until the RST was handled: TCP CLOSED, events not drained yet
  await drive(clock, () => conn!.state === "CLOSED", "RST arrival");
  assert.equal(settled, undefined);
  assert.equal(client.isClosed, false);
  assert.ok(clock.pending > 0, "the end-of-batch drain is still queued");

  conn!.close(); // the app closes in that window: the auto-close check follows
  await flushJobs();
  assert.equal(client.isClosed, true); // the endpoint closed with "closed" still queued
  await drive(clock, () => settled !== undefined, "conn.closed settles", 10_000);
  // the events still queued are delivered as the stack closes: the reason is the peer's RST
  assert.deepEqual([settled!.reason, settled!.state], ["reset", "CLOSED"]);
  listener.close();
  server.close();
  await flushJobs();
});
