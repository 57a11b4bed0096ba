/**
 * A Fast Open server sends data in SYN_RCVD (RFC 7413 §4.2.2); the first ACK
 * may acknowledge the SYN-ACK and some or all of that data at once. Those
 * bytes must leave the send records then (RFC 9293 §3.10.7.4: SND.UNA =
 * SEG.ACK, acknowledged segments leave the retransmission queue): a record
 * left below SND.UNA kept the timeout from resending the hole at SND.UNA.
 */
import assert from "node:assert/strict";
import { TcpConnection } from "../../src/tcp/connection.ts";
import { tcpConfig } from "../../src/tcp/config.ts";
import { type Seq, seq, seqAdd, seqGe, seqSub } from "../../src/wire/seq.ts";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import { copySegment, LOCAL_PORT, makeSegment, REMOTE_PORT } from "../_harness/tcp_script.ts";

const ISS = 10_000, PEER_ISS = 20_000, COOKIE = new Uint8Array(8).fill(7), TOTAL = 20_000;
const l = (n: number): Seq => seqAdd(seq(ISS), 1 + n);
const off = (s: Seq): number => seqSub(s, l(0));

/** A Fast Open server on a virtual clock that accepted "hello" on the SYN. */
function server() {
  const syn = makeSegment({
    seq: PEER_ISS,
    ack: 0,
    flags: SYN,
    window: 65535,
    payload: "hello",
    options: { mss: 1460, sackPermitted: true, fastOpen: COOKIE },
  });
  const conn = TcpConnection.accept(0, {
    localPort: LOCAL_PORT,
    remotePort: REMOTE_PORT,
    iss: seq(ISS),
    config: tcpConfig({}),
    fastOpen: { cookie: COOKIE, acceptData: true },
  }, syn);
  const t = {
    conn,
    now: 0,
    out: [] as { at: number; seg: TcpSegment }[],
    drain() {
      for (let s; (s = conn.pollTransmit(t.now)) !== undefined;) {
        t.out.push({ at: t.now, seg: copySegment(s) });
      }
    },
    /** The peer's ACK of `n` data bytes (and the SYN-ACK), with SACK blocks. */
    ack(n: number, sack: [number, number][] = []) {
      conn.handleSegment(
        t.now,
        makeSegment({
          seq: seqAdd(seq(PEER_ISS), 6),
          ack: l(n),
          flags: ACK,
          window: 65535,
          options: sack.length === 0
            ? {}
            : { sackBlocks: sack.map(([a, b]) => ({ left: l(a), right: l(b) })) },
        }),
      );
      t.drain();
    },
    /** Runs the timers up to `ms` from now; returns the times of timeouts that resent nothing at SND.UNA. */
    advance(ms: number): number[] {
      const target = t.now + ms, silent: number[] = [];
      for (let i = 0; i < 10_000; i++) {
        const at = conn.pollTimeout();
        if (at > target) break;
        t.now = Math.max(t.now, at);
        const before = conn.info().timeouts, una = conn.sndUna, n = t.out.length;
        conn.handleTimeout(t.now);
        t.drain();
        const resent = t.out.slice(n).some((o) => o.seg.seq === una && o.seg.payload.length > 0);
        if (conn.info().timeouts > before && !resent) silent.push(t.now);
      }
      t.now = target;
      t.drain();
      return silent;
    },
  };
  t.drain();
  return t;
}

for (
  const { name, acked: ackedSegs, synAckLost } of [
    { name: "part of the early data", acked: 2, synAckLost: false },
    { name: "all the early data", acked: Infinity, synAckLost: false },
    { name: "part of the early data after a lost SYN-ACK", acked: 2, synAckLost: true },
  ]
) {
  Deno.test(`TcpConnection (Fast Open server) resends the hole at SND.UNA on each timeout and completes when the first ACK covers the SYN-ACK and ${name}`, () => {
    const t = server();
    assert.equal(t.out.shift()!.seg.flags, SYN | ACK);
    assert.equal(t.conn.write(new Uint8Array(TOTAL)), TOTAL);
    t.drain();
    const early = t.out.splice(0).map((o) => o.seg);
    assert.ok(early.length >= 4, `${early.length} segments sent in SYN_RCVD`); // the initial window
    const acked = Math.min(ackedSegs, early.length);
    const mss = early[0].payload.length;
    if (synAckLost) {
      // the SYN-ACK (and so, for the client, every data segment) was lost: the
      // timeout resends the SYN-ACK, and go-back-N the data
      t.advance(1000);
      const again = t.out.splice(0).map((o) => o.seg);
      assert.ok(again.length >= 1 && again[0].flags === (SYN | ACK), "the SYN-ACK again");
      for (const s of again.slice(1)) assert.equal(s.payload.length, mss, "whole segments");
      assert.ok(again.length >= 1 + acked, `${again.length - 1} data segments resent`);
    }
    t.now += 100;
    t.ack(acked * mss); // acknowledges the SYN-ACK and `acked` segments of data
    assert.equal(t.conn.state, "ESTABLISHED");
    assert.equal(off(t.conn.sndUna), acked * mss);
    const hole = acked * mss; // the first segment after the ACK is lost
    const log = [...t.out.splice(0)];
    let high = Math.max(
      ...log.map((o) => off(o.seg.seq) + o.seg.payload.length),
      early.length * mss,
    );
    // the peer SACKs everything sent after the hole, a segment at a time
    t.now += 10;
    for (let right = hole + 2 * mss; right <= high; right += mss) {
      t.now += 1;
      t.ack(hole, [[hole + mss, right]]);
      log.push(...t.out.splice(0));
      high = Math.max(high, ...log.map((o) => off(o.seg.seq) + o.seg.payload.length));
    }
    // every resend of the hole is lost for 5 s: each timeout resends it (RFC 6298 §5.4)
    assert.deepEqual(t.advance(5000), [], "timeouts that resent nothing at SND.UNA");
    assert.ok(t.conn.info().timeouts >= 1);
    log.push(...t.out.splice(0));
    for (const { seg } of log) {
      if (seg.payload.length > 0) {
        assert.ok(seqGe(seg.seq, t.conn.sndUna), `sent below SND.UNA: ${off(seg.seq)}`);
        assert.ok(seg.payload.length === mss || off(seg.seq) + seg.payload.length === TOTAL);
      }
    }
    // then the peer gets everything: the transfer completes
    for (let i = 0; i < 200 && off(t.conn.sndUna) < TOTAL; i++) {
      t.now += 50;
      high = Math.max(high, ...t.out.map((o) => off(o.seg.seq) + o.seg.payload.length));
      t.out.length = 0;
      t.ack(high);
      t.advance(0);
    }
    assert.equal(off(t.conn.sndUna), TOTAL);
    assert.equal(t.conn.info().unacked, 0);
  });
}
