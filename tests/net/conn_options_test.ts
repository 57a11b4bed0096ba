// TouConn.setNoDelay (TCP_NODELAY) and TouConn.setKeepAlive (SO_KEEPALIVE, its idle time too),
// and the matching endpoint/connect options, checked by the segments they
// cause on the simulator.

import assert from "node:assert/strict";
import { TimedOutError, type TouConn, type TouOptions } from "../../mod.ts";
import { SERVER_HOST, SERVER_PORT, type SimWorld, simWorld } from "./_sim.ts";

async function pair(
  w: SimWorld,
  connect: { noDelay?: boolean; keepAlive?: boolean } = {},
): Promise<{ a: TouConn; b: TouConn }> {
  const l = w.server.listen({ tcpPort: 80 });
  const a = await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80, ...connect }),
    "connect",
  );
  const b = await w.until(l.accept(), "accept");
  return { a, b };
}

/** Client data segments (payload > 0) sent since `mark`. */
function clientData(w: SimWorld, mark: number): string[] {
  return w.segments().slice(mark).filter((s) => s.startsWith("c>") && !/ length 0$/.test(s));
}

/** Writes `n` one-byte chunks back to back (each write reaches the TCP at once). */
async function tinyWrites(w: SimWorld, conn: TouConn, n: number): Promise<void> {
  const writes = Array.from({ length: n }, () => conn.write(new Uint8Array([1])));
  await w.until(Promise.all(writes), "tiny writes");
  await w.drive(() => conn.info().unacked === 0, "all acknowledged");
}

Deno.test("TouConn.setNoDelay sends each small write at once when Nagle is disabled", async () => {
  const w = simWorld();
  const { a } = await pair(w);
  // Nagle (the default): one small segment in flight, the rest coalesced.
  let mark = w.segments().length;
  await tinyWrites(w, a, 10);
  assert.deepEqual(clientData(w, mark).map((s) => / length (\d+)$/.exec(s)![1]), ["1", "9"]);

  a.setNoDelay(); // default argument: true
  mark = w.segments().length;
  await tinyWrites(w, a, 10);
  assert.equal(clientData(w, mark).length, 10);

  a.setNoDelay(false);
  mark = w.segments().length;
  await tinyWrites(w, a, 10);
  assert.equal(clientData(w, mark).length, 2);
  await w.close();
});

Deno.test("Endpoint.connect applies noDelay to the new connection when given", async () => {
  const w = simWorld();
  const { a } = await pair(w, { noDelay: true });
  const mark = w.segments().length;
  await tinyWrites(w, a, 5);
  assert.equal(clientData(w, mark).length, 5);
  await w.close();
});

const KEEPALIVE: TouOptions = {
  keepAliveIdle: 1_000,
  keepAliveInterval: 500,
  keepAliveCount: 3,
};

/** Keepalive probes from the client since `mark`: empty ACKs one below SND.NXT. */
function probes(w: SimWorld, mark: number): string[] {
  return w.segments().slice(mark).filter((s) => s.startsWith("c>") && /Flags \[\.\]/.test(s));
}

Deno.test("TouConn.setKeepAlive probes an idle connection and the peer answers each probe", async () => {
  const w = simWorld({ options: KEEPALIVE });
  const { a, b } = await pair(w);
  const mark = w.segments().length;
  await w.run(10_000);
  assert.equal(w.segments().length, mark); // no keepalive by default (Linux)

  a.setKeepAlive(); // default argument: true
  await w.run(5_500);
  const sent = w.timedSegments().slice(mark).filter((s) =>
    s.text.startsWith("c>") && /Flags \[\.\]/.test(s.text)
  );
  assert.ok(sent.length >= 5, sent.map((s) => `${s.time} ${s.text}`).join("\n"));
  for (let i = 1; i < sent.length; i++) {
    // Each probe is answered, so the next waits a whole idle period again.
    assert.ok(sent[i].time - sent[i - 1].time >= 1_000, `probe ${i} too early`);
  }
  assert.equal(
    w.segments().slice(mark).filter((s) => s.startsWith("s>")).length,
    sent.length,
    "one ACK per probe",
  );
  assert.equal(a.state, "ESTABLISHED");

  a.setKeepAlive(false);
  const off = w.segments().length;
  await w.run(20_000);
  assert.equal(w.segments().length, off);
  assert.equal(b.state, "ESTABLISHED");
  await w.close();
});

Deno.test("TouConn.setKeepAlive times the connection out when the peer stops answering", async () => {
  const w = simWorld({ options: KEEPALIVE });
  const { a, b } = await pair(w, { keepAlive: true });
  const t0 = w.clock.now();
  // The path goes dark in both directions.
  w.net.setPath("10.0.0.1", SERVER_HOST, { delay: 5, partitions: [{ from: t0, to: 1e12 }] });
  const pending = a.read(new Uint8Array(1)).catch((e: unknown) => e);
  const err = await w.until(pending, "keepalive timeout");
  const elapsed = w.clock.now() - t0;
  // idle 1000 ms since the handshake's last ACK (5 ms before t0), then 3
  // unanswered probes 500 ms apart (tcp_keepalive_time/intvl/probes).
  assert.ok(elapsed >= 1_000 + 3 * 500 - 5 && elapsed < 3_000, `timed out after ${elapsed} ms`);
  assert.ok(err instanceof TimedOutError, String(err));
  assert.ok(err instanceof Deno.errors.TimedOut);
  assert.match(err.message, new RegExp(`^Connection to ${SERVER_HOST}:${SERVER_PORT} tcp 80 `));
  assert.match(err.message, /keepalive/);
  const info = await w.until(a.closed, "closed");
  assert.equal(info.reason, "timed_out");
  assert.equal(b.state, "ESTABLISHED"); // the peer never heard anything
  await w.close();
});

Deno.test("TouConn.setKeepAlive(true, idle) probes after that idle time (TCP_KEEPIDLE) and keeps it for later calls", async () => {
  const w = simWorld({ options: KEEPALIVE });
  const { a } = await pair(w);
  assert.throws(() => a.setKeepAlive(true, 0), RangeError);
  const mark = w.segments().length;
  const t0 = w.clock.now();
  a.setKeepAlive(true, 4_000);
  await w.run(3_900);
  assert.equal(w.segments().length, mark, "no probe before 4 s");
  await w.run(200);
  const first = w.timedSegments().slice(mark).find((s) => s.text.startsWith("c>"));
  assert.ok(first !== undefined && first.time - t0 >= 4_000, "a probe after 4 s");
  a.setKeepAlive(false);
  a.setKeepAlive(true); // the idle time stays 4 s
  const again = w.segments().length;
  await w.run(3_900);
  assert.equal(w.segments().length, again, "still 4 s");
  await w.close();
});

Deno.test("openEndpoint keepAlive option turns keepalive on for accepted connections", async () => {
  const w = simWorld({ options: KEEPALIVE, serverOptions: { keepAlive: true } });
  await pair(w);
  const mark = w.segments().length;
  await w.run(2_500);
  const fromServer = w.segments().slice(mark).filter((s) => s.startsWith("s>"));
  assert.ok(fromServer.length >= 1, "server probes");
  assert.equal(probes(w, mark).length, fromServer.length); // each answered by the client
  await w.close();
});
