import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import { Pacer } from "../../src/tcp/pacer.ts";
import { firstDiff, patternBytes, pump } from "../_harness/sim_pair.ts";

/** Sends 3 MB over a 10 ms link; returns the virtual send times of the sender's data segments. */
function dataSendTimes(pacing: boolean): { times: number[]; ok: boolean } {
  const tcp = { pacing, pacingBurst: 16, pacingHorizon: 0, recvBufferSize: 16 * 1024 * 1024 };
  const tb = createTestbed({ link: { delay: 10 }, tcp });
  const sender = tb.addStack({ tcp });
  const l = tb.stack.listen(80);
  const data = patternBytes(3_000_000, 7);
  const times: number[] = [];
  sender.tracer = {
    onSegment(now, dir, _to, seg) {
      if (dir === "out" && seg.payload.length > 0) times.push(now);
    },
  };
  const c = sender.connect(tb.stack.localAddr, 80);
  pump(c, data, 0, { closeWhenDone: true });
  let got: ReturnType<typeof pump> | undefined;
  l.onAcceptable = () => {
    got = pump(l.accept()!, new Uint8Array(0), data.length, { closeWhenDone: true });
  };
  tb.runUntilIdle({ until: 120_000 });
  const ok = got !== undefined && got.eof && firstDiff(got.received, data, data.length) === -1;
  tb.close();
  return { times, ok };
}

/** The most data segments sent at one instant of virtual time. */
function maxBurst(times: number[]): number {
  let max = 0;
  for (let i = 0, run = 0; i < times.length; i++) {
    run = i > 0 && times[i] === times[i - 1] ? run + 1 : 1;
    if (run > max) max = run;
  }
  return max;
}

Deno.test("Sender paces data to at most pacingBurst segments back to back when pacing is on", () => {
  const paced = dataSendTimes(true);
  const unpaced = dataSendTimes(false);
  assert.ok(paced.ok && unpaced.ok, "both transfers complete intact");
  // Without pacing slow start sends whole flights at the instant an ACK batch arrives.
  assert.ok(maxBurst(unpaced.times) > 16, `unpaced burst ${maxBurst(unpaced.times)}`);
  assert.ok(maxBurst(paced.times) <= 16, `paced burst ${maxBurst(paced.times)}`);
  // Paced segments are spread out: many distinct send instants, gaps well under an RTT.
  const distinct = new Set(paced.times).size;
  assert.ok(distinct > 4 * new Set(unpaced.times).size, `${distinct} distinct send times`);
});

Deno.test("Pacer refills by elapsed time, so a late wake-up sends what it lost but at most the burst", () => {
  const p = new Pacer(4000);
  p.refill(0, 1);
  p.consume(4000);
  assert.equal(p.canSend(1000), false);
  assert.equal(p.sendTime(0, 1000, 1), 1000);
  p.refill(2500, 1); // woke 1.5 s late: 2500 bytes earned
  assert.equal(p.tokens, 2500);
  p.refill(100_000, 1); // idle for long: capped at the burst
  assert.equal(p.tokens, 4000);
  p.refill(100_000, Infinity);
  assert.equal(p.tokens, 4000);
});

Deno.test("Pacer's bucket holds pacingHorizon ms of data at the rate when that exceeds the burst", () => {
  const p = new Pacer(4000, 2);
  p.refill(0, 10); // 10 bytes/ms: 2 ms is 20 bytes, the 4000-byte burst rules
  p.refill(100_000, 10);
  assert.equal(p.tokens, 4000);
  p.refill(200_000, 10_000); // 10 000 bytes/ms: a late wake-up may send 2 ms of data
  assert.equal(p.tokens, 20_000);
});
