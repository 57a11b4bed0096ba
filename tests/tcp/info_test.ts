import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import { patternBytes, pump } from "../_harness/sim_pair.ts";

Deno.test("info(now) reports the delivery rate, the pacing rate and every armed timer with the ms left", () => {
  const tcp = { pacing: true, recvBufferSize: 4 * 1024 * 1024, msl: 1000 };
  const tb = createTestbed({ link: { delay: 10, bandwidth: 1_250_000 }, tcp });
  const sender = tb.addStack({ tcp });
  const l = tb.stack.listen(80);
  const data = patternBytes(2_000_000, 3);
  const c = sender.connect(tb.stack.localAddr, 80);
  assert.equal(c.info().deliveryRate, 0); // no sample before any ACK
  assert.equal(c.info().pacingRate, undefined); // no RTT sample yet
  pump(c, data, 0, { closeWhenDone: true });
  l.onAcceptable = () =>
    void pump(l.accept()!, new Uint8Array(0), data.length, { closeWhenDone: true });
  tb.advance(400);
  const mid = c.info();
  assert.ok(mid.unacked > 0, mid.state);
  // 10 Mbit/s bottleneck = 1 250 000 B/s: the delivery rate measures it
  assert.ok(
    mid.deliveryRate > 900_000 && mid.deliveryRate < 1_400_000,
    `deliveryRate ${mid.deliveryRate}`,
  );
  assert.ok(mid.pacingRate !== undefined && mid.pacingRate > 0);
  // data in flight: the retransmission timer runs, and its time left is at most the RTO
  const left = mid.timers?.retransmit;
  assert.ok(
    left !== undefined && left > 0 && left <= mid.rto,
    `timers ${JSON.stringify(mid.timers)}`,
  );
  // after the active close: TIME_WAIT shows its 2·MSL timer, and nothing else
  for (let i = 0; i < 100 && c.state !== "TIME_WAIT"; i++) tb.advance(100);
  assert.equal(c.state, "TIME_WAIT");
  const tw = c.info().timers!;
  assert.deepEqual(Object.keys(tw), ["timeWait"]);
  assert.ok(tw.timeWait! > 0 && tw.timeWait! <= 2000, `timeWait ${tw.timeWait}`);
  tb.close();
});
