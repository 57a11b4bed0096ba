/**
 * TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).
 *
 * Sequence numbers have their own branded type so that they are never
 * compared with `<`: use {@linkcode seqLt} and friends, which are correct
 * across the 2^32 wrap.
 *
 * @module
 */

/** A 32-bit TCP sequence number (branded so plain numbers are not mixed in by accident). */
export type Seq = number & { readonly __brand: "Seq" };

/**
 * Makes a {@linkcode Seq} from any integer, reducing it modulo 2^32.
 *
 * @example Wrap a value past 2^32
 * ```ts
 * import assert from "node:assert/strict";
 * import { seq } from "./seq.ts";
 * assert.equal(seq(2 ** 32 + 5), 5);
 * ```
 */
export function seq(n: number): Seq {
  return (n >>> 0) as Seq;
}

/** `a + n` modulo 2^32. */
export function seqAdd(a: Seq, n: number): Seq {
  return ((a + n) >>> 0) as Seq;
}

/** Signed distance `a - b` in the range [-2^31, 2^31). */
export function seqSub(a: Seq, b: Seq): number {
  return (a - b) | 0;
}

/** `a < b` in sequence space. */
export function seqLt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) < 0;
}

/** `a <= b` in sequence space. */
export function seqLe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) <= 0;
}

/** `a > b` in sequence space. */
export function seqGt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) > 0;
}

/** `a >= b` in sequence space. */
export function seqGe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) >= 0;
}

/** The larger of two sequence numbers. */
export function seqMax(a: Seq, b: Seq): Seq {
  return seqGt(a, b) ? a : b;
}

/** The smaller of two sequence numbers. */
export function seqMin(a: Seq, b: Seq): Seq {
  return seqLt(a, b) ? a : b;
}

/**
 * `start <= x < start + len` in sequence space (RFC 9293 §3.10.7.4 acceptability).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inWindow, seq } from "./seq.ts";
 * assert.ok(inWindow(seq(3), seq(2 ** 32 - 2), 10)); // across the wrap
 * assert.ok(!inWindow(seq(8), seq(2 ** 32 - 2), 10));
 * ```
 */
export function inWindow(x: Seq, start: Seq, len: number): boolean {
  const d = (x - start) >>> 0;
  return d < len;
}
