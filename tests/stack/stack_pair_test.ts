import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import { firstDiff, patternBytes, pump } from "../_harness/sim_pair.ts";

Deno.test("Stack transfers data both ways and both sides end CLOSED/TIME_WAIT when the link is clean", () => {
  const tb = createTestbed({ link: { delay: 25 } });
  const server = tb.stack;
  const client = tb.addStack();
  const l = server.listen(80);
  const up = patternBytes(300_000, 1), down = patternBytes(200_000, 2);
  const c = client.connect(server.localAddr, 80);
  const cr = pump(c, up, down.length, { closeWhenDone: true });
  let sr: ReturnType<typeof pump> | undefined;
  l.onAcceptable = () => {
    const s = l.accept()!;
    sr = pump(s, down, up.length, { closeWhenDone: true });
  };
  tb.runUntilIdle({ until: 600_000 });
  assert.ok(sr);
  assert.equal(cr.error, undefined);
  assert.equal(sr.error, undefined);
  assert.equal(firstDiff(cr.received, down, down.length), -1);
  assert.equal(firstDiff(sr.received, up, up.length), -1);
  assert.ok(cr.eof && sr.eof);
  // Everything is gone once TIME_WAIT (2·MSL) expires.
  assert.equal(client.connections().length, 0);
  assert.equal(server.connections().length, 0);
  tb.close();
});

Deno.test("Stack keeps the active closer in TIME_WAIT for 2·MSL and then releases it", () => {
  const tb = createTestbed({ tcp: { msl: 1000 } });
  const client = tb.addStack({ tcp: { msl: 1000 } });
  const l = tb.stack.listen(80);
  const c = client.connect(tb.stack.localAddr, 80, { localPort: 5555 });
  tb.advance(0);
  const s = l.accept()!;
  c.close();
  tb.advance(0);
  s.close();
  tb.advance(0);
  assert.equal(c.state, "TIME_WAIT");
  assert.equal(client.connections().length, 1);
  tb.advance(1999);
  assert.equal(c.state, "TIME_WAIT");
  tb.advance(1);
  assert.equal(client.connections().length, 0);
  tb.close();
});

Deno.test("Stack refuses a port in TIME_WAIT unless reuseAddress, and the same 4-tuple even then", () => {
  const tb = createTestbed({ tcp: { msl: 1000 } });
  const other = tb.addStack({ tcp: { msl: 1000 } });
  // The stack under test accepts and closes first: it becomes the active closer.
  const l = tb.stack.listen(80);
  const c = other.connect(tb.stack.localAddr, 80, { localPort: 5555 });
  tb.advance(0);
  const s = l.accept()!;
  l.close();
  s.close();
  tb.advance(0);
  c.close();
  tb.advance(0);
  assert.equal(s.state, "TIME_WAIT");
  // bind(80) without SO_REUSEADDR: EADDRINUSE.
  assert.throws(
    () => tb.stack.listen(80),
    (e: Error) => e.name === "AddrInUse" && /TIME_WAIT/.test(e.message),
  );
  // With SO_REUSEADDR the listen succeeds...
  const l2 = tb.stack.listen(80, { reuseAddress: true });
  // ...but the exact 4-tuple still in TIME_WAIT is refused for an active open.
  assert.throws(
    () => tb.stack.connect(other.localAddr, 5555, { localPort: 80, reuseAddress: true }),
    (e: Error) => e.name === "AddrInUse" && /TIME_WAIT/.test(e.message),
  );
  l2.close();
  tb.advance(2000);
  assert.equal(tb.stack.connections().length, 0);
  assert.doesNotThrow(() => tb.stack.listen(80).close());
  tb.close();
});

Deno.test("Stack completes a simultaneous open between two stacks with fixed ports", () => {
  const tb = createTestbed({ link: { delay: 10 } });
  const a = tb.stack;
  const b = tb.addStack();
  const ca = a.connect(b.localAddr, 6000, { localPort: 5000 });
  const cb = b.connect(a.localAddr, 5000, { localPort: 6000 });
  const seen: string[] = [];
  ca.onEvent = (ev) => {
    if (ev.type === "state") seen.push(`${ev.from}->${ev.to}`);
  };
  tb.advance(100);
  assert.equal(ca.state, "ESTABLISHED");
  assert.equal(cb.state, "ESTABLISHED");
  assert.deepEqual(seen, ["SYN_SENT->SYN_RCVD", "SYN_RCVD->ESTABLISHED"]);
  tb.close();
});

Deno.test("Stack.abort resets live connections and stops all timers", () => {
  const tb = createTestbed();
  const b = tb.addStack();
  const l = b.listen(80);
  const c = tb.stack.connect(b.localAddr, 80);
  tb.advance(0);
  const s = l.accept()!;
  tb.stack.abort();
  tb.advance(0);
  assert.ok(s.error?.kind === "reset", JSON.stringify(s.error));
  assert.equal(tb.stack.connections().length, 0);
  assert.throws(() => tb.stack.connect(b.localAddr, 80), (e: Error) => e.name === "BadResource");
  void c;
  b.close();
  assert.equal(tb.clock.nextDeadline(), Number.POSITIVE_INFINITY);
});

Deno.test("Stack carries 1000 concurrent connections, each verifying its own data", () => {
  const tb = createTestbed({ link: { delay: 5 }, tcp: { msl: 100 } });
  const server = tb.stack;
  const client = tb.addStack({ tcp: { msl: 100 } });
  const l = server.listen(80, { backlog: 1024 });
  const N = 1000, SIZE = 4000;
  const results: { up: ReturnType<typeof pump>; i: number }[] = [];
  const serverSide: ReturnType<typeof pump>[] = [];
  l.onAcceptable = () => {
    for (let s = l.accept(); s; s = l.accept()) {
      // Echo server: what comes in goes back out (first 2 bytes name the client).
      const i = s.remotePort;
      serverSide.push(pump(s, patternBytes(SIZE, i), SIZE, { closeWhenDone: true }));
    }
  };
  for (let i = 0; i < N; i++) {
    const c = client.connect(server.localAddr, 80);
    results.push({
      up: pump(c, patternBytes(SIZE, c.localPort + 100_000), SIZE, { closeWhenDone: true }),
      i: c.localPort,
    });
  }
  tb.runUntilIdle({ until: 120_000 });
  assert.equal(serverSide.length, N);
  for (const r of results) {
    assert.equal(r.up.error, undefined);
    assert.equal(firstDiff(r.up.received, patternBytes(SIZE, r.i), SIZE), -1);
  }
  for (const s of serverSide) assert.ok(s.eof && s.error === undefined);
  assert.equal(client.connections().length + server.connections().length, 0);
  tb.close();
});
