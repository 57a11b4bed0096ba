import assert from "node:assert/strict";
import {
  connect,
  ConnectionRefusedError,
  InvalidOptionError,
  openEndpoint,
  TimedOutError,
} from "../../mod.ts";
import { freeUdpPort } from "../net/_util.ts";

Deno.test("Endpoint.connect rejects with ConnectionRefused when the peer endpoint has no listener", async () => {
  await using server = await openEndpoint({ hostname: "127.0.0.1" });
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const port = server.addr.port;
  const err = await client.connect({ hostname: "127.0.0.1", port, tcpPort: 22 }).then(
    () => assert.fail("connected"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectionRefusedError, String(err));
  assert.ok(err instanceof Deno.errors.ConnectionRefused);
  assert.equal(err.name, "ConnectionRefused");
  assert.match(err.message, new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port} tcp 22: `));
  assert.equal(server.counters.rstsForNoSocket, 1);
  assert.equal(client.connections().length, 0);
});

Deno.test("connect rejects with TimedOut within its SYN retries when no UDP socket is there", async () => {
  const port = freeUdpPort();
  const start = performance.now();
  const err = await connect({
    hostname: "127.0.0.1",
    port,
    tcpPort: 22,
    synRetries: 2,
    rtoInitial: 50,
    rtoMin: 10,
  }).then(() => assert.fail("connected"), (e: unknown) => e);
  const elapsed = performance.now() - start;
  assert.ok(err instanceof TimedOutError, String(err));
  assert.ok(err instanceof Deno.errors.TimedOut);
  assert.match(
    err.message,
    new RegExp(
      `^Cannot connect to 127\\.0\\.0\\.1:${port} tcp 22: timed out after 2 SYN retransmissions`,
    ),
  );
  // 50 + 100 + 200 ms of backoff; generous bound for a loaded machine.
  assert.ok(elapsed >= 300 && elapsed < 3000, `took ${elapsed} ms`);
});

Deno.test("Endpoint.connect rejects with the signal's reason when aborted during the handshake", async () => {
  const port = freeUdpPort();
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  const ac = new AbortController();
  const p = client.connect({ hostname: "127.0.0.1", port, signal: ac.signal });
  setTimeout(() => ac.abort(new Error("changed my mind")), 20);
  await assert.rejects(p, { message: "changed my mind" });
  assert.equal(client.connections().length, 0);
});

Deno.test("Endpoint.connect rejects a bad option with InvalidOptionError naming it", async () => {
  await using client = await openEndpoint({ hostname: "127.0.0.1" });
  await assert.rejects(
    client.connect({ hostname: "127.0.0.1", port: 0 }),
    (e: unknown) =>
      e instanceof InvalidOptionError &&
      e.message === "Invalid option port: must be between 1 and 65535, got 0",
  );
});
