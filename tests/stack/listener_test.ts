import assert from "node:assert/strict";
import { createTestbed, type RawPeer, type Testbed } from "../../src/testing/mod.ts";
import { ACK, RST, SYN } from "../../src/wire/tcp_flags.ts";

function synFrom(tb: Testbed, peer: RawPeer, iss: number): number {
  tb.setNextIsn(iss);
  peer.send({ flags: "S", seq: 0 });
  const r = peer.next();
  return r ? r.segment.flags : 0;
}

Deno.test("StackListener keeps backlog + 1 connections and drops the next handshake's ACK when the accept queue is full", () => {
  const tb = createTestbed({ tcp: { timestamps: false } });
  const l = tb.stack.listen(80, { backlog: 1 });
  const peers = [0, 1, 2].map(() => tb.rawPeer({ tcpPort: 40000, targetPort: 80 }));
  peers.forEach((p, i) => assert.equal(synFrom(tb, p, 1000 * (i + 1)), SYN | ACK));
  peers.forEach((p, i) => p.send({ flags: ".", seq: 1, ack: 1000 * (i + 1) + 1 }));
  assert.equal(l.acceptQueue.length, 2); // backlog + 1, as Linux
  assert.equal(l.counters.listenOverflows, 1);
  assert.equal(tb.state(peers[2], 80, 40000), "SYN_RCVD"); // ACK dropped, handshake pending
  // The SYN-ACK is retransmitted after the initial RTO (1 s).
  tb.advance(1000);
  const re = peers[2].next()!;
  assert.equal(re.segment.flags, SYN | ACK, re.text);
  assert.equal(re.time, 1000);
  // Once the application accepts, the retried ACK completes the handshake.
  assert.ok(l.accept());
  peers[2].send({ flags: ".", seq: 1, ack: 3001 });
  assert.equal(tb.state(peers[2], 80, 40000), "ESTABLISHED");
  assert.equal(l.acceptQueue.length, 2);
  tb.close();
});

Deno.test("StackListener drops new SYNs silently when the accept queue is full", () => {
  const tb = createTestbed();
  const l = tb.stack.listen(80, { backlog: 0 });
  const a = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  assert.equal(synFrom(tb, a, 1000), SYN | ACK);
  a.send({ flags: ".", seq: 1, ack: 1001 });
  assert.equal(l.acceptQueue.length, 1);
  const b = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  b.send({ flags: "S", seq: 0 });
  assert.equal(b.pending, 0); // no SYN-ACK, no RST: the client will retry
  assert.equal(l.counters.listenDrops, 1);
  tb.close();
});

Deno.test("StackListener drops SYNs beyond the SYN-queue bound (SYN cookies off)", () => {
  const tb = createTestbed({ stack: { synQueueLimit: 2, synCookies: 0 } });
  const l = tb.stack.listen(80, { backlog: 100 });
  const peers = [0, 1, 2].map(() => tb.rawPeer({ tcpPort: 40000, targetPort: 80 }));
  for (const p of peers) p.send({ flags: "S", seq: 0 });
  assert.equal(peers[0].pending, 1);
  assert.equal(peers[1].pending, 1);
  assert.equal(peers[2].pending, 0);
  assert.equal(l.synQueue.size, 2);
  assert.equal(l.counters.synQueueDrops, 1);
  assert.equal(tb.state(peers[2], 80, 40000), undefined); // no state kept for the dropped SYN
  // once a handshake completes, a slot frees and the client's retransmitted SYN gets in
  const synAck = peers[0].next()!.segment;
  peers[0].send({ flags: ".", seq: 1, ack: synAck.seq + 1 });
  assert.equal(l.synQueue.size, 1);
  assert.equal(l.acceptQueue.length, 1);
  peers[2].send({ flags: "S", seq: 0 });
  assert.equal(peers[2].next()!.segment.flags, SYN | ACK);
  assert.equal(l.synQueue.size, 2);
  tb.close();
});

Deno.test("StackListener resets with abortOnOverflow when the accept queue is full", () => {
  const tb = createTestbed({ stack: { abortOnOverflow: true } });
  tb.stack.listen(80, { backlog: 0 });
  const a = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  const b = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  synFrom(tb, a, 1000);
  synFrom(tb, b, 2000);
  a.send({ flags: ".", seq: 1, ack: 1001 });
  b.send({ flags: ".", seq: 1, ack: 2001 });
  const r = b.next()!;
  assert.ok(r.segment.flags & RST, r.text);
  assert.equal(tb.state(b, 80, 40000), undefined);
  tb.close();
});

Deno.test("StackListener close drops SYN_RCVD connections silently and resets established unaccepted ones (RFC 9293 §3.10.7.1, as Linux)", () => {
  const tb = createTestbed({ tcp: { timestamps: false } });
  const l = tb.stack.listen(80);
  const embryo = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  const done = tb.rawPeer({ tcpPort: 40001, targetPort: 80 });
  assert.equal(synFrom(tb, embryo, 1000), SYN | ACK);
  assert.equal(synFrom(tb, done, 5000), SYN | ACK);
  done.send({ flags: ".", seq: 1, ack: 5001 });
  const c = tb.connection(embryo, 80, 40000)!;
  assert.equal(c.state, "SYN_RCVD");
  l.close();
  assert.equal(embryo.pending, 0); // no RST for the half-open connection
  const rst = done.next()!;
  assert.deepEqual([rst.segment.flags & RST, rst.segment.seq], [RST, 5001], rst.text);
  assert.equal(tb.state(embryo, 80, 40000), undefined);
  assert.equal(c.state, "CLOSED");
  assert.equal(c.error, undefined);
  assert.deepEqual(tb.stateEvents(c).map((e) => e.to), ["SYN_RCVD", "CLOSED"]);
  tb.advance(10_000); // no SYN-ACK retransmission either
  assert.equal(embryo.pending, 0);
  // the peer's handshake ACK now reaches no connection: <SEQ=SEG.ACK><CTL=RST>
  embryo.send({ flags: ".", seq: 1, ack: 1001 });
  const r = embryo.next()!;
  assert.deepEqual([r.segment.flags, r.segment.seq], [RST, 1001], r.text);
  tb.close();
});

Deno.test("StackListener close resets connections never accepted", () => {
  const tb = createTestbed();
  const l = tb.stack.listen(80);
  const a = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  synFrom(tb, a, 1000);
  a.send({ flags: ".", seq: 1, ack: 1001 });
  l.close();
  tb.advance(0);
  const r = a.next()!;
  assert.ok(r.segment.flags & RST, r.text);
  assert.deepEqual(tb.stack.listeners(), []);
  tb.close();
});

Deno.test("Stack.listen rejects a port that already has a listener", () => {
  const tb = createTestbed();
  tb.stack.listen(80);
  assert.throws(() => tb.stack.listen(80), (e: Error) => e.name === "AddrInUse");
  assert.throws(() => tb.stack.listen(0), RangeError);
  tb.close();
});
