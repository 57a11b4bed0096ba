import assert from "node:assert/strict";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { NEVER } from "../../src/time.ts";

Deno.test("VirtualClock runs events by time and FIFO among equal times when advanced", () => {
  const clock = new VirtualClock();
  const log: string[] = [];
  clock.schedule(30, () => log.push(`c@${clock.now()}`));
  clock.schedule(10, () => log.push(`a1@${clock.now()}`));
  clock.schedule(20, () => log.push(`b@${clock.now()}`));
  clock.schedule(10, () => log.push(`a2@${clock.now()}`));
  assert.equal(clock.advance(25), 3);
  assert.deepEqual(log, ["a1@10", "a2@10", "b@20"]);
  assert.equal(clock.now(), 25);
  assert.equal(clock.advanceTo(30), 1);
  assert.deepEqual(log, ["a1@10", "a2@10", "b@20", "c@30"]);
});

Deno.test("VirtualClock runs an event scheduled in the past at now when advanced", () => {
  const clock = new VirtualClock({ start: 100 });
  const at: number[] = [];
  clock.schedule(5, () => at.push(clock.now()));
  assert.equal(clock.nextDeadline(), 100);
  clock.advance(0);
  assert.deepEqual(at, [100]);
});

Deno.test("VirtualClock skips cancelled events and ignores unknown ids when cancelling", () => {
  const clock = new VirtualClock();
  const log: number[] = [];
  const a = clock.schedule(1, () => log.push(1));
  const b = clock.schedule(2, () => log.push(2));
  clock.schedule(0, () => clock.cancel(b)); // a callback cancels a later event
  clock.cancel(a);
  clock.cancel(a);
  clock.cancel(999_999);
  assert.equal(clock.runUntilIdle(), 1);
  assert.deepEqual(log, []);
  assert.equal(clock.nextDeadline(), NEVER);
});

Deno.test("VirtualClock runs events that callbacks schedule when they are due within the advance", () => {
  const clock = new VirtualClock();
  const log: string[] = [];
  clock.schedule(10, () => {
    log.push("first");
    clock.schedule(clock.now(), () => log.push("same-time"));
    clock.schedule(clock.now() + 5, () => log.push("later"));
    clock.schedule(clock.now() + 50, () => log.push("beyond"));
  });
  clock.schedule(10, () => log.push("second"));
  clock.advance(20);
  assert.deepEqual(log, ["first", "second", "same-time", "later"]);
  assert.equal(clock.nextDeadline(), 60);
  assert.equal(clock.pending, 1);
});

Deno.test("VirtualClock nextDeadline is NEVER when idle and the earliest live event otherwise", () => {
  const clock = new VirtualClock();
  assert.equal(clock.nextDeadline(), NEVER);
  const id = clock.schedule(7, () => {});
  clock.schedule(9, () => {});
  assert.equal(clock.nextDeadline(), 7);
  clock.cancel(id);
  assert.equal(clock.nextDeadline(), 9);
  clock.runUntilIdle();
  assert.equal(clock.nextDeadline(), NEVER);
  assert.equal(clock.now(), 9);
});

Deno.test("VirtualClock schedule at NEVER never fires when run to idle", () => {
  const clock = new VirtualClock();
  let fired = false;
  const id = clock.schedule(NEVER, () => fired = true);
  clock.cancel(id);
  assert.equal(clock.runUntilIdle(), 0);
  assert.equal(fired, false);
  assert.equal(clock.now(), 0);
});

Deno.test("VirtualClock runUntilIdle throws naming maxEvents when events keep coming", () => {
  const clock = new VirtualClock();
  const tick = () => clock.schedule(clock.now() + 1, tick);
  tick();
  assert.throws(() => clock.runUntilIdle({ maxEvents: 100 }), /maxEvents=100/);
  assert.equal(clock.now(), 100);
  assert.equal(clock.pending, 1);
});

Deno.test("VirtualClock runUntilIdle throws naming until when an event is due later", () => {
  const clock = new VirtualClock();
  clock.schedule(10, () => {});
  clock.schedule(500, () => {});
  assert.throws(() => clock.runUntilIdle({ until: 100 }), /until=100 ms.*next at 500 ms/);
  assert.equal(clock.now(), 10);
  assert.equal(clock.runUntilIdle({ until: 500 }), 1);
});

Deno.test("VirtualClock refuses to be driven from inside a callback", () => {
  const clock = new VirtualClock();
  const errors: string[] = [];
  clock.schedule(1, () => {
    for (const f of [() => clock.advance(1), () => clock.runUntilIdle(), () => clock.step()]) {
      try {
        f();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  });
  clock.runUntilIdle();
  assert.equal(errors.length, 3);
  for (const m of errors) assert.match(m, /inside a scheduled callback/);
});

Deno.test("VirtualClock stays usable when a callback throws", () => {
  const clock = new VirtualClock();
  clock.schedule(1, () => {
    throw new Error("boom");
  });
  let ran = false;
  clock.schedule(2, () => ran = true);
  assert.throws(() => clock.advance(10), /boom/);
  assert.equal(clock.now(), 1);
  clock.advance(10);
  assert.equal(ran, true);
  assert.equal(clock.now(), 11);
});

Deno.test("VirtualClock rejects moving backwards or by a bad amount when advancing", () => {
  const clock = new VirtualClock({ start: 50 });
  assert.throws(() => clock.advanceTo(10), RangeError);
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => clock.advance(Number.NaN), RangeError);
  assert.throws(() => clock.advance(Infinity), RangeError);
  assert.throws(() => clock.schedule(Number.NaN, () => {}), RangeError);
});

Deno.test("VirtualClock step runs one event at a time and reports when idle", () => {
  const clock = new VirtualClock();
  const log: number[] = [];
  clock.schedule(5, () => log.push(5));
  clock.schedule(3, () => log.push(3));
  assert.equal(clock.step(), true);
  assert.equal(clock.now(), 3);
  assert.equal(clock.step(), true);
  assert.equal(clock.step(), false);
  assert.deepEqual(log, [3, 5]);
  assert.equal(clock.eventsRun, 2);
});

Deno.test("VirtualClock randomBytes is reproducible by seed and differs between seeds", () => {
  const a = new Uint8Array(16);
  const b = new Uint8Array(16);
  const c = new Uint8Array(16);
  new VirtualClock({ seed: 5 }).randomBytes(a);
  new VirtualClock({ seed: 5 }).randomBytes(b);
  new VirtualClock({ seed: 6 }).randomBytes(c);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("VirtualClock handles many timers re-armed and cancelled when driven like a stack", () => {
  const clock = new VirtualClock();
  let timer = 0;
  let fired = 0;
  // Re-arm one timer 10 000 times (cancel + schedule), as a stack does per segment.
  for (let i = 0; i < 10_000; i++) {
    clock.cancel(timer);
    timer = clock.schedule(1000 + i, () => fired++);
  }
  assert.equal(clock.pending, 1);
  clock.runUntilIdle();
  assert.equal(fired, 1);
  assert.equal(clock.now(), 10_999);
});
