/**
 * Time values used across tou. The protocol core never reads a clock: every
 * function that needs the time takes an {@linkcode Instant} argument.
 *
 * @module
 */

/**
 * A point in time, in milliseconds (fractional allowed) since an arbitrary
 * epoch chosen by the runtime (virtual clock: 0 at start; real: `performance.now()`).
 */
export type Instant = number;

/**
 * A length of time in milliseconds.
 *
 * @example Two minutes of TIME_WAIT
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Duration } from "./time.ts";
 * const msl: Duration = 60_000;
 * assert.equal(2 * msl, 120_000);
 * ```
 */
export type Duration = number;

/** Sentinel deadline meaning "no timer armed". */
export const NEVER: Instant = Number.POSITIVE_INFINITY;
