/**
 * A reader that takes its bytes a moment after they arrive (a relay, a mux
 * session: every real application) offers a window a little below the
 * auto-tuned target, and early on, while that target is still growing, the
 * peer's window is what holds the sender back. Rate samples from those
 * rounds show the window, not the path: BBR once read them as a full pipe
 * and left Startup at a quarter of the link (seed 1: 44 Mbit/s against 68
 * for a reader that reads at once, on a 100 Mbit/s, 40 ms, 1 % loss path).
 */
import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";

const RATE = 12_500_000; // bytes/s: 100 Mbit/s
const SIZE = 8 * 1024 * 1024;

/** Mbit/s of one SIZE transfer; `lag` ms between the reader's looks (0: reads on every arrival). */
function transfer(seed: number, lag: number): number {
  const tcp = { congestionControl: "bbr" as const };
  const tb = createTestbed({
    seed,
    tcp,
    link: { loss: 0.01, delay: 20, bandwidth: RATE, queueLimit: 1_500_000 },
  });
  const client = tb.addStack({ hostname: "127.0.0.2", tcp });
  const l = tb.stack.listen(80);
  const buf = new Uint8Array(1 << 18);
  let got = 0;
  let srv: StackConnection | undefined;
  const drain = () => {
    for (let n = srv!.read(buf); n > 0; n = srv!.read(buf)) got += n;
  };
  l.onAcceptable = () => {
    srv = l.accept()!;
    if (lag === 0) {
      srv.onEvent = (ev) => ev.type === "readable" && drain();
      drain();
    }
  };
  const c = client.connect({ hostname: "127.0.0.1", port: 7000 }, 80);
  const chunk = new Uint8Array(65536).fill(7);
  let sent = 0;
  const fill = () => {
    while (sent < SIZE) {
      const n = c.write(chunk.subarray(0, Math.min(chunk.length, SIZE - sent)));
      if (n === 0) return;
      sent += n;
    }
  };
  c.onEvent = (ev) => ev.type === "writable" && fill();
  fill();
  const t0 = tb.now;
  while (got < SIZE && tb.now < t0 + 60_000) {
    tb.advance(lag === 0 ? 10 : lag);
    if (lag > 0 && srv) drain();
  }
  const ms = tb.now - t0;
  tb.close();
  assert.equal(got, SIZE);
  return SIZE * 8 / ms / 1000;
}

Deno.test("BBR: a reader 1 ms late moves within 15% of one that reads at once (1% loss, 40 ms)", () => {
  const atOnce = transfer(1, 0);
  const late = transfer(1, 1);
  if (Deno.env.get("TOU_VERBOSE")) console.log({ atOnce, late });
  assert.ok(
    late >= 0.85 * atOnce,
    `late reader ${late.toFixed(1)} Mbit/s, at once ${atOnce.toFixed(1)}`,
  );
});
