import assert from "node:assert/strict";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type { Runtime } from "../../src/stack/runtime.ts";
import { Stack } from "../../src/stack/stack.ts";
import type { LinkConfig } from "../../src/sim/link.ts";
import { firstDiff, patternBytes, pump } from "../_harness/sim_pair.ts";

/**
 * The virtual clock as a runtime that can `defer`: the callback runs at the
 * same virtual instant, after the deliveries already queued for it (events at
 * one time run in insertion order), like setImmediate after a receive batch.
 */
function deferringRuntime(clock: VirtualClock): Runtime {
  return {
    now: () => clock.now(),
    schedule: (at, fn) => clock.schedule(at, fn),
    cancel: (id) => clock.cancel(id),
    randomBytes: (buf) => clock.randomBytes(buf),
    defer: (fn) => void clock.schedule(clock.now(), fn),
  };
}

/** Moves `size` bytes one way; returns the receiver's pure ACKs and whether the data arrived intact. */
function transfer(defer: boolean, link: LinkConfig, seed = 1): { acks: number; ok: boolean } {
  const clock = new VirtualClock({ seed });
  const net = new SimNetwork(clock, { seed });
  net.setLink("*", "*", link);
  const rt: Runtime = defer ? deferringRuntime(clock) : clock;
  const opts = { tcp: { pacing: false } };
  const receiver = new Stack(net.bind({ hostname: "10.0.0.1", port: 7000 }), rt, opts);
  const sender = new Stack(net.bind({ hostname: "10.0.0.2", port: 7000 }), rt, opts);
  let acks = 0;
  receiver.tracer = {
    onSegment(_now, dir, _to, seg) {
      if (dir === "out" && seg.payload.length === 0) acks++;
    },
  };
  const data = patternBytes(1_000_000, seed);
  const l = receiver.listen(80);
  let got: ReturnType<typeof pump> | undefined;
  l.onAcceptable = () => {
    got = pump(l.accept()!, new Uint8Array(0), data.length, { closeWhenDone: true });
  };
  const c = sender.connect(receiver.localAddr, 80);
  pump(c, data, 0, { closeWhenDone: true });
  clock.runUntilIdle({ until: 600_000 });
  const ok = got !== undefined && got.eof && firstDiff(got.received, data, data.length) === -1;
  receiver.close();
  sender.close();
  return { acks, ok };
}

Deno.test("Stack answers a receive batch with one cumulative ACK when the runtime can defer", () => {
  const perDatagram = transfer(false, { delay: 10 });
  const batched = transfer(true, { delay: 10 });
  assert.ok(perDatagram.ok && batched.ok, "both transfers complete intact");
  // ~1 ACK per 2 segments without batching; far fewer when flights arrive together.
  assert.ok(
    batched.acks * 3 < perDatagram.acks,
    `acks: ${batched.acks} batched vs ${perDatagram.acks} per datagram`,
  );
});

Deno.test("Stack still ACKs out-of-order segments at once and recovers losses when batching ACKs", () => {
  const clean = transfer(true, { delay: 10 });
  for (const seed of [1, 2, 3]) {
    const r = transfer(true, { delay: 10, loss: 0.02 }, seed);
    assert.ok(r.ok, `seed ${seed}: transfer completes intact`);
    // each segment past a hole is answered by its own (duplicate, SACK) ACK
    assert.ok(r.acks > 2 * clean.acks, `seed ${seed}: ${r.acks} acks vs ${clean.acks} clean`);
  }
});
