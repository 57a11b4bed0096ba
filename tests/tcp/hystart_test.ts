import assert from "node:assert/strict";
import {
  CSS_GROWTH_DIVISOR,
  CSS_ROUNDS,
  HyStartPlusPlus,
  N_RTT_SAMPLE,
} from "../../src/tcp/congestion/hystart.ts";

const MSS = 1000;

/** Feeds one round of `acks` ACKs of one MSS each, all with RTT `rtt`; returns the growth. */
function round(
  hs: HyStartPlusPlus,
  counters: { delivered: number },
  rtt: number,
  acks = N_RTT_SAMPLE,
): number {
  const start = counters.delivered;
  let grown = 0;
  for (let i = 0; i < acks; i++) {
    counters.delivered += MSS;
    grown += hs.onAck({
      ackedBytes: MSS,
      rtt,
      delivered: counters.delivered,
      priorDelivered: start,
    }, MSS);
  }
  return grown;
}

Deno.test("HyStartPlusPlus grows by the bytes acked while the RTT is flat (RFC 9406 §4.2)", () => {
  const hs = new HyStartPlusPlus();
  const c = { delivered: 0 };
  for (let r = 0; r < 10; r++) assert.equal(round(hs, c, 40), N_RTT_SAMPLE * MSS);
  assert.equal(hs.phase, "slowStart");
  assert.equal(hs.lastRoundMinRtt, 40);
});

Deno.test("HyStartPlusPlus leaves slow start when the round's min RTT rises by the clamped threshold (RFC 9406 §4.2)", () => {
  // lastRoundMinRTT 40 ms: RttThresh = max(4, min(40/8, 16)) = 5 ms
  const hs = new HyStartPlusPlus();
  const c = { delivered: 0 };
  round(hs, c, 40);
  round(hs, c, 40);
  round(hs, c, 44.9); // below 45: stays
  assert.equal(hs.phase, "slowStart");
  round(hs, c, 44.9 + 44.9 / 8); // ≥ 44.9 + 44.9/8 (the threshold of the last round)
  assert.equal(hs.phase, "css");
});

Deno.test("HyStartPlusPlus clamps the threshold to MIN_RTT_THRESH and MAX_RTT_THRESH (RFC 9406 §4.3)", () => {
  // 10 ms RTT: 10/8 = 1.25 → clamped up to 4 ms
  let hs = new HyStartPlusPlus();
  let c = { delivered: 0 };
  round(hs, c, 10);
  round(hs, c, 13.9);
  assert.equal(hs.phase, "slowStart");
  round(hs, c, 13.9 + 4);
  assert.equal(hs.phase, "css");
  // 400 ms RTT: 400/8 = 50 → clamped down to 16 ms
  hs = new HyStartPlusPlus();
  c = { delivered: 0 };
  round(hs, c, 400);
  round(hs, c, 415.9);
  assert.equal(hs.phase, "slowStart");
  round(hs, c, 415.9 + 16);
  assert.equal(hs.phase, "css");
});

Deno.test("HyStartPlusPlus judges a round only after N_RTT_SAMPLE samples (RFC 9406 §4.2)", () => {
  const hs = new HyStartPlusPlus();
  const c = { delivered: 0 };
  round(hs, c, 40);
  round(hs, c, 80, N_RTT_SAMPLE - 1); // a big rise, but too few samples
  assert.equal(hs.phase, "slowStart");
});

Deno.test("HyStartPlusPlus grows by 1/CSS_GROWTH_DIVISOR in CSS and enters avoidance after CSS_ROUNDS (RFC 9406 §4.2)", () => {
  const hs = new HyStartPlusPlus();
  const c = { delivered: 0 };
  round(hs, c, 40);
  round(hs, c, 50);
  assert.equal(hs.phase, "css");
  for (let r = 1; r < CSS_ROUNDS; r++) {
    assert.equal(round(hs, c, 50), N_RTT_SAMPLE * MSS / CSS_GROWTH_DIVISOR);
    assert.equal(hs.phase, "css");
    assert.equal(hs.cssRounds, r);
  }
  assert.equal(round(hs, c, 50), 0); // the CSS_ROUNDS-th round begins: done
  assert.equal(hs.phase, "done");
});

Deno.test("HyStartPlusPlus returns to slow start when the RTT falls below the CSS baseline (RFC 9406 §4.2)", () => {
  const hs = new HyStartPlusPlus();
  const c = { delivered: 0 };
  round(hs, c, 40);
  round(hs, c, 50);
  assert.equal(hs.phase, "css");
  round(hs, c, 49); // below the 50 ms baseline: the rise was spurious
  assert.equal(hs.phase, "slowStart");
  assert.equal(round(hs, c, 49), N_RTT_SAMPLE * MSS);
});

Deno.test("HyStartPlusPlus caps one ACK's growth at L segments when not paced (RFC 9406 §4.3)", () => {
  const hs = new HyStartPlusPlus({ maxSegmentsPerAck: 8 });
  assert.equal(
    hs.onAck({ ackedBytes: 20 * MSS, rtt: 40, delivered: 20 * MSS, priorDelivered: 0 }, MSS),
    8 * MSS,
  );
});
