import assert from "node:assert/strict";
import fc from "fast-check";
import { EventQueue } from "../../src/sim/event_queue.ts";
import { NEVER } from "../../src/time.ts";

Deno.test("EventQueue pops by time then insertion order when times tie", () => {
  const q = new EventQueue<string>();
  q.push(3, "c1");
  q.push(1, "a");
  q.push(3, "c2");
  q.push(2, "b");
  q.push(3, "c3");
  const out: string[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.value);
  assert.deepEqual(out, ["a", "b", "c1", "c2", "c3"]);
  assert.equal(q.size, 0);
  assert.equal(q.peekTime(), NEVER);
});

Deno.test("EventQueue cancel returns false when the id is unknown, popped or already cancelled", () => {
  const q = new EventQueue<number>();
  const a = q.push(1, 1);
  const b = q.push(2, 2);
  assert.equal(q.cancel(b), true);
  assert.equal(q.cancel(b), false);
  assert.equal(q.pop()?.value, 1);
  assert.equal(q.cancel(a), false);
  assert.equal(q.cancel(12345), false);
  assert.equal(q.cancel(0), false);
  assert.equal(q.pop(), undefined);
});

Deno.test("EventQueue ignores a stale id when its slot was reused", () => {
  const q = new EventQueue<string>();
  const old = q.push(1, "old");
  q.pop();
  const fresh = q.push(2, "fresh");
  assert.notEqual(old, fresh);
  assert.equal(q.cancel(old), false);
  assert.equal(q.pop()?.value, "fresh");
});

Deno.test("EventQueue keeps order after compaction when most events are cancelled", () => {
  const q = new EventQueue<number>();
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) ids.push(q.push(1000 - i, i));
  for (let i = 0; i < 1000; i++) if (i % 10 !== 0) q.cancel(ids[i]);
  assert.equal(q.size, 100);
  const out: number[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.value);
  const want = Array.from({ length: 100 }, (_, k) => 990 - 10 * k);
  assert.deepEqual(out, want);
});

Deno.test("EventQueue matches a sorted reference model when pushes, cancels and pops interleave", () => {
  type Op = { kind: "push"; time: number } | { kind: "cancel"; pick: number } | { kind: "pop" };
  const op = fc.oneof(
    fc.record({ kind: fc.constant("push" as const), time: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("pop" as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops: Op[]) => {
      const q = new EventQueue<number>();
      const model: { time: number; seq: number; id: number }[] = [];
      const allIds: number[] = [];
      let seq = 0;
      for (const o of ops) {
        if (o.kind === "push") {
          const id = q.push(o.time, seq);
          allIds.push(id);
          model.push({ time: o.time, seq, id });
          seq++;
        } else if (o.kind === "cancel") {
          if (allIds.length === 0) continue;
          const id = allIds[o.pick % allIds.length];
          const idx = model.findIndex((m) => m.id === id);
          assert.equal(q.cancel(id), idx >= 0);
          if (idx >= 0) model.splice(idx, 1);
        } else {
          model.sort((x, y) => x.time - y.time || x.seq - y.seq);
          const want = model.shift();
          const got = q.pop();
          assert.equal(got?.value, want?.seq);
          assert.equal(got?.time, want?.time);
        }
        assert.equal(q.size, model.length);
        const min = model.reduce((m, e) => Math.min(m, e.time), NEVER);
        assert.equal(q.peekTime(), min);
      }
    }),
    { seed: 20240601, numRuns: 200 },
  );
});

Deno.test("EventQueue rejects NaN times when pushing", () => {
  assert.throws(() => new EventQueue<number>().push(Number.NaN, 1), RangeError);
});
