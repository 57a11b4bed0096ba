import assert from "node:assert/strict";
import {
  inWindow,
  seq,
  seqAdd,
  seqGe,
  seqGt,
  seqLe,
  seqLt,
  seqMax,
  seqMin,
  seqSub,
} from "../../src/wire/seq.ts";

const TOP = 2 ** 32 - 1;

Deno.test("seq reduces modulo 2^32 when given values outside 0..2^32-1", () => {
  assert.equal(seq(2 ** 32), 0);
  assert.equal(seq(2 ** 32 + 5), 5);
  assert.equal(seq(-1), TOP);
  assert.equal(seq(TOP), TOP);
});

Deno.test("seqAdd wraps past 2^32 when the sum overflows", () => {
  assert.equal(seqAdd(seq(TOP), 1), 0);
  assert.equal(seqAdd(seq(TOP - 9), 20), 10);
  assert.equal(seqAdd(seq(5), -10), TOP - 4);
  assert.equal(seqAdd(seq(0), 2 ** 32), 0);
});

Deno.test("seqSub gives the signed distance when the operands straddle the wrap", () => {
  assert.equal(seqSub(seq(10), seq(TOP - 9)), 20);
  assert.equal(seqSub(seq(TOP - 9), seq(10)), -20);
  assert.equal(seqSub(seq(2 ** 31), seq(0)), -(2 ** 31));
  assert.equal(seqSub(seq(2 ** 31 - 1), seq(0)), 2 ** 31 - 1);
});

Deno.test("seqLt orders across the wrap when the distance is below 2^31", () => {
  const before = seq(TOP - 1);
  const after = seq(3);
  assert.ok(seqLt(before, after));
  assert.ok(!seqLt(after, before));
  assert.ok(seqLe(before, after));
  assert.ok(seqGt(after, before));
  assert.ok(seqGe(after, before));
  assert.ok(seqLe(after, after));
  assert.ok(seqGe(after, after));
  assert.ok(!seqLt(after, after));
  assert.ok(!seqGt(after, after));
});

Deno.test("seqLt flips when the distance reaches 2^31", () => {
  assert.ok(seqLt(seq(0), seq(2 ** 31 - 1)));
  // Exactly half the space apart: a - b = -2^31 is "less" in both directions' signed view.
  assert.ok(seqLt(seq(2 ** 31), seq(0)));
  assert.ok(seqGt(seq(0), seq(2 ** 31 + 1)));
});

Deno.test("seqMax and seqMin pick by sequence order when the values straddle the wrap", () => {
  assert.equal(seqMax(seq(TOP), seq(1)), 1);
  assert.equal(seqMin(seq(TOP), seq(1)), TOP);
  assert.equal(seqMax(seq(7), seq(7)), 7);
});

Deno.test("inWindow accepts exactly [start, start+len) when the window spans 2^32", () => {
  const start = seq(TOP - 4);
  assert.ok(inWindow(start, start, 10));
  assert.ok(inWindow(seq(TOP), start, 10));
  assert.ok(inWindow(seq(0), start, 10));
  assert.ok(inWindow(seq(4), start, 10));
  assert.ok(!inWindow(seq(5), start, 10));
  assert.ok(!inWindow(seq(TOP - 5), start, 10));
  assert.ok(!inWindow(start, start, 0));
});
