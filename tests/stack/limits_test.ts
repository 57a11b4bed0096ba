/**
 * The stack's limits (src/stack/limits.ts, issue #11): connection caps in all
 * and per peer address (RST past them, counted), half-open and idle expiry
 * (counted), and the memory budget that shrinks windows before it refuses.
 */
import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";
import { ACK, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { firstDiff, patternBytes, pump, type PumpResult } from "../_harness/sim_pair.ts";

Deno.test("maxConnections: past the cap a SYN gets a RST at once and is counted; a closed connection frees its slot, TIME_WAIT does not hold one", () => {
  const tb = createTestbed({ stack: { maxConnections: 2 } });
  tb.stack.listen(80);
  const peers = [0, 1, 2].map(() => tb.rawPeer({ tcpPort: 40000, targetPort: 80 }));
  tb.setNextIsn([1000, 2000]);
  for (const p of peers) p.send({ flags: "S", seq: 0 });
  assert.equal(peers[0].next()!.segment.flags, SYN | ACK);
  assert.equal(peers[1].next()!.segment.flags, SYN | ACK);
  const refused = peers[2].next()!.segment;
  assert.equal(refused.flags, RST | ACK); // refused, not left to retry
  assert.equal(refused.ack, 1);
  assert.equal(tb.stack.counters.connLimitRefused, 1);
  assert.equal(tb.stack.counters.rstsForNoSocket, 0);
  assert.equal(tb.stack.cappedConnections, 2);
  assert.equal(tb.state(peers[2], 80, 40000), undefined); // no state kept
  // the first peer resets its half-open connection: the slot frees
  peers[0].send({ flags: "R", seq: 1 });
  assert.equal(tb.stack.cappedConnections, 1);
  peers[2].send({ flags: "S", seq: 0 });
  assert.equal(peers[2].next()!.segment.flags, SYN | ACK);
  tb.close();
});

Deno.test("maxConnections: a connection in TIME_WAIT no longer counts", () => {
  const tb = createTestbed({ stack: { maxConnections: 1 }, tcp: { msl: 10_000 } });
  const client = tb.addStack();
  const l = tb.stack.listen(80);
  const c = client.connect(tb.stack.localAddr, 80);
  tb.advance(0);
  const s = l.accept()!;
  s.close(); // the server closes first: it ends in TIME_WAIT
  tb.advance(0);
  c.close();
  tb.advance(10);
  assert.equal(s.state, "TIME_WAIT");
  assert.equal(tb.stack.cappedConnections, 0);
  const c2 = client.connect(tb.stack.localAddr, 80);
  tb.advance(10);
  assert.equal(c2.state, "ESTABLISHED");
  const c3 = client.connect(tb.stack.localAddr, 80);
  tb.advance(10);
  assert.equal(c3.state, "CLOSED");
  assert.equal(c3.error?.kind, "refused");
  assert.equal(tb.stack.counters.connLimitRefused, 1);
  tb.close();
});

Deno.test("maxConnectionsPerAddr caps each peer IP address; other addresses still get in", () => {
  const tb = createTestbed({ stack: { maxConnectionsPerAddr: 2, maxConnections: 10 } });
  tb.stack.listen(80);
  const same = [7001, 7002, 7003].map((port) =>
    tb.rawPeer({ hostname: "127.0.0.9", port, tcpPort: 40000, targetPort: 80 })
  );
  for (const p of same) p.send({ flags: "S", seq: 0 });
  assert.equal(same[0].next()!.segment.flags, SYN | ACK);
  assert.equal(same[1].next()!.segment.flags, SYN | ACK);
  assert.equal(same[2].next()!.segment.flags, RST | ACK);
  assert.equal(tb.stack.counters.connLimitPerAddrRefused, 1);
  const other = tb.rawPeer({ hostname: "127.0.0.10", tcpPort: 40000, targetPort: 80 });
  other.send({ flags: "S", seq: 0 });
  assert.equal(other.next()!.segment.flags, SYN | ACK);
  assert.equal(tb.stack.counters.connLimitRefused, 0);
  tb.close();
});

Deno.test("the connection caps also hold for a connection made from a SYN cookie", () => {
  const tb = createTestbed({ stack: { maxConnections: 1, synCookies: 2 } });
  tb.stack.listen(80);
  const a = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  const b = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  a.send({ flags: "S", seq: 0 });
  const ca = a.next()!.segment;
  b.send({ flags: "S", seq: 0 });
  const cb = b.next()!.segment;
  a.send({ flags: ".", seq: 1, ack: ca.seq + 1 });
  assert.equal(tb.state(a, 80, 40000), "ESTABLISHED");
  b.send({ flags: ".", seq: 1, ack: cb.seq + 1 });
  assert.equal(b.next()!.segment.flags, RST);
  assert.equal(tb.state(b, 80, 40000), undefined);
  assert.equal(tb.stack.counters.connLimitRefused, 1);
  tb.close();
});

Deno.test("a half-open connection (SYN_RCVD, the final ACK never comes) expires and is counted", () => {
  const tb = createTestbed({ tcp: { synAckRetries: 2 } });
  tb.stack.listen(80);
  const p = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  p.send({ flags: "S", seq: 0 });
  assert.equal(tb.state(p, 80, 40000), "SYN_RCVD");
  tb.advance(60_000); // SYN-ACKs at 0, 1, 3 s; gives up at 7 s
  assert.equal(tb.state(p, 80, 40000), undefined);
  assert.equal(tb.stack.counters.halfOpenExpired, 1);
  assert.equal(tb.stack.cappedConnections, 0);
  tb.close();
});

Deno.test("idleTimeout resets a connection with no data either way for that long (keepalive does not count), counted on both sides; data keeps it alive", () => {
  const tcp = { idleTimeout: 5_000, keepAlive: true, keepAliveIdle: 1_000, keepAliveInterval: 500 };
  const tb = createTestbed({ tcp, link: { delay: 5 } });
  const client = tb.addStack({ tcp });
  const l = tb.stack.listen(80);
  const c = client.connect(tb.stack.localAddr, 80);
  tb.advance(20);
  const s = l.accept()!;
  // data every 3 s for 15 s keeps it open
  for (let i = 0; i < 5; i++) {
    c.write(new Uint8Array([i]));
    tb.advance(3_000);
    assert.equal(s.read(new Uint8Array(8)), 1);
  }
  assert.equal(c.state, "ESTABLISHED");
  assert.equal(s.state, "ESTABLISHED");
  // then silence (keepalive probes flow, answered): reset 5 s after the last data
  tb.advance(5_000);
  assert.equal(c.state, "CLOSED");
  assert.equal(s.state, "CLOSED");
  assert.match(c.error?.detail ?? "", /idle timeout/);
  assert.equal(tb.stack.counters.idleExpired + client.counters.idleExpired, 2);
  tb.close();
});

Deno.test("idleTimeout 0 (the library default) never expires a connection", () => {
  const tb = createTestbed();
  const client = tb.addStack();
  const l = tb.stack.listen(80);
  const c = client.connect(tb.stack.localAddr, 80);
  tb.advance(10);
  l.accept();
  tb.advance(3_600_000);
  assert.equal(c.state, "ESTABLISHED");
  assert.equal(client.counters.idleExpired, 0);
  tb.close();
});

interface BudgetRun {
  readonly peakBytes: number;
  readonly peakWindow: number;
  readonly complete: number;
  readonly corrupt: number;
  readonly refused: number;
  readonly pressure: number;
}

/** `n` connections each move `size` bytes both ways to a server with `budget`. */
function budgetRun(budget: number, n: number, size: number): BudgetRun {
  const tb = createTestbed({ stack: { memoryBudget: budget }, link: { delay: 2 } });
  const client = tb.addStack();
  const l = tb.stack.listen(80, { backlog: 1024 });
  const up = patternBytes(size, 1), down = patternBytes(size, 2);
  const clients: PumpResult[] = [];
  const servers: PumpResult[] = [];
  const serverConns: StackConnection[] = [];
  l.onAcceptable = () => {
    for (let s = l.accept(); s !== undefined; s = l.accept()) {
      serverConns.push(s);
      servers.push(pump(s, down, size, { closeWhenDone: true }));
    }
  };
  for (let i = 0; i < n; i++) {
    clients.push(pump(client.connect(tb.stack.localAddr, 80), up, size, { closeWhenDone: true }));
  }
  let peakBytes = 0, peakWindow = 0, allAt = Infinity;
  for (let t = 0; t < 600_000 && clients.some((r) => !r.closed); t += 5) {
    tb.advance(5);
    peakBytes = Math.max(peakBytes, tb.stack.bufferBytes());
    if (serverConns.length === n) allAt = Math.min(allAt, t);
    // windows while all n share the budget (an advertised edge never moves back: from one
    // RTT after the last one came in until the first one finishes)
    if (t < allAt + 20 || tb.stack.connections().length < n) continue;
    for (const s of serverConns) {
      if (s.state !== "CLOSED") peakWindow = Math.max(peakWindow, s.tcp.rcvWnd);
    }
  }
  let complete = 0, corrupt = 0;
  clients.forEach((c, i) => {
    const s = servers[i];
    if (c.eof && s?.eof && c.receivedLength === size && s.receivedLength === size) complete++;
    if (
      firstDiff(c.received, down, c.receivedLength) !== -1 ||
      (s !== undefined && firstDiff(s.received, up, s.receivedLength) !== -1)
    ) corrupt++;
  });
  const r = {
    peakBytes,
    peakWindow,
    complete,
    corrupt,
    refused: tb.stack.counters.memoryRefused,
    pressure: tb.stack.counters.memoryPressure,
  };
  tb.close();
  return r;
}

Deno.test("memoryBudget: 64 connections under a 1 MiB budget all complete byte-exact, buffer memory stays under it and windows shrink to the share", () => {
  const budget = 1 << 20;
  const r = budgetRun(budget, 64, 96 * 1024);
  assert.equal(r.complete, 64, JSON.stringify(r));
  assert.equal(r.corrupt, 0);
  assert.ok(r.peakBytes <= budget, `peak ${r.peakBytes} > budget ${budget}`);
  assert.ok(r.peakWindow <= budget / (2 * 64), `peak window ${r.peakWindow}`);
  assert.ok(r.pressure >= 1);
  assert.equal(r.refused, 0);
  // without a budget the same transfers offer far larger windows and hold more memory
  const free = budgetRun(0, 64, 96 * 1024);
  assert.equal(free.complete, 64);
  assert.ok(free.peakWindow > 4 * r.peakWindow, JSON.stringify({ free, r }));
  assert.ok(free.peakBytes > budget, JSON.stringify(free));
});

Deno.test("memoryBudget: past 4 KiB per direction per connection a SYN is refused with a RST and counted", () => {
  const budget = 256 * 1024; // 32 connections at 4 KiB each way
  const tb = createTestbed({ stack: { memoryBudget: budget } });
  const client = tb.addStack();
  tb.stack.listen(80, { backlog: 1024 });
  const conns = Array.from({ length: 40 }, () => client.connect(tb.stack.localAddr, 80));
  tb.advance(50);
  const open = conns.filter((c) => c.state === "ESTABLISHED").length;
  assert.equal(open, 32);
  assert.equal(tb.stack.counters.memoryRefused, 8);
  assert.ok(conns.filter((c) => c.error?.kind === "refused").length === 8);
  assert.equal(tb.stack.bufferShare, 4096);
  tb.close();
});

Deno.test("memoryBudget: connections in TIME_WAIT take no share, so short connections past the budget's count are still accepted", () => {
  // 256 KiB = 32 shares of 4 KiB each way; 100 short connections, one after another, each
  // closed by the server first (the server holds TIME_WAIT, as a tunnel server does)
  const budget = 256 * 1024;
  const tb = createTestbed({ stack: { memoryBudget: budget } });
  const client = tb.addStack();
  const l = tb.stack.listen(80, { backlog: 64 });
  l.onAcceptable = () => {
    for (let s = l.accept(); s !== undefined; s = l.accept()) s.close();
  };
  let done = 0;
  for (let i = 0; i < 100; i++) {
    const c = client.connect(tb.stack.localAddr, 80);
    c.onEvent = (ev) => {
      if (ev.type === "eof") c.close();
    };
    tb.advance(20);
    if (c.error === undefined) done++;
  }
  tb.advance(100);
  const tw = tb.stack.connections().filter((c) => c.state === "TIME_WAIT").length;
  assert.equal(done, 100);
  assert.equal(tb.stack.counters.memoryRefused, 0);
  assert.ok(tw > 32, `${tw} in TIME_WAIT`);
  assert.ok(tb.stack.bufferShare > 4096, `share ${tb.stack.bufferShare}`);
  tb.close();
});

Deno.test("reassembly is bounded by maxOutOfOrderRanges and the window: drops are counted per connection and summed by the stack", () => {
  const tb = createTestbed({ tcp: { maxOutOfOrderRanges: 2, timestamps: false, sack: false } });
  const l = tb.stack.listen(80);
  const p = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  tb.setNextIsn(1000);
  p.send({ flags: "S", seq: 0 });
  p.next();
  p.send({ flags: ".", seq: 1, ack: 1001 });
  const s = l.accept()!;
  // four separate holes: two ranges fit, two are dropped
  for (const at of [101, 301, 501, 701]) {
    p.send({ flags: ".", seq: at, ack: 1001, payload: "x".repeat(50) });
  }
  assert.equal(s.tcp.dropCounters().reassemblyDrops, 2);
  // a segment far beyond the window is dropped as unacceptable
  p.send({ flags: ".", seq: 1 + (1 << 30), ack: 1001, payload: "y" });
  assert.equal(s.tcp.dropCounters().outOfWindow, 1);
  const sum = tb.stack.dropCounters();
  assert.equal(sum.reassemblyDrops, 2);
  assert.equal(sum.outOfWindow, 1);
  // the sums keep what a connection counted after it is gone
  s.abort();
  tb.advance(0);
  assert.equal(tb.stack.connections().length, 0);
  assert.equal(tb.stack.dropCounters().reassemblyDrops, 2);
  tb.close();
});

Deno.test("the retransmission queue (unacknowledged data) is bounded by the send buffer, and by the budget share under pressure", () => {
  const tb = createTestbed({ tcp: { sendBufferSize: 64 * 1024 } });
  const client = tb.addStack();
  const l = tb.stack.listen(80);
  client.connect(tb.stack.localAddr, 80);
  tb.advance(10);
  const s = l.accept()!;
  // the peer never reads: writes stop at the send buffer
  let n = 0;
  for (let i = 0; i < 100; i++) n += s.write(new Uint8Array(16 * 1024));
  tb.advance(5_000);
  for (let i = 0; i < 100; i++) n += s.write(new Uint8Array(16 * 1024));
  const held = s.info().sendQueue;
  assert.ok(held <= 64 * 1024, String(held));
  assert.ok(s.tcp.bufferBytes <= 64 * 1024 + (4 << 20), String(s.tcp.bufferBytes));
  // a budget of 64 KiB for one connection: its share (32 KiB a direction) bounds new writes
  tb.reconfigure({ memoryBudget: 64 * 1024 });
  assert.equal(tb.stack.bufferShare, 32 * 1024);
  assert.equal(s.writable, 0); // 64 KiB held already: nothing more is taken
  tb.close();
});

Deno.test("with the tunnel's settings (user timeout 20 s, anti-amplification) a half-open connection expires within the user timeout, counted", () => {
  const tb = createTestbed({ tcp: { userTimeout: 20_000, amplificationLimit: 3 } });
  tb.stack.listen(80);
  const p = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
  p.send({ flags: "S", seq: 0 });
  tb.advance(19_000);
  assert.equal(tb.state(p, 80, 40000), "SYN_RCVD");
  tb.advance(2_000);
  assert.equal(tb.state(p, 80, 40000), undefined);
  assert.equal(tb.stack.counters.halfOpenExpired, 1);
  tb.close();
});

Deno.test("memoryBudget: connections coming and going around one share step touch no other connection (O(1) amortised), the budget holds, and a grown share reaches a connection at its next drain", () => {
  const budget = 1 << 20;
  const tb = createTestbed({ stack: { memoryBudget: budget } });
  const client = tb.addStack();
  const l = tb.stack.listen(80, { backlog: 1024 });
  for (let i = 0; i < 100; i++) client.connect(tb.stack.localAddr, 80);
  tb.advance(50);
  const held: StackConnection[] = [];
  for (let c = l.accept(); c !== undefined; c = l.accept()) held.push(c);
  assert.equal(held.length, 100);
  let calls = 0;
  for (const c of held) {
    const orig = c.tcp.setMemoryLimits.bind(c.tcp);
    c.tcp.setMemoryLimits = (r: number, s: number) => {
      calls++;
      orig(r, s);
    };
  }
  const within = () => {
    const n = tb.stack.connections().length;
    for (const c of tb.stack.connections()) {
      if (c.state === "TIME_WAIT") continue; // holds no buffers
      assert.ok(c.memoryShare * 2 * n <= budget, `${c.memoryShare} × 2 × ${n} > ${budget}`);
    }
  };
  within();
  // 20 rounds of 8 connections opened and aborted: the count crosses share steps each time
  for (let round = 0; round < 20; round++) {
    const extra = Array.from({ length: 8 }, () => client.connect(tb.stack.localAddr, 80));
    tb.advance(10);
    within();
    for (let c = l.accept(); c !== undefined; c = l.accept()) c.abort();
    for (const c of extra) c.abort();
    tb.advance(10);
    within();
    if (round === 0) calls = 0; // the first crossing may shrink them all once
  }
  assert.equal(calls, 0);
  // half of them go: the share grows, and a connection takes it when it next has work
  for (const c of held.splice(0, 50)) c.abort();
  tb.advance(10);
  const before = held[0].memoryShare;
  assert.ok(tb.stack.bufferShare > before, `${tb.stack.bufferShare} ≤ ${before}`);
  held[0].write(new Uint8Array(10));
  tb.advance(10);
  assert.ok(held[0].memoryShare > before);
  within();
  tb.close();
});

Deno.test("memoryBudget: a pass that shrinks the shares leaves connections in TIME_WAIT alone (they hold no buffers and take no share)", () => {
  const tb = createTestbed({ stack: { memoryBudget: 1 << 20 } });
  const client = tb.addStack();
  const l = tb.stack.listen(80, { backlog: 1024 });
  const cs = Array.from({ length: 40 }, () => client.connect(tb.stack.localAddr, 80));
  tb.advance(10);
  for (let s = l.accept(); s !== undefined; s = l.accept()) s.close(); // the server closes first
  tb.advance(10);
  for (const c of cs) c.close();
  tb.advance(10);
  const tw = tb.stack.connections();
  assert.equal(tw.length, 40);
  assert.ok(tw.every((c) => c.state === "TIME_WAIT"));
  let calls = 0;
  for (const c of tw) {
    const orig = c.tcp.setMemoryLimits.bind(c.tcp);
    c.tcp.setMemoryLimits = (r: number, s: number) => {
      calls++;
      orig(r, s);
    };
  }
  const more = Array.from({ length: 80 }, () => client.connect(tb.stack.localAddr, 80));
  tb.advance(10);
  // the 80 live connections share the budget; the 40 in TIME_WAIT neither shrink it nor are touched
  assert.ok(tb.stack.bufferShare <= (1 << 20) / (2 * 80), String(tb.stack.bufferShare));
  assert.ok(tb.stack.bufferShare > (1 << 20) / (2 * 120), String(tb.stack.bufferShare));
  assert.equal(calls, 0);
  const live = tb.stack.connections().filter((c) => c.state !== "TIME_WAIT");
  assert.equal(live.length, 80);
  for (const c of live) assert.ok(c.memoryShare * 2 * 80 <= 1 << 20, String(c.memoryShare));
  for (const c of more) c.abort();
  tb.close();
});
