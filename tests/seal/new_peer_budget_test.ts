import assert from "node:assert/strict";
import { NewPeerBudget } from "../../src/seal/new_peer_budget.ts";

Deno.test("NewPeerBudget allows the full rate as a burst across sources", () => {
  const b = new NewPeerBudget(10);
  let ok = 0;
  for (let i = 0; i < 40; i++) if (b.take(0, `10.0.${i}.1`)) ok++;
  assert.equal(ok, 10);
});

Deno.test("NewPeerBudget caps one source at a tenth of the rate, at least 1", () => {
  const b = new NewPeerBudget(100);
  let ok = 0;
  for (let i = 0; i < 50; i++) if (b.take(0, "192.0.2.7")) ok++;
  assert.equal(ok, 10);
  const small = new NewPeerBudget(3);
  assert.ok(small.take(0, "192.0.2.7"));
  assert.ok(!small.take(0, "192.0.2.7"));
});

Deno.test("NewPeerBudget refills with time, up to the burst", () => {
  const b = new NewPeerBudget(10);
  for (let i = 0; i < 10; i++) assert.ok(b.take(0, `10.0.${i}.1`));
  assert.ok(!b.take(0, "10.0.99.1"));
  assert.ok(b.take(100, "10.0.99.1")); // 100 ms at 10/s is one token
  assert.ok(!b.take(100, "10.0.98.1"));
});
