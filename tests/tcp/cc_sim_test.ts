/**
 * CUBIC and BBR driven by the real sender (RACK-TLP, PRR, delivery-rate
 * samples) over the simulator's bottleneck: the end-to-end counterparts of
 * the controller unit tests (cubic_test.ts, bbr_test.ts), and CUBIC against
 * NewReno at 1% random loss held to RFC 9438 §5.1's average windows.
 */
import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import { registerController } from "../../src/tcp/congestion/registry.ts";
import { Bbr } from "../../src/tcp/congestion/bbr.ts";
import { ALPHA_CUBIC, BETA_CUBIC, Cubic, CUBIC_C } from "../../src/tcp/congestion/cubic.ts";
import { NewReno } from "../../src/tcp/congestion/new_reno.ts";
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

/**
 * Goodput (Mbit/s) of one backlogged flow over `seconds` of virtual time after
 * a 2 s start, on a 40 ms RTT, 100 Mbit/s path with `loss` each way; `watch`
 * sees the controller every 10 ms.
 */
function goodput<C extends CongestionController>(
  make: (o: CongestionOptions) => C,
  opts: { loss: number; seconds: number; seed: number },
  watch: (cc: C) => void = () => {},
): { mbits: number; mss: number } {
  let cc: C | undefined;
  const name = `probe-${crypto.randomUUID()}`;
  registerController(name, (o) => (cc = make(o)));
  const tb = createTestbed({
    seed: opts.seed,
    link: { loss: opts.loss, delay: 20, bandwidth: RATE, queueLimit: 1000 * 1500 },
  });
  const client = tb.addStack({ tcp: { congestionControl: name } });
  const l = tb.stack.listen(80);
  const size = 256 << 20; // more than the flow can move: always backlogged
  let sink: ReturnType<typeof pump> | undefined;
  l.onAcceptable = () => (sink = pump(l.accept()!, new Uint8Array(0), size));
  const c = client.connect(tb.stack.localAddr, 80);
  pump(c, new Uint8Array(size), 0);
  tb.advance(2000);
  assert.ok(sink !== undefined && cc !== undefined);
  const from = sink.receivedLength, t0 = tb.now;
  while (tb.now < t0 + opts.seconds * 1000) {
    tb.advance(10);
    watch(cc);
  }
  const mbits = (sink.receivedLength - from) * 8 / (tb.now - t0) / 1000;
  const mss = c.info().mss;
  tb.close();
  return { mbits, mss };
}

/** RFC 9438 §5.1: CUBIC's average window (segments) from its cubic curve alone. */
function avgWCubic(p: number, rttSeconds: number): number {
  return ((CUBIC_C * (3 + BETA_CUBIC)) / (4 * (1 - BETA_CUBIC))) ** 0.25 *
    rttSeconds ** 0.75 / p ** 0.75;
}

/**
 * The average window (segments) of an AIMD(α, β) flow under loss rate `p`,
 * sqrt(α(1+β) / (2(1−β)p)) (RFC 9438 §4.3's derivation of α_cubic): Reno's
 * AIMD(1, 0.5) and CUBIC's W_est, AIMD(α_cubic, 0.7), both give sqrt(3 / 2p).
 */
function avgWAimd(p: number, alpha: number, beta: number): number {
  return Math.sqrt(alpha * (1 + beta) / (2 * (1 - beta) * p));
}

Deno.test("Cubic stays in the Reno-friendly region at 1% loss on a 40 ms path and moves what NewReno moves, as RFC 9438 §5.1 predicts", () => {
  const p = 0.01, rtt = 0.04;
  // the formula: the cubic curve averages 3.0 segments, W_est 12.2 (= Reno's): CUBIC
  // follows W_est, and its throughput is Reno's (≈ 1×, not 3×: a cubic region 3× Reno's
  // needs RTT ≥ 1.1 s at 1% loss, or p ≤ 4·10⁻⁷ at 40 ms)
  const cubicCurve = avgWCubic(p, rtt);
  const reno = avgWAimd(p, 1, 0.5);
  const renoFriendly = avgWAimd(p, ALPHA_CUBIC, BETA_CUBIC);
  assert.ok(Math.abs(cubicCurve - 2.98) < 0.01, `${cubicCurve}`);
  assert.ok(Math.abs(renoFriendly - reno) < 1e-9 && Math.abs(reno - 12.25) < 0.01);
  const predicted = Math.max(cubicCurve, renoFriendly) / reno; // 1
  // the simulator: 1% random loss each way, 100 Mbit/s, 2 seeds of 30 s each
  let cubic = 0, newReno = 0, avoidance = 0, cubicRegion = 0, mss = 0;
  for (const seed of [1, 2]) {
    const c = goodput((o) => new Cubic(o), { loss: p, seconds: 30, seed }, (cc) => {
      if (cc.cwnd < cc.ssthresh) return;
      avoidance++;
      if (cc.cwnd > cc.wEst + cc.cwnd / 100) cubicRegion++; // the cubic curve governs
    });
    cubic += c.mbits / 2;
    mss = c.mss;
    newReno += goodput((o) => new NewReno(o), { loss: p, seconds: 30, seed }).mbits / 2;
  }
  assert.ok(avoidance > 4000 && cubicRegion / avoidance < 0.05, `${cubicRegion}/${avoidance}`);
  const ratio = cubic / newReno;
  assert.ok(Math.abs(ratio - predicted) < 0.25, `CUBIC ${cubic} / NewReno ${newReno} Mbit/s`);
  // and both near the formula's rate, sqrt(3 / 2p) segments per RTT (Mathis et al.)
  const formula = reno * mss * 8 / rtt / 1e6;
  for (const mbits of [cubic, newReno]) {
    assert.ok(Math.abs(mbits - formula) / formula < 0.25, `${mbits} vs ${formula} Mbit/s`);
  }
});
