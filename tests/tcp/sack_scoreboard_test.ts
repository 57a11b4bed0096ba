import assert from "node:assert/strict";
import { DUP_THRESH, SackRecovery } from "../../src/tcp/recovery.ts";
import { SACK_SCOREBOARD_RANGES, SackScoreboard } from "../../src/tcp/sack_scoreboard.ts";
import { type Seq, seq } from "../../src/wire/seq.ts";

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
  assert.equal(sb.lostBoundary(una, 1000, DUP_THRESH), 2 ** 32 - 1000);
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

Deno.test("SackScoreboard.lostBoundary follows IsLost when DupThresh segments or bytes lie above", () => {
  const sb = new SackScoreboard();
  const una = seq(0), max = seq(20_000), mss = 1000;
  sb.update(una, max, [b(1000, 3000)]);
  assert.equal(sb.lostBoundary(una, mss, DUP_THRESH), 0); // 2 · SMSS is not more than 2 · SMSS
  sb.update(una, max, [b(3000, 3500)]); // 2500 bytes above [0, 1000)
  assert.equal(sb.lostBoundary(una, mss, DUP_THRESH), 1000);
  sb.update(una, max, [b(5000, 5100), b(6000, 6100), b(7000, 7100)]); // three small ranges
  assert.equal(sb.lostBoundary(una, mss, DUP_THRESH), 5000);
});

Deno.test("SackRecovery.setPipe counts unSACKed not-lost bytes once and retransmitted bytes once more", () => {
  const rec = new SackRecovery();
  const una = seq(0), max = seq(12_000), mss = 1000;
  const s = (n: number) => seq(n) as Seq;
  // holes [0, 1000), [3000, 4000), [6000, 7000); SACKed [1000, 3000), [4000, 6000), [7000, 8000)
  rec.board.update(una, max, [b(1000, 3000), b(4000, 6000), b(7000, 8000)]);
  rec.enter(una, max);
  rec.setPipe(una, max, mss);
  // lost: [0, 1000) and [3000, 4000); in flight: [6000, 7000) and [8000, 12000)
  assert.equal(rec.pipe, 5000);
  assert.equal(rec.nextLost(una), 0);
  rec.onSent(s(0), 1000, max);
  assert.equal(rec.pipe, 6000);
  assert.equal(rec.nextLost(una), 3000);
  assert.equal(rec.holeLimit, 4000);
  rec.onSent(s(3000), 1000, max);
  assert.equal(rec.nextLost(una), -1);
  rec.setPipe(una, max, mss); // recomputed from the scoreboard: the same
  assert.equal(rec.pipe, 7000);
  rec.onSent(s(12_000), 1000, seq(12_000)); // new data: pipe only
  assert.equal(rec.pipe, 8000);
  rec.exit();
  assert.equal(rec.active, false);
  assert.equal(rec.pipe, 0);
});
