/**
 * RACK's adaptive reordering window (RFC 8985 §6.2 step 4) on the `Rack`
 * state alone: when it is 0, how D-SACKs widen it once per round trip, its
 * SRTT cap, and the reset after 16 D-SACK-free recoveries. The connection-level
 * tests are in rack_tlp_test.ts.
 */
import assert from "node:assert/strict";
import { Rack, RACK_REO_WND_PERSIST } from "../../src/tcp/rack.ts";
import { seq } from "../../src/wire/seq.ts";

const MIN_RTT = 100;
const SRTT = 120;

Deno.test("Rack's reordering window is min_RTT / 4, and 0 once DupThresh segments are SACKed or in recovery before reordering was seen (RFC 8985 §6.2 step 4)", () => {
  const rack = new Rack();
  assert.equal(rack.reoWnd(false, 1, MIN_RTT, SRTT), MIN_RTT / 4);
  assert.equal(rack.reoWnd(false, 3, MIN_RTT, SRTT), 0);
  assert.equal(rack.reoWnd(true, 1, MIN_RTT, SRTT), 0);
  assert.equal(rack.reoWnd(false, 1, Infinity, SRTT), SRTT / 4, "SRTT before a min RTT sample");
  // reordering seen (a segment delivered below RACK.fack, never resent): min_RTT / 4 always
  rack.onDelivered(0, seq(2000), false, 100, MIN_RTT);
  rack.endAck();
  rack.onDelivered(0, seq(1000), false, 101, MIN_RTT);
  rack.endAck();
  assert.equal(rack.reorderingSeen, true);
  assert.equal(rack.reoWnd(false, 3, MIN_RTT, SRTT), MIN_RTT / 4);
  assert.equal(rack.reoWnd(true, 5, MIN_RTT, SRTT), MIN_RTT / 4);
});

Deno.test("Rack widens its window by min_RTT / 4 once per round trip with a D-SACK, up to SRTT (RFC 8985 §6.2 step 4)", () => {
  const rack = new Rack();
  rack.onDsack(seq(0), seq(10_000)); // round ends when SND.UNA passes 10 000
  assert.equal(rack.reoWndMult, 2);
  assert.equal(rack.reorderingSeen, true, "a D-SACK means reordering");
  assert.equal(rack.reoWnd(false, 3, MIN_RTT, SRTT), 2 * MIN_RTT / 4);
  rack.onDsack(seq(5000), seq(12_000)); // the same round trip: no second step
  assert.equal(rack.reoWndMult, 2);
  rack.onDsack(seq(10_000), seq(20_000)); // the next round trip
  assert.equal(rack.reoWndMult, 3);
  assert.equal(rack.reoWnd(false, 3, MIN_RTT, SRTT), 3 * MIN_RTT / 4);
  rack.onDsack(seq(20_000), seq(30_000));
  rack.onDsack(seq(30_000), seq(40_000));
  assert.equal(rack.reoWndMult, 5);
  assert.equal(rack.reoWnd(false, 3, MIN_RTT, SRTT), SRTT, "capped at SRTT");
});

Deno.test("Rack resets the multiplier after 16 recoveries without a D-SACK, each D-SACK restarting the count (RFC 8985 §6.2 step 4)", () => {
  assert.equal(RACK_REO_WND_PERSIST, 16);
  const rack = new Rack();
  rack.onDsack(seq(0), seq(10_000));
  rack.onDsack(seq(10_000), seq(20_000));
  assert.equal(rack.reoWndMult, 3);
  for (let i = 0; i < 10; i++) rack.onRecoveryExit();
  rack.onDsack(seq(20_000), seq(30_000)); // a new D-SACK: 16 more recoveries needed
  assert.equal(rack.reoWndMult, 4);
  for (let i = 0; i < RACK_REO_WND_PERSIST - 1; i++) rack.onRecoveryExit();
  assert.equal(rack.reoWndMult, 4);
  rack.onRecoveryExit();
  assert.equal(rack.reoWndMult, 1);
  assert.equal(rack.reoWnd(false, 3, MIN_RTT, SRTT), MIN_RTT / 4, "reordering stays seen");
  rack.onRecoveryExit(); // no further effect
  assert.equal(rack.reoWndMult, 1);
});
