import assert from "node:assert/strict";
import { deriveSeed, Prng } from "../../src/sim/prng.ts";
import { assertNear } from "./_util.ts";

Deno.test("Prng yields the same stream when seeded alike", () => {
  const a = new Prng(12345);
  const b = new Prng(12345);
  for (let i = 0; i < 1000; i++) assert.equal(a.nextU32(), b.nextU32());
});

Deno.test("Prng yields different streams when seeds differ, including seeds above 2^32 and fractions", () => {
  const seeds = [0, 1, 2, 2 ** 32, 2 ** 32 + 1, 0.5, -1, 2 ** 40];
  const firsts = seeds.map((s) => {
    const p = new Prng(s);
    return `${p.nextU32()},${p.nextU32()}`;
  });
  assert.equal(new Set(firsts).size, seeds.length);
});

Deno.test("Prng next stays in [0, 1) with mean 1/2 when drawn 100k times", () => {
  const p = new Prng(7);
  let sum = 0;
  for (let i = 0; i < 100_000; i++) {
    const x = p.next();
    assert.ok(x >= 0 && x < 1);
    sum += x;
  }
  assertNear(sum / 100_000, 0.5, 0.005, "mean");
});

Deno.test("Prng nextU32 covers each byte value evenly when drawn many times", () => {
  const p = new Prng(8);
  const counts = new Array(256).fill(0);
  for (let i = 0; i < 256_000; i++) counts[p.nextU32() >>> 24]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `bucket ${c}`);
});

Deno.test("Prng fill writes the same bytes as the stream when lengths are not multiples of 4", () => {
  const a = new Prng(9);
  const b = new Prng(9);
  const buf = new Uint8Array(7);
  a.fill(buf);
  const x = b.nextU32();
  const y = b.nextU32();
  assert.deepEqual(
    [...buf],
    [
      x & 255,
      (x >>> 8) & 255,
      (x >>> 16) & 255,
      x >>> 24,
      y & 255,
      (y >>> 8) & 255,
      (y >>> 16) & 255,
    ],
  );
});

Deno.test("Prng normal and exponential have the requested moments when sampled 50k times", () => {
  const p = new Prng(10);
  const n = 50_000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = p.normal(3, 2);
    s += x;
    s2 += x * x;
  }
  const mean = s / n;
  assertNear(mean, 3, 0.05, "normal mean");
  assertNear(Math.sqrt(s2 / n - mean * mean), 2, 0.05, "normal sd");
  let e = 0;
  for (let i = 0; i < n; i++) {
    const x = p.exponential(5);
    assert.ok(x >= 0);
    e += x;
  }
  assertNear(e / n, 5, 0.15, "exponential mean");
});

Deno.test("Prng chance never draws when p is 0 so the stream is unchanged", () => {
  const a = new Prng(11);
  const b = new Prng(11);
  assert.equal(a.chance(0), false);
  assert.equal(a.nextU32(), b.nextU32());
});

Deno.test("Prng split gives a reproducible child stream different from the parent", () => {
  const a = new Prng(12).split();
  const b = new Prng(12).split();
  const parent = new Prng(12);
  const av = [a.nextU32(), a.nextU32()];
  assert.deepEqual(av, [b.nextU32(), b.nextU32()]);
  assert.notDeepEqual(av, [parent.nextU32(), parent.nextU32()]);
});

Deno.test("deriveSeed separates labels and parents when any input changes", () => {
  const s = new Set([
    deriveSeed(1, "a>b"),
    deriveSeed(1, "b>a"),
    deriveSeed(2, "a>b"),
    deriveSeed(1, ""),
  ]);
  assert.equal(s.size, 4);
  assert.equal(deriveSeed(1, "a>b"), deriveSeed(1, "a>b"));
});

Deno.test("Prng rejects a non-finite seed when constructed", () => {
  assert.throws(() => new Prng(Number.NaN), RangeError);
  assert.throws(() => new Prng(Infinity), RangeError);
});
