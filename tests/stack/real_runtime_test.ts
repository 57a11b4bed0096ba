import assert from "node:assert/strict";
import { RealRuntime } from "../../src/stack/real_runtime.ts";

Deno.test("RealRuntime.now reads the clock once per task: one instant until the next microtask checkpoint", async () => {
  const rt = new RealRuntime();
  const t0 = rt.now();
  const spinUntil = performance.now() + 3;
  while (performance.now() < spinUntil) { /* time passes */ }
  assert.equal(rt.now(), t0, "the same instant within one synchronous run");
  await Promise.resolve();
  const t1 = rt.now();
  assert.ok(t1 >= t0 + 3, `a fresh read after the checkpoint: ${t1 - t0} ms later`);
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(rt.now() >= t1 + 5);
});

Deno.test("RealRuntime schedules no earlier than the deadline even when now() was cached", async () => {
  const rt = new RealRuntime({ unrefTimers: false });
  const start = rt.now();
  const spinUntil = performance.now() + 2;
  while (performance.now() < spinUntil) { /* the cached instant falls behind */ }
  const fired = await new Promise<number>((resolve) => {
    rt.schedule(start + 4, () => resolve(performance.now()));
  });
  assert.ok(fired >= start + 4);
});

Deno.test("RealRuntime.randomBytes: small requests come from a pool, never the same bytes twice; large ones work too", () => {
  const rt = new RealRuntime();
  const seen = new Set<string>();
  // more than one pool's worth of 8-byte draws
  for (let i = 0; i < 1200; i++) {
    const b = new Uint8Array(8);
    rt.randomBytes(b);
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    assert.ok(!seen.has(hex), "a repeated draw");
    seen.add(hex);
  }
  const big = new Uint8Array(100_000);
  rt.randomBytes(big);
  assert.ok(big.subarray(70_000).some((x) => x !== 0));
  const none = new Uint8Array(0);
  rt.randomBytes(none);
});
