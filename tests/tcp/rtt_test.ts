import assert from "node:assert/strict";
import { RttEstimator } from "../../src/tcp/rtt.ts";

const OPTS = { initial: 1000, min: 200, max: 120_000 };

Deno.test("RttEstimator.rto is the initial RTO with backoff when there is no sample", () => {
  const rtt = new RttEstimator(OPTS);
  assert.equal(rtt.hasSample, false);
  assert.equal(rtt.srtt, 0);
  assert.equal(rtt.rto, 1000);
  rtt.backoff();
  assert.equal(rtt.rto, 2000);
  rtt.backoff();
  assert.equal(rtt.rto, 4000);
  assert.equal(rtt.backoffCount, 2);
});

Deno.test("RttEstimator follows RFC 6298 when fed a known sequence of samples", () => {
  const rtt = new RttEstimator({ initial: 1000, min: 0, max: 60_000 });
  rtt.sample(100);
  assert.equal(rtt.srtt, 100);
  assert.equal(rtt.rttvar, 50);
  assert.equal(rtt.rto, 300);
  rtt.sample(200); // RTTVAR = 3/4·50 + 1/4·100 = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
  assert.equal(rtt.rttvar, 62.5);
  assert.equal(rtt.srtt, 112.5);
  assert.equal(rtt.rto, 362.5);
  rtt.sample(112.5); // RTTVAR = 3/4·62.5 = 46.875; SRTT unchanged
  assert.equal(rtt.rttvar, 46.875);
  assert.equal(rtt.srtt, 112.5);
  assert.equal(rtt.rto, 300);
  rtt.sample(40); // RTTVAR = 35.15625 + 18.125 = 53.28125; SRTT = 98.4375 + 5 = 103.4375
  assert.equal(rtt.rttvar, 53.28125);
  assert.equal(rtt.srtt, 103.4375);
  assert.equal(rtt.rto, 103.4375 + 4 * 53.28125);
});

Deno.test("RttEstimator.rto uses the clock granularity when RTTVAR is tiny", () => {
  const rtt = new RttEstimator({ initial: 1000, min: 0, max: 60_000 });
  for (let i = 0; i < 100; i++) rtt.sample(10);
  assert.equal(rtt.srtt, 10);
  assert.ok(rtt.rttvar < 0.25);
  assert.equal(rtt.rto, 11); // SRTT + max(G = 1 ms, 4·RTTVAR)
});

Deno.test("RttEstimator.rto is clamped to min and max when samples are extreme", () => {
  const rtt = new RttEstimator(OPTS);
  rtt.sample(1);
  assert.equal(rtt.rto, 200);
  const slow = new RttEstimator(OPTS);
  slow.sample(100_000);
  assert.equal(slow.rto, 120_000);
});

Deno.test("RttEstimator.backoff doubles the RTO up to max when timeouts repeat", () => {
  const rtt = new RttEstimator(OPTS);
  rtt.sample(100); // RTO 300
  const seen: number[] = [];
  for (let i = 0; i < 12; i++) {
    rtt.backoff();
    seen.push(rtt.rto);
  }
  assert.deepEqual(seen, [
    600,
    1200,
    2400,
    4800,
    9600,
    19_200,
    38_400,
    76_800,
    120_000,
    120_000,
    120_000,
    120_000,
  ]);
  for (let i = 0; i < 100; i++) rtt.backoff();
  assert.equal(rtt.rto, 120_000);
  rtt.resetBackoff();
  assert.equal(rtt.rto, 300);
  assert.equal(rtt.backoffCount, 0);
});

Deno.test("RttEstimator.sample keeps the backoff when a sample arrives during backoff", () => {
  const rtt = new RttEstimator(OPTS);
  rtt.backoff(); // 2000
  rtt.sample(100); // base 300, backoff still applied until resetBackoff
  assert.equal(rtt.rto, 600);
  rtt.resetBackoff();
  assert.equal(rtt.rto, 300);
});

Deno.test("RttEstimator throws RangeError when a sample or option is invalid", () => {
  const rtt = new RttEstimator(OPTS);
  assert.throws(() => rtt.sample(-1), RangeError);
  assert.throws(() => rtt.sample(NaN), RangeError);
  assert.throws(() => new RttEstimator({ initial: 1000, min: 500, max: 100 }), RangeError);
  assert.equal(rtt.hasSample, false);
});
