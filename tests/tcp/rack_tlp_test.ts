/**
 * RACK-TLP (RFC 8985), PRR (RFC 6937) and spurious-recovery undo (RFC 3522
 * detection, RFC 4015 response) through the segment script on a 100 ms RTT:
 * each mechanism against its RFC, on virtual time.
 */
import assert from "node:assert/strict";
import type { TcpConfig } from "../../src/tcp/config.ts";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";
import { establishedAfterRtt, sackReceiver } from "../_harness/rtt_script.ts";
import { TcpPair, type TcpScript } from "../_harness/tcp_script.ts";
import { seq, seqSub } from "../../src/wire/seq.ts";

const MSS = 1000;
const RTT = 100;
const CONFIG: Partial<TcpConfig> = {
  congestionControl: "newreno", // these scripts count NewReno's window through recovery
  segmentBudget: MSS + 20,
  timestamps: false,
  windowScaling: false,
  pacing: false,
};

function connected(config: Partial<TcpConfig> = {}, rtt = RTT): TcpScript {
  return establishedAfterRtt({ ...CONFIG, ...config }, {
    flags: SYN | ACK,
    window: 60000,
    options: { mss: MSS, sackPermitted: true },
  }, rtt);
}

/** Segment numbers (by MSS) of what was sent since the last call. */
function sentOf(s: TcpScript): () => number[] {
  return () => s.sent.splice(0).map((seg) => (seg.seq - s.l(0)) / MSS);
}

Deno.test("TcpConnection recovers a lost tail with a probe after 2·SRTT instead of an RTO (RFC 8985 §7)", () => {
  const rtt = 40; // the path: PTO 80 ms against an RTO of at least rtoMin = 200 ms
  const s = connected({}, rtt);
  const sent = sentOf(s);
  s.app((c) => c.write(new Uint8Array(10 * MSS)));
  assert.equal(sent().length, 10);
  s.advance(rtt);
  // segments 8 and 9, the tail, are lost; 0..7 arrive
  const arrive = sackReceiver(s, MSS);
  for (let i = 0; i < 8; i++) s.send(arrive(i));
  assert.deepEqual(sent(), []);
  const lastAck = s.now;
  const rtoAt = lastAck + s.conn.info().rto;
  assert.ok(s.conn.info().rto >= 200);
  // PTO = 2·SRTT after the last ACK: the last segment is probed (no new data to send)
  assert.equal(s.fireNext(), lastAck + 2 * rtt);
  assert.deepEqual(sent(), [9]);
  s.advance(rtt);
  s.send(arrive(9)); // the probe's SACK shows segment 8 missing
  // RACK: segment 8 was sent more than RACK.rtt + reo_wnd before the SACKed probe:
  // lost at once, and fast recovery resends it
  assert.deepEqual(sent(), [8]);
  assert.equal(s.conn.info().lost, 1);
  s.advance(rtt);
  s.send(arrive(8));
  const info = s.conn.info();
  assert.equal(info.unacked, 0);
  assert.equal(info.timeouts, 0, "no RTO");
  // repaired 2·SRTT + 2·RTT after the last ACK, before the RTO would even have fired
  assert.equal(s.now, lastAck + 4 * rtt);
  assert.ok(s.now < rtoAt);
  assert.equal(s.conn.pollTimeout(), Infinity);
});

Deno.test("TcpConnection probes with a new segment when one is queued, whatever cwnd says (RFC 8985 §7.3)", () => {
  const s = connected();
  const sent = sentOf(s);
  s.app((c) => c.write(new Uint8Array(15 * MSS))); // IW 10: 5 segments wait for cwnd
  assert.equal(sent().length, 10);
  // every ACK of the flight is lost
  const t0 = s.now;
  assert.equal(s.fireNext(), t0 + 2 * RTT);
  assert.deepEqual(sent(), [10], "new data as the probe");
  s.advance(RTT);
  // the probe's SACK: RACK finds 0..9 lost after the reordering window
  s.send({
    ack: s.l(0),
    window: 60000,
    options: { sackBlocks: [{ left: s.l(10 * MSS), right: s.l(11 * MSS) }] },
  });
  s.advance(RTT / 4);
  assert.ok(sent().includes(0), "fast recovery resends SND.UNA");
  assert.equal(s.conn.info().timeouts, 0);
});

Deno.test("TcpConnection sends no retransmission within RACK's reordering window when a segment comes late (RFC 8985 §6.2)", () => {
  const s = connected();
  const sent = sentOf(s);
  s.app((c) => c.write(new Uint8Array(40 * MSS)));
  sent();
  s.advance(RTT);
  const arrive = sackReceiver(s, MSS);
  s.send(arrive(0));
  s.send(arrive(1));
  s.send(arrive(3)); // segment 2 is reordered: it comes 20 ms late
  assert.ok(sent().every((i) => i >= 10), "new data only");
  s.advance(20); // less than min_RTT / 4 = 25 ms: no loss yet
  s.send(arrive(2));
  assert.ok(sent().every((i) => i >= 10), "new data only, no retransmission");
  assert.equal(s.conn.info().retransmits, 0);
  // RACK saw reordering (segment 2 delivered below RACK.fack, never resent): its window
  // no longer drops to 0 when DupThresh segments are SACKed
  for (const i of [4, 6, 7, 8]) s.send(arrive(i)); // segment 5 is late by 25 ms - ε
  assert.equal(s.conn.info().retransmits, 0, "3+ SACKed, but reordering was seen");
  s.advance(24);
  s.send(arrive(5));
  assert.equal(s.conn.info().retransmits, 0);
  assert.equal(s.conn.info().lost, 0);
});

/** How long after a SACK above a hole the reorder timer fires, with or without a D-SACK first. */
function reorderDelay(dsack: boolean): number {
  const s = connected();
  const sent = sentOf(s);
  s.app((c) => c.write(new Uint8Array(40 * MSS)));
  sent();
  s.advance(RTT);
  const arrive = sackReceiver(s, MSS);
  for (let i = 0; i < 5; i++) s.send(arrive(i)); // sends 10..19 in one burst
  if (dsack) {
    // a D-SACK (RFC 2883): the first block lies below the cumulative ACK
    s.send({
      ack: s.l(5 * MSS),
      window: 60000,
      options: { sackBlocks: [{ left: s.l(3 * MSS), right: s.l(4 * MSS) }] },
    });
  }
  const burst = s.sent.splice(0).filter((seg) =>
    seg.seq === s.l(10 * MSS) || seg.seq === s.l(11 * MSS)
  );
  assert.equal(burst.length, 2);
  s.advance(RTT);
  for (let i = 5; i < 10; i++) s.send(arrive(i));
  sent();
  s.send(arrive(11)); // segment 10, sent in the same burst, is missing
  assert.deepEqual(sent().filter((i) => i < 12), [], "not at once");
  const t = s.now;
  const fired = s.fireNext();
  assert.ok(sent().includes(10), "resent when the reorder timer fires");
  return fired - t;
}

Deno.test("TcpConnection widens RACK's reordering window by min_RTT / 4 after a D-SACK (RFC 8985 §6.2 step 4)", () => {
  assert.equal(reorderDelay(false), RTT / 4); // min_RTT / 4
  assert.equal(reorderDelay(true), RTT / 2); // reo_wnd_mult 2
});

/** A SACK + timestamps connection (100 ms RTT); `ack` answers with an echoed TSval. */
function connectedTs(): TcpScript {
  return establishedAfterRtt({ ...CONFIG, timestamps: true, segmentBudget: MSS + 20 + 12 }, {
    flags: SYN | ACK,
    window: 60000,
    options: { mss: MSS + 12, sackPermitted: true, timestamps: { tsVal: 1, tsEcr: 0 } },
  }, RTT);
}

Deno.test("TcpConnection undoes a spurious RTO when the ACK echoes the original's timestamp (RFC 3522, RFC 4015)", () => {
  const s = connectedTs();
  s.app((c) => c.write(new Uint8Array(4 * MSS)));
  const originals = s.sent.splice(0);
  assert.equal(originals.length, 4);
  const before = s.conn.info();
  // the ACKs are delayed beyond the RTO: the timer fires and SND.UNA is resent
  while (s.conn.info().timeouts === 0) s.fireNext(); // (a tail loss probe goes first)
  assert.ok(s.sent.splice(0).some((seg) => seg.seq === s.l(0)));
  assert.equal(s.conn.info().cwnd, MSS);
  // now the delayed ACK comes, echoing the TSval of the original transmissions
  s.advance(5);
  s.send({
    ack: s.l(4 * MSS),
    window: 60000,
    options: { timestamps: { tsVal: 50, tsEcr: originals[3].options.timestamps!.tsVal } },
  });
  const after = s.conn.info();
  assert.ok(after.cwnd >= before.cwnd, "cwnd restored (and grown by the ACK)");
  assert.equal(after.ssthresh, Infinity, "ssthresh restored");
});

Deno.test("TcpConnection keeps the RTO's reduction when the ACK echoes the retransmission's timestamp", () => {
  const s = connectedTs();
  s.app((c) => c.write(new Uint8Array(4 * MSS)));
  s.sent.length = 0;
  while (s.conn.info().timeouts === 0) s.fireNext(); // (a tail loss probe goes first)
  const rexmit = s.sent.splice(0).find((seg) => seg.seq === s.l(0))!;
  s.advance(RTT);
  s.send({
    ack: s.l(MSS),
    window: 60000,
    options: { timestamps: { tsVal: 50, tsEcr: rexmit.options.timestamps!.tsVal } },
  });
  assert.equal(s.conn.info().ssthresh, 2 * MSS, "ssthresh = FlightSize / 2 stays");
});

Deno.test("TcpConnection undoes a fast recovery that reordering caused when the original fills the hole (Eifel)", () => {
  const s = connectedTs();
  s.app((c) => c.write(new Uint8Array(10 * MSS)));
  const originals = s.sent.splice(0);
  s.advance(RTT);
  const ts = (i: number) => ({ tsVal: 50, tsEcr: originals[i].options.timestamps!.tsVal });
  // segment 0 is late; 1..3 arrive: RACK (window 0 with 3 SACKed) starts a recovery
  for (let i = 1; i <= 3; i++) {
    s.send({
      ack: s.l(0),
      window: 60000,
      options: { timestamps: ts(0), sackBlocks: [{ left: s.l(MSS), right: s.l((i + 1) * MSS) }] },
    });
  }
  assert.equal(s.conn.info().lost, 1);
  assert.equal(s.conn.info().ssthresh, 5 * MSS);
  s.sent.length = 0;
  // the original segment 0 arrives: the receiver echoes its TSval (RFC 7323 §4.3)
  s.advance(2);
  s.send({ ack: s.l(4 * MSS), window: 60000, options: { timestamps: ts(0) } });
  const info = s.conn.info();
  assert.equal(info.ssthresh, Infinity, "undone");
  assert.equal(info.cwnd >= 10 * MSS, true);
});

Deno.test("TcpConnection sends one segment per two ACKs in recovery while pipe > ssthresh (PRR, RFC 6937 §3)", () => {
  const s = connected({ initialCwnd: 20 });
  const sent = sentOf(s);
  s.app((c) => c.write(new Uint8Array(60 * MSS)));
  assert.equal(sent().length, 20);
  s.advance(RTT);
  const arrive = sackReceiver(s, MSS);
  // segment 0 is lost; before RACK's window closes (3 SACKed) slow start sends 2 per SACK
  s.send(arrive(1));
  s.send(arrive(2));
  assert.deepEqual(sent(), [20, 21, 22, 23]);
  s.send(arrive(3)); // recovery: FlightSize 24 000, ssthresh 12 000, RecoverFS 24 000
  assert.equal(s.conn.info().ssthresh, 12 * MSS);
  const perAck = [sent()];
  for (let i = 4; i < 20; i++) {
    s.send(arrive(i));
    perAck.push(sent());
  }
  // sndcnt = ceil(prr_delivered · ssthresh / RecoverFS) - prr_out: 1, 0, 1, 0, ...
  assert.deepEqual(perAck.map((x) => x.length), [
    1,
    0,
    1,
    0,
    1,
    0,
    1,
    0,
    1,
    0,
    1,
    0,
    1,
    0,
    1,
    0,
    0,
  ]);
  assert.deepEqual(perAck[0], [0], "the retransmission first");
  assert.deepEqual(perAck.flat().slice(1), [24, 25, 26, 27, 28, 29, 30]);
  // ... until pipe has come down to ssthresh; then PRR-SSRB sends only what leaves
  const info = s.conn.info();
  assert.equal(info.unacked - info.sacked, 12 * MSS);
});

Deno.test("TcpConnection undoes a recovery when D-SACKs report every retransmission as a duplicate (RFC 2883 §5)", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(10 * MSS)));
  s.sent.length = 0;
  s.advance(RTT);
  // segment 0 is late; 1..3 arrive: RACK starts a recovery and resends segment 0
  for (let i = 1; i <= 3; i++) {
    s.send({
      ack: s.l(0),
      window: 60000,
      options: { sackBlocks: [{ left: s.l(MSS), right: s.l((i + 1) * MSS) }] },
    });
  }
  assert.equal(s.conn.info().retransmits, 1);
  assert.equal(s.conn.info().ssthresh, 5 * MSS);
  // the original arrives, then the retransmission: the receiver reports it twice
  s.advance(2);
  s.send({ ack: s.l(4 * MSS), window: 60000 });
  s.advance(RTT);
  s.send({
    ack: s.l(4 * MSS),
    window: 60000,
    options: { sackBlocks: [{ left: s.l(0), right: s.l(MSS) }] },
  });
  assert.equal(s.conn.info().ssthresh, Infinity, "undone");
  assert.ok(s.conn.info().cwnd >= 10 * MSS);
});

Deno.test("TcpConnection undoes a spurious RTO without timestamps once a D-SACK reports its retransmission a duplicate (RFC 2883 §5)", () => {
  const s = connected();
  s.app((c) => c.write(new Uint8Array(4 * MSS)));
  s.sent.length = 0;
  const before = s.conn.info();
  // the ACKs are delayed beyond the RTO: the timer fires and SND.UNA is resent
  while (s.conn.info().timeouts === 0) s.fireNext(); // (a tail loss probe goes first)
  assert.ok(s.sent.splice(0).some((seg) => seg.seq === s.l(0)));
  assert.equal(s.conn.info().cwnd, MSS);
  // the delayed ACK of all four, then the retransmission's duplicate (a D-SACK)
  s.advance(5);
  s.send({ ack: s.l(4 * MSS), window: 60000 });
  assert.ok(s.conn.info().cwnd < before.cwnd, "without timestamps the ACK alone proves nothing");
  s.advance(RTT);
  s.send({
    ack: s.l(4 * MSS),
    window: 60000,
    options: { sackBlocks: [{ left: s.l(0), right: s.l(MSS) }] },
  });
  const after = s.conn.info();
  assert.ok(after.cwnd >= before.cwnd, `cwnd ${after.cwnd} restored`);
  assert.equal(after.ssthresh, Infinity, "ssthresh restored");
});

for (const timestamps of [true, false]) {
  Deno.test(`TcpPair repairs a lost tail with a probe, not an RTO, between two real connections with timestamps ${timestamps ? "on" : "off"} (RFC 8985 §7)`, () => {
    const rtt = 40;
    let mss = 0;
    const start = seq(1001); // client ISS 1000
    const lost = new Set<number>();
    const pair = new TcpPair({
      delay: rtt / 2,
      clientIss: 1000,
      config: { congestionControl: "newreno", pacing: false, timestamps },
      // the first transmissions of segments 8 and 9 of 10, the tail, are lost
      drop: (seg, from) => {
        if (from !== "client" || seg.payload.length === 0) return false;
        const i = seqSub(seg.seq, start) / mss;
        if ((i === 8 || i === 9) && !lost.has(i)) return lost.add(i), true;
        return false;
      },
    });
    assert.ok(pair.run({ until: () => pair.server?.state === "ESTABLISHED" }));
    mss = pair.client.info().mss;
    const t0 = pair.now;
    assert.equal(pair.client.write(new Uint8Array(10 * mss)), 10 * mss);
    const buf = new Uint8Array(65536);
    let read = 0;
    assert.ok(pair.run({
      until: () => read === 10 * mss,
      app: () => {
        for (let n = pair.server!.read(buf); n > 0; n = pair.server!.read(buf)) read += n;
      },
    }));
    assert.equal(lost.size, 2);
    const info = pair.client.info();
    assert.equal(info.timeouts, 0, "no RTO");
    assert.ok(info.retransmits >= 2, `${info.retransmits} retransmissions`);
    // ACKs of 0..7 after an RTT, the probe 2·SRTT later, its SACK and the repair in two more
    // RTTs (+ the receiver's delayed ACK for the probe); an RTO (≥ 200 ms) after the last ACK
    // would come no earlier than t0 + rtt + 200 ms, and the repair an RTT after that
    const repaired = pair.now - t0;
    assert.ok(repaired <= rtt + 2 * rtt + 2 * rtt + 40, `repaired after ${repaired} ms`);
    assert.ok(repaired < rtt + 200 + rtt);
  });
}
