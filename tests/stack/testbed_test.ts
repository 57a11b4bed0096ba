/**
 * The public test seam (`@tou/tou/testing`): everything a packetdrill-like
 * script needs, shown against the stack under test.
 */
import assert from "node:assert/strict";
import { createTestbed, type RawPeer, type Testbed } from "../../src/testing/mod.ts";
import { ACK, FIN, PSH, RST, SYN } from "../../src/wire/tcp_flags.ts";

const PLAIN = { timestamps: false, windowScaling: false, sack: false };
const dec = new TextDecoder();

/** Handshake from `peer` (ISN 0) to port 80 of the stack (ISN `iss`); returns the accepted connection. */
function open(tb: Testbed, peer: RawPeer, iss = 1000) {
  const l = tb.stack.listeners().find((x) => x.port === 80) ?? tb.stack.listen(80);
  tb.setNextIsn(iss);
  peer.send({ flags: "S", seq: 0, options: { mss: 1400 } });
  assert.equal(peer.next()!.segment.flags, SYN | ACK);
  peer.send({ flags: ".", seq: 1, ack: iss + 1 });
  return l.accept()!;
}

Deno.test("Testbed.setNextIsn fixes the ISN of an active open's SYN and of a passive open's SYN-ACK", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  tb.setNextIsn(7777);
  const c = tb.stack.connect(peer.addr, 40000);
  peer.targetPort = c.localPort;
  const syn = peer.next()!;
  assert.equal(syn.segment.flags, SYN, syn.text);
  assert.equal(syn.segment.seq, 7777);
  peer.send({ flags: "S.", seq: 500, ack: 7778 });
  const ack = peer.next()!;
  assert.deepEqual([ack.segment.flags, ack.segment.seq, ack.segment.ack], [ACK, 7778, 501]);
  assert.equal(c.state, "ESTABLISHED");
  // one-shot, and the same for a passive open
  const other = tb.rawPeer({ tcpPort: 40001, targetPort: 80 });
  const conn = open(tb, other, 0xffff_fff0);
  assert.equal(conn.tcp.iss, 0xffff_fff0);
  tb.close();
});

Deno.test("RawPeer.send delivers several segments at one instant when given a batch", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer);
  tb.advance(5);
  peer.send([
    { flags: "P.", seq: 11, ack: 1001, payload: "abcdefghij" },
    { flags: "P.", seq: 21, ack: 1001, payload: "KLMNOPQRST" },
    { flags: "P.", seq: 1, ack: 1001, payload: "0123456789" },
  ]);
  const got = peer.take();
  // two immediate duplicate ACKs for the out-of-order segments, then the gap-filling ACK
  assert.deepEqual(got.map((r) => [r.segment.flags, r.segment.ack]), [[ACK, 1], [ACK, 1], [
    ACK,
    31,
  ]]);
  assert.deepEqual(got.map((r) => [r.time, r.sentAt]), [[5, 5], [5, 5], [5, 5]]);
  assert.equal(dec.decode(tb.app(conn).data), "0123456789abcdefghijKLMNOPQRST");
  tb.close();
});

Deno.test("RawPeer stamps each received segment with its virtual send time when the link delays and duplicates it", () => {
  const tb = createTestbed({ tcp: PLAIN, link: { delay: 30 } });
  tb.stack.listen(80);
  const peer = tb.rawPeer({ targetPort: 80 });
  tb.network.setLink("127.0.0.1", peer.addr.hostname, { delay: 30, duplicate: 1 });
  peer.send({ flags: "S", seq: 0 });
  tb.advance(100);
  const first = peer.take();
  assert.equal(first.length, 2); // the SYN-ACK and its duplicate
  for (const r of first) {
    assert.equal(r.segment.flags, SYN | ACK, r.text);
    assert.deepEqual([r.sentAt, r.time], [30, 60]);
  }
  tb.advance(1000); // no third ACK: the SYN-ACK is retransmitted after the 1 s RTO
  const again = peer.take();
  assert.ok(again.length >= 1);
  assert.deepEqual([again[0].sentAt, again[0].time], [1030, 1060]);
  tb.close();
});

Deno.test("Testbed.connection reads embryonic, established and orphaned connections by their 4-tuple", () => {
  const tb = createTestbed({ tcp: { ...PLAIN, msl: 1000 } });
  const l = tb.stack.listen(80);
  const peer = tb.rawPeer({ targetPort: 80 });
  tb.setNextIsn(1000);
  peer.send({ flags: "S", seq: 0 });
  peer.take();
  // embryonic: in the SYN queue, not yet acceptable
  const c = tb.connection(peer, 80, 40000)!;
  assert.equal(c.state, "SYN_RCVD");
  assert.ok(c.embryonic && l.synQueue.has(c));
  assert.equal(l.accept(), undefined);
  peer.send({ flags: ".", seq: 1, ack: 1001 });
  assert.equal(l.accept(), c);
  // the application closes: the connection lives on, orphaned
  c.close();
  assert.equal(peer.next()!.segment.flags, FIN | ACK);
  assert.equal(tb.state(peer, 80, 40000), "FIN_WAIT_1");
  peer.send({ flags: ".", seq: 1, ack: 1002 });
  assert.equal(tb.state(peer, 80, 40000), "FIN_WAIT_2");
  assert.equal(tb.connection(peer, 80, 40000)?.tcp.orphaned, true);
  peer.send({ flags: "F.", seq: 1, ack: 1002 });
  assert.equal(peer.next()!.segment.ack, 2);
  assert.equal(tb.state(peer, 80, 40000), "TIME_WAIT");
  assert.equal(tb.nextTimeout(), 2000);
  tb.advance(2000);
  assert.equal(tb.state(peer, 80, 40000), undefined); // CLOSED and gone
  assert.deepEqual(tb.stateEvents(c).map((e) => `${e.from}→${e.to}: ${e.cause}`), [
    "LISTEN→SYN_RCVD: SYN received",
    "SYN_RCVD→ESTABLISHED: ACK of SYN-ACK received",
    "ESTABLISHED→FIN_WAIT_1: close()",
    "FIN_WAIT_1→FIN_WAIT_2: ACK of FIN received",
    "FIN_WAIT_2→TIME_WAIT: FIN received",
    "TIME_WAIT→CLOSED: 2MSL timeout",
  ]);
  tb.close();
});

Deno.test("Testbed.nextTimeout follows an orphaned FIN_WAIT_2 until its timeout releases it", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const c = open(tb, peer);
  assert.equal(tb.nextTimeout(), Infinity);
  c.close();
  peer.take();
  peer.send({ flags: ".", seq: 1, ack: 1002 });
  assert.equal(tb.state(peer, 80, 40000), "FIN_WAIT_2");
  assert.equal(tb.nextTimeout(), 60_000); // tcp_fin_timeout default
  tb.advance(59_999);
  assert.equal(tb.state(peer, 80, 40000), "FIN_WAIT_2");
  tb.advance(1);
  assert.equal(tb.state(peer, 80, 40000), undefined);
  assert.equal(tb.stateEvents(c).at(-1)?.cause, "FIN_WAIT_2 timeout");
  // a late FIN now finds no socket and is answered with RST
  peer.send({ flags: "F.", seq: 1, ack: 1002 });
  assert.equal(peer.next()!.segment.flags, RST);
  tb.close();
});

Deno.test("Testbed.app shows data, EOF and errors without blocking", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const a = tb.rawPeer({ targetPort: 80 });
  const ca = open(tb, a);
  assert.deepEqual(tb.app(ca), { data: new Uint8Array(0), eof: false, error: undefined });
  a.send({ flags: "P.", seq: 1, ack: 1001, payload: "hello" });
  assert.equal(dec.decode(tb.app(ca).data), "hello");
  a.send({ flags: "F.", seq: 6, ack: 1001 });
  const view = tb.app(ca);
  assert.deepEqual([dec.decode(view.data), view.eof, view.error], ["hello", true, undefined]);
  const b = tb.rawPeer({ targetPort: 80 });
  const cb = open(tb, b, 5000);
  b.send({ flags: "R", seq: 1 });
  assert.deepEqual(tb.app(cb), {
    data: new Uint8Array(0),
    eof: true,
    error: "reset: connection reset by peer",
  });
  tb.close();
});

Deno.test("Testbed.counters counts datagrams, segments, opens and RSTs of the stack under test", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  open(tb, peer);
  assert.deepEqual(
    [tb.counters.datagramsIn, tb.counters.segmentsIn, tb.counters.segmentsOut],
    [2, 2, 1],
  );
  assert.equal(tb.counters.passiveOpens, 1);
  const stray = tb.rawPeer({ targetPort: 81 });
  stray.send({ flags: "S", seq: 9 });
  assert.equal(stray.next()!.segment.flags, RST | ACK);
  assert.deepEqual([tb.counters.noSocket, tb.counters.rstsForNoSocket], [1, 1]);
  stray.sendRaw(new Uint8Array([1]));
  assert.equal(tb.counters.badEnvelopes, 1);
  const l = tb.stack.listeners()[0];
  assert.deepEqual(l.counters, {
    synQueueDrops: 0,
    listenDrops: 0,
    listenOverflows: 0,
    accepted: 1,
    synCookiesSent: 0,
    synCookiesRecv: 0,
    synCookiesFailed: 0,
    fastOpenListenOverflow: 0,
  });
  tb.close();
});

Deno.test("Testbed.stateEvents reports CLOSED → LISTEN and LISTEN → CLOSED for a listener", () => {
  const tb = createTestbed();
  const l = tb.stack.listen(80);
  assert.equal(l.state, "LISTEN");
  l.close();
  assert.equal(l.state, "CLOSED");
  assert.deepEqual(tb.stateEvents(l), [
    { type: "state", from: "CLOSED", to: "LISTEN", cause: "listen()" },
    { type: "state", from: "LISTEN", to: "CLOSED", cause: "close()" },
  ]);
  tb.close();
});

Deno.test("Stack deletes an embryonic connection and keeps listening when a RST arrives in SYN_RCVD", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const l = tb.stack.listen(80);
  const peer = tb.rawPeer({ targetPort: 80 });
  tb.setNextIsn(1000);
  peer.send({ flags: "S", seq: 0 });
  peer.take();
  const c = tb.connection(peer, 80, 40000)!;
  peer.send({ flags: "R", seq: 1 });
  assert.equal(tb.state(peer, 80, 40000), undefined);
  assert.equal(l.synQueue.size, 0);
  assert.equal(c.error, undefined); // "the user need not be informed"
  assert.deepEqual(tb.stateEvents(c).map((e) => `${e.from}→${e.to}`), [
    "LISTEN→SYN_RCVD",
    "SYN_RCVD→LISTEN",
    "LISTEN→CLOSED",
  ]);
  assert.equal(peer.pending, 0);
  // the listener still answers a new SYN from the same 4-tuple
  peer.send({ flags: "S", seq: 100 });
  const r = peer.next()!;
  assert.equal(r.segment.flags, SYN | ACK, r.text);
  assert.equal(r.segment.ack, 101);
  tb.close();
});

Deno.test("Testbed forwards to its tracer every segment and event it records", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const seen: string[] = [];
  tb.tracer = {
    onSegment: (_t, dir, _p, seg) => seen.push(`${dir} ${seg.flags & PSH ? "P" : ""}`),
    onEvent: (_t, _c, ev) => seen.push(ev.type),
  };
  const peer = tb.rawPeer({ targetPort: 80 });
  open(tb, peer);
  assert.ok(seen.includes("in ") && seen.includes("out ") && seen.includes("connected"));
  tb.close();
});
