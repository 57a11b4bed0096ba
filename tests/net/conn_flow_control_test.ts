// TouConn's Web Streams keep TCP flow control: a reader that does not read
// closes the window the peer sees, the writer's stream then stops
// accepting chunks, and reading reopens both. Runs on the simulator so the
// windows and segments can be checked exactly.

import assert from "node:assert/strict";
import type { TouConn } from "../../mod.ts";
import { SERVER_HOST, SERVER_PORT, type SimWorld, simWorld } from "./_sim.ts";

const BUF = 16_384;

async function pair(w: SimWorld): Promise<{ a: TouConn; b: TouConn }> {
  const l = w.server.listen({ tcpPort: 80 });
  const a = await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
    "connect",
  );
  const b = await w.until(l.accept(), "accept");
  return { a, b };
}

/** The `win` field of the last segment a side sent. */
function lastWindow(w: SimWorld, side: "c" | "s"): number {
  const seg = w.segments().filter((s) => s.startsWith(`${side}>`)).at(-1)!;
  return Number(/win (\d+)/.exec(seg)![1]);
}

Deno.test("TouConn.readable shrinks the advertised window to zero when the reader stops reading", async () => {
  const w = simWorld({
    options: { recvBufferSize: BUF, sendBufferSize: BUF, windowScaling: false },
  });
  const { a, b } = await pair(w);
  const writer = a.writable.getWriter();
  const chunk = new Uint8Array(4096).fill(7);
  let accepted = 0;
  const writing = (async () => {
    for (let i = 0; i < 64; i++) {
      await writer.write(chunk);
      accepted += chunk.length;
    }
    await writer.close();
  })();

  // Nobody reads b: its receive buffer fills, then a's send buffer fills.
  await w.drive(() => b.info().recvQueue === BUF && a.info().sendQueue === BUF, "buffers full");
  await w.run(5_000); // the window stays shut
  assert.equal(b.info().rcvWnd, 0);
  assert.equal(lastWindow(w, "s"), 0); // the peer was told: window 0
  assert.equal(a.info().sndWnd, 0);
  assert.equal(accepted, 2 * BUF); // one buffer in flight to b, one queued at a
  assert.ok(writer.desiredSize! <= 0, `desiredSize ${writer.desiredSize}`);
  // While shut, a probes the window with one byte (RFC 9293 §3.8.6.1) and b refuses it.
  const probes = w.segments().filter((s) => s.startsWith("c>") && / length 1$/.test(s));
  assert.ok(probes.length >= 2, `zero-window probes: ${probes.length}`);
  assert.equal(b.info().bytesReceived, BUF);

  // Reading reopens the window, and the writer's pending chunks go through.
  const reader = b.readable.getReader();
  const first = await w.until(reader.read(), "first read");
  assert.ok(first.value !== undefined && first.value.length > 0);
  await w.drive(() => lastWindow(w, "s") > 0, "window update");
  let total = first.value.length;
  for (;;) {
    const r = await w.until(reader.read(), "read");
    if (r.done) break;
    total += r.value.length;
  }
  await w.until(writing, "writer done");
  assert.equal(total, 64 * chunk.length);
  assert.equal(accepted, 64 * chunk.length);
  await w.close();
});

Deno.test("TouConn.readable takes bytes from the TCP buffer only when the reader asks", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  const readable = b.readable; // built, but no read pending
  await w.until(a.write(new Uint8Array(1000)), "write");
  await w.drive(() => b.info().recvQueue === 1000, "bytes arrive");
  await w.run(1_000);
  assert.equal(b.info().recvQueue, 1000); // nothing pulled into the stream's queue
  const reader = readable.getReader();
  const r = await w.until(reader.read(), "read");
  assert.equal(r.value?.length, 1000);
  assert.equal(b.info().recvQueue, 0);
  reader.releaseLock();
  await w.close();
});

Deno.test("TouConn.write resolves only when the send buffer has room when the peer's window is shut", async () => {
  const w = simWorld({ options: { recvBufferSize: BUF, sendBufferSize: BUF } });
  const { a, b } = await pair(w);
  // Fill b's receive buffer and a's send buffer.
  let taken = 0;
  while (taken < 2 * BUF) taken += await w.until(a.write(new Uint8Array(2 * BUF - taken)), "fill");
  await w.drive(() => b.info().recvQueue === BUF, "b full");
  let done = false;
  const pending = a.write(new Uint8Array(100)).then((n) => {
    done = true;
    return n;
  });
  await w.run(3_000);
  assert.equal(done, false);
  // One read on b reopens the window; a's buffer drains; the write completes.
  const buf = new Uint8Array(BUF);
  assert.ok((await w.until(b.read(buf), "read"))! > 0);
  assert.equal(await w.until(pending, "write"), 100);
  await w.close();
});
