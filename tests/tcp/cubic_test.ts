import assert from "node:assert/strict";
import type { AckSample } from "../../src/tcp/congestion/congestion_controller.ts";
import {
  ALPHA_CUBIC,
  BETA_CUBIC,
  Cubic,
  CUBIC_C,
  cubicK,
  wCubic,
} from "../../src/tcp/congestion/cubic.ts";
import { SyntheticLink } from "./_cc_link.ts";

const MSS = 1000;

/** A cwnd-limited ACK of `acked` bytes. */
function ack(cc: Cubic, over: Partial<AckSample> = {}): AckSample {
  return {
    ackedBytes: MSS,
    priorInFlight: cc.cwnd,
    inFlight: cc.cwnd - MSS,
    rtt: 100,
    minRtt: 100,
    srtt: 100,
    deliveryRate: -1,
    delivered: 0,
    priorDelivered: 0,
    isAppLimited: false,
    inRecovery: false,
    lostBytes: 0,
    ...over,
  };
}

/**
 * Drives a cwnd-limited flow for `ms` milliseconds from `start`: each RTT the
 * whole window is acknowledged, one MSS per ACK spread over the RTT. Returns
 * the end time.
 */
function drive(
  cc: Cubic,
  start: number,
  ms: number,
  rtt = 100,
  onRtt?: (now: number) => void,
): number {
  let now = start;
  while (now < start + ms) {
    const acks = Math.max(1, Math.floor(cc.cwnd / MSS));
    for (let i = 0; i < acks; i++) {
      cc.onAck(now + (i * rtt) / acks, ack(cc, { rtt, srtt: rtt, minRtt: rtt }));
    }
    now += rtt;
    onRtt?.(now);
  }
  return now;
}

/** A loss at `wMaxSeg` segments, recovered at once; returns the time avoidance starts. */
function lossAt(cc: Cubic, now: number): number {
  cc.onCongestionEvent(now, { inFlight: cc.cwnd, lostBytes: MSS });
  cc.onRecoveryExit(now, cc.cwnd);
  return now;
}

Deno.test("wCubic and cubicK follow RFC 9438 eq. 1 and eq. 2", () => {
  const k = cubicK(100, 70);
  assert.ok(Math.abs(k - Math.cbrt(30 / CUBIC_C)) < 1e-12);
  assert.ok(Math.abs(wCubic(0, k, 100) - 70) < 1e-9); // W_cubic(0) = cwnd_epoch
  assert.equal(wCubic(k, k, 100), 100); // plateau at t = K
  assert.ok(Math.abs(wCubic(k + 2, k, 100) - (100 + CUBIC_C * 8)) < 1e-9); // convex beyond K
  assert.equal(cubicK(50, 70), 0);
  assert.ok(Math.abs(ALPHA_CUBIC - 0.9 / 1.7) < 1e-12);
});

Deno.test("Cubic reduces to β_cubic·cwnd and remembers W_max on a congestion event (RFC 9438 §4.6)", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 100 });
  assert.equal(cc.usesPrr, true);
  assert.equal(cc.pacingRate(100), -1);
  cc.onCongestionEvent(0, { inFlight: 100_000, lostBytes: MSS });
  assert.equal(cc.ssthresh, 70_000);
  assert.equal(cc.cwnd, 70_000);
  assert.equal(cc.wMax, 100_000);
  cc.onRecoveryExit(10, 70_000);
  assert.equal(cc.cwnd, 70_000);
});

Deno.test("Cubic does not grow cwnd during fast recovery (PRR sizes sending)", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 100 });
  cc.onCongestionEvent(0, { inFlight: 100_000, lostBytes: MSS });
  for (let i = 0; i < 50; i++) cc.onAck(i, ack(cc, { inRecovery: true }));
  assert.equal(cc.cwnd, 70_000);
});

Deno.test("Cubic follows W_cubic(t) in the concave and convex regions (RFC 9438 §4.4, §4.5)", () => {
  // 100 segments, 300 ms RTT: the cubic curve stays above W_est, so it governs.
  const rtt = 300;
  const cc = new Cubic({ mss: MSS, initialCwnd: 100, hystart: false });
  lossAt(cc, 0);
  const k = cubicK(100, 70);
  assert.equal(cc.k, 0); // not yet: K is set when the epoch starts
  drive(cc, 0, rtt, rtt);
  assert.ok(Math.abs(cc.k - k) < 1e-9, `K ${cc.k} vs ${k}`);
  let checked = 0;
  drive(cc, rtt, 8000, rtt, (now) => {
    const t = now / 1000;
    const lo = wCubic(t, k, 100) * MSS;
    const hi = wCubic(t + rtt / 1000, k, 100) * MSS; // target is W_cubic(t + RTT)
    assert.ok(
      cc.cwnd >= lo - 2 * MSS && cc.cwnd <= hi + 2 * MSS,
      `t=${t}: cwnd ${cc.cwnd} outside W_cubic [${lo}, ${hi}]`,
    );
    if (t > 1) assert.ok(cc.cwnd > cc.wEst, `t=${t}: cwnd ${cc.cwnd} W_est ${cc.wEst}`);
    checked++;
  });
  assert.ok(checked > 20);
  // concave up to the plateau at W_max (t = K ≈ 4.2 s), convex beyond it
  assert.ok(cc.cwnd > 100_000 + 0.4 * 3 ** 3 * MSS, `cwnd ${cc.cwnd}`);
});

Deno.test("Cubic uses W_est in the Reno-friendly region and α_cubic becomes 1 at cwnd_prior (RFC 9438 §4.3)", () => {
  // Small window, short RTT: many RTTs per second, so Reno's line beats the cubic curve.
  const cc = new Cubic({ mss: MSS, initialCwnd: 10, hystart: false });
  lossAt(cc, 0); // W_max 10, cwnd 7
  const epoch = 1;
  cc.onAck(epoch, ack(cc, { rtt: 1, srtt: 1 }));
  // W_est = cwnd_epoch + α·(1 segment / 7 segments)
  const west1 = 7000 + ALPHA_CUBIC * (1 / 7) * MSS;
  assert.ok(Math.abs(cc.wEst - west1) < 1e-6);
  const now = drive(cc, epoch, 200, 1);
  // W_cubic at 0.2 s is still near 7 segments; W_est grew ≈ α per RTT
  assert.ok(wCubic(0.2, cubicK(10, 7), 10) * MSS < cc.wEst);
  assert.equal(cc.cwnd, cc.wEst);
  assert.ok(cc.cwnd >= 10_000, `cwnd ${cc.cwnd}`);
  // past cwnd_prior (10 segments) W_est grows by 1 segment per window: α = 1
  const before = cc.wEst;
  const acks = Math.floor(cc.cwnd / MSS);
  for (let i = 0; i < acks; i++) cc.onAck(now + i / acks, ack(cc, { rtt: 1, srtt: 1 }));
  const perWindow = cc.wEst - before;
  assert.ok(perWindow > 0.9 * MSS && perWindow < 1.1 * MSS, `W_est grew ${perWindow}`);
});

Deno.test("Cubic lowers W_max by fast convergence when loss comes before W_max is regained (RFC 9438 §4.7)", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 100 });
  lossAt(cc, 0);
  assert.equal(cc.wMax, 100_000);
  drive(cc, 0, 1000); // regrows toward 100 segments but not past it
  const cwnd = cc.cwnd;
  assert.ok(cwnd < 100_000);
  cc.onCongestionEvent(1000, { inFlight: cwnd, lostBytes: MSS });
  assert.ok(Math.abs(cc.wMax - cwnd * (1 + BETA_CUBIC) / 2) < 1e-6);
  assert.equal(cc.ssthresh, Math.floor(cwnd * BETA_CUBIC));
  // without fast convergence W_max is the cwnd itself
  const plain = new Cubic({ mss: MSS, initialCwnd: 100, fastConvergence: false });
  lossAt(plain, 0);
  drive(plain, 0, 1000);
  const w = plain.cwnd;
  plain.onCongestionEvent(1000, { inFlight: w, lostBytes: MSS });
  assert.equal(plain.wMax, w);
});

Deno.test("Cubic grows at most 1.5× cwnd per RTT in the convex region (RFC 9438 §4.2 target clamp)", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 20, hystart: false });
  lossAt(cc, 0); // W_max 20 → K ≈ 2.47 s
  drive(cc, 0, 6000); // t − K ≈ 3.5 s: the curve rises steeply
  let prev = cc.cwnd;
  drive(cc, 6000, 2000, 100, () => {
    assert.ok(cc.cwnd <= 1.5 * prev + 1, `${prev} → ${cc.cwnd}`);
    prev = cc.cwnd;
  });
});

Deno.test("Cubic collapses to one segment on an RTO and starts the next epoch with K = 0 (RFC 9438 §4.8)", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 100, hystart: false });
  cc.onRto(0, 100_000);
  assert.equal(cc.cwnd, MSS);
  assert.equal(cc.ssthresh, 70_000);
  cc.onRto(300, MSS); // repeated RTO for the same data: ssthresh kept (RFC 5681 §3.1)
  assert.equal(cc.ssthresh, 70_000);
  // slow start back to ssthresh, then the first avoidance epoch: K = 0
  let now = 600;
  while (cc.cwnd < cc.ssthresh) now = drive(cc, now, 100);
  drive(cc, now, 100);
  assert.equal(cc.k, 0);
  assert.ok(cc.cwnd >= 70_000);
});

Deno.test("Cubic restores the state from before a spurious congestion event (RFC 9438 §4.9)", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 100 });
  lossAt(cc, 0);
  drive(cc, 0, 500);
  const before = { cwnd: cc.cwnd, ssthresh: cc.ssthresh, wMax: cc.wMax, k: cc.k, wEst: cc.wEst };
  cc.onCongestionEvent(500, { inFlight: cc.cwnd, lostBytes: MSS });
  assert.ok(cc.cwnd < before.cwnd);
  cc.onSpuriousCongestion(520);
  assert.deepEqual(
    { cwnd: cc.cwnd, ssthresh: cc.ssthresh, wMax: cc.wMax, k: cc.k, wEst: cc.wEst },
    before,
  );
  // and after an RTO found spurious (F-RTO)
  cc.onRto(600, cc.cwnd);
  assert.equal(cc.cwnd, MSS);
  cc.onSpuriousCongestion(610);
  assert.equal(cc.cwnd, before.cwnd);
  assert.equal(cc.ssthresh, before.ssthresh);
});

Deno.test("Cubic does not grow cwnd while the application leaves it unused (RFC 9438 §5.8)", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 10 });
  for (let i = 0; i < 20; i++) cc.onAck(i, ack(cc, { priorInFlight: 2 * MSS }));
  assert.equal(cc.cwnd, 10_000);
});

Deno.test("Cubic leaves slow start through HyStart++ on an RTT rise, sets ssthresh after CSS (RFC 9406)", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 10 });
  let delivered = 0;
  let now = 0;
  const round = (rtt: number) => {
    const start = delivered;
    const acks = Math.floor(cc.cwnd / MSS);
    for (let i = 0; i < acks; i++) {
      delivered += MSS;
      cc.onAck(now + i, ack(cc, { rtt, srtt: rtt, delivered, priorDelivered: start }));
    }
    now += rtt;
  };
  round(40);
  round(40);
  assert.equal(cc.hystartPhase, "slowStart");
  assert.equal(cc.cwnd, 40_000); // doubled twice
  round(60);
  assert.equal(cc.hystartPhase, "css");
  const inCss = cc.cwnd;
  round(60);
  assert.ok(cc.cwnd < inCss * 1.3, `CSS grows by a quarter: ${inCss} → ${cc.cwnd}`);
  for (let r = 0; r < 5 && cc.ssthresh === Infinity; r++) round(60);
  assert.equal(cc.hystartPhase, "done");
  assert.ok(cc.ssthresh !== Infinity && cc.ssthresh <= cc.cwnd);
});

Deno.test("Cubic recomputes its initial window when the MSS changes before any event", () => {
  const cc = new Cubic({ mss: 536, initialCwnd: 10 });
  cc.setMss(1460);
  assert.equal(cc.cwnd, 14_600);
  assert.throws(() => new Cubic({ mss: 0, initialCwnd: 10 }), RangeError);
});

Deno.test("Cubic fills a clean simulated 100 Mbit/s, 40 ms link", () => {
  const cc = new Cubic({ mss: MSS, initialCwnd: 10 });
  const link = new SyntheticLink(cc, { rate: 12_500, rtt: 40, queue: 1000, mss: MSS, seed: 7 });
  link.run(2000);
  assert.notEqual(cc.hystartPhase, "slowStart"); // HyStart++ saw the queue build
  const steady = link.run(3000);
  assert.ok(steady.delivered / steady.elapsed > 0.95 * 12_500);
});
