/**
 * Conformance scripts run through the public test seam, as external
 * packetdrill-like suites will: a raw peer against the whole stack, exact
 * segments and virtual send times asserted.
 */
import assert from "node:assert/strict";
import { createTestbed, type RawPeer, type Testbed } from "../../src/testing/mod.ts";
import { segmentEncodedLength } from "../../src/wire/tcp_codec.ts";
import { seq, seqSub } from "../../src/wire/seq.ts";
import { ACK, RST } from "../../src/wire/tcp_flags.ts";
import type { TcpConfig } from "../../src/tcp/config.ts";

const PLAIN = { timestamps: false, windowScaling: false, sack: false };

function open(tb: Testbed, peer: RawPeer, synOptions = {}) {
  const l = tb.stack.listen(80);
  tb.setNextIsn(1000);
  peer.send({ flags: "S", seq: 0, options: synOptions });
  peer.take();
  peer.send({ flags: ".", seq: 1, ack: 1001 });
  return l.accept()!;
}

Deno.test("Stack reports a dead peer after the Linux keepalive defaults (7200 s, 9 probes 75 s apart)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer);
  conn.setKeepAlive(true);
  assert.equal(tb.nextTimeout(), 7_200_000);
  tb.advance(7_875_000);
  const got = peer.take();
  assert.equal(got.length, 10);
  for (let k = 0; k < 9; k++) {
    const { segment: s, sentAt, text } = got[k];
    assert.deepEqual([s.flags, s.seq, s.ack, s.payload.length], [ACK, 1000, 1, 0], text);
    assert.equal(sentAt, 7_200_000 + 75_000 * k);
  }
  assert.deepEqual([got[9].segment.flags, got[9].segment.seq, got[9].sentAt], [
    RST | ACK,
    1001,
    7_875_000,
  ]);
  assert.equal(tb.app(conn).error, "timed_out: keepalive: peer dead after 9 probes");
  assert.equal(tb.state(peer, 80, 40000), undefined);
  tb.close();
});

Deno.test("Stack keeps a connection whose peer answers keepalive probes", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer);
  conn.setKeepAlive(true, { idle: 1000, interval: 100, count: 2 });
  for (let round = 1; round <= 3; round++) {
    tb.advance(1000);
    const probe = peer.next()!;
    assert.equal(probe.segment.seq, 1000, probe.text);
    peer.send({ flags: ".", seq: 1, ack: 1001 }); // the probe's ACK
  }
  assert.equal(conn.state, "ESTABLISHED");
  tb.close();
});

/** Sends `size` bytes from the stack, ACKing what arrives, and returns every segment seen. */
function bulk(tcp: Partial<TcpConfig>, synOptions: Record<string, unknown>, size: number) {
  const tb = createTestbed({ tcp });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer, synOptions);
  const data = new Uint8Array(size).fill(7);
  let written = conn.write(data);
  const seen = [];
  let acked = 0;
  for (let i = 0; i < 10_000 && acked < size; i++) {
    const got = peer.take();
    seen.push(...got);
    for (const r of got) {
      acked = Math.max(acked, seqSub(r.segment.seq, seq(1001)) + r.segment.payload.length);
    }
    const ts = tcp.timestamps === false ? {} : { timestamps: { tsVal: i + 1, tsEcr: 0 } };
    peer.send({ flags: ".", seq: 1, ack: 1001 + acked, options: ts });
    if (written < size) written += conn.write(data.subarray(written));
    tb.advance(1);
  }
  assert.equal(acked, size);
  tb.close();
  return seen;
}

Deno.test("Stack keeps every datagram within the 1452-byte UDP payload budget when the peer's MSS is larger", () => {
  const seen = bulk({ ...PLAIN }, { mss: 9000 }, 100_000);
  for (const r of seen) {
    assert.ok(4 + segmentEncodedLength(r.segment) <= 1452, r.text);
    assert.ok(r.segment.payload.length <= 1428, r.text); // 1448 - 20
  }
  assert.ok(seen.some((r) => r.segment.payload.length === 1428));
});

Deno.test("Stack sizes segments to the peer's MSS minus timestamps when the peer's MSS is smaller", () => {
  const seen = bulk({ sack: false }, { mss: 1000, timestamps: { tsVal: 1, tsEcr: 0 } }, 50_000);
  for (const r of seen) assert.ok(r.segment.payload.length <= 988, r.text);
  assert.ok(seen.some((r) => r.segment.payload.length === 988));
});

Deno.test("Stack keeps every datagram within a configured smaller segment budget", () => {
  const seen = bulk({ ...PLAIN, segmentBudget: 600 }, { mss: 9000 }, 20_000);
  for (const r of seen) assert.ok(segmentEncodedLength(r.segment) <= 600, r.text);
  assert.ok(seen.some((r) => r.segment.payload.length === 580));
});

Deno.test("Stack sends RST and reports the reset when the app closes with unread data", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer);
  peer.send({ flags: "P.", seq: 1, ack: 1001, payload: "never read" });
  peer.take();
  conn.close();
  const r = peer.next()!;
  assert.deepEqual([r.segment.flags, r.segment.seq, r.segment.ack], [RST | ACK, 1001, 11], r.text);
  assert.equal(tb.state(peer, 80, 40000), undefined); // no FIN_WAIT, no TIME_WAIT
  assert.match(conn.error?.detail ?? "", /unread data/);
  tb.close();
});

Deno.test("Stack sends RST and skips TIME_WAIT when the app aborts (linger 0)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer);
  conn.abort();
  const r = peer.next()!;
  assert.deepEqual([r.segment.flags, r.segment.seq], [RST | ACK, 1001], r.text);
  assert.equal(tb.state(peer, 80, 40000), undefined);
  assert.equal(tb.nextTimeout(), Infinity);
  tb.close();
});

Deno.test("Stack answers an old duplicate SYN-ACK with RST and completes the real handshake (RFC 9293 figure 9)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  tb.setNextIsn(5000);
  const c = tb.stack.connect(peer.addr, 40000);
  peer.targetPort = c.localPort;
  assert.equal(peer.next()!.segment.seq, 5000);
  // a SYN-ACK of an older incarnation: its ACK is not ISS + 1
  peer.send({ flags: "S.", seq: 90_000, ack: 4000 });
  const rst = peer.next()!;
  assert.deepEqual([rst.segment.flags, rst.segment.seq], [RST, 4000], rst.text);
  assert.equal(c.state, "SYN_SENT");
  assert.equal(c.error, undefined);
  peer.send({ flags: "S.", seq: 300, ack: 5001 });
  const ack = peer.next()!;
  assert.deepEqual([ack.segment.flags, ack.segment.seq, ack.segment.ack], [ACK, 5001, 301]);
  assert.equal(c.state, "ESTABLISHED");
  assert.deepEqual(tb.stateEvents(c).map((e) => e.to), ["SYN_SENT", "ESTABLISHED"]);
  tb.close();
});

Deno.test("Stack reports connection refused when a RST acknowledges its SYN", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  tb.setNextIsn(5000);
  const c = tb.stack.connect(peer.addr, 40000);
  peer.targetPort = c.localPort;
  peer.take();
  peer.send({ flags: "R", seq: 0 }); // no ACK: not acceptable in SYN_SENT
  assert.equal(c.state, "SYN_SENT");
  peer.send({ flags: "R.", seq: 0, ack: 5001 });
  assert.equal(c.state, "CLOSED");
  assert.deepEqual(c.error, { kind: "refused", detail: "connection refused" });
  assert.equal(peer.pending, 0);
  tb.close();
});
