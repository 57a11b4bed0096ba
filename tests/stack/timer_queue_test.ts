import assert from "node:assert/strict";
import fc from "fast-check";
import { TimerQueue } from "../../src/stack/timer_queue.ts";

Deno.test("TimerQueue is empty with an Infinity deadline when nothing was pushed", () => {
  const q = new TimerQueue<string>();
  assert.equal(q.size, 0);
  assert.equal(q.peekDeadline(), Infinity);
  assert.equal(q.pop(), undefined);
});

Deno.test("TimerQueue pops in deadline order and FIFO among equal deadlines", () => {
  const q = new TimerQueue<string>();
  q.push(20, "b1");
  q.push(10, "a");
  q.push(20, "b2");
  q.push(5, "z");
  q.push(20, "b3");
  assert.equal(q.size, 5);
  assert.equal(q.peekDeadline(), 5);
  const out: string[] = [];
  for (let x = q.pop(); x !== undefined; x = q.pop()) out.push(x);
  assert.deepEqual(out, ["z", "a", "b1", "b2", "b3"]);
  assert.equal(q.peekDeadline(), Infinity);
});

Deno.test("TimerQueue keeps stale entries for the same owner until they are popped", () => {
  // the stack pushes again when an owner's deadline moves earlier and never removes the old entry
  const q = new TimerQueue<string>();
  q.push(100, "conn");
  q.push(40, "conn");
  assert.equal(q.size, 2);
  assert.deepEqual([q.pop(), q.peekDeadline(), q.pop()], ["conn", 100, "conn"]);
});

Deno.test("TimerQueue.clear drops every entry and the queue is reusable after", () => {
  const q = new TimerQueue<number>();
  for (let i = 0; i < 10; i++) q.push(i, i);
  q.clear();
  assert.deepEqual([q.size, q.peekDeadline(), q.pop()], [0, Infinity, undefined]);
  q.push(3, 3);
  assert.equal(q.pop(), 3);
});

Deno.test("TimerQueue pops what a stable sort by deadline gives when pushes and pops interleave (property)", () => {
  type Op = { push: number } | { pop: true };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ push: fc.integer({ min: 0, max: 50 }) }),
    fc.constant({ pop: true as const }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
    const q = new TimerQueue<number>();
    const model: { at: number; id: number }[] = [];
    let id = 0;
    for (const o of ops) {
      if ("push" in o) {
        q.push(o.push, id);
        model.push({ at: o.push, id: id++ });
      } else {
        model.sort((a, b) => a.at - b.at || a.id - b.id);
        const want = model.shift();
        assert.equal(q.pop(), want?.id);
      }
      const min = model.reduce((m, e) => Math.min(m, e.at), Infinity);
      assert.equal(q.peekDeadline(), min);
      assert.equal(q.size, model.length);
    }
  }));
});
