// How a TouConn ends: closeWrite (SHUT_WR), shutdownRead (SHUT_RD), close,
// abort (RST), and the streams (which close the whole connection, as a
// Deno.TcpConn's do), checked segment by segment on the simulator.

import assert from "node:assert/strict";
import {
  BrokenPipeError,
  ClosedError,
  ConnectionAbortedError,
  ConnectionResetError,
  InterruptedError,
  type TouConn,
} from "../../mod.ts";
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

/** Segments sent since `mark` (an index into `w.segments()`). */
function since(w: SimWorld, mark: number): string[] {
  return w.segments().slice(mark);
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("TouConn.closeWrite sends a FIN after queued bytes and keeps reading when half-closed", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  const mark = w.segments().length;
  await w.until(a.write(enc("request")), "write");
  await a.closeWrite();
  await a.closeWrite(); // idempotent
  const buf = new Uint8Array(100);
  assert.equal(await w.until(b.read(buf), "read request"), 7);
  assert.equal(await w.until(b.read(buf), "read EOF"), null);
  const fin = since(w, mark).filter((s) => s.startsWith("c>") && /Flags \[F/.test(s));
  assert.equal(fin.length, 1);
  assert.equal(b.state, "CLOSE_WAIT");
  await w.drive(() => a.state === "FIN_WAIT_2", "FIN_WAIT_2");
  await assert.rejects(a.write(enc("more")), BrokenPipeError);
  // The other direction still works.
  await w.until(b.write(enc("response")), "respond");
  assert.equal(await w.until(a.read(buf), "read response"), 8);
  assert.equal(dec(buf.subarray(0, 8)), "response");
  b.close();
  assert.equal(await w.until(a.read(buf), "EOF"), null);
  a.close();
  const [ca, cb] = await w.until(Promise.all([a.closed, b.closed]), "closed");
  assert.equal(ca.state, "TIME_WAIT");
  assert.equal(cb.state, "CLOSED");
  await w.close();
});

Deno.test("TouConn.writable close closes the whole connection (FIN after the queued bytes) as a Deno.TcpConn's does", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  const writer = a.writable.getWriter();
  await w.until(writer.write(enc("abc")), "write");
  await w.until(writer.close(), "close");
  await assert.rejects(a.read(new Uint8Array(1)), ClosedError);
  assert.equal(dec(await w.until(new Response(b.readable).bytes(), "read all")), "abc");
  const info = await w.until(a.closed, "a closed");
  assert.equal(info.reason, "closed");
  assert.equal(w.segments().filter((s) => /Flags \[R/.test(s)).length, 0);
  await w.close();
});

Deno.test("TouConn.shutdownRead returns EOF and discards later bytes while still acknowledging them", async () => {
  const w = simWorld({ options: { recvBufferSize: 4096 } });
  const { a, b } = await pair(w);
  const mark = w.segments().length;
  b.shutdownRead();
  b.shutdownRead(); // idempotent
  const buf = new Uint8Array(10);
  assert.equal(await b.read(buf), null);
  // The peer may go on writing far more than b's buffer: nothing is reset,
  // every byte is acknowledged, and b's window stays open.
  let sent = 0;
  while (sent < 64 * 1024) sent += await w.until(a.write(new Uint8Array(8192)), "write");
  await w.drive(() => a.info().bytesAcked === sent, "everything acknowledged");
  assert.equal(b.info().recvQueue, 0);
  assert.deepEqual(since(w, mark).filter((s) => s.startsWith("s>") && / win 0,/.test(s)), []);
  assert.equal(a.state, "ESTABLISHED");
  assert.equal(b.state, "ESTABLISHED");
  assert.equal(w.segments().filter((s) => /Flags \[R/.test(s)).length, 0);
  assert.equal(await b.read(buf), null);
  // b can still write (SHUT_RD leaves the send side alone).
  await w.until(b.write(enc("still here")), "b writes");
  assert.equal(await w.until(a.read(buf), "a reads"), 10);
  await w.close();
});

Deno.test("TouConn.readable cancel closes the whole connection with a FIN when everything was read", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  await w.until(a.write(enc("x")), "write");
  const reader = b.readable.getReader();
  await w.until(reader.read(), "read");
  const mark = w.segments().length;
  await w.until(reader.cancel(), "cancel");
  await assert.rejects(b.read(new Uint8Array(1)), ClosedError);
  await assert.rejects(b.write(enc("y")), ClosedError);
  assert.equal(await w.until(a.read(new Uint8Array(1)), "a reads EOF"), null);
  assert.match(since(w, mark).join("\n"), /s> 80 > \d+: Flags \[F/);
  await w.close();
});

Deno.test("TouConn.readable cancel resets when received bytes were never read (RFC 1122 §4.2.2.13)", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  await w.until(a.write(enc("unread")), "write");
  await w.drive(() => b.info().recvQueue === 6, "bytes arrive");
  const mark = w.segments().length;
  await w.until(b.readable.cancel(), "cancel");
  assert.match(since(w, mark).join("\n"), /s> 80 > \d+: Flags \[R/);
  assert.equal((await w.until(a.closed, "a closed")).reason, "reset");
  await w.close();
});

Deno.test("TouConn.abort sends a RST and the peer reads ConnectionResetError naming the address", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  await w.until(a.write(new Uint8Array(5000)), "queue data");
  const mark = w.segments().length;
  const pendingRead = a.read(new Uint8Array(1));
  a.abort();
  a.abort(); // idempotent
  const rst = since(w, mark).filter((s) => s.startsWith("c>"));
  assert.equal(rst.length, 1, rst.join("\n"));
  assert.match(rst[0], /Flags \[R/);
  assert.equal(a.state, "CLOSED");
  await assert.rejects(pendingRead, InterruptedError);
  await assert.rejects(a.read(new Uint8Array(1)), ClosedError);
  const info = await w.until(a.closed, "a closed");
  assert.equal(info.reason, "aborted");
  assert.equal(info.state, "CLOSED"); // no TIME_WAIT
  assert.ok(info.error instanceof ConnectionAbortedError);
  assert.equal(
    info.error.message,
    `Connection to ${SERVER_HOST}:${SERVER_PORT} tcp 80 aborted`,
  );
  assert.equal(w.client.connections().length, 0);

  const clientTcp = a.localAddr.port;
  const err = await w.until(
    (async () => {
      const buf = new Uint8Array(10_000);
      for (;;) if ((await b.read(buf)) === null) return undefined;
    })().catch((e: unknown) => e),
    "b reads",
  );
  assert.ok(err instanceof ConnectionResetError, String(err));
  assert.ok(err instanceof Deno.errors.ConnectionReset);
  assert.equal(
    err.message,
    `Connection to 10.0.0.1:${w.client.addr.port} tcp ${clientTcp} reset by peer`,
  );
  const binfo = await w.until(b.closed, "b closed");
  assert.equal(binfo.reason, "reset");
  await w.close();
});

Deno.test("TouConn.writable abort closes gracefully: the peer gets the queued bytes and a FIN, as on a Deno.TcpConn", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  const writer = a.writable.getWriter();
  await w.until(writer.write(new Uint8Array(200_000)), "queue");
  await w.until(writer.abort(new Error("give up")), "abort");
  const got = await w.until(new Response(b.readable).bytes(), "b reads all");
  assert.equal(got.length, 200_000);
  assert.equal(w.segments().filter((s) => /Flags \[R/.test(s)).length, 0);
  assert.equal((await w.until(b.closed, "b closed")).reason, "closed");
  await w.close();
});

Deno.test("TouConn.close sends a FIN and rejects later calls with ClosedError", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  const mark = w.segments().length;
  a.close();
  a.close(); // idempotent
  assert.match(since(w, mark)[0], /^c> \d+ > 80: Flags \[F\.\]/);
  await assert.rejects(a.read(new Uint8Array(1)), {
    name: "BadResource",
    message: `Cannot read from ${SERVER_HOST}:${SERVER_PORT} tcp 80: connection closed`,
  });
  await assert.rejects(a.write(new Uint8Array(1)), ClosedError);
  await assert.rejects(a.closeWrite(), ClosedError);
  assert.equal(await w.until(b.read(new Uint8Array(1)), "EOF"), null);
  b.close();
  const [ca, cb] = await w.until(Promise.all([a.closed, b.closed]), "closed");
  assert.deepEqual([ca.reason, ca.state, cb.reason, cb.state], [
    "closed",
    "TIME_WAIT",
    "closed",
    "CLOSED",
  ]);
  await w.close();
});

Deno.test("TouConn.close resets instead when received bytes were never read (RFC 1122 4.2.2.13)", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  await w.until(b.write(enc("unread")), "b writes");
  await w.drive(() => a.info().recvQueue === 6, "arrives");
  const mark = w.segments().length;
  a.close();
  assert.match(since(w, mark)[0], /^c> \d+ > 80: Flags \[R/);
  assert.equal((await w.until(b.closed, "b closed")).reason, "reset");
  await w.close();
});

Deno.test("TouConn.write settles at once when the send buffer takes bytes, and never throws synchronously once the connection failed", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  // the usual write: taken now, already settled (no wait for the network)
  const taken = a.write(enc("hello"));
  let settled: number | undefined;
  void taken.then((n) => settled = n);
  await Promise.resolve();
  assert.equal(settled, 5);
  // after the peer's reset every refusal is a rejected promise, not a throw
  b.abort();
  await w.drive(() => a.state === "CLOSED", "reset arrives");
  const failed = a.write(enc("more"));
  await assert.rejects(failed, ConnectionResetError);
  a.close();
  const closedWrite = a.write(enc("late"));
  await assert.rejects(closedWrite, ClosedError);
  await w.close();
});
