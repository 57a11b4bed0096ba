/**
 * Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation)
 * end to end on the simulator: a controller that only records the
 * `AckSample`s sees the bottleneck rate of a simulated link (what BBR's
 * bandwidth filter is built on), and app-limited samples are marked.
 */
import assert from "node:assert/strict";
import type {
  AckSample,
  CongestionController,
} from "../../src/tcp/congestion/congestion_controller.ts";
import { registerController } from "../../src/tcp/congestion/registry.ts";
import { createTestbed } from "../../src/testing/mod.ts";
import { patternBytes, pump } from "../_harness/sim_pair.ts";

/** A fixed window that records every rate sample it is given. */
class RecordingWindow implements CongestionController {
  readonly name = "recording-window";
  readonly ssthresh = Infinity;
  readonly usesPrr = false;
  readonly rates: number[] = [];
  readonly appLimited: number[] = [];
  constructor(readonly cwnd: number) {}
  pacingRate(): number {
    return -1;
  }
  onAck(_now: number, s: AckSample): void {
    if (s.deliveryRate < 0) return;
    (s.isAppLimited ? this.appLimited : this.rates).push(s.deliveryRate);
  }
  onCongestionEvent(): void {}
  onRecoveryExit(): void {}
  onRto(): void {}
  onSpuriousCongestion(): void {}
  setMss(): void {}
}

/** `size` bytes over a 20 Mbit/s, 40 ms path under a fixed window; `recvBufferSize` bounds the receiver. */
function transfer(
  cwnd: number,
  size: number,
  opts: { seed?: number; recvBufferSize?: number } = {},
): RecordingWindow {
  let made: RecordingWindow | undefined;
  registerController("recording-window", () => (made = new RecordingWindow(cwnd)));
  const tcp = { congestionControl: "recording-window" };
  const tb = createTestbed({
    seed: opts.seed ?? 1,
    tcp: opts.recvBufferSize === undefined ? tcp : { ...tcp, recvBufferSize: opts.recvBufferSize },
    link: { delay: 20, bandwidth: 2_500_000, queueLimit: 2_000_000 }, // 20 Mbit/s, 40 ms RTT
  });
  const client = tb.addStack({ tcp });
  const l = tb.stack.listen(80);
  const c = client.connect(tb.stack.localAddr, 80);
  pump(c, patternBytes(size, 1), 0);
  l.onAcceptable = () => {
    pump(l.accept()!, new Uint8Array(0), size);
  };
  const deadline = tb.now + 60_000;
  while (tb.now < deadline && c.info().bytesAcked < size) tb.advance(10);
  tb.close();
  assert.ok(made !== undefined);
  return made;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

Deno.test("DeliveryRate samples the bottleneck within 10% when a window of 2·BDP crosses a 20 Mbit/s link", () => {
  // BDP = 2500 B/ms · 40 ms = 100 kB; the window keeps the bottleneck busy
  const cc = transfer(200_000, 4_000_000);
  assert.ok(cc.rates.length > 100, `${cc.rates.length} samples`);
  const m = median(cc.rates);
  if (Deno.env.get("TOU_VERBOSE")) {
    console.log(cc.rates.length, m, Math.max(...cc.rates), cc.appLimited.length);
  }
  assert.ok(Math.abs(m - 2500) / 2500 < 0.1, `median sample ${m.toFixed(0)} B/ms`);
  assert.ok(Math.max(...cc.rates) < 2500 * 1.25, `max ${Math.max(...cc.rates).toFixed(0)}`);
});

Deno.test("DeliveryRate samples show the window, not the link, when the window is far below the BDP", () => {
  // 20 kB per 40 ms RTT = 500 B/ms, a fifth of the bottleneck
  const cc = transfer(20_000, 1_000_000);
  const m = median(cc.rates);
  if (Deno.env.get("TOU_VERBOSE")) console.log(cc.rates.length, m, cc.appLimited.length);
  assert.ok(Math.abs(m - 500) / 500 < 0.15, `median sample ${m.toFixed(0)} B/ms`);
});

Deno.test("DeliveryRate marks samples app-limited when the application sends less than the window allows", () => {
  let made: RecordingWindow | undefined;
  registerController("recording-window", () => (made = new RecordingWindow(200_000)));
  const tcp = { congestionControl: "recording-window" };
  const tb = createTestbed({ seed: 2, tcp, link: { delay: 20, bandwidth: 2_500_000 } });
  const client = tb.addStack({ tcp });
  const l = tb.stack.listen(80);
  const c = client.connect(tb.stack.localAddr, 80);
  l.onAcceptable = () => {
    pump(l.accept()!, new Uint8Array(0), 1 << 30);
  };
  const chunk = new Uint8Array(5000);
  for (let t = 0; t < 2000; t += 50) {
    c.write(chunk); // 100 kB/s: a twenty-fifth of the link
    tb.advance(50);
  }
  tb.close();
  assert.ok(made !== undefined);
  assert.ok(made.appLimited.length > 20, `${made.appLimited.length} app-limited samples`);
  assert.ok(made.appLimited.length > 4 * made.rates.length, `${made.rates.length} others`);
});

Deno.test("DeliveryRate marks samples app-limited while the peer's window, not cwnd, holds the sender back", () => {
  // cwnd 1 MB, but the receiver offers at most 32 KiB: samples show the window
  // (≈ 800 B/ms), not the 2500 B/ms link, and must not end BBR's Startup as a full pipe
  const made = transfer(1_000_000, 1_000_000, { seed: 3, recvBufferSize: 32 * 1024 });
  assert.ok(made.appLimited.length > 100, `${made.appLimited.length} app-limited samples`);
  assert.ok(made.appLimited.length > 10 * made.rates.length, `${made.rates.length} others`);
});
