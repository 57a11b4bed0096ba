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
