/**
 * The tunnel client's short wait for an application's first bytes (so that
 * they ride on the tunnel's Fast Open SYN), with one timer for all waiting
 * connections instead of a `setTimeout` and a `clearTimeout` per connection
 * (issue 15: one timer per stack is the rule; the per-connection timer was
 * ≈ 4 µs of the client's CPU per connection).
 *
 * @module
 */

interface Waiter {
  /** When the wait ends at the latest (`performance.now()` ms). */
  readonly at: number;
  readonly resolve: () => void;
}

/**
 * Waits of one fixed length: {@linkcode FirstBytesWait.wait} resolves when
 * the read settles or `ms` after the call, whichever comes first. All waits
 * have the same length, so they end in the order they began: a FIFO queue
 * and one timer armed for its head.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FirstBytesWait } from "./first_bytes_wait.ts";
 * const w = new FirstBytesWait(5);
 * const t0 = performance.now();
 * await w.wait(new Promise(() => {})); // never settles: the wait ends after 5 ms
 * assert.ok(performance.now() - t0 >= 4);
 * await w.wait(Promise.resolve(3)); // settled: ends at once
 * ```
 */
export class FirstBytesWait {
  readonly #ms: number;
  readonly #queue: Waiter[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #fire = (): void => this.#expire();

  /** @param ms The longest wait, ms (> 0). */
  constructor(ms: number) {
    this.#ms = ms;
  }

  /**
   * Resolves once `read` settles (either way) or after the wait's length.
   *
   * @param read The application's first read.
   */
  wait(read: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      read.then(() => resolve(), () => resolve());
      this.#queue.push({ at: performance.now() + this.#ms, resolve });
      if (this.#timer === undefined) this.#arm(this.#ms);
    });
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#fire, ms);
  }

  #expire(): void {
    this.#timer = undefined;
    const q = this.#queue;
    // Timers fire no earlier than asked, to the ms: what is due within half a ms goes now.
    const now = performance.now() + 0.5;
    while (this.#head < q.length && q[this.#head].at <= now) q[this.#head++].resolve();
    if (this.#head === q.length) {
      q.length = 0;
      this.#head = 0;
      return;
    }
    if (this.#head > 64 && this.#head * 2 > q.length) {
      q.splice(0, this.#head);
      this.#head = 0;
    }
    this.#arm(Math.max(0, Math.ceil(q[this.#head].at - now + 0.5)));
  }
}
