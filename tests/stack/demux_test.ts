import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import { ACK, RST } from "../../src/wire/tcp_flags.ts";

Deno.test("Stack answers RST+ACK when a SYN reaches a port with no listener", () => {
  const tb = createTestbed();
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 81 });
  peer.send({ flags: "S", seq: 100 });
  const r = peer.next()!;
  assert.equal(r.segment.flags, RST | ACK, r.text);
  assert.equal(r.segment.seq, 0);
  assert.equal(r.segment.ack, 101); // SEG.SEQ + SEG.LEN (SYN counts 1)
  assert.equal(tb.stack.counters.rstsForNoSocket, 1);
  tb.close();
});

Deno.test("Stack answers RST with seq = SEG.ACK when an ACK segment matches no socket", () => {
  const tb = createTestbed();
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 81 });
  peer.send({ flags: "P.", seq: 5, ack: 777, payload: "abc" });
  const r = peer.next()!;
  assert.equal(r.segment.flags, RST, r.text);
  assert.equal(r.segment.seq, 777);
  tb.close();
});

Deno.test("Stack never answers a RST with a RST when no socket matches", () => {
  const tb = createTestbed();
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 81 });
  peer.send({ flags: "R", seq: 5 });
  peer.send({ flags: "R.", seq: 5, ack: 9 });
  tb.advance(10_000);
  assert.equal(peer.pending, 0);
  assert.equal(tb.stack.counters.noSocket, 2);
  assert.equal(tb.stack.counters.rstsForNoSocket, 0);
  tb.close();
});

Deno.test("Stack answers a listener's port with RST when a bare ACK arrives (RFC 9293 §3.10.7.2)", () => {
  const tb = createTestbed();
  tb.stack.listen(80);
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  peer.send({ flags: ".", seq: 1, ack: 4242 });
  const r = peer.next()!;
  assert.equal(r.segment.flags, RST, r.text);
  assert.equal(r.segment.seq, 4242);
  tb.close();
});

Deno.test("Stack counts and drops datagrams that are not tou segments", () => {
  const tb = createTestbed();
  tb.stack.listen(80);
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  peer.sendRaw(new Uint8Array([0xff, 0, 0]));
  peer.sendRaw(new Uint8Array([0, 6, 0, 0, 1, 2, 3]));
  assert.equal(tb.stack.counters.badEnvelopes, 1);
  assert.equal(tb.stack.counters.badSegments, 1);
  assert.equal(peer.pending, 0);
  tb.close();
});

Deno.test("Stack demultiplexes two peers using the same TCP ports by their UDP address", () => {
  const tb = createTestbed();
  const l = tb.stack.listen(80);
  const a = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  const b = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  tb.setNextIsn(1000);
  a.send({ flags: "S", seq: 0 });
  tb.setNextIsn(5000);
  b.send({ flags: "S", seq: 0 });
  assert.equal(a.next()!.segment.seq, 1000);
  assert.equal(b.next()!.segment.seq, 5000);
  a.send({ flags: ".", seq: 1, ack: 1001 });
  b.send({ flags: ".", seq: 1, ack: 5001 });
  a.send({ flags: "P.", seq: 1, ack: 1001, payload: "from a" });
  b.send({ flags: "P.", seq: 1, ack: 5001, payload: "from b" });
  const ca = l.accept()!, cb = l.accept()!;
  const dec = new TextDecoder();
  assert.equal(dec.decode(tb.app(ca).data), "from a");
  assert.equal(dec.decode(tb.app(cb).data), "from b");
  assert.equal(tb.state(a, 80, 40000), "ESTABLISHED");
  tb.close();
});

Deno.test("Stack demultiplexes interleaved segments of peers on one host by UDP port and TCP ports", () => {
  const tb = createTestbed();
  const l = tb.stack.listen(80);
  // One hostname: the UDP port tells the first two apart, the TCP source port the last two.
  const a = tb.rawPeer({ hostname: "127.0.0.9", port: 5000, tcpPort: 40000, targetPort: 80 });
  const b = tb.rawPeer({ hostname: "127.0.0.9", port: 5001, tcpPort: 40000, targetPort: 80 });
  const flows = [
    { p: a, srcPort: 40000 },
    { p: b, srcPort: 40000 },
    { p: a, srcPort: 40001 },
  ];
  flows.forEach(({ p, srcPort }, i) => {
    tb.setNextIsn(1000 * (i + 1));
    p.send({ flags: "S", seq: 0, srcPort });
    assert.equal(p.next()!.segment.seq, 1000 * (i + 1));
    p.send({ flags: ".", seq: 1, ack: 1000 * (i + 1) + 1, srcPort });
  });
  const conns = flows.map(() => l.accept()!);
  // Alternate between the flows so that no datagram finds the previous one's connection.
  for (let k = 0; k < 3; k++) {
    flows.forEach(({ p, srcPort }, i) => {
      p.send({ flags: "P.", seq: 1 + k, ack: 1000 * (i + 1) + 1, payload: String(i), srcPort });
    });
  }
  const dec = new TextDecoder();
  assert.deepEqual(conns.map((c) => dec.decode(tb.app(c).data)), ["000", "111", "222"]);
  assert.equal(tb.stack.find({ hostname: "127.0.0.9", port: 5001 }, 80, 40000), conns[1]);
  assert.equal(tb.stack.find({ hostname: "127.0.0.9", port: 5000 }, 80, 40001), conns[2]);
  assert.equal(tb.stack.find({ hostname: "127.0.0.9", port: 5001 }, 80, 40001), undefined);
  tb.close();
});

Deno.test("Stack forgets a released connection: a new one on the same 4-tuple gets the next segments", () => {
  const tb = createTestbed();
  const l = tb.stack.listen(80);
  const p = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  tb.setNextIsn(1000);
  p.send({ flags: "S", seq: 0 });
  p.next();
  p.send({ flags: ".", seq: 1, ack: 1001 });
  const first = l.accept()!;
  p.send({ flags: "P.", seq: 1, ack: 1001, payload: "a" });
  p.send({ flags: "R", seq: 2 }); // the connection is gone
  assert.equal(first.state, "CLOSED");
  p.take();
  tb.setNextIsn(9000);
  p.send({ flags: "S", seq: 50_000 });
  assert.equal(p.next()!.segment.seq, 9000);
  p.send({ flags: ".", seq: 50_001, ack: 9001 });
  const second = l.accept()!;
  assert.notEqual(second, first);
  p.send({ flags: "P.", seq: 50_001, ack: 9001, payload: "b" });
  assert.equal(new TextDecoder().decode(tb.app(second).data), "b");
  tb.close();
});

Deno.test("Stack gives the passive connections of one peer one remote address object (the socket's address cache serves them all)", () => {
  const tb = createTestbed();
  tb.stack.listen(80);
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  peer.send({ flags: "S", seq: 100 });
  peer.tcpPort = 40001;
  peer.send({ flags: "S", seq: 200 });
  const other = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  other.send({ flags: "S", seq: 300 });
  const [a, b, c] = tb.stack.connections();
  assert.deepEqual([a.remotePort, b.remotePort, c.remotePort], [40000, 40001, 40000]);
  assert.equal(a.remote, b.remote);
  assert.notEqual(a.remote, c.remote);
  assert.notEqual(a.remote.hostname, c.remote.hostname);
  tb.close();
});
