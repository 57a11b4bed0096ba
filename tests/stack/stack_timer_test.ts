/**
 * All connection timers of a stack run from one runtime timer armed at the
 * earliest deadline (a heap over the injected clock), never one per segment
 * or per connection.
 */
import assert from "node:assert/strict";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type { Runtime, TimerId } from "../../src/stack/runtime.ts";
import { Stack } from "../../src/stack/stack.ts";
import { firstDiff, patternBytes, pump } from "../_harness/sim_pair.ts";

/** A runtime that counts the callbacks its stack has scheduled and not yet run or cancelled. */
class CountingRuntime implements Runtime {
  readonly #clock: VirtualClock;
  readonly live = new Set<TimerId>();
  maxLive = 0;
  scheduled = 0;

  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }
  now(): number {
    return this.#clock.now();
  }
  schedule(at: number, fn: () => void): TimerId {
    const id: TimerId = this.#clock.schedule(at, () => {
      this.live.delete(id);
      fn();
    });
    this.live.add(id);
    this.scheduled++;
    this.maxLive = Math.max(this.maxLive, this.live.size);
    return id;
  }
  cancel(id: TimerId): void {
    this.live.delete(id);
    this.#clock.cancel(id);
  }
  randomBytes(buf: Uint8Array): void {
    this.#clock.randomBytes(buf);
  }
}

Deno.test("Stack drives every connection's timers from one runtime timer when many connections are busy", () => {
  const clock = new VirtualClock({ seed: 3 });
  const net = new SimNetwork(clock, { seed: 3 });
  net.setLink("*", "*", { delay: 5, loss: 0.03 });
  const rtA = new CountingRuntime(clock), rtB = new CountingRuntime(clock);
  const tcp = { msl: 200 };
  const server = new Stack(net.bind({ hostname: "10.0.0.1", port: 7000 }), rtA, { tcp });
  const client = new Stack(net.bind({ hostname: "10.0.0.2", port: 7000 }), rtB, { tcp });
  const l = server.listen(80, { backlog: 512 });
  const N = 200, SIZE = 20_000;
  const serverSide: ReturnType<typeof pump>[] = [];
  l.onAcceptable = () => {
    for (let s = l.accept(); s; s = l.accept()) {
      serverSide.push(pump(s, patternBytes(SIZE, s.remotePort), SIZE, { closeWhenDone: true }));
    }
  };
  const clientSide: { r: ReturnType<typeof pump>; port: number }[] = [];
  for (let i = 0; i < N; i++) {
    const c = client.connect(server.localAddr, 80);
    clientSide.push({ r: pump(c, patternBytes(SIZE, -c.localPort), SIZE), port: c.localPort });
  }
  let maxConns = 0;
  while (clock.nextDeadline() !== Infinity && clock.now() < 600_000) {
    clock.advance(50);
    maxConns = Math.max(maxConns, client.connections().length);
    // between events at most one runtime timer per stack is pending
    assert.ok(rtA.live.size <= 1 && rtB.live.size <= 1);
  }
  assert.equal(serverSide.length, N);
  for (const { r, port } of clientSide) {
    assert.equal(r.error, undefined);
    assert.equal(firstDiff(r.received, patternBytes(SIZE, port), SIZE), -1);
  }
  assert.equal(maxConns, N);
  assert.equal(rtA.maxLive, 1);
  assert.equal(rtB.maxLive, 1);
  assert.ok(rtA.scheduled > 1 && rtB.scheduled > 1); // it was re-armed as deadlines moved
  client.close();
  server.close();
  assert.equal(rtA.live.size + rtB.live.size, 0); // closing cancels the timer
});
