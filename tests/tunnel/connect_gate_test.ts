import assert from "node:assert/strict";
import { ConnectGate } from "../../src/tunnel/connect_gate.ts";

/** A connect the test settles by hand. */
function pending<T>(
  value: T,
): { connect: () => Promise<T>; settle: () => void; started: () => boolean } {
  let resolve: ((v: T) => void) | undefined;
  let started = false;
  return {
    connect: () => {
      started = true;
      return new Promise<T>((r) => resolve = r);
    },
    settle: () => resolve!(value),
    started: () => started,
  };
}

const tick = () => new Promise<void>((r) => queueMicrotask(r));
async function ticks(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

/** A clock and one timer the test fires by hand. */
function manualTime(): {
  now: () => number;
  advance: (ms: number) => void;
  setTimer: (fn: () => void, ms: number) => void;
  fire: () => boolean;
} {
  let t = 0;
  let timer: { fn: () => void; at: number } | undefined;
  return {
    now: () => t,
    advance: (ms) => t += ms,
    setTimer: (fn, ms) => {
      assert.equal(timer, undefined, "one timer at a time");
      timer = { fn, at: t + ms };
    },
    fire: () => {
      if (timer === undefined || timer.at > t) return false;
      const { fn } = timer;
      timer = undefined;
      fn();
      return true;
    },
  };
}

/** A gate that has seen one fast connect (it paces only once it knows the target is fast). */
async function warm(gate: ConnectGate): Promise<ConnectGate> {
  await gate.run(() => Promise.resolve(undefined));
  return gate;
}

Deno.test("ConnectGate: at most `limit` connects in progress; the next starts when one settles, first come first served", async () => {
  const time = manualTime();
  const gate = await warm(new ConnectGate({ limit: 2, now: time.now, setTimer: time.setTimer }));
  const cs = [0, 1, 2, 3].map((i) => pending(i));
  const results = cs.map((c) => gate.run(c.connect));
  await ticks();
  assert.deepEqual(cs.map((c) => c.started()), [true, true, false, false]);
  assert.equal(gate.active, 2);
  assert.equal(gate.waiting, 2);
  cs[1].settle();
  await ticks();
  assert.deepEqual(cs.map((c) => c.started()), [true, true, true, false]);
  cs[0].settle();
  await ticks();
  assert.equal(cs[3].started(), true);
  cs[2].settle();
  cs[3].settle();
  assert.deepEqual(await Promise.all(results), [0, 1, 2, 3]);
  assert.equal(gate.active, 0);
  assert.equal(gate.waiting, 0);
});

Deno.test("ConnectGate: a failed connect frees its slot and its error reaches the caller", async () => {
  const gate = await warm(new ConnectGate({ limit: 1 }));
  const first = gate.run(() => Promise.reject(new Deno.errors.ConnectionRefused("refused")));
  const second = gate.run(() => Promise.resolve("ok"));
  await assert.rejects(first, Deno.errors.ConnectionRefused);
  assert.equal(await second, "ok");
  assert.equal(gate.active, 0);
});

Deno.test("ConnectGate: a connect that hangs holds its slot for staleMs at most: the timer lets the next one start", async () => {
  const time = manualTime();
  const gate = await warm(
    new ConnectGate({ limit: 1, staleMs: 5, slowMs: 1000, now: time.now, setTimer: time.setTimer }),
  );
  const stuck = pending("stuck");
  const next = pending("next");
  const a = gate.run(stuck.connect);
  const b = gate.run(next.connect);
  await ticks();
  assert.equal(next.started(), false);
  time.advance(4);
  assert.equal(time.fire(), false, "not before staleMs");
  time.advance(1);
  assert.equal(time.fire(), true);
  await ticks();
  assert.equal(next.started(), true, "the hung connect no longer holds the gate");
  next.settle();
  assert.equal(await b, "next");
  stuck.settle();
  assert.equal(await a, "stuck");
  assert.equal(gate.active, 0);
});

Deno.test("ConnectGate: a target not measured yet, or whose connects take slowMs or more, is not paced", async () => {
  const time = manualTime();
  const gate = new ConnectGate({
    limit: 1,
    staleMs: 1000,
    slowMs: 10,
    now: time.now,
    setTimer: time.setTimer,
  });
  // nothing measured yet: a first burst starts at once
  const burst = [pending(0), pending(1)];
  const br = burst.map((c) => gate.run(c.connect));
  await ticks();
  assert.deepEqual(burst.map((c) => c.started()), [true, true]);
  time.advance(20); // a remote target: 20 ms per connect
  for (const c of burst) c.settle();
  await Promise.all(br);
  assert.equal(gate.smoothedMs, 20);
  const cs = [pending(2), pending(3), pending(4)];
  const rs = cs.map((c) => gate.run(c.connect));
  await ticks();
  assert.deepEqual(cs.map((c) => c.started()), [true, true, true], "all start at once");
  for (const c of cs) c.settle();
  assert.deepEqual(await Promise.all(rs), [2, 3, 4]);
});

Deno.test("ConnectGate: limit 0 is no gate", async () => {
  const gate = new ConnectGate({ limit: 0 });
  const cs = [pending(1), pending(2), pending(3)];
  const rs = cs.map((c) => gate.run(c.connect));
  await ticks();
  assert.deepEqual(cs.map((c) => c.started()), [true, true, true]);
  for (const c of cs) c.settle();
  assert.deepEqual(await Promise.all(rs), [1, 2, 3]);
});
