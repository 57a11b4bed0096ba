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

/** A length of time in milliseconds. */
export type Duration = number;

/** Sentinel deadline meaning "no timer armed". */
export const NEVER: Instant = Number.POSITIVE_INFINITY;
