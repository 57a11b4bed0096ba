/**
 * The stack's choice of ISNs (RFC 6528) and local ports, and its TIME_WAIT
 * rules for ports and 4-tuples.
 */
import assert from "node:assert/strict";
import { generateIsn } from "../../src/tcp/isn.ts";
import { createTestbed, type RawPeer, type Testbed } from "../../src/testing/mod.ts";
import { seqSub } from "../../src/wire/seq.ts";
import { ACK, FIN, SYN } from "../../src/wire/tcp_flags.ts";

const PLAIN = { timestamps: false, windowScaling: false, sack: false };
const SECRET = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);

/** The tuple the stack hashes: UDP address text and TCP port on each side. */
const tuple = (localPort: number, peer: RawPeer, remotePort: number) => ({
  localAddr: "127.0.0.1|7000",
  localPort,
  remoteAddr: `${peer.addr.hostname}|${peer.addr.port}`,
  remotePort,
});

Deno.test("Stack chooses RFC 6528 ISNs from its secret, the 4-tuple and a 4 µs clock", () => {
  const tb = createTestbed({ tcp: PLAIN, stack: { isnSecret: SECRET } });
  tb.stack.listen(80);
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  peer.send({ flags: "S", seq: 0 });
  const first = peer.next()!.segment.seq;
  assert.equal(first, generateIsn(SECRET, tuple(80, peer, 40000), 0));
  peer.send({ flags: "R", seq: 1 }); // the embryonic connection goes away
  tb.advance(10);
  peer.send({ flags: "S", seq: 0 });
  const second = peer.next()!.segment.seq;
  assert.equal(seqSub(second, first), 2500); // 10 ms = 2500 ticks of 4 µs
  // an active open hashes its own tuple
  tb.advance(3);
  const c = tb.stack.connect(peer.addr, 40001, { localPort: 5555 });
  const syn = peer.next()!.segment;
  assert.equal(syn.seq, generateIsn(SECRET, tuple(5555, peer, 40001), 13));
  assert.equal(c.tcp.iss, syn.seq);
  tb.close();
  // another secret (another stack) gives another ISN for the same tuple and time
  const tb2 = createTestbed({ tcp: PLAIN, stack: { isnSecret: SECRET.map((b) => b ^ 1) } });
  tb2.stack.listen(80);
  const peer2 = tb2.rawPeer({ tcpPort: 40000, targetPort: 80 });
  peer2.send({ flags: "S", seq: 0 });
  assert.notEqual(peer2.next()!.segment.seq, first);
  tb2.close();
});

Deno.test("Stack draws a random per-stack ISN secret when none is given", () => {
  const isnOf = (seed: number) => {
    const tb = createTestbed({ seed, tcp: PLAIN });
    tb.stack.listen(80);
    const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
    peer.send({ flags: "S", seq: 0 });
    const isn = peer.next()!.segment.seq;
    tb.close();
    return isn;
  };
  assert.equal(isnOf(1), isnOf(1)); // deterministic per seed in the simulator
  assert.notEqual(isnOf(1), isnOf(2));
});

Deno.test("Stack picks ephemeral ports in 32768–60999 by default and fails when the configured range is used up", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  const ports = new Set<number>();
  for (let i = 0; i < 100; i++) ports.add(tb.stack.connect(peer.addr, 40000).localPort);
  assert.equal(ports.size, 100);
  for (const p of ports) assert.ok(p >= 32768 && p <= 60999, `port ${p}`);
  tb.close();

  const small = createTestbed({ tcp: PLAIN, stack: { ephemeralPortRange: [50000, 50001] } });
  const p2 = small.rawPeer({ tcpPort: 40000 });
  const a = small.stack.connect(p2.addr, 40000).localPort;
  const b = small.stack.connect(p2.addr, 40000).localPort;
  assert.deepEqual([a, b].sort(), [50000, 50001]);
  assert.throws(
    () => small.stack.connect(p2.addr, 40000),
    (e: Error) => e.name === "AddrInUse" && /no free ephemeral port in 50000–50001/.test(e.message),
  );
  // another remote port makes other 4-tuples: the range is per destination
  assert.ok([50000, 50001].includes(small.stack.connect(p2.addr, 40001).localPort));
  small.close();
});

/** Puts the stack's side of a connection from `peer` on port 80 into TIME_WAIT (the stack closes first). */
function timeWait(tb: Testbed, peer: RawPeer): void {
  const l = tb.stack.listeners().find((x) => x.port === 80) ?? tb.stack.listen(80);
  tb.setNextIsn(1000);
  peer.send({ flags: "S", seq: 0 });
  peer.send({ flags: ".", seq: 1, ack: 1001 });
  const c = l.accept()!;
  c.close();
  peer.send({ flags: "F.", seq: 1, ack: 1002 });
  assert.equal(c.state, "TIME_WAIT");
  peer.take();
}

Deno.test("Stack refuses a local port in TIME_WAIT for connect() unless reuseAddress is set", () => {
  const tb = createTestbed({ tcp: { ...PLAIN, msl: 1000 } });
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  timeWait(tb, peer);
  tb.stack.listeners()[0].close();
  const other = tb.rawPeer({ tcpPort: 9 });
  assert.throws(
    () => tb.stack.connect(other.addr, 9, { localPort: 80 }),
    (e: Error) => e.name === "AddrInUse" && /set reuseAddress/.test(e.message),
  );
  const c = tb.stack.connect(other.addr, 9, { localPort: 80, reuseAddress: true });
  assert.equal(c.state, "SYN_SENT");
  // the TIME_WAIT 4-tuple itself stays refused, reuseAddress or not
  assert.throws(
    () => tb.stack.connect(peer.addr, 40000, { localPort: 80, reuseAddress: true }),
    (e: Error) => e.name === "AddrInUse" && /TIME_WAIT/.test(e.message),
  );
  c.abort();
  tb.advance(2000);
  assert.equal(tb.state(peer, 80, 40000), undefined);
  assert.doesNotThrow(() => tb.stack.connect(peer.addr, 40000, { localPort: 80 }));
  tb.close();
});

Deno.test("Stack reopens a TIME_WAIT 4-tuple when a listener gets a SYN above RCV.NXT and ACKs an older one", () => {
  const tb = createTestbed({ tcp: { ...PLAIN, msl: 1000 } });
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  timeWait(tb, peer);
  // an old SYN (below RCV.NXT = 2): the TIME_WAIT connection answers with an ACK
  peer.send({ flags: "S", seq: 0 });
  const ack = peer.next()!;
  assert.deepEqual([ack.segment.flags, ack.segment.ack], [ACK, 2], ack.text);
  assert.equal(tb.state(peer, 80, 40000), "TIME_WAIT");
  assert.equal(tb.counters.timeWaitRecycled, 0);
  // a new incarnation's SYN (RFC 9293 §3.6.1, RFC 6191): a new passive open
  tb.setNextIsn(9000);
  peer.send({ flags: "S", seq: 100_000 });
  const synAck = peer.next()!;
  assert.deepEqual(
    [synAck.segment.flags, synAck.segment.seq, synAck.segment.ack],
    [SYN | ACK, 9000, 100_001],
  );
  assert.equal(tb.state(peer, 80, 40000), "SYN_RCVD");
  assert.equal(tb.counters.timeWaitRecycled, 1);
  tb.close();
});

Deno.test("Stack keeps a TIME_WAIT connection and sends nothing when a RST arrives for it", () => {
  const tb = createTestbed({ tcp: { ...PLAIN, msl: 1000 } });
  const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  timeWait(tb, peer);
  peer.send({ flags: "R", seq: 2 });
  peer.send({ flags: "R.", seq: 2, ack: 1002 });
  assert.equal(peer.pending, 0);
  assert.equal(tb.state(peer, 80, 40000), "TIME_WAIT"); // RFC 1337
  // a retransmitted FIN is ACKed again
  peer.send({ flags: "F.", seq: 1, ack: 1002 });
  const r = peer.next()!;
  assert.deepEqual([r.segment.flags & (ACK | FIN), r.segment.ack], [ACK, 2], r.text);
  tb.close();
});
