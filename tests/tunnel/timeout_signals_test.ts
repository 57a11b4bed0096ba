import assert from "node:assert/strict";
import { SharedTimeoutSignals } from "../../src/tunnel/timeout_signals.ts";

const timedOut = (ms: number) => new Deno.errors.TimedOut(`after ${ms} ms`);

Deno.test("SharedTimeoutSignals: calls of one window share a signal that aborts after the timeout with the reason", async () => {
  const signals = new SharedTimeoutSignals(timedOut);
  const a = signals.get(300);
  assert.equal(signals.get(300), a); // within the 30 ms slack window
  assert.notEqual(signals.get(200), a); // another timeout, another signal
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(a.aborted, false); // not before the timeout
  await new Promise((r) => setTimeout(r, 150)); // 400 ms > 300 + 30
  assert.ok(a.aborted);
  assert.ok(a.reason instanceof Deno.errors.TimedOut);
  assert.equal(a.reason.message, "after 300 ms");
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
