/**
 * The per-segment send records and the loss-recovery bookkeeping on them,
 * driven by random sends, SACKs, cumulative ACKs, retransmissions and
 * timeouts (fast-check): the records always cover [SND.UNA, SND.MAX) without
 * gaps, the lost-byte count matches the records, and pipe never goes
 * negative, also across the sequence-number wrap.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createController } from "../../src/tcp/congestion/registry.ts";
import { LossRecovery } from "../../src/tcp/recovery.ts";
import { RttEstimator } from "../../src/tcp/rtt.ts";
import { REC_LOST, REC_SACKED, SEND_RECORDS_MAX, SendRecords } from "../../src/tcp/send_records.ts";
import { type Seq, seq, seqAdd, seqSub } from "../../src/wire/seq.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";

Deno.test("SendRecords finds, splits and grows when more segments are in flight than its capacity", () => {
  const r = new SendRecords();
  const base = seq(0xffff_ff00); // across the wrap
  for (let i = 0; i < 300; i++) {
    r.append(seqAdd(base, i * 10), seqAdd(base, i * 10 + 10), i, 0, 0, 0, false);
  }
  assert.equal(r.count, 300);
  assert.equal(r.find(seqAdd(base, 2995)), 299);
  assert.equal(r.find(seqAdd(base, 3000)), -1);
  r.split(5, seqAdd(base, 54));
  assert.equal(r.count, 301);
  assert.deepEqual([r.start(5), r.end(5), r.start(6), r.end(6)].map((s) => seqSub(s, base)), [
    50,
    54,
    54,
    60,
  ]);
  for (let i = 0; i < 200; i++) r.shift();
  assert.equal(seqSub(r.start(0), base), 1990);
});

Deno.test("SendRecords holds no arrays until the first record, and gives them back once empty (compact)", () => {
  const r = new SendRecords();
  assert.equal(r.capacity, 0);
  assert.equal(r.find(seq(5)), -1);
  r.compact(); // nothing to give back
  for (let i = 0; i < 20; i++) r.append(seq(i * 10), seq(i * 10 + 10), i, 0, 0, 0, false);
  assert.ok(r.capacity >= 20);
  r.compact(); // records held: kept
  assert.ok(r.capacity >= 20);
  while (r.count > 0) r.shift();
  r.compact();
  assert.equal(r.capacity, 0);
  // appending again allocates anew, from a fresh head
  r.append(seq(500), seq(510), 1, 0, 0, 0, true);
  assert.equal(r.count, 1);
  assert.equal(r.start(0), 500);
  assert.equal(r.find(seq(505)), 0);
});

type Op =
  | { kind: "send"; len: number }
  | { kind: "time"; ms: number }
  | { kind: "sack"; from: number; to: number }
  | { kind: "ack"; upTo: number }
  | { kind: "rexmit" }
  | { kind: "rto" }
  | { kind: "reorder" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("send" as const),
    len: fc.oneof(fc.constant(1000), fc.integer({ min: 1, max: 1000 })),
  }),
  fc.record({
    kind: fc.constant("send" as const),
    len: fc.constant(1000),
  }),
  fc.record({ kind: fc.constant("time" as const), ms: fc.integer({ min: 1, max: 60 }) }),
  fc.record({
    kind: fc.constant("sack" as const),
    from: fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000),
    to: fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000),
  }),
  fc.record({
    kind: fc.constant("ack" as const),
    upTo: fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000),
  }),
  fc.constant({ kind: "rexmit" as const }),
  fc.constant({ kind: "rto" as const }),
  fc.constant({ kind: "reorder" as const }),
);

function ackSegment(ack: Seq, blocks: { left: Seq; right: Seq }[]): TcpSegment {
  return {
    srcPort: 1,
    dstPort: 2,
    seq: seq(0),
    ack,
    flags: 16,
    window: 60000,
    urgentPointer: 0,
    payload: new Uint8Array(0),
    options: blocks.length > 0 ? { sackBlocks: blocks } : {},
  };
}

Deno.test("LossRecovery keeps its records and lost bytes consistent when random ACKs, SACKs and timeouts arrive", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("newreno", "none"),
      fc.array(op, { minLength: 60, maxLength: 200 }),
      (cc, ops) => {
        const iss = seq(0xffff_f000);
        const rtt = new RttEstimator({ initial: 1000, min: 200, max: 60_000 });
        rtt.sample(40);
        const snd = {
          sndUna: iss,
          sndNxt: iss,
          sndMax: iss,
          mss: 1000,
          cc: createController(cc, { mss: 1000, initialCwnd: 10 }),
          rtt,
        };
        const rec = new LossRecovery(iss);
        rec.sack = true;
        let now = 0;
        for (const o of ops) {
          const out = seqSub(snd.sndMax, snd.sndUna);
          switch (o.kind) {
            case "send":
              rec.onTransmit(now, snd, snd.sndMax, seqAdd(snd.sndMax, o.len));
              snd.sndMax = snd.sndNxt = seqAdd(snd.sndMax, o.len);
              break;
            case "time":
              now += o.ms;
              break;
            case "sack": {
              if (out === 0) break;
              const a = Math.floor(Math.min(o.from, o.to) * out);
              const b = Math.ceil(Math.max(o.from, o.to) * out);
              if (a >= b) break;
              const blk = { left: seqAdd(snd.sndUna, a), right: seqAdd(snd.sndUna, b) };
              rec.beginAck(now, snd, -1);
              rec.onAckBlocks(now, snd, 0, ackSegment(snd.sndUna, [blk]));
              rec.afterAck(now, snd, -1);
              break;
            }
            case "ack": {
              const n = Math.floor(o.upTo * out);
              const ack = seqAdd(snd.sndUna, n);
              rec.beginAck(now, snd, -1);
              rec.onAckBlocks(now, snd, n, ackSegment(ack, []));
              if (n > 0) {
                rec.onCumAck(now, snd, ack);
                snd.sndUna = ack;
                rec.onNewAck(now, snd, -1);
              } else rec.onDupAck(now, snd);
              rec.afterAck(now, snd, -1);
              break;
            }
            case "rexmit":
              if (rec.nextRetransmit(snd)) {
                const len = Math.min(1000, seqSub(rec.rxLimit, rec.rxSeq));
                rec.onTransmit(now, snd, rec.rxSeq, seqAdd(rec.rxSeq, len));
              }
              break;
            case "rto":
              if (out > 0) rec.onRto(now, snd);
              break;
            case "reorder":
              rec.onReorderTimeout(now, snd);
              break;
          }
          // invariants
          const r = rec.records;
          if (seqSub(snd.sndMax, snd.sndUna) === 0) assert.equal(r.count, 0);
          else {
            assert.equal(r.start(0), snd.sndUna, "the first record starts at SND.UNA");
            assert.equal(r.end(r.count - 1), snd.sndMax, "the last ends at SND.MAX");
          }
          let lost = 0;
          for (let i = 0; i < r.count; i++) {
            if (i > 0) assert.equal(r.start(i), r.end(i - 1), "no gap");
            const f = r.flagsAt(i);
            if ((f & REC_LOST) && !(f & REC_SACKED)) lost += seqSub(r.end(i), r.start(i));
          }
          assert.equal(rec.lostBytes, lost);
          assert.ok(rec.pipe(snd) >= 0);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("SendRecords extends the last record when SEND_RECORDS_MAX segments are in flight", () => {
  const r = new SendRecords();
  for (let i = 0; i < SEND_RECORDS_MAX + 10; i++) r.append(seq(i), seq(i + 1), i, 0, 0, 0, false);
  assert.equal(r.count, SEND_RECORDS_MAX);
  assert.equal(r.end(r.count - 1), SEND_RECORDS_MAX + 10);
  assert.equal(r.find(seq(SEND_RECORDS_MAX + 5)), SEND_RECORDS_MAX - 1);
});
