import assert from "node:assert/strict";
import { AddrInUseError, openEndpoint, type TouConn } from "../../mod.ts";
import { readAll, waitFor } from "../net/_util.ts";

const MSL = 150; // TIME_WAIT lasts 2·MSL = 300 ms

/** Closes `active` first, then `passive` once it has read EOF; waits for both to finish. */
async function closeInOrder(active: TouConn, passive: TouConn): Promise<void> {
  active.close();
  assert.equal((await readAll(passive)).length, 0);
  passive.close();
  const [a, p] = await Promise.all([active.closed, passive.closed]);
  assert.equal(a.state, "TIME_WAIT");
  assert.equal(p.state, "CLOSED");
}

Deno.test("Endpoint.connections shows the active closer in TIME_WAIT until 2·MSL passes", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1", msl: MSL });
  await using client = await openEndpoint({ hostname: "127.0.0.1", msl: MSL });
  const listener = server.listen({ tcpPort: 22 });
  const conn = await client.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    tcpPort: 22,
    localTcpPort: 40000,
  });
  const peer = await listener.accept();
  await closeInOrder(conn, peer);
  const start = performance.now();

  const tw = client.connections();
  assert.equal(tw.length, 1);
  assert.equal(tw[0].state, "TIME_WAIT");
  assert.deepEqual(tw[0].tuple.local, {
    hostname: "127.0.0.1",
    port: client.addr.port,
    tcpPort: 40000,
  });
  assert.deepEqual(tw[0].tuple.remote, {
    hostname: "127.0.0.1",
    port: server.addr.port,
    tcpPort: 22,
  });
  assert.equal(server.connections().length, 0);

  // The same 4-tuple is refused while in TIME_WAIT, even with reuseAddress.
  for (const reuseAddress of [false, true]) {
    await assert.rejects(
      client.connect({
        hostname: "127.0.0.1",
        port: server.addr.port,
        tcpPort: 22,
        localTcpPort: 40000,
        reuseAddress,
      }),
      (e: unknown) => e instanceof AddrInUseError && /TIME_WAIT/.test(e.message),
    );
  }

  await waitFor(() => client.connections().length === 0, 5000, "TIME_WAIT to end");
  const lasted = performance.now() - start;
  assert.ok(lasted >= 2 * MSL - 50, `TIME_WAIT lasted only ${lasted} ms`);

  // Afterwards the 4-tuple is free again.
  const again = await client.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    tcpPort: 22,
    localTcpPort: 40000,
  });
  const peer2 = await listener.accept();
  again.abort();
  peer2.close();
});

Deno.test("Endpoint.listen fails with AddrInUse on a TIME_WAIT port unless reuseAddress", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1", msl: MSL });
  await using client = await openEndpoint({ hostname: "127.0.0.1", msl: MSL });
  const listener = server.listen({ tcpPort: 22 });
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 22 });
  const peer = await listener.accept();
  await closeInOrder(peer, conn); // the server closes first: TIME_WAIT on tcp port 22
  listener.close();
  assert.deepEqual(server.connections().map((c) => [c.state, c.tuple.local.tcpPort]), [
    ["TIME_WAIT", 22],
  ]);

  assert.throws(
    () => server.listen({ tcpPort: 22 }),
    (e: unknown) =>
      e instanceof AddrInUseError && e instanceof Deno.errors.AddrInUse &&
      /TIME_WAIT/.test(e.message),
  );
  const reused = server.listen({ tcpPort: 22, reuseAddress: true });
  reused.close();

  await waitFor(() => server.connections().length === 0, 5000, "TIME_WAIT to end");
  const l2 = server.listen({ tcpPort: 22 });
  l2.close();
});

Deno.test("Endpoint.listen fails with AddrInUse when a listener already has the port", async () => {
  await using ep = await openEndpoint({ hostname: "127.0.0.1" });
  using _l = ep.listen({ tcpPort: 5 });
  assert.throws(() => ep.listen({ tcpPort: 5, reuseAddress: true }), Deno.errors.AddrInUse);
});
