/**
 * CUBIC and BBR driven by the real sender (RACK-TLP, PRR, delivery-rate
 * samples) over the simulator's bottleneck: the end-to-end counterparts of
 * the controller unit tests (cubic_test.ts, bbr_test.ts).
 */
import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import { registerController } from "../../src/tcp/congestion/registry.ts";
import { Bbr } from "../../src/tcp/congestion/bbr.ts";
import { Cubic } from "../../src/tcp/congestion/cubic.ts";
import type {
  CongestionController,
  CongestionOptions,
} from "../../src/tcp/congestion/congestion_controller.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";
import { patternBytes, pump } from "../_harness/sim_pair.ts";

/** 100 Mbit/s in bytes per second. */
const RATE = 12_500_000;

/** Sends `mb` MB one way over a 40 ms RTT, 100 Mbit/s bottleneck; returns Mbit/s and the controller. */
function transfer<C extends CongestionController>(
  make: (o: CongestionOptions) => C,
  opts: { loss: number; mb: number; seed: number },
): { mbits: number; cc: C } {
  let cc: C | undefined;
  const name = `probe-${crypto.randomUUID()}`;
  registerController(name, (o) => (cc = make(o)));
  const size = opts.mb * 1024 * 1024;
  const tb = createTestbed({
    seed: opts.seed,
    link: { loss: opts.loss, delay: 20, bandwidth: RATE, queueLimit: 1000 * 1500 },
  });
  const client = tb.addStack({ tcp: { congestionControl: name } });
  const l = tb.stack.listen(80);
  let sink: ReturnType<typeof pump> | undefined;
  l.onAcceptable = () => (sink = pump(l.accept()!, new Uint8Array(0), size));
  const c = client.connect(tb.stack.localAddr, 80);
  pump(c, patternBytes(size, opts.seed), 0);
  while (sink?.receivedLength !== size && tb.now < 600_000) tb.advance(100);
  const mbits = size * 8 / tb.now / 1000;
  tb.close();
  assert.ok(cc !== undefined);
  return { mbits, cc };
}

Deno.test("Bbr estimates the simulator's 100 Mbit/s bottleneck within 10% through the real sender", () => {
  const { cc, mbits } = transfer((o) => new Bbr(o), {
    loss: 0,
    mb: 30,
    seed: 1,
  });
  const bw = cc.maxBw * 1000; // bytes per second
  assert.ok(Math.abs(bw - RATE) / RATE < 0.1, `max_bw ${bw} B/s`);
  assert.ok(cc.state.startsWith("ProbeBW_") || cc.state === "ProbeRTT", cc.state);
  assert.ok(Math.abs(cc.minRtt - 40) < 2, `min_rtt ${cc.minRtt}`);
  assert.ok(mbits > 75, `${mbits} Mbit/s`);
});

Deno.test("Bbr keeps most of the bottleneck at 1% random loss where CUBIC is loss-bound", () => {
  const bbr = transfer((o) => new Bbr(o), {
    loss: 0.01,
    mb: 30,
    seed: 2,
  });
  const bw = bbr.cc.maxBw * 1000;
  assert.ok(Math.abs(bw - RATE) / RATE < 0.1, `max_bw ${bw} B/s`);
  assert.ok(bbr.mbits > 60, `BBR ${bbr.mbits} Mbit/s`);
  const cubic = transfer((o) => new Cubic(o), {
    loss: 0.01,
    mb: 4,
    seed: 2,
  });
  assert.ok(bbr.mbits > 5 * cubic.mbits, `BBR ${bbr.mbits} vs CUBIC ${cubic.mbits} Mbit/s`);
});

Deno.test("Cubic fills the simulator's clean bottleneck and HyStart++ leaves slow start", () => {
  const { cc, mbits } = transfer((o) => new Cubic(o), {
    loss: 0,
    mb: 30,
    seed: 3,
  });
  assert.notEqual(cc.hystartPhase, "slowStart");
  assert.ok(mbits > 75, `${mbits} Mbit/s`);
});

/** What {@linkcode bulkOnPath} measured after its warm-up. */
interface PathRun {
  /** Bytes through the bottleneck / what it could carry. */
  utilization: number;
  /** Mean and largest queueing delay (ms) the bottleneck gave a data datagram. */
  queueMean: number;
  queueMax: number;
  bbr: Bbr;
}

/**
 * A backlogged BBR flow for `warm` + `secs` s over the 40 ms, 100 Mbit/s path
 * with a 1000-datagram drop-tail queue (bench/lossy.ts's clean profile), with
 * receive batches (`batch`) and `jitter` ms of ACK-timing noise (order
 * kept): the datagrams of a clump arrive together, as when the real
 * runtime's event loop wakes late. Queueing is measured like
 * bench/_impair_engine.ts: the backlog ahead of each accepted data datagram.
 */
function bulkOnPath(opts: { jitter: number; seed: number; warm: number; secs: number }): PathRun {
  let bbr: Bbr | undefined;
  const name = `probe-${crypto.randomUUID()}`;
  registerController(name, (o) => (bbr = new Bbr(o)));
  const tb = createTestbed({
    seed: opts.seed,
    batch: true,
    link: {
      delay: 20,
      bandwidth: RATE,
      queuePackets: 1000,
      jitter: opts.jitter,
      preserveOrder: true,
    },
  });
  const client = tb.addStack({ tcp: { congestionControl: name }, batch: true });
  const l = tb.stack.listen(80);
  const receivers: StackConnection[] = [];
  l.onAcceptable = () => {
    for (let c = l.accept(); c !== undefined; c = l.accept()) receivers.push(c);
  };
  const c = client.connect(tb.stack.localAddr, 80);
  const chunk = patternBytes(65_536, opts.seed);
  const sink = new Uint8Array(65_536);
  const server = tb.stack.localAddr.hostname;
  const warm = opts.warm * 1000;
  const end = warm + opts.secs * 1000;
  let busyUntil = 0;
  let bytes = 0;
  let queueSum = 0;
  let queueMax = 0;
  let count = 0;
  while (tb.now < end) {
    while (c.write(chunk) > 0) { /* keep the send buffer full */ }
    tb.advance(1);
    for (const r of receivers) while (r.read(sink) > 0) { /* discard */ }
    for (const rec of tb.network.trace) {
      if (rec.kind !== "send" || rec.to.hostname !== server) continue;
      const wait = Math.max(0, busyUntil - rec.time);
      busyUntil = Math.max(busyUntil, rec.time) + rec.size * 1000 / RATE;
      if (rec.time < warm) continue;
      queueSum += wait;
      queueMax = Math.max(queueMax, wait);
      count++;
      bytes += rec.size;
    }
    tb.network.trace.clear();
  }
  tb.close();
  assert.ok(bbr !== undefined);
  assert.equal(tb.network.stats().drops.queue, 0, "the queue never overflowed");
  return {
    utilization: bytes / (RATE * opts.secs),
    queueMean: queueSum / count,
    queueMax,
    bbr,
  };
}

Deno.test("Bbr fills the clean 40 ms, 100 Mbit/s path with a short queue (issue 9's no-loss goal)", () => {
  const run = bulkOnPath({ jitter: 0, seed: 1, warm: 3, secs: 10 });
  assert.ok(run.utilization >= 0.95, `utilization ${run.utilization}`);
  assert.ok(run.queueMean <= 20, `mean queueing ${run.queueMean} ms`); // ≤ 0.5 × base RTT
});

Deno.test("Bbr drains the standing queue an overestimated max_bw builds when ACK timing is noisy", () => {
  // ±3 ms of arrival noise compresses some delivery-rate samples' ACK
  // intervals: max_bw ends ≈ 3–5 % above the bottleneck. Pacing CRUISE at it
  // filled the queue up to cwnd (mean queueing 26.5 ms, max 50 ms, before
  // the standing-queue drain); issue 9 asks for ≤ 1.5× the base RTT.
  const run = bulkOnPath({ jitter: 3, seed: 1, warm: 3, secs: 10 });
  assert.ok(run.bbr.maxBw * 1000 > RATE * 0.97 * 1.02, `max_bw ${run.bbr.maxBw}: overestimated`);
  assert.ok(run.utilization >= 0.95, `utilization ${run.utilization}`);
  assert.ok(run.queueMean <= 20, `mean queueing ${run.queueMean} ms`);
});
