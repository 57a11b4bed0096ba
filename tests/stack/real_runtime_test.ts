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
