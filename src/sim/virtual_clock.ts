/**
 * Simulated time: a {@linkcode Runtime} whose clock only moves when told to,
 * running scheduled callbacks in (time, insertion) order. Together with a
 * seeded {@linkcode Prng} it makes whole-stack runs reproducible.
 *
 * @module
 */

import { type Instant, NEVER } from "../time.ts";
import type { Runtime, TimerId } from "../stack/runtime.ts";
import { EventQueue } from "./event_queue.ts";
import { Prng } from "./prng.ts";

/** Options of {@linkcode VirtualClock}. */
export interface VirtualClockOptions {
  /** Seed of the generator behind `randomBytes` (ISNs, secrets...). Default 1. */
  readonly seed?: number;
  /** Initial time in ms. Default 0. */
  readonly start?: Instant;
}

/** Bounds of {@linkcode VirtualClock.runUntilIdle}. */
export interface RunUntilIdleOptions {
  /** Most events to run before giving up with an error. Default 1 000 000. */
  readonly maxEvents?: number;
  /** Latest time the queue may still hold events; an event due later is an error. Default none. */
  readonly until?: Instant;
}

/** Default `maxEvents` of {@linkcode VirtualClock.runUntilIdle}. */
export const DEFAULT_MAX_EVENTS = 1_000_000;

/**
 * A manually driven clock implementing {@linkcode Runtime}.
 *
 * Rules: events due at the same time run in the order they were scheduled;
 * scheduling in the past runs the callback at the current time (never
 * earlier); callbacks may schedule and cancel events; `advance`,
 * `advanceTo` and `runUntilIdle` may not be called from inside a callback.
 *
 * @example Drive two timers
 * ```ts
 * import assert from "node:assert/strict";
 * import { VirtualClock } from "./virtual_clock.ts";
 * const clock = new VirtualClock({ seed: 1 });
 * const log: string[] = [];
 * clock.schedule(20, () => log.push(`b@${clock.now()}`));
 * const id = clock.schedule(10, () => log.push("never"));
 * clock.schedule(10, () => log.push(`a@${clock.now()}`));
 * clock.cancel(id);
 * assert.equal(clock.nextDeadline(), 10);
 * clock.advance(15);
 * assert.deepEqual(log, ["a@10"]);
 * assert.equal(clock.now(), 15);
 * assert.equal(clock.runUntilIdle(), 1);
 * assert.deepEqual(log, ["a@10", "b@20"]);
 * ```
 */
export class VirtualClock implements Runtime {
  #now: Instant;
  #queue = new EventQueue<() => void>();
  #prng: Prng;
  #running = false;
  #eventsRun = 0;

  /**
   * Creates an idle clock.
   *
   * @param opts Seed and start time.
   */
  constructor(opts: VirtualClockOptions = {}) {
    const start = opts.start ?? 0;
    if (!Number.isFinite(start)) {
      throw new RangeError(`VirtualClock start must be finite, got ${start}`);
    }
    this.#now = start;
    this.#prng = new Prng(opts.seed ?? 1);
  }

  /** The current virtual time in ms. */
  now(): Instant {
    return this.#now;
  }

  /**
   * Schedules `fn` at `at` (clamped to now when in the past). Scheduling at
   * `NEVER` returns an id that never fires.
   */
  schedule(at: Instant, fn: () => void): TimerId {
    if (Number.isNaN(at)) throw new RangeError("VirtualClock.schedule: time is NaN");
    if (at === NEVER) return 0;
    return this.#queue.push(at < this.#now ? this.#now : at, fn);
  }

  /** Cancels a scheduled callback; unknown or fired ids are ignored. O(1). */
  cancel(id: TimerId): void {
    this.#queue.cancel(id);
  }

  /** Fills `buf` from the clock's seeded generator. */
  randomBytes(buf: Uint8Array): void {
    this.#prng.fill(buf);
  }

  /** The clock's seeded generator (shared with `randomBytes`). */
  get prng(): Prng {
    return this.#prng;
  }

  /** Number of scheduled, not yet run, not cancelled events. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Total number of events run since construction. */
  get eventsRun(): number {
    return this.#eventsRun;
  }

  /** Time of the earliest pending event, or `NEVER` when idle. */
  nextDeadline(): Instant {
    return this.#queue.peekTime();
  }

  /**
   * Runs every event due within the next `ms` milliseconds, then sets the
   * clock to `now + ms`.
   *
   * @returns The number of events run.
   */
  advance(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`VirtualClock.advance: ms must be a finite number >= 0, got ${ms}`);
    }
    return this.advanceTo(this.#now + ms);
  }

  /**
   * Runs every event due at or before `t`, then sets the clock to `t`.
   *
   * @returns The number of events run.
   */
  advanceTo(t: Instant): number {
    if (!Number.isFinite(t)) {
      throw new RangeError(`VirtualClock.advanceTo: time must be finite, got ${t}`);
    }
    if (t < this.#now) {
      throw new RangeError(`VirtualClock.advanceTo: cannot move back from ${this.#now} to ${t}`);
    }
    this.#enter("advanceTo");
    let n = 0;
    try {
      while (this.#queue.peekTime() <= t) {
        this.#runOne();
        n++;
      }
      this.#now = t;
    } finally {
      this.#running = false;
    }
    return n;
  }

  /**
   * Runs the next pending event, moving the clock to its time.
   *
   * @returns `false` when there was nothing to run.
   */
  step(): boolean {
    this.#enter("step");
    try {
      if (this.#queue.size === 0) return false;
      this.#runOne();
      return true;
    } finally {
      this.#running = false;
    }
  }

  /**
   * Runs events (moving the clock forward) until none is left. Fails with an
   * Error naming the bound instead of hanging: when `maxEvents` events have
   * run and more are pending, or when the next event is due after `until`.
   * On failure the clock stays at the last event run.
   *
   * @returns The number of events run.
   */
  runUntilIdle(opts: RunUntilIdleOptions = {}): number {
    const maxEvents = opts.maxEvents ?? DEFAULT_MAX_EVENTS;
    const until = opts.until ?? NEVER;
    this.#enter("runUntilIdle");
    let n = 0;
    try {
      for (;;) {
        const next = this.#queue.peekTime();
        if (next === NEVER) return n;
        if (next > until) {
          throw new Error(
            `VirtualClock.runUntilIdle: not idle by until=${until} ms ` +
              `(now ${this.#now} ms, ${this.#queue.size} events pending, next at ${next} ms)`,
          );
        }
        if (n >= maxEvents) {
          throw new Error(
            `VirtualClock.runUntilIdle: still busy after maxEvents=${maxEvents} events ` +
              `(now ${this.#now} ms, ${this.#queue.size} events pending, next at ${next} ms)`,
          );
        }
        this.#runOne();
        n++;
      }
    } finally {
      this.#running = false;
    }
  }

  #enter(what: string): void {
    if (this.#running) {
      throw new Error(`VirtualClock.${what} called from inside a scheduled callback`);
    }
    this.#running = true;
  }

  #runOne(): void {
    const ev = this.#queue.pop()!;
    this.#now = ev.time;
    this.#eventsRun++;
    ev.value();
  }
}
