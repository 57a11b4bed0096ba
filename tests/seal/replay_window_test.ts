import assert from "node:assert/strict";
import fc from "fast-check";
import { type ReplayVerdict, ReplayWindow } from "../../src/seal/replay_window.ts";

/** The obvious model: a set of everything accepted plus the highest. */
class ModelWindow {
  readonly seen = new Set<number>();
  top = -1;
  constructor(readonly size: number) {}
  check(c: number): ReplayVerdict {
    if (c > this.top) return "fresh";
    if (this.top - c >= this.size) return "too-old";
    return this.seen.has(c) ? "replay" : "fresh";
  }
  accept(c: number): void {
    this.seen.add(c);
    if (c > this.top) this.top = c;
  }
}

Deno.test("ReplayWindow says fresh when nothing was accepted yet", () => {
  const w = new ReplayWindow();
  assert.equal(w.size, 2048);
  assert.equal(w.top, -1);
  assert.equal(w.check(0), "fresh");
  assert.equal(w.check(2 ** 53 - 1), "fresh");
});

Deno.test("ReplayWindow says replay when a counter is checked again after accept", () => {
  const w = new ReplayWindow(64);
  w.accept(0);
  w.accept(5);
  assert.equal(w.check(0), "replay");
  assert.equal(w.check(5), "replay");
  assert.equal(w.check(3), "fresh");
  assert.equal(w.top, 5);
});

Deno.test("ReplayWindow accepts reordered counters when they are within the window", () => {
  const w = new ReplayWindow(64);
  for (const c of [10, 8, 9, 70, 7, 71, 69]) {
    assert.equal(w.check(c), "fresh", `counter ${c}`);
    w.accept(c);
  }
  assert.equal(w.check(9), "replay");
  assert.equal(w.check(69), "replay");
});

Deno.test("ReplayWindow says too-old when a counter is size or more below the top", () => {
  const w = new ReplayWindow(64);
  w.accept(1000);
  assert.equal(w.check(1000 - 64), "too-old");
  assert.equal(w.check(1000 - 63), "fresh");
  w.accept(1000 - 63);
  assert.equal(w.check(1000 - 63), "replay");
});

Deno.test("ReplayWindow forgets old bits when the top jumps far ahead", () => {
  const w = new ReplayWindow(64);
  for (let c = 0; c < 96; c++) w.accept(c);
  // 96 + 3 * 96: every block position has been reused; none may look like a replay.
  w.accept(96 * 4);
  for (let c = 96 * 4 - 63; c < 96 * 4; c++) assert.equal(w.check(c), "fresh", `counter ${c}`);
  assert.equal(w.check(96 * 4), "replay");
});

Deno.test("ReplayWindow handles counters above 2^32 when they are safe integers", () => {
  const w = new ReplayWindow(64);
  const base = 2 ** 40 + 17;
  w.accept(base);
  w.accept(base - 3);
  assert.equal(w.check(base - 3), "replay");
  assert.equal(w.check(base - 2), "fresh");
  assert.equal(w.check(base - 64), "too-old");
  w.accept(2 ** 53 - 1);
  assert.equal(w.check(2 ** 53 - 1), "replay");
});

Deno.test("ReplayWindow throws RangeError when the size is not a positive multiple of 32", () => {
  assert.throws(() => new ReplayWindow(0), RangeError);
  assert.throws(() => new ReplayWindow(100), RangeError);
  assert.throws(() => new ReplayWindow(-32), RangeError);
});

Deno.test("ReplayWindow agrees with a set model when given random counter streams", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(32, 64, 128),
      fc.array(fc.tuple(fc.integer({ min: -200, max: 300 }), fc.boolean()), { maxLength: 400 }),
      (size, steps) => {
        const w = new ReplayWindow(size);
        const m = new ModelWindow(size);
        let cursor = 0;
        for (const [delta, doAccept] of steps) {
          const c = Math.max(0, cursor + delta);
          const verdict = m.check(c);
          assert.equal(w.check(c), verdict, `counter ${c} top ${m.top}`);
          if (doAccept && verdict === "fresh") {
            w.accept(c);
            m.accept(c);
            assert.equal(w.top, m.top);
          }
          cursor = Math.max(0, cursor + (delta > 0 ? Math.ceil(delta / 4) : 0));
        }
      },
    ),
    { numRuns: 300 },
  );
});
