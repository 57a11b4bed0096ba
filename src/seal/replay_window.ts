/**
 * Anti-replay sliding window over 64-bit packet counters, as a ring of
 * 32-bit bitmap blocks (RFC 6479). Check a counter before the expensive
 * authentication with {@linkcode ReplayWindow.check}, and record it only
 * after the datagram authenticated, with {@linkcode ReplayWindow.accept}:
 * a forged datagram must never move the window.
 *
 * @module
 */

/** Verdict of {@linkcode ReplayWindow.check}. */
export type ReplayVerdict = "fresh" | "replay" | "too-old";

const BLOCK_BITS = 32;

/**
 * The set of counters already accepted from one sender, remembered for the
 * last `size` counters below the highest one seen.
 *
 * @example Duplicates and stale counters are refused; reordering is not
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReplayWindow } from "./replay_window.ts";
 *
 * const w = new ReplayWindow(64);
 * for (const c of [0, 2, 1]) {
 *   assert.equal(w.check(c), "fresh");
 *   w.accept(c);
 * }
 * assert.equal(w.check(1), "replay");
 * w.accept(100);
 * assert.equal(w.check(36), "too-old");
 * assert.equal(w.check(37), "fresh");
 * ```
 */
export class ReplayWindow {
  /** How many counters below the highest are remembered. */
  readonly size: number;
  readonly #blocks: Uint32Array;
  /** Highest accepted counter, -1 before the first. */
  #top = -1;

  /**
   * @param size Window size in counters, a positive multiple of 32 (default 2048).
   */
  constructor(size = 2048) {
    if (!Number.isInteger(size) || size <= 0 || size % BLOCK_BITS !== 0 || size > 1 << 20) {
      throw new RangeError(
        `Cannot make a replay window of ${size}: need a multiple of 32 in 32..1048576`,
      );
    }
    this.size = size;
    // RFC 6479 §2: one block more than the window, so sliding clears whole blocks.
    this.#blocks = new Uint32Array(size / BLOCK_BITS + 1);
  }

  /** The highest accepted counter, or -1 when none was accepted yet. */
  get top(): number {
    return this.#top;
  }

  /**
   * Whether `counter` may be accepted. Does not change the window.
   *
   * @param counter A non-negative safe integer.
   * @returns `"fresh"`, `"replay"` (already accepted) or `"too-old"` (below the window).
   */
  check(counter: number): ReplayVerdict {
    if (counter > this.#top) return "fresh";
    if (this.#top - counter >= this.size) return "too-old";
    const block = Math.floor(counter / BLOCK_BITS) % this.#blocks.length;
    const bit = 1 << (counter % BLOCK_BITS);
    return (this.#blocks[block] & bit) !== 0 ? "replay" : "fresh";
  }

  /**
   * Records `counter` as accepted (call only after it authenticated and
   * {@linkcode ReplayWindow.check} said `"fresh"`), sliding the window forward
   * when it is the new highest.
   *
   * @param counter A non-negative safe integer.
   */
  accept(counter: number): void {
    const n = this.#blocks.length;
    const block = Math.floor(counter / BLOCK_BITS);
    if (counter > this.#top) {
      const topBlock = this.#top < 0 ? -1 : Math.floor(this.#top / BLOCK_BITS);
      // RFC 6479 §2: clear every block the window slides over (at most all of them).
      const steps = Math.min(block - topBlock, n);
      for (let i = 1; i <= steps; i++) this.#blocks[(block - steps + i) % n] = 0;
      this.#top = counter;
    } else if (this.#top - counter >= this.size) {
      return;
    }
    this.#blocks[block % n] |= 1 << (counter % BLOCK_BITS);
  }
}
