import assert from "node:assert/strict";
import { SendBuffer } from "../../src/tcp/send_buffer.ts";

function bytes(from: number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
}

Deno.test("SendBuffer.write takes only what fits when the buffer fills", () => {
  const buf = new SendBuffer(10);
  assert.equal(buf.capacity, 10);
  assert.equal(buf.write(bytes(0, 6)), 6);
  assert.equal(buf.write(bytes(6, 6)), 4);
  assert.equal(buf.length, 10);
  assert.equal(buf.free, 0);
  assert.equal(buf.write(bytes(0, 1)), 0);
  assert.deepEqual([...buf.peek(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("SendBuffer.peek returns a view of the ring when the range is contiguous", () => {
  const buf = new SendBuffer(8);
  buf.write(bytes(10, 5));
  const a = buf.peek(1, 3);
  const b = buf.peek(0, 5);
  assert.deepEqual([...a], [11, 12, 13]);
  assert.equal(a.buffer, b.buffer); // both views of the one ring
  assert.equal(buf.peek(5, 0).length, 0);
});

Deno.test("SendBuffer.peek copies into scratch when the range wraps the ring", () => {
  const buf = new SendBuffer(8);
  buf.write(bytes(0, 6));
  buf.consume(5); // head at 5, holds [5]
  assert.equal(buf.write(bytes(6, 7)), 7); // ring: 6 7 | 8 9 10 11 12 ... wraps
  assert.equal(buf.length, 8);
  assert.equal(buf.free, 0);
  const all = buf.peek(0, 8);
  assert.deepEqual([...all], [5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual([...buf.peek(2, 3)], [7, 8, 9]); // contiguous part after the wrap
  assert.deepEqual([...buf.peek(1, 4)], [6, 7, 8, 9]); // crosses the wrap again
});

Deno.test("SendBuffer.consume frees space and advances the first byte when data is acked", () => {
  const buf = new SendBuffer(4);
  buf.write(bytes(0, 4));
  buf.consume(3);
  assert.equal(buf.length, 1);
  assert.equal(buf.free, 3);
  assert.deepEqual([...buf.peek(0, 1)], [3]);
  buf.consume(1);
  assert.equal(buf.length, 0);
  assert.equal(buf.write(bytes(100, 4)), 4);
  assert.deepEqual([...buf.peek(0, 4)], [100, 101, 102, 103]);
});

Deno.test("SendBuffer keeps a byte stream intact when writes and acks wrap many times", () => {
  const buf = new SendBuffer(37);
  let written = 0;
  let acked = 0;
  for (let round = 0; round < 200; round++) {
    written += buf.write(bytes(written, (round * 7) % 23 + 1));
    const held = buf.length;
    assert.equal(held, written - acked);
    const off = round % (held + 1);
    const len = Math.min(held - off, (round * 5) % 19);
    assert.deepEqual(buf.peek(off, len), bytes(acked + off, len), `round ${round}`);
    const n = Math.min(held, (round * 3) % 17);
    buf.consume(n);
    acked += n;
  }
});

Deno.test("SendBuffer throws RangeError when peek or consume exceed the bytes held", () => {
  const buf = new SendBuffer(8);
  buf.write(bytes(0, 3));
  assert.throws(() => buf.peek(2, 2), RangeError);
  assert.throws(() => buf.peek(-1, 1), RangeError);
  assert.throws(() => buf.consume(4), RangeError);
  assert.throws(() => buf.consume(-1), RangeError);
  assert.throws(() => new SendBuffer(0), RangeError);
  assert.equal(buf.length, 3);
});

Deno.test("SendBuffer.setLimit bounds writes below the capacity, and an empty ring above the limit is given back", () => {
  const buf = new SendBuffer(1 << 20);
  assert.equal(buf.write(new Uint8Array(256 * 1024)), 256 * 1024);
  assert.ok(buf.allocated >= 256 * 1024);
  buf.setLimit(16 * 1024);
  assert.equal(buf.free, 0); // 256 KiB held already: nothing more is taken
  assert.equal(buf.write(new Uint8Array(10)), 0);
  buf.consume(256 * 1024);
  assert.ok(buf.allocated <= 16 * 1024, String(buf.allocated)); // memory given back
  assert.equal(buf.write(new Uint8Array(64 * 1024)), 16 * 1024);
  assert.ok(buf.allocated <= 16 * 1024 + 16 * 1024);
  buf.setLimit(Infinity);
  assert.equal(buf.limit, 1 << 20);
});

Deno.test("SendBuffer.compact gives the ring back only when empty, and later writes grow it again", () => {
  const buf = new SendBuffer(64 * 1024);
  buf.write(bytes(0, 100));
  buf.compact();
  assert.equal(buf.allocated, 4096, "bytes held: kept");
  buf.consume(100);
  buf.compact();
  assert.equal(buf.allocated, 64);
  assert.equal(buf.write(bytes(100, 5000)), 5000);
  assert.deepEqual(buf.peek(0, 5000), bytes(100, 5000));
});

Deno.test("SendBuffer frees a ring it replaced at once (detached), not at the next GC, and keeps the bytes; its first 4 KiB ring goes to the free list", () => {
  const buf = new SendBuffer(1 << 20);
  buf.write(bytes(0, 4000));
  const first = buf.peek(0, 4000); // a view of the first ring (valid until the next write)
  buf.write(bytes(4000, 60_000)); // grows the ring
  // the 4 KiB ring went to the free list (ring_pool.ts), zeroed
  assert.equal(first.length, 4000);
  assert.ok(first.every((b) => b === 0));
  const second = buf.peek(0, 64_000);
  buf.write(bytes(64_000, 100_000)); // grows again
  assert.equal(second.length, 0, "the replaced ring's ArrayBuffer was detached");
  assert.deepEqual(buf.peek(0, 164_000), bytes(0, 164_000));
  buf.consume(164_000);
  buf.compact();
  assert.equal(buf.allocated, 64);
});
