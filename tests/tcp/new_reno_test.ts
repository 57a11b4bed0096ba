import assert from "node:assert/strict";
import {
  type CongestionController,
  createController,
  knownControllers,
  registerController,
} from "../../src/tcp/congestion/controller.ts";
import { NewReno } from "../../src/tcp/congestion/new_reno.ts";
import { NoCongestionControl } from "../../src/tcp/congestion/none.ts";

const MSS = 1000;

Deno.test("NewReno starts at initialCwnd segments with infinite ssthresh when created", () => {
  const cc = createController("newreno", { mss: 1460, initialCwnd: 10 });
  assert.equal(cc.name, "newreno");
  assert.equal(cc.cwnd, 14_600);
  assert.equal(cc.ssthresh, Infinity);
});

Deno.test("NewReno walks slow start, fast recovery, partial ACK, exit and RTO when driven through them", () => {
  const cc = new NewReno({ mss: MSS, initialCwnd: 2 });
  assert.equal(cc.cwnd, 2000);
  // Slow start: +min(acked, 2·MSS) per ACK (RFC 3465 L = 2·SMSS).
  cc.onAck(0, 1000, 2000);
  assert.equal(cc.cwnd, 3000);
  cc.onAck(1, 2000, 2000); // a delayed ACK covering two segments
  assert.equal(cc.cwnd, 5000);
  cc.onAck(2, 5000, 5000); // stretch ACK: capped at 2·MSS
  assert.equal(cc.cwnd, 7000);
  for (let i = 0; i < 13; i++) cc.onAck(3, 1000, 7000 + i * 1000);
  assert.equal(cc.cwnd, 20_000);
  // Third duplicate ACK with 20 000 bytes in flight.
  cc.onFastRetransmit(10, 20_000);
  assert.equal(cc.ssthresh, 10_000); // FlightSize / 2
  assert.equal(cc.cwnd, 13_000); // ssthresh + 3·SMSS
  cc.onRecoveryDupAck(11);
  cc.onRecoveryDupAck(11);
  assert.equal(cc.cwnd, 15_000);
  // Partial ACK of 4000 bytes: deflate by 4000, add back one SMSS.
  cc.onPartialAck(12, 4000);
  assert.equal(cc.cwnd, 12_000);
  // Partial ACK smaller than an SMSS: deflate only.
  cc.onPartialAck(13, 500);
  assert.equal(cc.cwnd, 11_500);
  // Full ACK with 6000 bytes still in flight: min(ssthresh, max(FlightSize, SMSS) + SMSS).
  cc.onRecoveryExit(14, 6000);
  assert.equal(cc.cwnd, 7000);
  cc.onRecoveryExit(14, 15_000); // a larger flight is capped at ssthresh
  assert.equal(cc.cwnd, 10_000);
  // Congestion avoidance: one SMSS per cwnd of bytes acknowledged.
  for (let i = 0; i < 9; i++) cc.onAck(20, 1000, 10_000);
  assert.equal(cc.cwnd, 10_000);
  cc.onAck(21, 1000, 10_000);
  assert.equal(cc.cwnd, 11_000);
  for (let i = 0; i < 11; i++) cc.onAck(22, 1000, 11_000);
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
  cc.onAck(32, 1000, 1000);
  assert.equal(cc.cwnd, 2000);
  cc.onAck(33, 2000, 2000);
  cc.onAck(33, 2000, 2000);
  assert.equal(cc.cwnd, 6000);
  cc.onAck(34, 2000, 6000); // cwnd >= ssthresh: byte counting now
  assert.equal(cc.cwnd, 6000);
  cc.onAck(35, 4000, 6000);
  assert.equal(cc.cwnd, 7000);
  // A later RTO computes ssthresh afresh.
  cc.onRto(40, 3000);
  assert.equal(cc.ssthresh, 2000); // max(1500, 2·SMSS)
  assert.equal(cc.cwnd, 1000);
});

Deno.test("NewReno.onFastRetransmit floors ssthresh at 2·SMSS when little is in flight", () => {
  const cc = new NewReno({ mss: MSS, initialCwnd: 10 });
  cc.onFastRetransmit(0, 3000);
  assert.equal(cc.ssthresh, 2000);
  assert.equal(cc.cwnd, 5000);
});

Deno.test("NewReno.onPartialAck never deflates below one SMSS when the ACK is large", () => {
  const cc = new NewReno({ mss: MSS, initialCwnd: 10 });
  cc.onFastRetransmit(0, 4000); // ssthresh 2000, cwnd 5000
  cc.onPartialAck(1, 9000);
  assert.equal(cc.cwnd, 1000);
});

Deno.test("NewReno.setMss recomputes the initial window when no event happened yet", () => {
  const cc = new NewReno({ mss: 536, initialCwnd: 10 });
  cc.setMss(1400);
  assert.equal(cc.cwnd, 14_000);
  assert.equal(cc.mss, 1400);
  cc.onAck(0, 1400, 1400);
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
  cc.onFastRetransmit(0, 10_000);
  cc.onRto(1, 10_000);
  cc.onAck(2, 1000, 1000);
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
