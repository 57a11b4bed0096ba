import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import {
  Pacer,
  PACING_GAIN_AVOIDANCE,
  PACING_GAIN_SLOW_START,
  pacingRate,
} from "../../src/tcp/pacer.ts";
import { RttEstimator } from "../../src/tcp/rtt.ts";
import { registerController } from "../../src/tcp/congestion/registry.ts";
import type { CongestionController } from "../../src/tcp/congestion/congestion_controller.ts";
import { firstDiff, patternBytes, pump } from "../_harness/sim_pair.ts";

/** Sends 3 MB over a 10 ms link; returns the virtual send times of the sender's data segments. */
function dataSendTimes(pacing: boolean): { times: number[]; ok: boolean } {
  const tcp = { pacing, pacingBurst: 16, pacingHorizon: 0, recvBufferSize: 16 * 1024 * 1024 };
  const tb = createTestbed({ link: { delay: 10 }, tcp });
  const sender = tb.addStack({ tcp });
  const l = tb.stack.listen(80);
  const data = patternBytes(3_000_000, 7);
  const times: number[] = [];
  sender.tracer = {
    onSegment(now, dir, _to, seg) {
      if (dir === "out" && seg.payload.length > 0) times.push(now);
    },
  };
  const c = sender.connect(tb.stack.localAddr, 80);
  pump(c, data, 0, { closeWhenDone: true });
  let got: ReturnType<typeof pump> | undefined;
  l.onAcceptable = () => {
    got = pump(l.accept()!, new Uint8Array(0), data.length, { closeWhenDone: true });
  };
  tb.runUntilIdle({ until: 120_000 });
  const ok = got !== undefined && got.eof && firstDiff(got.received, data, data.length) === -1;
  tb.close();
  return { times, ok };
}

/** The most data segments sent at one instant of virtual time. */
function maxBurst(times: number[]): number {
  let max = 0;
  for (let i = 0, run = 0; i < times.length; i++) {
    run = i > 0 && times[i] === times[i - 1] ? run + 1 : 1;
    if (run > max) max = run;
  }
  return max;
}

Deno.test("Sender paces data to at most pacingBurst segments back to back when pacing is on", () => {
  const paced = dataSendTimes(true);
  const unpaced = dataSendTimes(false);
  assert.ok(paced.ok && unpaced.ok, "both transfers complete intact");
  // Without pacing slow start sends whole flights at the instant an ACK batch arrives.
  assert.ok(maxBurst(unpaced.times) > 16, `unpaced burst ${maxBurst(unpaced.times)}`);
  assert.ok(maxBurst(paced.times) <= 16, `paced burst ${maxBurst(paced.times)}`);
  // Paced segments are spread out: many distinct send instants, gaps well under an RTT.
  const distinct = new Set(paced.times).size;
  assert.ok(distinct > 4 * new Set(unpaced.times).size, `${distinct} distinct send times`);
});

Deno.test("Pacer refills by elapsed time, so a late wake-up sends what it lost but at most the burst", () => {
  const p = new Pacer(4000);
  p.refill(0, 1);
  p.consume(4000);
  assert.equal(p.canSend(1000), false);
  assert.equal(p.sendTime(0, 1000, 1), 1000);
  p.refill(2500, 1); // woke 1.5 s late: 2500 bytes earned
  assert.equal(p.tokens, 2500);
  p.refill(100_000, 1); // idle for long: capped at the burst
  assert.equal(p.tokens, 4000);
  p.refill(100_000, Infinity);
  assert.equal(p.tokens, 4000);
});

Deno.test("Pacer's bucket holds pacingHorizon ms of data at the rate when that exceeds the burst", () => {
  const p = new Pacer(4000, 2);
  p.refill(0, 10); // 10 bytes/ms: 2 ms is 20 bytes, the 4000-byte burst rules
  p.refill(100_000, 10);
  assert.equal(p.tokens, 4000);
  p.refill(200_000, 10_000); // 10 000 bytes/ms: a late wake-up may send 2 ms of data
  assert.equal(p.tokens, 20_000);
});

/** A controller with a fixed window and its own pacing rate (bytes per ms; -1: none). */
function fixedController(cwnd: number, ssthresh: number, rate: number): CongestionController {
  return {
    name: "fixed",
    cwnd,
    ssthresh,
    usesPrr: false,
    pacingRate: () => rate,
    onAck() {},
    onCongestionEvent() {},
    onRecoveryExit() {},
    onRto() {},
    onSpuriousCongestion() {},
    setMss() {},
  };
}

Deno.test("pacingRate takes the controller's own rate when it gives one, else gain·cwnd/SRTT (2 in slow start, 1.2 after)", () => {
  const rtt = new RttEstimator({ initial: 1000, min: 200, max: 60_000 });
  assert.equal(pacingRate(fixedController(10_000, Infinity, 300), rtt), Infinity, "no RTT yet");
  rtt.sample(20);
  assert.equal(pacingRate(fixedController(10_000, Infinity, 300), rtt), 300);
  assert.equal(pacingRate(fixedController(10_000, Infinity, 0), rtt), Infinity);
  assert.equal(
    pacingRate(fixedController(10_000, Infinity, -1), rtt),
    PACING_GAIN_SLOW_START * 10_000 / 20,
  );
  assert.equal(
    pacingRate(fixedController(10_000, 5_000, -1), rtt),
    PACING_GAIN_AVOIDANCE * 10_000 / 20,
  );
});

/**
 * Sends 400 kB over a 20 ms RTT path with no bottleneck and a window that never
 * limits, under a controller pacing at `rate` bytes per ms; returns the bytes of
 * data sent from 1 s to 3 s and the pacing rate the connection reported.
 */
function pacedBytes(rate: number): { bytes: number; reported: number | undefined } {
  const name = `paced-${crypto.randomUUID()}`;
  registerController(name, () => fixedController(1 << 30, Infinity, rate));
  const tcp = { pacing: true, pacingBurst: 2, pacingHorizon: 0, congestionControl: name };
  const tb = createTestbed({ link: { delay: 10 } });
  const sender = tb.addStack({ tcp });
  const l = tb.stack.listen(80);
  let bytes = 0;
  sender.tracer = {
    onSegment(now, dir, _to, seg) {
      if (dir === "out" && now >= 1000 && now < 3000) bytes += seg.payload.length;
    },
  };
  const data = patternBytes(400_000, 3);
  const c = sender.connect(tb.stack.localAddr, 80);
  pump(c, data, 0);
  l.onAcceptable = () => pump(l.accept()!, new Uint8Array(0), data.length);
  tb.advance(2000);
  const reported = c.info().pacingRate;
  tb.advance(1000);
  tb.close();
  return { bytes, reported };
}

Deno.test("Sender paces data at the controller's own rate when the controller gives one (as BBR does)", () => {
  for (const rate of [50, 100]) { // 400 and 800 kbit/s
    const { bytes, reported } = pacedBytes(rate);
    assert.equal(reported, rate * 1000, "TcpInfo.pacingRate in bytes per second");
    // two seconds at the rate, give or take the two-segment bucket
    assert.ok(Math.abs(bytes - 2000 * rate) <= 2 * 1500, `${bytes} B in 2 s at ${rate} B/ms`);
  }
});
