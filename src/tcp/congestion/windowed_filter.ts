/**
 * A windowed maximum filter: the largest value seen over the last `window`
 * units of time (rounds, cycles or ms), in O(1) per sample and memory, by
 * keeping the best, second-best and third-best samples of sub-windows
 * (Kathleen Nichols' algorithm, as BBR's max-bandwidth and extra-ACKed filters
 * use it; draft-ietf-ccwg-bbr §5.5.4.2).
 *
 * @module
 */

/**
 * The running maximum of samples over a sliding time window.
 *
 * @example The maximum of the last 10 rounds
 * ```ts
 * import assert from "node:assert/strict";
 * import { WindowedMaxFilter } from "./windowed_filter.ts";
 *
 * const f = new WindowedMaxFilter(10);
 * f.update(5, 0);
 * f.update(3, 4);
 * assert.equal(f.best, 5);
 * f.update(2, 11); // round 0's sample has aged out
 * assert.equal(f.best, 3);
 * ```
 */
export class WindowedMaxFilter {
  readonly #window: number;
  // three (value, time) pairs: best, second, third
  #v0 = 0;
  #t0 = 0;
  #v1 = 0;
  #t1 = 0;
  #v2 = 0;
  #t2 = 0;
  #empty = true;

  /** @param window The window length in the caller's time unit. */
  constructor(window: number) {
    this.#window = window;
  }

  /** The maximum over the window (0 before any sample). */
  get best(): number {
    return this.#v0;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#empty = true;
    this.#v0 = this.#v1 = this.#v2 = 0;
  }

  /**
   * Adds a sample taken at `time` (non-decreasing across calls).
   *
   * @param value The sample.
   * @param time When it was taken.
   * @returns The maximum over the window after it.
   */
  update(value: number, time: number): number {
    const win = this.#window;
    if (this.#empty || value >= this.#v0 || time - this.#t2 > win) {
      this.#set(value, time); // a new best, or nothing left in the window
      return this.#v0;
    }
    if (value >= this.#v1) {
      this.#v1 = this.#v2 = value;
      this.#t1 = this.#t2 = time;
    } else if (value >= this.#v2) {
      this.#v2 = value;
      this.#t2 = time;
    }
    // sub-window upkeep: promote when the best aged out, and keep the
    // second and third samples a quarter and a half window apart
    const dt = time - this.#t0;
    if (dt > win) {
      this.#v0 = this.#v1;
      this.#t0 = this.#t1;
      this.#v1 = this.#v2;
      this.#t1 = this.#t2;
      this.#v2 = value;
      this.#t2 = time;
      if (time - this.#t0 > win) {
        this.#v0 = this.#v1;
        this.#t0 = this.#t1;
        this.#v1 = this.#v2;
        this.#t1 = this.#t2;
        this.#v2 = value;
        this.#t2 = time;
      }
    } else if (this.#t1 === this.#t0 && dt > win / 4) {
      this.#v1 = this.#v2 = value;
      this.#t1 = this.#t2 = time;
    } else if (this.#t2 === this.#t1 && dt > win / 2) {
      this.#v2 = value;
      this.#t2 = time;
    }
    return this.#v0;
  }

  #set(value: number, time: number): void {
    this.#empty = false;
    this.#v0 = this.#v1 = this.#v2 = value;
    this.#t0 = this.#t1 = this.#t2 = time;
  }
}
