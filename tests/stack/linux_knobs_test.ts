/**
 * The Linux knobs of issue 13, each turned in the simulator and watched:
 * tcp_tw_reuse, tcp_max_tw_buckets, SO_REUSEPORT, somaxconn,
 * tcp_orphan_retries, and close on process exit (FIN, or RST with unread
 * data: RFC 2525 §2.17). docs/linux-knobs.md points here.
 */
import assert from "node:assert/strict";
import { createTestbed, type RawPeer, type Testbed } from "../../src/testing/mod.ts";
import type { Stack } from "../../src/stack/stack.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import { seqAdd } from "../../src/wire/seq.ts";
import { FIN, RST, SYN } from "../../src/wire/tcp_flags.ts";

/** Connects the stack under test to `server` port 80 and closes it from the client first: the client ends in TIME_WAIT. */
function clientTimeWait(tb: Testbed, server: Stack): StackConnection {
  const l = server.listeners().find((x) => x.port === 80) ?? server.listen(80);
  const c = tb.stack.connect(server.localAddr, 80);
  tb.advance(10);
  const s = l.accept()!;
  assert.ok(s, "accepted");
  c.close();
  tb.advance(10);
  s.close();
  tb.advance(10);
  assert.equal(c.state, "TIME_WAIT");
  return c;
}

/** Records every segment the stack under test sends. */
function recordOut(tb: Testbed): TcpSegment[] {
  const out: TcpSegment[] = [];
  tb.tracer = {
    onSegment: (_t, dir, _to, seg) => {
      if (dir === "out") out.push({ ...seg, payload: seg.payload.slice() });
    },
  };
  return out;
}

const ONE_PORT = { ephemeralPortRange: [40000, 40000] as const };

Deno.test("tcp_tw_reuse: connect() takes a TIME_WAIT 4-tuple after 1 s when timestamps are on, with a higher ISS and newer TSvals", () => {
  const tb = createTestbed({ stack: ONE_PORT }); // twReuse default 2: loopback peers
  const server = tb.addStack();
  const out = recordOut(tb);
  const old = clientTimeWait(tb, server);
  const lastTsVal = out.at(-1)!.options.timestamps!.tsVal;
  const oldSndNxt = old.tcp.sndNxt;
  // within 1 s of the peer's last timestamp: the only ephemeral port is taken
  assert.throws(
    () => tb.stack.connect(server.localAddr, 80),
    (e: Error) => e.name === "AddrInUse" && /no free ephemeral port/.test(e.message),
  );
  tb.advance(1_000);
  const c = tb.stack.connect(server.localAddr, 80);
  assert.equal(c.localPort, 40000);
  assert.equal(tb.counters.timeWaitReused, 1);
  assert.equal(old.released, true);
  const syn = out.at(-1)!;
  assert.equal(syn.flags & SYN, SYN);
  assert.equal(syn.seq, seqAdd(oldSndNxt, 65_537)); // Linux: tw_snd_nxt + 65535 + 2
  assert.ok(syn.options.timestamps!.tsVal > lastTsVal, "the new SYN's TSval is newer");
  tb.advance(10);
  assert.equal(c.state, "ESTABLISHED");
  tb.close();
});

Deno.test("tcp_tw_reuse: 0 keeps the 4-tuple for 2·MSL; without timestamps it is never reused; 2 needs a loopback address", () => {
  const off = createTestbed({ stack: { ...ONE_PORT, twReuse: 0 }, tcp: { msl: 5_000 } });
  const s1 = off.addStack();
  clientTimeWait(off, s1);
  off.advance(1_000);
  assert.throws(() => off.stack.connect(s1.localAddr, 80), (e: Error) => e.name === "AddrInUse");
  off.reconfigure({ twReuse: 1 }); // turned on live
  assert.equal(off.stack.connect(s1.localAddr, 80).localPort, 40000);
  off.close();

  const noTs = createTestbed({ stack: { ...ONE_PORT, twReuse: 1 }, tcp: { timestamps: false } });
  const s2 = noTs.addStack();
  clientTimeWait(noTs, s2);
  noTs.advance(5_000);
  assert.throws(() => noTs.stack.connect(s2.localAddr, 80), (e: Error) => e.name === "AddrInUse");
  noTs.close();

  const remote = createTestbed({
    stack: ONE_PORT,
    stackAddr: { hostname: "10.0.0.1", port: 7000 },
  });
  const s3 = remote.addStack({ hostname: "10.0.0.2" });
  clientTimeWait(remote, s3);
  remote.advance(5_000);
  assert.throws(() => remote.stack.connect(s3.localAddr, 80), (e: Error) => e.name === "AddrInUse");
  remote.reconfigure({ twReuse: 1 });
  assert.equal(remote.stack.connect(s3.localAddr, 80).localPort, 40000);
  assert.equal(remote.counters.timeWaitReused, 1);
  remote.close();
});

Deno.test("tcp_tw_reuse: an explicitly bound local port reuses its TIME_WAIT 4-tuple too", () => {
  const tb = createTestbed();
  const server = tb.addStack();
  const old = clientTimeWait(tb, server);
  tb.advance(1_000);
  const c = tb.stack.connect(server.localAddr, 80, { localPort: old.localPort });
  assert.equal(c.state, "SYN_SENT");
  assert.equal(tb.counters.timeWaitReused, 1);
  tb.close();
});

Deno.test("tcp_max_tw_buckets: past the cap a connection closes instead of entering TIME_WAIT, and is counted", () => {
  const tb = createTestbed({ stack: { maxTwBuckets: 1 } });
  const server = tb.addStack();
  const first = clientTimeWait(tb, server);
  const l = server.listeners()[0];
  const c = tb.stack.connect(server.localAddr, 80);
  tb.advance(10);
  const s = l.accept()!;
  c.close();
  tb.advance(10);
  s.close();
  tb.advance(10);
  assert.equal(c.state, "CLOSED"); // straight through: no TIME_WAIT entry
  assert.deepEqual(tb.stateEvents(c).slice(-2).map((e) => e.to), ["TIME_WAIT", "CLOSED"]);
  assert.equal(first.state, "TIME_WAIT"); // the entries already there stay (Linux, not "reset all")
  assert.equal(tb.counters.timeWaitOverflow, 1);
  assert.equal(tb.stack.connections().length, 1);
  // raised live: the next one waits again
  tb.reconfigure({ maxTwBuckets: 10 });
  clientTimeWait(tb, server);
  assert.equal(tb.counters.timeWaitOverflow, 1);
  tb.close();
});

/** Sends a SYN from each peer and returns which listener (index) took each. */
function spread(tb: Testbed, peers: RawPeer[], listeners: { synQueue: Set<unknown> }[]): number[] {
  const picks: number[] = [];
  for (const p of peers) {
    p.send({ flags: "S", seq: 0 });
    const conn = tb.connection(p, 80, p.tcpPort)!;
    picks.push(listeners.findIndex((l) => l.synQueue.has(conn)));
  }
  return picks;
}

Deno.test("SO_REUSEPORT: listeners sharing a port each get a part of the connections, by 4-tuple hash", () => {
  const tb = createTestbed();
  const a = tb.stack.listen(80, { reusePort: true });
  assert.throws(
    () => tb.stack.listen(80),
    (e: Error) => e.name === "AddrInUse" && /already uses it/.test(e.message),
  );
  const b = tb.stack.listen(80, { reusePort: true });
  assert.equal(tb.stack.listeners().length, 2);
  const peers = Array.from({ length: 64 }, (_, i) => tb.rawPeer({ tcpPort: 41000 + i }));
  const picks = spread(tb, peers, [a, b]);
  const toA = picks.filter((x) => x === 0).length;
  assert.ok(toA >= 16 && toA <= 48, `spread 64 SYNs: ${toA} to a, ${64 - toA} to b`);
  assert.ok(picks.every((x) => x === 0 || x === 1));
  // the choice is a function of the 4-tuple: the same peers land the same way again
  for (const p of peers) p.send({ flags: "R", seq: 1 });
  assert.deepEqual(spread(tb, peers, [a, b]), picks);
  // the handshake completes on the chosen listener's accept queue
  tb.setNextIsn(1000, { peer: peers[0], localPort: 80, remotePort: peers[0].tcpPort });
  peers[0].send({ flags: "R", seq: 1 });
  peers[0].send({ flags: "S", seq: 0 });
  peers[0].send({ flags: ".", seq: 1, ack: 1001 });
  const chosen = picks[0] === 0 ? a : b;
  assert.equal(chosen.acceptQueue.length, 1);
  // one closes: the other takes every new connection
  a.close();
  for (const p of peers) p.send({ flags: "R", seq: 1 });
  assert.ok(spread(tb, peers.slice(1), [a, b]).every((x) => x === 1));
  tb.close();
});

Deno.test("somaxconn caps the listen() backlog (Linux min(backlog, somaxconn)); default 4096", () => {
  const tb = createTestbed();
  assert.equal(tb.stack.listen(80, { backlog: 10_000 }).backlog, 4096);
  tb.reconfigure({ somaxconn: 2 });
  const l = tb.stack.listen(81, { backlog: 100 });
  assert.equal(l.backlog, 2);
  // backlog 2 admits 3 waiting connections (Linux: len > backlog is full)
  for (let i = 0; i < 4; i++) {
    const p = tb.rawPeer({ tcpPort: 42000 + i, targetPort: 81 });
    tb.setNextIsn(1000, { peer: p, localPort: 81, remotePort: p.tcpPort });
    p.send({ flags: "S", seq: 0 });
    p.send({ flags: ".", seq: 1, ack: 1001 });
  }
  assert.equal(l.acceptQueue.length, 3);
  assert.equal(l.counters.listenDrops, 1);
  tb.close();
});

/** An established connection of the stack under test with a raw peer (ISS 1000, IRS 0). */
function established(tb: Testbed, port: number): { peer: RawPeer; c: StackConnection } {
  const l = tb.stack.listeners().find((x) => x.port === 80) ?? tb.stack.listen(80);
  const peer = tb.rawPeer({ tcpPort: port });
  tb.setNextIsn(1000, { peer, localPort: 80, remotePort: port });
  peer.send({ flags: "S", seq: 0 });
  peer.send({ flags: ".", seq: 1, ack: 1001 });
  const c = l.accept()!;
  peer.take();
  return { peer, c };
}

const fins = (peer: RawPeer) => peer.take().filter((r) => r.segment.flags & FIN).length;

Deno.test("tcp_orphan_retries: an orphaned connection's FIN is retransmitted its own count of times (0 means 8)", () => {
  const tb = createTestbed({ tcp: { retries: 3, rtoMax: 2_000 } });
  // orphaned (close()): default orphanRetries 0 → 8 retransmissions, whatever retries says
  const a = established(tb, 40000);
  a.c.close();
  tb.advance(600_000);
  assert.equal(fins(a.peer), 1 + 8);
  assert.equal(a.c.state, "CLOSED");
  assert.equal(a.c.error?.kind, "timed_out");
  // not orphaned (closeWrite, the app still holds it): the data count, retries = 3
  const b = established(tb, 40001);
  b.c.closeWrite();
  tb.advance(600_000);
  assert.equal(fins(b.peer), 1 + 3);
  // turned: orphanRetries 2
  tb.reconfigure({ tcp: { orphanRetries: 2 } });
  const d = established(tb, 40002);
  d.c.close();
  tb.advance(600_000);
  assert.equal(fins(d.peer), 1 + 2);
  tb.close();
});

Deno.test("Process exit (Stack.close): FIN when nothing unread is pending, RST when received data was never read (RFC 2525 §2.17)", () => {
  const tb = createTestbed();
  const clean = established(tb, 40000);
  const unread = established(tb, 40001);
  unread.peer.send({ flags: "P.", seq: 1, ack: 1001, payload: "never read" });
  unread.peer.take();
  tb.stack.close();
  const a = clean.peer.take().map((r) => r.segment.flags);
  const b = unread.peer.take().map((r) => r.segment.flags);
  assert.equal(a.length, 1);
  assert.ok(a[0] & FIN && !(a[0] & RST), `clean close sends a FIN, got ${a}`);
  assert.equal(b.length, 1);
  assert.ok(b[0] & RST, `unread data: RST, got ${b}`);
  assert.equal(tb.stack.connections().length, 0);
});

Deno.test("Stack.abort resets every live connection (the explicit abortive close)", () => {
  const tb = createTestbed();
  const clean = established(tb, 40000);
  tb.stack.abort();
  const flags = clean.peer.take().map((r) => r.segment.flags);
  assert.equal(flags.length, 1);
  assert.ok(flags[0] & RST);
  assert.equal(clean.c.error?.kind, "aborted");
});
