/**
 * PRR (RFC 6937) on the `Prr` state alone. The proportional part (pipe above
 * ssthresh: one segment per two ACKs for β = 0.5) is the doc example of
 * src/tcp/prr.ts and rack_tlp_test.ts's connection-level test; here the
 * PRR-SSRB bound, when losses cut pipe below ssthresh.
 */
import assert from "node:assert/strict";
import { Prr } from "../../src/tcp/prr.ts";

const MSS = 1000;

/** Segments sent per ACK when each ACK delivers one segment, from `pipe` in flight. */
function perAck(recoverFs: number, pipe: number, ssthresh: number, acks: number): number[] {
  const prr = new Prr();
  prr.enter(recoverFs);
  const out: number[] = [];
  for (let i = 0; i < acks; i++) {
    pipe -= MSS;
    const sndcnt = prr.onAck(MSS, pipe, ssthresh, MSS);
    const n = Math.floor(sndcnt / MSS);
    prr.onSent(n * MSS);
    pipe += n * MSS;
    out.push(n);
  }
  assert.equal(pipe, Math.min(ssthresh, pipe), "never above ssthresh");
  return out;
}

Deno.test("Prr slow-starts back up to ssthresh with PRR-SSRB when losses cut pipe below it, then sends what leaves (RFC 6937 §3.1)", () => {
  // 20 segments in flight, 15 of them lost: pipe 5, ssthresh 10
  const sent = perAck(20 * MSS, 5 * MSS, 10 * MSS, 10);
  // at most one segment more than delivered per ACK (slow start) until pipe = ssthresh
  assert.deepEqual(sent, [2, 2, 2, 2, 2, 1, 1, 1, 1, 1]);
});

Deno.test("Prr counts in bytes: a segment sent on a part-segment sndcnt is paid back by the next ACK, and an over-send gives 0, not a negative sndcnt (RFC 6937 §3.1)", () => {
  const prr = new Prr();
  prr.enter(20 * MSS); // ssthresh 10 segments: sndcnt = ceil(prr_delivered / 2) - prr_out
  assert.equal(prr.onAck(MSS, 18 * MSS, 10 * MSS, MSS), 500);
  prr.onSent(MSS); // the sender rounds a positive sndcnt up to a segment
  assert.equal(prr.onAck(MSS, 17 * MSS, 10 * MSS, MSS), 0);
  assert.equal(prr.onAck(MSS, 16 * MSS, 10 * MSS, MSS), 500);
  prr.onSent(MSS);
  prr.onSent(MSS); // one more than PRR allowed (prr_out counts every byte sent)
  assert.equal(prr.out, 3 * MSS);
  assert.equal(prr.onAck(MSS, 16 * MSS, 10 * MSS, MSS), 0, "ceil(4000 / 2) - 3000 < 0");
  assert.equal(prr.allowance, 0);
  assert.equal(prr.onAck(MSS, 15 * MSS, 10 * MSS, MSS), 0, "ceil(5000 / 2) - 3000 < 0");
  assert.equal(prr.onAck(MSS, 14 * MSS, 10 * MSS, MSS), 0, "ceil(6000 / 2) - 3000 = 0");
  assert.equal(prr.onAck(MSS, 13 * MSS, 10 * MSS, MSS), 500);
});
