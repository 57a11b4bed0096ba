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
