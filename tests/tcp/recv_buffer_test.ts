import assert from "node:assert/strict";
import fc from "fast-check";
import { RecvBuffer } from "../../src/tcp/recv_buffer.ts";

/** Stream bytes: byte i of the stream is i & 0xff. */
function bytes(from: number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
}

function readAll(buf: RecvBuffer): number[] {
  const out = new Uint8Array(buf.readable);
  assert.equal(buf.read(out), out.length);
  return [...out];
}

Deno.test("RecvBuffer.insert makes in-order data readable when offset is 0", () => {
  const buf = new RecvBuffer(10);
  assert.equal(buf.insert(0, bytes(0, 4)), 4);
  assert.equal(buf.readable, 4);
  assert.equal(buf.window, 6);
  assert.equal(buf.insert(0, bytes(4, 3)), 3);
  assert.deepEqual(readAll(buf), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(buf.window, 10);
});

Deno.test("RecvBuffer.insert trims data beyond the window when a segment is too long", () => {
  const buf = new RecvBuffer(8);
  buf.insert(0, bytes(0, 5)); // window 3
  assert.equal(buf.insert(0, bytes(5, 10)), 3);
  assert.equal(buf.window, 0);
  assert.equal(buf.insert(0, bytes(8, 1)), 0); // zero window
  assert.equal(buf.insert(5, bytes(13, 1)), 0);
  assert.equal(buf.outOfOrderRanges, 0);
  assert.deepEqual(readAll(buf), [0, 1, 2, 3, 4, 5, 6, 7]);
  // an out-of-order segment straddling the window edge keeps only its in-window part
  assert.equal(buf.insert(6, bytes(14, 5)), 0);
  assert.deepEqual(buf.sackRanges(), [{ start: 6, end: 8 }]);
  assert.equal(buf.outOfOrderBytes, 2);
});

Deno.test("RecvBuffer.insert fills gaps when out-of-order segments arrive first", () => {
  const buf = new RecvBuffer(32);
  assert.equal(buf.insert(10, bytes(10, 5)), 0); // [10,15)
  assert.equal(buf.insert(20, bytes(20, 5)), 0); // [20,25)
  assert.equal(buf.outOfOrderRanges, 2);
  assert.equal(buf.outOfOrderBytes, 10);
  assert.equal(buf.insert(15, bytes(15, 5)), 0); // joins both: [10,25)
  assert.equal(buf.outOfOrderRanges, 1);
  assert.equal(buf.outOfOrderBytes, 15);
  assert.equal(buf.readable, 0);
  assert.equal(buf.window, 32); // out-of-order data does not shrink the window
  assert.equal(buf.insert(0, bytes(0, 10)), 25); // RCV.NXT jumps over the held range
  assert.equal(buf.outOfOrderRanges, 0);
  assert.equal(buf.outOfOrderBytes, 0);
  assert.deepEqual(readAll(buf), [...bytes(0, 25)]);
});

Deno.test("RecvBuffer.insert is idempotent when segments overlap or repeat", () => {
  const buf = new RecvBuffer(64);
  buf.insert(10, bytes(10, 10)); // [10,20)
  buf.insert(10, bytes(10, 10)); // exact duplicate
  buf.insert(12, bytes(12, 3)); // inside
  buf.insert(5, bytes(5, 7)); // overlaps the front: [5,20)
  buf.insert(18, bytes(18, 6)); // overlaps the back: [5,24)
  assert.deepEqual(buf.sackRanges(), [{ start: 5, end: 24 }]);
  assert.equal(buf.outOfOrderBytes, 19);
  assert.equal(buf.insert(0, bytes(0, 6)), 24); // overlaps the held range too
  assert.equal(buf.insert(0, bytes(24, 2)), 2);
  assert.deepEqual(readAll(buf), [...bytes(0, 26)]);
});

Deno.test("RecvBuffer.sackRanges lists the most recently updated range first when several are held", () => {
  const buf = new RecvBuffer(100);
  buf.insert(10, bytes(10, 5)); // A [10,15)
  buf.insert(30, bytes(30, 5)); // B [30,35)
  buf.insert(50, bytes(50, 5)); // C [50,55)
  assert.deepEqual(buf.sackRanges(), [
    { start: 50, end: 55 },
    { start: 30, end: 35 },
    { start: 10, end: 15 },
  ]);
  buf.insert(15, bytes(15, 3)); // A grows: now most recent
  assert.deepEqual(buf.sackRanges(), [
    { start: 10, end: 18 },
    { start: 50, end: 55 },
    { start: 30, end: 35 },
  ]);
  // Offsets stay relative to RCV.NXT as it advances and data is read.
  assert.equal(buf.insert(0, bytes(0, 10)), 18);
  assert.equal(buf.read(new Uint8Array(7)), 7);
  assert.deepEqual(buf.sackRanges(), [
    { start: 32, end: 37 },
    { start: 12, end: 17 },
  ]);
});

Deno.test("RecvBuffer.insert drops a segment when it would exceed maxRanges", () => {
  const buf = new RecvBuffer(100, { maxRanges: 2 });
  buf.insert(10, bytes(10, 2));
  buf.insert(20, bytes(20, 2));
  assert.equal(buf.insert(30, bytes(30, 2)), 0); // a third range: dropped
  assert.equal(buf.droppedInserts, 1);
  assert.equal(buf.outOfOrderRanges, 2);
  assert.equal(buf.outOfOrderBytes, 4);
  buf.insert(12, bytes(12, 3)); // extends an existing range: accepted
  buf.insert(15, bytes(15, 5)); // bridges two ranges: accepted
  assert.deepEqual(buf.sackRanges(), [{ start: 10, end: 22 }]);
  assert.equal(buf.insert(0, bytes(0, 10)), 22); // in-order data always fits
  assert.equal(buf.droppedInserts, 1);
  const none = new RecvBuffer(10, { maxRanges: 0 });
  assert.equal(none.insert(1, bytes(1, 1)), 0);
  assert.equal(none.insert(0, bytes(0, 2)), 2);
});

Deno.test("RecvBuffer keeps the stream intact when the ring wraps with out-of-order data", () => {
  const buf = new RecvBuffer(16);
  buf.insert(0, bytes(0, 12));
  assert.equal(buf.read(new Uint8Array(10)), 10); // readable [10,12) at ring 10..11
  // out-of-order data that wraps the ring end: stream [14,20) -> ring 14,15,0..3
  assert.equal(buf.insert(2, bytes(14, 6)), 0);
  assert.equal(buf.insert(0, bytes(12, 2)), 8);
  assert.equal(buf.readable, 10);
  assert.equal(buf.window, 6);
  const out = new Uint8Array(10);
  assert.equal(buf.read(out), 10);
  assert.deepEqual([...out], [...bytes(10, 10)]);
});

Deno.test("RecvBuffer.read copies at most into.length bytes when asked for less", () => {
  const buf = new RecvBuffer(8);
  buf.insert(0, bytes(0, 5));
  const out = new Uint8Array(2);
  assert.equal(buf.read(out), 2);
  assert.deepEqual([...out], [0, 1]);
  assert.equal(buf.readable, 3);
  assert.equal(buf.window, 5);
  assert.equal(buf.read(new Uint8Array(0)), 0);
});

Deno.test("RecvBuffer.insert throws RangeError when the offset is negative", () => {
  const buf = new RecvBuffer(8);
  assert.throws(() => buf.insert(-1, bytes(0, 2)), RangeError);
  assert.throws(() => buf.insert(0.5, bytes(0, 2)), RangeError);
  assert.throws(() => new RecvBuffer(0), RangeError);
});

/** Maximal runs of received bytes after `from`, as offsets from `from`, sorted. */
function runsAfter(have: boolean[], from: number): { start: number; end: number }[] {
  const runs: { start: number; end: number }[] = [];
  for (let i = from; i < have.length; i++) {
    if (!have[i]) continue;
    const s = i;
    while (i < have.length && have[i]) i++;
    runs.push({ start: s - from, end: i - from });
  }
  return runs;
}

Deno.test("RecvBuffer matches a byte-map model when random segments arrive in any order", () => {
  const seed = 0x7c0de;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 0, max: 8 }),
      fc.array(
        fc.record({
          kind: fc.integer({ min: 0, max: 9 }),
          at: fc.integer({ min: 0, max: 200 }),
          len: fc.integer({ min: 0, max: 40 }),
        }),
        { maxLength: 200 },
      ),
      (capacity, maxRanges, ops) => {
        const buf = new RecvBuffer(capacity, { maxRanges });
        const have: boolean[] = []; // model: which stream bytes were stored
        let rcvNxt = 0; // stream offset of RCV.NXT
        let delivered = 0; // stream offset of the next byte to read
        for (const op of ops) {
          if (op.kind < 2) {
            const out = new Uint8Array(op.len);
            const n = buf.read(out);
            assert.equal(n, Math.min(op.len, rcvNxt - delivered));
            assert.deepEqual(out.subarray(0, n), bytes(delivered, n));
            delivered += n;
          } else {
            // a segment from anywhere near the window, trimmed like the connection does
            let start = delivered + op.at % (capacity + 20);
            let len = op.len;
            if (start < rcvNxt) {
              len -= rcvNxt - start;
              start = rcvNxt;
            }
            if (len <= 0) continue;
            const dropsBefore = buf.droppedInserts;
            const advance = buf.insert(start - rcvNxt, bytes(start, len));
            const end = Math.min(start + len, delivered + capacity); // window edge
            const trial = have.slice();
            for (let i = start; i < end; i++) trial[i] = true;
            let next = rcvNxt;
            while (trial[next]) next++;
            const wouldHold = runsAfter(trial, next).length;
            if (buf.droppedInserts > dropsBefore) {
              assert.equal(advance, 0);
              assert.ok(wouldHold > maxRanges, "dropped although it fit");
            } else {
              assert.ok(wouldHold <= maxRanges || start >= end);
              for (let i = start; i < end; i++) have[i] = true;
              assert.equal(advance, next - rcvNxt);
            }
            rcvNxt += advance;
          }
          assert.equal(buf.readable, rcvNxt - delivered);
          assert.equal(buf.window, capacity - buf.readable);
          const ranges = buf.sackRanges();
          const sorted = [...ranges].sort((a, b) => a.start - b.start);
          assert.deepEqual(sorted, runsAfter(have, rcvNxt));
          assert.equal(ranges.length, buf.outOfOrderRanges);
          assert.ok(ranges.length <= maxRanges);
          let total = 0;
          for (const r of ranges) {
            assert.ok(r.end <= buf.window);
            total += r.end - r.start;
          }
          assert.equal(total, buf.outOfOrderBytes);
        }
        const rest = new Uint8Array(buf.readable);
        buf.read(rest);
        assert.deepEqual(rest, bytes(delivered, rest.length));
      },
    ),
    { seed, numRuns: 300 },
  );
});

Deno.test("RecvBuffer.setLimit keeps data inside an older, larger window and gives an empty ring back", () => {
  const buf = new RecvBuffer(1 << 20);
  buf.insert(0, new Uint8Array(128 * 1024).fill(1));
  buf.setLimit(8 * 1024);
  assert.equal(buf.limit, 8 * 1024);
  // data the peer sent into a window advertised before the limit fell is still taken
  // (offsets count from RCV.NXT, which the first insert moved on by 128 KiB)
  assert.equal(buf.insert(0, new Uint8Array(1000).fill(2)), 1000);
  const out = new Uint8Array(256 * 1024);
  assert.equal(buf.read(out), 128 * 1024 + 1000);
  assert.ok(buf.allocated <= 8 * 1024, String(buf.allocated));
  assert.equal(buf.insert(0, new Uint8Array([5, 6])), 2);
  assert.equal(buf.read(out), 2);
  assert.deepEqual([...out.subarray(0, 2)], [5, 6]);
});

Deno.test("RecvBuffer.compact gives the ring back only when nothing is held, and later bytes grow it again", () => {
  const buf = new RecvBuffer(64 * 1024);
  assert.equal(buf.insert(0, bytes(0, 10)), 10);
  buf.compact();
  assert.equal(buf.allocated, 4096, "readable bytes: kept");
  assert.equal(readAll(buf).length, 10);
  buf.compact();
  assert.equal(buf.allocated, 64);
  assert.equal(buf.insert(0, bytes(10, 3000)), 3000);
  const out = new Uint8Array(3000);
  assert.equal(buf.read(out), 3000);
  assert.deepEqual(out, bytes(10, 3000));
});
