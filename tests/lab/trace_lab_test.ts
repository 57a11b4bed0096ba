import assert from "node:assert/strict";
import { findScenario, runScenario } from "../../src/lab/mod.ts";

Deno.test("tou lab --trace puts timers, the retransmission and the cwnd cut on the timeline, in the order they happened", () => {
  const plain = runScenario(findScenario("retransmission")!);
  assert.ok(!plain.timeline.some((l) => / timer \w+ (armed|stopped|fired)/.test(l)));
  const r = runScenario(findScenario("retransmission")!, { trace: true });
  const t = r.timeline;
  const at = (re: RegExp, from = 0) => t.findIndex((l, i) => i >= from && re.test(l));
  // the SYN arms the retransmission timer; its time left is the initial RTO
  assert.match(t[at(/client .*timer retransmit armed/)], /fires in 1000 ms \(send\)$/);
  // fast retransmit: cwnd cut on the third duplicate ACK, then the event, then the segment itself
  const cut = at(/client .*cwnd (\d+) ssthresh \1 \(segment\)$/);
  assert.ok(cut > 0, t.join("\n"));
  const rtx = at(/client .*retransmit seq (\d+) length 1428$/, cut);
  const seqNo = t[rtx].match(/retransmit seq (\d+)/)![1];
  assert.match(
    t[rtx + 1],
    new RegExp(`client  ──► server  40000 > 80: Flags \\[\\.\\], seq ${seqNo}:`),
  );
  // the lone lost last segment: recovered when a timer fires (TLP or RTO), never by duplicate ACKs
  assert.ok(at(/client .*timer (retransmit|lossProbe) fired$/, rtx) > rtx);
  // the segments and states are those of the run without --trace
  const strip = (lines: readonly string[]) =>
    lines.filter((l) => !/ (timer|retransmit|cwnd|rwnd) /.test(l));
  assert.deepEqual(strip(t), strip(plain.timeline));
});
