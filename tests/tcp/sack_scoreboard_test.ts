import assert from "node:assert/strict";
import { createController } from "../../src/tcp/congestion/registry.ts";
import { LossRecovery } from "../../src/tcp/recovery.ts";
import { RttEstimator } from "../../src/tcp/rtt.ts";
import { SACK_SCOREBOARD_RANGES, SackScoreboard } from "../../src/tcp/sack_scoreboard.ts";
import { seq } from "../../src/wire/seq.ts";

const b = (left: number, right: number) => ({ left: seq(left), right: seq(right) });
const ranges = (sb: SackScoreboard) =>
  Array.from({ length: sb.count }, (_, i) => [sb.left(i) as number, sb.right(i) as number]);

Deno.test("SackScoreboard merges overlapping, adjacent and bridging blocks when updated", () => {
  const sb = new SackScoreboard();
  const una = seq(0), max = seq(100_000);
  assert.equal(sb.update(una, max, [b(5000, 6000), b(1000, 2000)]), true);
  assert.deepEqual(ranges(sb), [[1000, 2000], [5000, 6000]]);
  assert.equal(sb.update(una, max, [b(2000, 3000)]), true); // adjacent
  assert.equal(sb.update(una, max, [b(1500, 2500)]), false); // inside
  assert.equal(sb.update(una, max, [b(2500, 5500)]), true); // bridges both
  assert.deepEqual(ranges(sb), [[1000, 6000]]);
  assert.equal(sb.sackedBetween(seq(0), seq(3000)), 2000);
});

Deno.test("SackScoreboard keeps at most SACK_SCOREBOARD_RANGES ranges, forgetting the highest", () => {
  const sb = new SackScoreboard();
  const una = seq(0), max = seq(1_000_000);
  for (let i = SACK_SCOREBOARD_RANGES + 8; i > 0; i--) {
    sb.update(una, max, [b(i * 2000, i * 2000 + 1000)]);
  }
  assert.equal(sb.count, SACK_SCOREBOARD_RANGES);
  assert.equal(sb.left(0), 2000);
  assert.equal(sb.right(SACK_SCOREBOARD_RANGES - 1), SACK_SCOREBOARD_RANGES * 2000 + 1000);
  // a block above a full board is dropped; one below it pushes the highest out
  assert.equal(sb.update(una, max, [b(900_000, 901_000)]), false);
  assert.equal(sb.update(una, max, [b(100, 200)]), true);
  assert.equal(sb.count, SACK_SCOREBOARD_RANGES);
  assert.equal(sb.right(SACK_SCOREBOARD_RANGES - 1), (SACK_SCOREBOARD_RANGES - 1) * 2000 + 1000);
});

Deno.test("SackScoreboard works across the 2^32 wrap when sequence numbers wrap", () => {
  const sb = new SackScoreboard();
  const una = seq(2 ** 32 - 3000), max = seq(5000);
  sb.update(una, max, [b(2 ** 32 - 1000, 1000), b(2000, 3000)]);
  assert.equal(sb.count, 2);
  assert.equal(sb.sackedBetween(una, max), 3000);
  assert.equal(sb.trim(seq(1500)), true);
  assert.deepEqual(ranges(sb), [[2000, 3000]]);
});

Deno.test("SackScoreboard clears itself when a cumulative ACK stops at SACKed data (reneging)", () => {
  const sb = new SackScoreboard();
  sb.update(seq(0), seq(10_000), [b(2000, 4000), b(6000, 7000)]);
  assert.equal(sb.trim(seq(1000)), true);
  assert.equal(sb.count, 2);
  assert.equal(sb.trim(seq(2000)), false); // RFC 2018 §8: the receiver dropped [2000, 4000)
  assert.equal(sb.count, 0);
});

Deno.test("LossRecovery.pipe counts outstanding bytes minus SACKed minus lost when RACK marks holes", () => {
  const cc = createController("newreno", { mss: 1000, initialCwnd: 100 });
  const rtt = new RttEstimator({ initial: 1000, min: 200, max: 60_000 });
  rtt.sample(100);
  const snd = { sndUna: seq(0), sndNxt: seq(0), sndMax: seq(0), mss: 1000, cc, rtt };
  const rec = new LossRecovery(seq(0));
  rec.sack = true;
  for (let i = 0; i < 12; i++) {
    rec.onTransmit(i * 0.1, snd, seq(i * 1000), seq(i * 1000 + 1000));
    snd.sndNxt = snd.sndMax = seq(i * 1000 + 1000);
  }
  assert.equal(rec.pipe(snd), 12_000);
  // holes [0, 1000), [3000, 4000), [6000, 7000); SACKed [1000, 3000), [4000, 6000), [7000, 8000)
  rec.beginAck(100, snd, -1);
  rec.onAckBlocks(100, snd, 0, {
    srcPort: 1,
    dstPort: 2,
    seq: seq(0),
    ack: seq(0),
    flags: 16,
    window: 60000,
    urgentPointer: 0,
    payload: new Uint8Array(0),
    options: { sackBlocks: [b(7000, 8000), b(4000, 6000), b(1000, 3000)] },
  });
  assert.equal(rec.afterAck(100, snd, -1), true); // 5 segments SACKed: RACK's window is 0
  // lost: the three holes below the newest SACKed segment; in flight: [8000, 12000)
  assert.equal(rec.lostBytes, 3000);
  assert.equal(rec.pipe(snd), 4000);
  assert.equal(rec.nextRetransmit(snd), true);
  assert.deepEqual([rec.rxSeq, rec.rxLimit], [0, 1000]);
  rec.onTransmit(100, snd, seq(0), seq(1000));
  assert.equal(rec.pipe(snd), 5000);
  assert.equal(rec.nextRetransmit(snd), true);
  assert.deepEqual([rec.rxSeq, rec.rxLimit], [3000, 4000]);
});
