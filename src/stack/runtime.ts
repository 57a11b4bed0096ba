/**
 * What a stack needs from its environment: a clock, one kind of timer and
 * randomness. The simulator and the real runtime implement it; the same
 * `Stack` code runs on both.
 *
 * @module
 */

import type { Instant } from "../time.ts";

/** Opaque handle of a scheduled callback. */
export type TimerId = number;

/** Clock, timers and randomness for a stack. */
export interface Runtime {
  /** The current time in ms. */
  now(): Instant;
  /** Calls `fn` once at (or soon after) `at`. */
  schedule(at: Instant, fn: () => void): TimerId;
  /** Cancels a scheduled callback; unknown or fired ids are ignored. */
  cancel(id: TimerId): void;
  /** Fills `buf` with random bytes (seeded in the simulator). */
  randomBytes(buf: Uint8Array): void;
}
