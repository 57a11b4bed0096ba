/**
 * SACK-based loss recovery (RACK, RFC 8985 §6, with PRR, RFC 6937) through
 * the segment script, and the NewReno fallback without SACK. The SACK tests
 * run on a 100 ms RTT: the handshake takes 100 ms and the peer's ACKs come
 * 100 ms after the data they answer.
 */
import assert from "node:assert/strict";
import type { TcpConfig } from "../../src/tcp/config.ts";
import { seq } from "../../src/wire/seq.ts";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";
import type { SackBlock } from "../../src/wire/tcp_segment.ts";
import { establishedAfterRtt } from "../_harness/rtt_script.ts";
import { type SegmentTemplate, TcpScript } from "../_harness/tcp_script.ts";

const MSS = 1000;
const CONFIG: Partial<TcpConfig> = {
  congestionControl: "newreno", // these scripts count NewReno's window through recovery
  segmentBudget: MSS + 20,
  timestamps: false,
  windowScaling: false,
  pacing: false,
};

const RTT = 100;

/**
 * ESTABLISHED with a 1000-byte MSS, SACK negotiated unless `sack` is false;
 * SACK connections have a 100 ms RTT (min_RTT / 4 = 25 ms reordering window).
 */
function connected(sack = true): TcpScript {
  const synAck = { flags: SYN | ACK, window: 60000, options: { mss: MSS, sackPermitted: sack } };
  if (!sack) return TcpScript.established({ config: { ...CONFIG, sack } }, synAck);
  return establishedAfterRtt({ ...CONFIG, sack }, synAck);
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
    const s = establishedAfterRtt({ segmentBudget: MSS + 20 + 12 }, {
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
    s.advance(RTT);
    s.sent.length = 0;
    // segment 0 lost; segments 1.. arrive: three dup ACKs with growing SACK blocks;
    // with DupThresh segments SACKed and no reordering seen RACK's window is 0
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

Deno.test("TcpConnection waits RACK's reordering window when one segment above a hole is SACKed, however often", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(10 * MSS)));
  s.advance(RTT);
  s.sent.length = 0;
  const blocks = [{ left: s.l(MSS), right: s.l(2 * MSS) }];
  // e.g. the link duplicated the receiver's ACK: no new information, no loss signal
  for (let i = 0; i < 4; i++) {
    s.send({ ack: s.l(0), window: 60000, options: { sackBlocks: blocks } });
  }
  assert.equal(s.conn.info().retransmits, 0);
  assert.equal(s.conn.info().lost, 0);
  assert.equal(s.conn.info().sacked, MSS);
  // RFC 8985 §6.2: segment 0 is lost once the reordering window (min_RTT / 4) has passed
  assert.equal(s.fireNext(), 2 * RTT + RTT / 4);
  s.expectSent({ seq: s.l(0), len: MSS });
  assert.equal(s.conn.info().lost, 1);
});

Deno.test("TcpConnection retransmits every hole of one window within one RTT when RACK marks them lost", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(30 * MSS)));
  for (let i = 0; i < 10; i++) s.expectSent({ seq: s.l(i * MSS), len: MSS }); // IW 10
  s.advance(RTT);
  const arrive = receiverOf(s);
  const sent = () => s.sent.splice(0).map((seg) => (seg.seq - s.l(0)) / MSS);
  // segments 0, 3 and 6 are lost; no time passes: all of this is one RTT
  s.send(arrive(1)); // pipe 9000, cwnd 11 000 (slow start counts SACKed bytes)
  assert.deepEqual(sent(), [10, 11]);
  s.send(arrive(2));
  assert.deepEqual(sent(), [12, 13]);
  // the third SACKed segment: RACK's window drops to 0 and the segments sent before
  // segment 4 are lost (0 and 3); recovery with ssthresh = FlightSize / 2 = 7000
  s.send(arrive(4));
  assert.deepEqual(sent(), [0], "PRR: ceil(1000 · 7000 / 14 000) - 0 > 0, one segment");
  assert.equal(s.conn.info().ssthresh, 7000);
  s.send(arrive(5)); // prr_delivered 2000: ceil(1000) - prr_out 1000 = 0
  s.send(arrive(7)); // segment 6 lost too; pipe = ssthresh: PRR-SSRB, ssthresh - pipe = 0
  assert.deepEqual(sent(), []);
  s.send(arrive(8)); // pipe 6000 < ssthresh: one segment, the lost hole first
  assert.deepEqual(sent(), [3]);
  s.send(arrive(9));
  assert.deepEqual(sent(), [6]);
  const info = s.conn.info();
  assert.equal(info.retransmits, 3);
  assert.equal(info.timeouts, 0);
  assert.equal(info.lost, 1, "one loss event for the window");
  assert.equal(info.sacked, 7 * MSS);
  // the holes are filled: the ACK passes the recovery point (SND.MAX at entry, 14000)
  s.send({ ack: s.l(14 * MSS), window: 60000 });
  assert.equal(s.conn.info().cwnd, 7 * MSS); // RFC 6937: cwnd = ssthresh at the end
  assert.equal(s.conn.info().sacked, 0);
  assert.deepEqual(sent(), [14, 15, 16, 17, 18, 19, 20]);
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

Deno.test("TcpConnection marks every unSACKed segment lost and resends them in order when the retransmission timer expires", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(30 * MSS)));
  s.sent.length = 0;
  s.advance(RTT);
  const arrive = receiverOf(s);
  const sent = () => s.sent.splice(0).map((seg) => (seg.seq - s.l(0)) / MSS);
  // segments 0 and 1 are lost, 2..9 arrive; the retransmissions are lost too
  for (let i = 2; i < 10; i++) s.send(arrive(i));
  const first = sent();
  assert.ok(first.includes(0) && first.includes(1), "fast retransmit of both holes");
  const unacked = s.conn.info().unacked;
  while (s.conn.info().timeouts === 0) s.fireNext();
  // RFC 8985 §6.3: after the timeout every unSACKed segment is lost; cwnd = 1 SMSS
  assert.equal(s.conn.info().cwnd, MSS);
  assert.deepEqual(sent(), [0]);
  assert.equal(s.conn.info().sacked, 8 * MSS, "the scoreboard is kept");
  assert.equal(s.conn.info().unacked, unacked);
  s.send({
    ack: s.l(MSS),
    window: 60000,
    options: { sackBlocks: [{ left: s.l(2 * MSS), right: s.l(10 * MSS) }] },
  });
  // cwnd 2·SMSS: the hole [1000, 2000), then past the SACKed [2000, 10000) to the
  // first segment sent after them; [2000, 10000) is not sent again
  assert.deepEqual(sent(), [1, 10]);
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
  s.advance(RTT);
  const arrive = receiverOf(s);
  const sent = () => s.sent.splice(0).map((seg) => (seg.seq - s.l(0)) / MSS);
  for (let i = 1; i <= 3; i++) s.send(arrive(i));
  const out = sent();
  assert.ok(out.includes(0), "fast retransmit");
  const sentAfter = out.filter((n) => n >= 10);
  for (let i = 4; i < 10; i++) s.send(arrive(i)); // the retransmission is lost
  sentAfter.push(...sent().filter((n) => n >= 10));
  assert.equal(s.conn.info().retransmits, 1);
  // one RTT later the segments sent with or after the retransmission are SACKed:
  // RACK (RFC 8985 §6.2) finds the retransmission lost by its send time
  s.advance(RTT);
  s.send(arrive(sentAfter[0]));
  s.send(arrive(sentAfter[1]));
  s.send(arrive(sentAfter[2]));
  assert.ok(sent().includes(0), "resent before any RTO");
  const info = s.conn.info();
  assert.equal(info.retransmits, 2);
  assert.equal(info.timeouts, 0);
  assert.equal(info.lost, 1, "the same loss event");
  // resending SND.UNA's segment restarted the RTO (armed when the flight began, it
  // would fire now): the second retransmission gets its round trip
  s.advance(RTT);
  assert.equal(s.conn.info().timeouts, 0);
  s.send({ ack: s.l(20 * MSS), window: 60000 });
  assert.equal(s.conn.info().timeouts, 0);
});
