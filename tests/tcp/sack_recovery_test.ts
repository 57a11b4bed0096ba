/**
 * SACK-based duplicate-ACK detection and loss recovery (RFC 5681 §2,
 * RFC 6675) through the segment script, and the NewReno fallback without SACK.
 */
import assert from "node:assert/strict";
import type { TcpConfig } from "../../src/tcp/config.ts";
import { seq } from "../../src/wire/seq.ts";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";
import type { SackBlock } from "../../src/wire/tcp_segment.ts";
import { type SegmentTemplate, TcpScript } from "../_harness/tcp_script.ts";

const MSS = 1000;
const CONFIG: Partial<TcpConfig> = {
  segmentBudget: MSS + 20,
  timestamps: false,
  windowScaling: false,
  pacing: false,
};

/** ESTABLISHED with a 1000-byte MSS, SACK negotiated unless `sack` is false. */
function connected(sack = true): TcpScript {
  return TcpScript.established({ config: { ...CONFIG, sack } }, {
    flags: SYN | ACK,
    window: 60000,
    options: { mss: MSS, sackPermitted: sack },
  });
}

/**
 * A receiver's view of which of our segments arrived: `arrive(i)` returns
 * the duplicate ACK it sends, with its SACK blocks most recent first
 * (RFC 2018 §4), at most four.
 */
function receiverOf(s: TcpScript): (i: number) => SegmentTemplate {
  const ranges: SackBlock[] = [];
  return (i) => {
    const left = s.l(i * MSS), right = s.l((i + 1) * MSS);
    const k = ranges.findIndex((b) => b.right === left);
    if (k >= 0) ranges.unshift({ left: ranges.splice(k, 1)[0].left, right });
    else ranges.unshift({ left, right });
    return { ack: s.l(0), window: 60000, options: { sackBlocks: ranges.slice(0, 4) } };
  };
}

for (const grow of [0, 1]) {
  Deno.test(`TcpConnection fast-retransmits on three SACK-carrying duplicate ACKs when the window grows by ${grow} per ACK`, () => {
    // Linux's tcp_grow_window widens the window while it queues out-of-order data;
    // RFC 5681 §2 (last paragraph) and RFC 6675 §2 count an ACK with new SACK
    // information as a duplicate whatever its window field says.
    const s = TcpScript.established({ config: { segmentBudget: MSS + 20 + 12 } }, {
      flags: SYN | ACK,
      window: 60000,
      options: {
        mss: MSS + 12,
        sackPermitted: true,
        windowScale: 0,
        timestamps: { tsVal: 1, tsEcr: 0 },
      },
    });
    s.app((c) => c.write(new Uint8Array(10 * MSS)));
    s.sent.length = 0;
    // segment 0 lost; segments 1.. arrive: three dup ACKs with growing SACK blocks
    for (let i = 1; i <= 3; i++) {
      s.send({
        ack: s.l(0),
        window: 60000 + grow * i,
        options: {
          timestamps: { tsVal: 2, tsEcr: 0 },
          sackBlocks: [{ left: s.l(MSS), right: s.l((i + 1) * MSS) }],
        },
      });
    }
    const rexmit = s.sent.filter((seg) => seg.seq === s.l(0));
    assert.equal(rexmit.length, 1, "one fast retransmission of SND.UNA");
    assert.equal(rexmit[0].payload.length, MSS);
    const info = s.conn.info();
    assert.equal(info.retransmits, 1, "fast retransmit expected");
    assert.equal(info.timeouts, 0);
    assert.equal(info.lost, 1);
  });
}

Deno.test("TcpConnection does not count an ACK repeating known SACK blocks as a duplicate when SACK is on", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(10 * MSS)));
  s.sent.length = 0;
  const blocks = [{ left: s.l(MSS), right: s.l(2 * MSS) }];
  // e.g. the link duplicated the receiver's ACK: no new information, no loss signal
  for (let i = 0; i < 4; i++) {
    s.send({ ack: s.l(0), window: 60000, options: { sackBlocks: blocks } });
  }
  assert.equal(s.conn.info().retransmits, 0);
  assert.equal(s.conn.info().lost, 0);
  assert.equal(s.conn.info().sacked, MSS);
});

Deno.test("TcpConnection retransmits every hole of one window within one RTT when SACK marks them lost", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(30 * MSS)));
  for (let i = 0; i < 10; i++) s.expectSent({ seq: s.l(i * MSS), len: MSS }); // IW 10
  const arrive = receiverOf(s);
  // segments 0, 3 and 6 are lost; no time passes: all of this is one RTT
  s.send(arrive(1));
  s.expectSent({ seq: s.l(10 * MSS), len: MSS }); // RFC 6675 §5 (3): pipe = 9000 < cwnd
  s.send(arrive(2));
  s.expectSent({ seq: s.l(11 * MSS), len: MSS });
  s.expectNothing();
  s.send(arrive(4)); // third DupAck: recovery, ssthresh = FlightSize / 2 = 6000
  s.expectSent({ seq: s.l(0), len: MSS }); // SND.UNA first, regardless of pipe
  s.expectNothing(); // pipe = 9000 ([3000, 4000) is not yet lost)
  assert.equal(s.conn.info().ssthresh, 6000);
  s.send(arrive(5)); // pipe 8000
  s.send(arrive(7)); // IsLost([3000, 4000)): pipe 6000
  s.expectNothing();
  s.send(arrive(8)); // pipe 5000: room for one segment, the lost hole goes first
  s.expectSent({ seq: s.l(3 * MSS), len: MSS });
  s.expectNothing();
  s.send(arrive(9)); // IsLost([6000, 7000)): pipe 4000, room for two
  s.expectSent({ seq: s.l(6 * MSS), len: MSS }); // NextSeg() rule 1
  s.expectSent({ seq: s.l(12 * MSS), len: MSS }); // rule 2: new data
  s.expectNothing();
  const info = s.conn.info();
  assert.equal(info.retransmits, 3);
  assert.equal(info.timeouts, 0);
  assert.equal(info.lost, 1, "one loss event for the window");
  assert.equal(info.sacked, 7 * MSS);
  // the holes are filled: the ACK passes RecoveryPoint (SND.MAX at entry, 12000)
  s.send({ ack: s.l(12 * MSS), window: 60000 });
  assert.equal(s.conn.info().cwnd, 2 * MSS); // min(ssthresh, FlightSize + SMSS), RFC 6582 §3.2 step 6
  assert.equal(s.conn.info().sacked, 0);
  assert.equal(s.conn.info().timeouts, 0);
});

Deno.test("TcpConnection retransmits only the first hole per partial ACK when SACK is not negotiated (NewReno)", () => {
  const s = connected(false);
  s.app((c) => c.write(new Uint8Array(30 * MSS)));
  for (let i = 0; i < 10; i++) s.expectSent({ seq: s.l(i * MSS), len: MSS });
  // the same losses (0, 3, 6): seven duplicate ACKs without SACK blocks
  for (let i = 0; i < 7; i++) s.send({ ack: s.l(0), window: 60000 });
  const rexmits = s.sent.filter((seg) => seg.seq === s.l(0) || seg.seq === s.l(3 * MSS));
  assert.deepEqual(rexmits.map((seg) => seg.seq), [s.l(0)], "only SND.UNA is resent");
  s.sent.length = 0;
  // the partial ACK up to the second hole resends it (RFC 6582 §3.2 step 5): one per RTT
  s.send({ ack: s.l(3 * MSS), window: 60000 });
  s.expectSent({ seq: s.l(3 * MSS), len: MSS });
  assert.equal(s.conn.info().retransmits, 2);
  assert.equal(s.conn.info().sacked, 0);
});

Deno.test("TcpConnection skips SACKed ranges in its go-back-N when the retransmission timer expires", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(30 * MSS)));
  s.sent.length = 0;
  const arrive = receiverOf(s);
  // segments 0 and 1 are lost, 2..9 arrive; the retransmissions are lost too
  for (let i = 2; i < 10; i++) s.send(arrive(i));
  assert.ok(s.sent.some((seg) => seg.seq === s.l(0)), "fast retransmit of SND.UNA");
  assert.ok(s.sent.some((seg) => seg.seq === s.l(MSS)), "and of the second hole");
  s.sent.length = 0;
  s.fireNext(); // RFC 6298 §5.4: the timeout ends the phase (RFC 6675 §5.1)
  assert.equal(s.conn.info().timeouts, 1);
  assert.equal(s.conn.info().cwnd, MSS);
  s.expectSent({ seq: s.l(0), len: MSS });
  s.expectNothing();
  assert.equal(s.conn.info().sacked, 8 * MSS, "the scoreboard is kept");
  assert.equal(s.conn.info().unacked, 14 * MSS); // [10000, 14000) went out in the phase
  s.send({
    ack: s.l(MSS),
    window: 60000,
    options: { sackBlocks: [{ left: s.l(2 * MSS), right: s.l(10 * MSS) }] },
  });
  // cwnd 2·SMSS: the hole [1000, 2000), then past the SACKed [2000, 10000) to the
  // unSACKed [10000, 14000); [2000, 10000) is not sent again
  s.expectSent({ seq: s.l(MSS), len: MSS });
  s.expectSent({ seq: s.l(10 * MSS), len: MSS });
  s.expectNothing();
  // 0 and 1 in the phase, 0 on the timeout, then 1 and 10
  assert.equal(s.conn.info().retransmits, 5);
});

Deno.test("TcpConnection does not start a second SACK recovery before RecoveryPoint is acknowledged", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(30 * MSS)));
  s.sent.length = 0;
  const arrive = receiverOf(s);
  for (const i of [1, 2, 3]) s.send(arrive(i));
  assert.equal(s.conn.info().lost, 1);
  // a partial ACK; segment 5 is missing too, and more SACKs arrive above it
  const blocks = [{ left: s.l(6 * MSS), right: s.l(10 * MSS) }];
  s.send({ ack: s.l(5 * MSS), window: 60000, options: { sackBlocks: blocks } });
  assert.equal(s.conn.info().lost, 1, "still the same phase (RFC 6675 §5)");
  assert.ok(s.sent.some((seg) => seg.seq === s.l(5 * MSS)), "the next hole is resent at once");
  assert.equal(s.conn.info().timeouts, 0);
});

Deno.test("TcpConnection ignores SACK blocks above SND.MAX and below SND.UNA", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(4 * MSS)));
  s.sent.length = 0;
  s.send({
    ack: s.l(MSS),
    window: 60000,
    options: {
      sackBlocks: [
        { left: s.l(0), right: s.l(MSS) }, // D-SACK style, below SND.UNA (RFC 2883)
        { left: s.l(10 * MSS), right: s.l(11 * MSS) }, // never sent
        { left: seq(s.l(3 * MSS)), right: s.l(4 * MSS) },
      ],
    },
  });
  assert.equal(s.conn.info().sacked, MSS);
});

Deno.test("TcpConnection resends a lost retransmission before the RTO when data sent after it is SACKed", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(40 * MSS)));
  s.sent.length = 0;
  const arrive = receiverOf(s);
  const sent = () => s.sent.splice(0).map((seg) => (seg.seq - s.l(0)) / MSS);
  s.send(arrive(1));
  s.send(arrive(2));
  assert.deepEqual(sent(), [10, 11]); // limited transmit by pipe
  s.send(arrive(3));
  assert.deepEqual(sent(), [0], "fast retransmit, sent when SND.MAX was 12000");
  for (let i = 4; i <= 13; i++) s.send(arrive(i)); // the retransmission is lost
  assert.deepEqual(sent(), [12, 13, 14, 15, 16, 17, 18]);
  assert.equal(s.conn.info().retransmits, 1);
  // segments 12, 13 and 14, sent after it, are SACKed: more than (DupThresh - 1) · SMSS
  s.send(arrive(14));
  assert.deepEqual(sent(), [0, 19], "resent at once, then new data");
  const info = s.conn.info();
  assert.equal(info.retransmits, 2);
  assert.equal(info.timeouts, 0);
  assert.equal(info.lost, 1, "the same loss event");
});
