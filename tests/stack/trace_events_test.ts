import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import type { TcpTraceEvent } from "../../src/tcp/mod.ts";
import { formatTraceEvent } from "../../src/tcp/mod.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";
import { patternBytes, pump } from "../_harness/sim_pair.ts";

/** A lossy bulk transfer from a second stack; returns the sender and what its tracer saw. */
function lossyTransfer(traced: boolean) {
  const tb = createTestbed({ seed: 7, link: { delay: 10, loss: 0.03 } });
  const sender = tb.addStack({ tcp: { msl: 1000 } });
  const events: { now: number; conn: StackConnection; ev: TcpTraceEvent }[] = [];
  const order: string[] = [];
  if (traced) {
    sender.tracer = {
      onTrace: (now, conn, ev) => {
        events.push({ now, conn, ev });
        order.push(ev.type === "retransmit" ? `rtx ${ev.seq}` : ev.type);
      },
      onSegment: (_now, dir, _peer, seg) => {
        if (dir === "out") order.push(`out ${seg.seq}`);
      },
    };
  }
  const l = tb.stack.listen(80);
  const data = patternBytes(300_000, 5);
  const c = sender.connect(tb.stack.localAddr, 80);
  pump(c, data, 0, { closeWhenDone: true });
  l.onAcceptable = () =>
    void pump(l.accept()!, new Uint8Array(0), data.length, { closeWhenDone: true });
  tb.advance(60_000);
  const info = c.info();
  tb.close();
  return { c, info, events, order };
}

Deno.test("trace events: timers armed/stopped/fired, retransmissions and window changes agree with the connection's figures", () => {
  const { c, info, events, order } = lossyTransfer(true);
  const of = events.filter((e) => e.conn === c).map((e) => e.ev);
  const rtx = of.filter((e) => e.type === "retransmit");
  assert.ok(info.retransmits > 0, "the lossy link made retransmissions");
  assert.equal(rtx.length, info.retransmits);
  // a retransmission's event comes just before its segment goes out
  for (const e of rtx) {
    const i = order.indexOf(`rtx ${e.seq}`);
    assert.equal(order[i + 1], `out ${e.seq}`);
  }
  const timers = of.filter((e) => e.type === "timer");
  const fired = timers.filter((e) => e.action === "fired").map((e) => e.kind);
  assert.ok(fired.includes("timeWait"), "TIME_WAIT ended by its timer");
  // every timer that fired was armed before, and each arming names its cause
  for (const e of timers) if (e.action === "armed") assert.ok(e.at >= 0 && e.cause.length > 0);
  for (const kind of new Set(fired)) {
    assert.ok(timers.some((e) => e.action === "armed" && e.kind === kind), kind);
  }
  // the last cwnd event carries the final cwnd; losses lowered ssthresh
  const cwnd = of.filter((e) => e.type === "cwnd");
  assert.ok(cwnd.length > 2);
  assert.equal(cwnd.at(-1)!.cwnd, info.cwnd);
  assert.ok(cwnd.some((e) => Number.isFinite(e.ssthresh)));
  const rwnd = of.filter((e) => e.type === "rwnd");
  assert.ok(rwnd.length > 0);
  assert.equal(rwnd.at(-1)!.sndWnd, info.sndWnd);
  assert.match(formatTraceEvent(rtx[0]), /^retransmit seq \d+ length \d+$/);
});

Deno.test("trace events are off without a subscriber and do not change what the connection does", () => {
  const quiet = lossyTransfer(false);
  assert.equal(quiet.c.tcp.traced, false);
  assert.equal(quiet.c.tcp.pollTrace(), undefined);
  const traced = lossyTransfer(true);
  // same seed, same run: tracing only watches
  assert.deepEqual(
    { ...quiet.info, timers: undefined },
    { ...traced.info, timers: undefined },
  );
});

Deno.test("a tracer with onTrace assigned later turns trace events on for open connections; removing it turns them off", () => {
  const tb = createTestbed({ link: { delay: 5 } });
  const other = tb.addStack();
  tb.stack.listen(80);
  const c = other.connect(tb.stack.localAddr, 80);
  tb.advance(100);
  assert.equal(c.tcp.traced, false);
  const seen: TcpTraceEvent[] = [];
  other.tracer = { onTrace: (_now, _c, ev) => seen.push(ev) };
  assert.equal(c.tcp.traced, true);
  c.setKeepAlive(true, { idle: 1000, interval: 100, count: 3 });
  tb.advance(1500);
  assert.ok(seen.some((e) => e.type === "timer" && e.kind === "keepalive" && e.action === "fired"));
  other.tracer = { onSegment: () => {} };
  assert.equal(c.tcp.traced, false);
  tb.close();
});

Deno.test("the testbed forwards trace events to its tracer when it has onTrace", () => {
  const tb = createTestbed();
  const peer = tb.addStack();
  const l = tb.stack.listen(80);
  const seen: TcpTraceEvent[] = [];
  tb.tracer = { onTrace: (_now, _c, ev) => seen.push(ev) };
  peer.connect(tb.stack.localAddr, 80);
  tb.advance(10);
  const c = l.accept()!;
  assert.equal(c.tcp.traced, true);
  assert.ok(seen.some((e) => e.type === "timer" && e.kind === "retransmit")); // the SYN-ACK's
  assert.equal(tb.stateEvents(c).at(-1)?.to, "ESTABLISHED"); // still recorded
  tb.tracer = undefined;
  assert.equal(c.tcp.traced, false);
  tb.close();
});
