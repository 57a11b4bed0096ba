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
  /**
   * Optional: runs `fn` once the I/O callbacks that are ready now have run
   * (the end of a receive batch: every datagram already queued in the
   * socket). The stack uses it to answer a batch of segments with one
   * cumulative ACK. Without it (the simulator) the stack drains each
   * connection after every datagram.
   */
  defer?(fn: () => void): void;
  /** Fills `buf` with random bytes (seeded in the simulator). */
  randomBytes(buf: Uint8Array): void;
}
