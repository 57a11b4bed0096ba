import assert from "node:assert/strict";
import { SharedTimeoutSignals } from "../../src/tunnel/timeout_signals.ts";

const timedOut = (ms: number) => new Deno.errors.TimedOut(`after ${ms} ms`);

Deno.test("SharedTimeoutSignals: calls of one window share a signal that aborts after the timeout with the reason", async () => {
  const signals = new SharedTimeoutSignals(timedOut);
  const hold = setTimeout(() => {}, 5_000); // the signals' timers are unref'd
  const shared = signals.get(10_000);
  assert.equal(signals.get(10_000), shared); // within the 100 ms slack window
  assert.notEqual(signals.get(9_000), shared); // another timeout, another signal
  const t0 = performance.now();
  const a = signals.get(200);
  await new Promise((r) => a.addEventListener("abort", r, { once: true }));
  assert.ok(performance.now() - t0 >= 199, "not before the timeout");
  assert.ok(a.reason instanceof Deno.errors.TimedOut);
  assert.equal(a.reason.message, "after 200 ms");
  assert.equal(shared.aborted, false);
  clearTimeout(hold);
});

Deno.test("SharedTimeoutSignals: a call after the window gets a fresh signal, so none aborts before its own timeout", async () => {
  const signals = new SharedTimeoutSignals(timedOut);
  const hold = setTimeout(() => {}, 5_000); // the signals' timers are unref'd
  const a = signals.get(300); // slack 30 ms
  await new Promise((r) => setTimeout(r, 100));
  const b = signals.get(300);
  assert.notEqual(b, a);
  // when a aborts (≥ 300 ms after it was made), b (made ≥ 100 ms later) has not
  const bWhenA = await new Promise<boolean>((r) =>
    a.addEventListener("abort", () => r(b.aborted), { once: true })
  );
  assert.equal(bWhenA, false);
  await new Promise((r) => b.addEventListener("abort", r, { once: true }));
  assert.ok(b.reason instanceof Deno.errors.TimedOut);
  clearTimeout(hold);
});
