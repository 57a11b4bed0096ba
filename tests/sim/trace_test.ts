import assert from "node:assert/strict";
import { formatAddr, formatRecord, Trace, type TraceRecord } from "../../src/sim/trace.ts";

const A = { hostname: "10.0.0.1", port: 1000 };
const B = { hostname: "fe80::1", port: 2000 };

function rec(id: number, extra: Partial<TraceRecord> = {}): TraceRecord {
  return { time: id, kind: "send", id, from: A, to: B, size: 10, ...extra };
}

Deno.test("Trace keeps the newest records in order when the ring overflows", () => {
  const t = new Trace({ capacity: 3 });
  for (let i = 1; i <= 7; i++) t.push(rec(i));
  assert.deepEqual(t.records().map((r) => r.id), [5, 6, 7]);
  assert.deepEqual([...t].map((r) => r.id), [5, 6, 7]);
  assert.equal(t.length, 3);
  assert.equal(t.overwritten, 4);
  t.clear();
  assert.equal(t.length, 0);
  assert.equal(t.format(), "");
});

Deno.test("Trace keeps everything when capacity is Infinity and nothing when it is 0", () => {
  const all = new Trace({ capacity: Infinity });
  const none = new Trace({ capacity: 0 });
  for (let i = 1; i <= 100; i++) {
    all.push(rec(i));
    none.push(rec(i));
  }
  assert.equal(all.length, 100);
  assert.equal(none.length, 0);
  assert.equal(none.enabled, false);
  assert.throws(() => new Trace({ capacity: -1 }), RangeError);
});

Deno.test("formatRecord prints time, id, kind, addresses, size, reason and info when present", () => {
  assert.equal(
    formatRecord(rec(12, { time: 1234.5678, kind: "corrupt", reason: "bit 17", info: "SYN" })),
    "  1234.568 ms  #12  corrupt     10.0.0.1:1000 > [fe80::1]:2000  10 B  bit 17  | SYN",
  );
  assert.equal(
    new Trace().format(),
    "",
  );
  const t = new Trace();
  t.push(rec(1));
  t.push(rec(2, { kind: "deliver" }));
  assert.equal(t.format().split("\n").length, 2);
});

Deno.test("formatAddr brackets IPv6 literals and leaves IPv4 alone", () => {
  assert.equal(formatAddr(A), "10.0.0.1:1000");
  assert.equal(formatAddr(B), "[fe80::1]:2000");
});
