/**
 * A min-heap of deadlines, one entry per pending (deadline, owner) pair, used
 * by the stack to drive every connection's timers from a single runtime timer.
 *
 * Entries are never moved when an owner's deadline changes: the stack pushes
 * a new entry only when the deadline moves earlier, and an entry that fires
 * early just makes the owner re-report its deadline (an early
 * `handleTimeout` is a no-op by contract). This keeps the per-ACK cost at
 * zero heap operations in the common case (the RTO deadline moves later).
 *
 * @module
 */

import type { Instant } from "../time.ts";

/**
 * Min-heap keyed by deadline, FIFO among equal deadlines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimerQueue } from "./timer_queue.ts";
 * const q = new TimerQueue<string>();
 * q.push(30, "c");
 * q.push(10, "a");
 * q.push(20, "b");
 * assert.equal(q.peekDeadline(), 10);
 * assert.deepEqual([q.pop(), q.pop(), q.pop()], ["a", "b", "c"]);
 * ```
 */
export class TimerQueue<T> {
  #times: number[] = [];
  #seqs: number[] = [];
  #items: T[] = [];
  #seq = 0;

  /** Number of entries (including stale ones). */
  get size(): number {
    return this.#items.length;
  }

  /** Adds an entry. */
  push(at: Instant, item: T): void {
    const times = this.#times, seqs = this.#seqs, items = this.#items;
    let i = items.length;
    const s = this.#seq++;
    times.push(at);
    seqs.push(s);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p] < at || (times[p] === at && seqs[p] < s)) break;
      times[i] = times[p];
      seqs[i] = seqs[p];
      items[i] = items[p];
      i = p;
    }
    times[i] = at;
    seqs[i] = s;
    items[i] = item;
  }

  /** The earliest deadline, or `Infinity` when empty. */
  peekDeadline(): Instant {
    return this.#items.length === 0 ? Number.POSITIVE_INFINITY : this.#times[0];
  }

  /** Removes and returns the earliest entry's item. */
  pop(): T | undefined {
    const times = this.#times, seqs = this.#seqs, items = this.#items;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0];
    const lastT = times.pop()!, lastS = seqs.pop()!, lastI = items.pop()!;
    const m = n - 1;
    if (m > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= m) break;
        const r = l + 1;
        let c = l;
        if (r < m && (times[r] < times[l] || (times[r] === times[l] && seqs[r] < seqs[l]))) c = r;
        if (times[c] > lastT || (times[c] === lastT && seqs[c] > lastS)) break;
        times[i] = times[c];
        seqs[i] = seqs[c];
        items[i] = items[c];
        i = c;
      }
      times[i] = lastT;
      seqs[i] = lastS;
      items[i] = lastI;
    }
    return top;
  }

  /** Removes every entry. */
  clear(): void {
    this.#times.length = 0;
    this.#seqs.length = 0;
    this.#items.length = 0;
  }
}
