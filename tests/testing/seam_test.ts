/**
 * The test seam's newer parts (issue 8): receive batches on virtual time,
 * ISNs bound to a 4-tuple or queued, connections with TouConn's typed
 * errors, tunables of a live testbed, undecodable datagrams reported.
 */
import assert from "node:assert/strict";
import {
  ClosedError,
  ConnectionAbortedError,
  ConnectionRefusedError,
  ConnectionResetError,
  TimedOutError,
} from "../../src/net/errors.ts";
import { createTestbed, type RawPeer, type Testbed } from "../../src/testing/mod.ts";
import { ACK, FIN, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { ConnectionRefusedError as UdpRefused } from "../../src/udp/errors.ts";

const PLAIN = { timestamps: false, windowScaling: false, sack: false };

/** Handshake from `peer` (ISN 0) to port 80 of the stack (ISN `iss`); returns the accepted connection. */
function open(tb: Testbed, peer: RawPeer, iss = 1000) {
  const l = tb.stack.listeners().find((x) => x.port === 80) ?? tb.stack.listen(80);
  tb.setNextIsn(iss);
  peer.send({ flags: "S", seq: 0, options: { mss: 1400 } });
  assert.equal(peer.next()!.segment.flags, SYN | ACK);
  peer.send({ flags: ".", seq: 1, ack: iss + 1 });
  return l.accept()!;
}

const full = (seq: number) => ({ flags: ".", seq, ack: 1001, payload: new Uint8Array(1400) });

Deno.test("Testbed with batch answers in-order segments arriving together with one cumulative ACK at the end of the batch", () => {
  const tb = createTestbed({ tcp: PLAIN, batch: true });
  const peer = tb.rawPeer({ targetPort: 80 });
  open(tb, peer);
  peer.send([full(1), full(1401), full(2801)]);
  const acks = peer.take();
  assert.deepEqual(acks.map((r) => [r.segment.ack, r.time]), [[4201, 0]]);
  assert.equal(tb.nextTimeout(), Infinity); // no delayed ACK left behind
  tb.close();
});

Deno.test("Testbed without batch drains after every datagram (an ACK per two segments, then a delayed one)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  open(tb, peer);
  peer.send([full(1), full(1401), full(2801)]);
  assert.deepEqual(peer.take().map((r) => r.segment.ack), [2801]);
  tb.advance(40);
  assert.deepEqual(peer.take().map((r) => [r.segment.ack, r.time]), [[4201, 40]]);
  tb.close();
});

Deno.test("Testbed with batch sends an urgent ACK at once within a batch (out-of-order data, RFC 5681 §4.2)", () => {
  const tb = createTestbed({ tcp: PLAIN, batch: true });
  const peer = tb.rawPeer({ targetPort: 80 });
  open(tb, peer);
  peer.send([full(1401), full(1), full(2801)]);
  // the hole draws a duplicate ACK at once, so does its filler; the last in-order
  // segment alone waits for the delayed-ACK timer, not for the end of the batch
  assert.deepEqual(peer.take().map((r) => r.segment.ack), [1, 2801]);
  tb.advance(40);
  assert.deepEqual(peer.take().map((r) => [r.segment.ack, r.time]), [[4201, 40]]);
  tb.close();
});

Deno.test("Testbed.setNextIsn binds an ISN to a 4-tuple, whatever the order connections come in", () => {
  const tb = createTestbed({ tcp: PLAIN });
  tb.stack.listen(80);
  const a = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  const b = tb.rawPeer({ tcpPort: 40001, targetPort: 80 });
  tb.setNextIsn(5000, { peer: b, localPort: 80, remotePort: 40001 });
  tb.setNextIsn(7000, { peer: a, localPort: 80, remotePort: 40000 });
  a.send({ flags: "S", seq: 0 });
  b.send({ flags: "S", seq: 0 });
  assert.equal(a.next()!.segment.seq, 7000);
  assert.equal(b.next()!.segment.seq, 5000);
  // one-shot per tuple: a new incarnation on a's tuple gets a generated ISN
  a.send({ flags: "R", seq: 1 });
  a.send({ flags: "S", seq: 0 });
  assert.notEqual(a.next()!.segment.seq, 7000);
  tb.close();
});

Deno.test("Testbed.setNextIsn queues ISNs for the next connections in order, and a tuple binding wins over the queue", () => {
  const tb = createTestbed({ tcp: PLAIN });
  tb.stack.listen(80);
  const peers = [40000, 40001, 40002, 40003].map((p) => tb.rawPeer({ tcpPort: p, targetPort: 80 }));
  tb.setNextIsn([100, 200]);
  tb.setNextIsn(900, { peer: peers[1], localPort: 80, remotePort: 40001 });
  const isns = peers.map((p) => {
    p.send({ flags: "S", seq: 0 });
    return p.next()!.segment.seq;
  });
  assert.deepEqual(isns.slice(0, 3), [100, 900, 200]);
  assert.ok(![100, 200, 900].includes(isns[3])); // the queue is used up: generated again
  tb.close();
});

Deno.test("TestConn throws ConnectionResetError after the peer's RST, and reads buffered bytes first", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = tb.conn(open(tb, peer));
  peer.send({ flags: "P.", seq: 1, ack: 1001, payload: "hi" });
  peer.send({ flags: "R", seq: 3 });
  assert.equal(new TextDecoder().decode(conn.read()!), "hi");
  assert.throws(() => conn.read(), ConnectionResetError);
  assert.throws(() => conn.write("x"), (e) => e instanceof ConnectionResetError);
  assert.throws(() => conn.closeWrite(), ConnectionResetError);
  assert.match(conn.error!.message, /^Connection to 127\.0\.0\.2:7000 tcp 40000 reset by peer$/);
  conn.close(); // never throws
  tb.close();
});

Deno.test("TestConn throws ConnectionRefusedError when the SYN is answered with RST", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  tb.setNextIsn(1000);
  const conn = tb.conn(tb.stack.connect(peer.addr, 40000));
  peer.targetPort = conn.sc.localPort;
  assert.equal(peer.next()!.segment.flags, SYN);
  peer.send({ flags: "R.", seq: 0, ack: 1001 });
  assert.equal(conn.state, "CLOSED");
  assert.throws(() => conn.write("x"), ConnectionRefusedError);
  assert.ok(conn.error instanceof UdpRefused); // the same class TouConn uses
  assert.match(conn.error!.message, /^Cannot connect to 127\.0\.0\.2:7000 tcp 40000: /);
  tb.close();
});

Deno.test("TestConn throws TimedOutError after the retransmissions give up", () => {
  const tb = createTestbed({ tcp: { ...PLAIN, retries: 2 } });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = tb.conn(open(tb, peer));
  conn.write("lost");
  tb.advance(60_000);
  assert.equal(conn.state, "CLOSED");
  assert.throws(() => conn.write("x"), TimedOutError);
  assert.match(conn.error!.message, /timed out after 2 retransmissions/);
  tb.close();
});

Deno.test("TestConn reports ConnectionAbortedError after abort(), and throws it when aborted under the application", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = tb.conn(open(tb, peer));
  conn.abort();
  assert.equal(peer.next()!.segment.flags & RST, RST);
  assert.ok(conn.error instanceof ConnectionAbortedError);
  assert.throws(() => conn.write("x"), ClosedError); // the app closed it, as TouConn
  // aborted under the application (the stack's handle, as an endpoint's abort does)
  const other = tb.rawPeer({ tcpPort: 40001, targetPort: 80 });
  const held = tb.conn(open(tb, other));
  held.sc.abort();
  assert.equal(other.next()!.segment.flags & RST, RST);
  assert.throws(() => held.write("x"), ConnectionAbortedError);
  assert.throws(() => held.read(), ConnectionAbortedError);
  tb.close();
});

Deno.test("Testbed.reconfigure changes TCP tunables of a live stack for the connections opened afterwards", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  const before = tb.stack.connect(peer.addr, 40000);
  tb.reconfigure({ tcp: { rtoInitial: 1500, rfc1337: false, rtoFallback: 5000 } });
  assert.deepEqual(
    [tb.stack.config.rtoInitial, tb.stack.config.rfc1337, tb.stack.config.rtoFallback],
    [1500, false, 5000],
  );
  const after = tb.stack.connect(peer.addr, 40001);
  peer.take();
  // the first connection keeps its 1 s initial RTO, the second uses 1.5 s
  tb.advance(1500);
  assert.deepEqual(peer.take().map((r) => [r.segment.srcPort, r.time]), [
    [before.localPort, 1000],
    [after.localPort, 1500],
  ]);
  tb.close();
});

Deno.test("RawPeer.undecodable reports each datagram it could not decode with its time, bytes and reason", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer();
  const other = tb.network.bind({ hostname: "127.0.0.9", port: 7000 });
  tb.advance(5);
  other.send(new Uint8Array([1, 2, 3]), peer.addr);
  tb.advance(0);
  assert.equal(peer.malformed, 1);
  assert.equal(peer.undecodable.length, 1);
  const u = peer.undecodable[0];
  assert.deepEqual([u.time, u.sentAt, [...u.bytes]], [5, 5, [1, 2, 3]]);
  assert.match(u.reason, /^envelope: /);
  tb.close();
});

Deno.test("RawPeer.undecodable reports the stack's own datagrams a corrupting link damaged, with send and arrival time, bytes and reason", () => {
  const tb = createTestbed({ tcp: PLAIN, link: { delay: 10, corrupt: 1 } });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  tb.stack.connect(peer.addr, 40000); // SYN at 0, resent at 1000; every copy has one bit flipped
  tb.advance(1010);
  assert.equal(peer.pending, 0);
  assert.deepEqual(peer.undecodable.map((u) => [u.sentAt, u.time, u.bytes.length]), [
    [0, 10, 4 + 20 + 4], // envelope, TCP header, MSS option
    [1000, 1010, 28],
  ]);
  for (const u of peer.undecodable) assert.match(u.reason, /^(envelope|segment): /);
  tb.close();
});

Deno.test("TestConn throws ClosedError on write after close(), as TouConn does", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = tb.conn(open(tb, peer));
  conn.close();
  assert.equal(peer.next()!.segment.flags, FIN | ACK);
  assert.throws(() => conn.write("x"), ClosedError);
  assert.throws(() => conn.read(), ClosedError);
  tb.close();
});
