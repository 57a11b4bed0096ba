import assert from "node:assert/strict";
import type {
  AckSample,
  CongestionController,
} from "../../src/tcp/congestion/congestion_controller.ts";
import {
  createController,
  knownControllers,
  registerController,
} from "../../src/tcp/congestion/registry.ts";
import { NewReno } from "../../src/tcp/congestion/new_reno.ts";
import { NoCongestionControl } from "../../src/tcp/congestion/none.ts";

const MSS = 1000;

Deno.test("NewReno starts at initialCwnd segments with infinite ssthresh when created", () => {
  const cc = createController("newreno", { mss: 1460, initialCwnd: 10 });
  assert.equal(cc.name, "newreno");
  assert.equal(cc.cwnd, 14_600);
  assert.equal(cc.ssthresh, Infinity);
});

/** An AckSample delivering `acked` bytes (outside recovery unless `inRecovery`). */
function ack(acked: number, inRecovery = false): AckSample {
  return {
    ackedBytes: acked,
    priorInFlight: 0,
    inFlight: 0,
    rtt: -1,
    minRtt: Infinity,
    srtt: 0,
    deliveryRate: -1,
    delivered: 0,
    priorDelivered: 0,
    isAppLimited: false,
    inRecovery,
    lostBytes: 0,
  };
}

Deno.test("NewReno walks slow start, a congestion event, recovery, exit and RTO when driven through them", () => {
  const cc = new NewReno({ mss: MSS, initialCwnd: 2 });
  assert.equal(cc.cwnd, 2000);
  assert.equal(cc.usesPrr, true);
  assert.equal(cc.pacingRate(10), -1);
  // Slow start: +min(acked, 2·MSS) per ACK (RFC 3465 L = 2·SMSS).
  cc.onAck(0, ack(1000));
  assert.equal(cc.cwnd, 3000);
  cc.onAck(1, ack(2000)); // a delayed ACK covering two segments
  assert.equal(cc.cwnd, 5000);
  cc.onAck(2, ack(5000)); // stretch ACK: capped at 2·MSS
  assert.equal(cc.cwnd, 7000);
  for (let i = 0; i < 13; i++) cc.onAck(3, ack(1000));
  assert.equal(cc.cwnd, 20_000);
  // A loss with 20 000 bytes in flight: ssthresh = FlightSize / 2 (RFC 5681 eq. 4)
  cc.onCongestionEvent(10, { inFlight: 20_000, lostBytes: 1000 });
  assert.equal(cc.ssthresh, 10_000);
  assert.equal(cc.cwnd, 10_000);
  // ACKs inside recovery do not grow the window: PRR sizes what is sent
  cc.onAck(11, ack(4000, true));
  assert.equal(cc.cwnd, 10_000);
  // RFC 6937: cwnd = ssthresh when recovery ends
  cc.onRecoveryExit(14, 6000);
  assert.equal(cc.cwnd, 10_000);
  // Congestion avoidance: one SMSS per cwnd of bytes acknowledged.
  for (let i = 0; i < 9; i++) cc.onAck(20, ack(1000));
  assert.equal(cc.cwnd, 10_000);
  cc.onAck(21, ack(1000));
  assert.equal(cc.cwnd, 11_000);
  for (let i = 0; i < 11; i++) cc.onAck(22, ack(1000));
  assert.equal(cc.cwnd, 12_000);
  // RTO with 12 000 in flight: ssthresh = 6000, cwnd = LW = 1 SMSS.
  cc.onRto(30, 12_000);
  assert.equal(cc.ssthresh, 6000);
  assert.equal(cc.cwnd, 1000);
  // The timer fires again for the same data: ssthresh held (RFC 5681 §3.1).
  cc.onRto(31, 12_000);
  assert.equal(cc.ssthresh, 6000);
  assert.equal(cc.cwnd, 1000);
  // Slow start again up to ssthresh, then congestion avoidance.
  cc.onAck(32, ack(1000));
  assert.equal(cc.cwnd, 2000);
  cc.onAck(33, ack(2000));
  cc.onAck(33, ack(2000));
  assert.equal(cc.cwnd, 6000);
  cc.onAck(34, ack(2000)); // cwnd >= ssthresh: byte counting now
  assert.equal(cc.cwnd, 6000);
  cc.onAck(35, ack(4000));
  assert.equal(cc.cwnd, 7000);
  // A later RTO computes ssthresh afresh.
  cc.onRto(40, 3000);
  assert.equal(cc.ssthresh, 2000); // max(1500, 2·SMSS)
  assert.equal(cc.cwnd, 1000);
});

Deno.test("NewReno.onCongestionEvent floors ssthresh at 2·SMSS when little is in flight", () => {
  const cc = new NewReno({ mss: MSS, initialCwnd: 10 });
  cc.onCongestionEvent(0, { inFlight: 3000, lostBytes: 1000 });
  assert.equal(cc.ssthresh, 2000);
  assert.equal(cc.cwnd, 2000);
});

Deno.test("NewReno.onSpuriousCongestion restores cwnd and ssthresh when an event is undone", () => {
  const cc = new NewReno({ mss: MSS, initialCwnd: 10 });
  cc.onCongestionEvent(0, { inFlight: 10_000, lostBytes: 1000 });
  cc.onRecoveryExit(1, 5000);
  assert.deepEqual([cc.cwnd, cc.ssthresh], [5000, 5000]);
  cc.onSpuriousCongestion(2);
  assert.deepEqual([cc.cwnd, cc.ssthresh], [10_000, Infinity]);
  cc.onRto(3, 10_000);
  assert.deepEqual([cc.cwnd, cc.ssthresh], [1000, 5000]);
  cc.onSpuriousCongestion(4);
  assert.deepEqual([cc.cwnd, cc.ssthresh], [10_000, Infinity]);
  cc.onSpuriousCongestion(5); // nothing left to undo
  assert.deepEqual([cc.cwnd, cc.ssthresh], [10_000, Infinity]);
});

Deno.test("NewReno.setMss recomputes the initial window when no event happened yet", () => {
  const cc = new NewReno({ mss: 536, initialCwnd: 10 });
  cc.setMss(1400);
  assert.equal(cc.cwnd, 14_000);
  assert.equal(cc.mss, 1400);
  cc.onAck(0, ack(1400));
  assert.equal(cc.cwnd, 15_400);
  cc.setMss(1000); // after events cwnd is kept
  assert.equal(cc.cwnd, 15_400);
  cc.onRto(1, 2000);
  assert.equal(cc.cwnd, 1000);
  assert.equal(cc.ssthresh, 2000);
  cc.setMss(1400); // cwnd and ssthresh follow the larger segment's floors
  assert.equal(cc.cwnd, 1400);
  assert.equal(cc.ssthresh, 2800);
});

Deno.test("createController makes an unbounded window when the name is none", () => {
  const cc = createController("none", { mss: MSS, initialCwnd: 10 });
  assert.ok(cc instanceof NoCongestionControl);
  assert.equal(cc.name, "none");
  cc.onCongestionEvent(0, { inFlight: 10_000, lostBytes: 1000 });
  cc.onRto(1, 10_000);
  cc.onAck(2, ack(1000));
  cc.onSpuriousCongestion(3);
  assert.equal(cc.cwnd, Infinity);
  assert.equal(cc.ssthresh, Infinity);
});

Deno.test("createController throws listing the known names when the name is unknown", () => {
  assert.throws(
    () => createController("cubic2", { mss: MSS, initialCwnd: 10 }),
    (e: unknown) =>
      e instanceof Error && e.message ===
        'Unknown congestion control "cubic2": known are ' + knownControllers().join(", "),
  );
  assert.ok(knownControllers().includes("newreno"));
  assert.ok(knownControllers().includes("none"));
});

Deno.test("registerController plugs in a new algorithm when given a name and factory", () => {
  class Fixed extends NoCongestionControl implements CongestionController {
    override readonly name: string = "fixed-for-test";
    override readonly cwnd: number = 4242;
  }
  registerController("fixed-for-test", () => new Fixed());
  const cc = createController("fixed-for-test", { mss: MSS, initialCwnd: 1 });
  assert.equal(cc.name, "fixed-for-test");
  assert.equal(cc.cwnd, 4242);
});
