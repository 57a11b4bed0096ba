/**
 * The {@linkcode Runtime} of a real process: `performance.now()`, one
 * `setTimeout` per scheduled callback and `crypto.getRandomValues`.
 *
 * Keeping the process alive: a tou endpoint keeps receiving on its UDP
 * socket until it is closed, and that pending receive is what keeps Deno's
 * event loop running (a listener waiting for connections, a connection
 * waiting for data, a SYN being retransmitted). The stack's timers therefore
 * never need to hold the process on their own, so by default they are
 * unref'd with `Deno.unrefTimer`: once every endpoint is closed nothing of
 * tou is left to keep the process running, even if a TIME_WAIT or
 * retransmission deadline was still armed (closing the stack cancels it
 * anyway). Pass `{ unrefTimers: false }` when driving a stack over a socket
 * that does not keep the loop alive by itself.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { Instant } from "../time.ts";
import type { Runtime, TimerId } from "./runtime.ts";

/** Size of the pool that small `randomBytes` requests are served from. */
const RANDOM_POOL_SIZE = 4096;
/** Largest request served from the pool (larger ones read the CSPRNG directly). */
const RANDOM_POOL_TAKE = 64;

/** Options of {@linkcode RealRuntime}. */
export interface RealRuntimeOptions {
  /**
   * Unref every timer so that timers alone never keep the process alive
   * (see the module doc). Default true.
   */
  readonly unrefTimers?: boolean;
}

/**
 * Wall-clock runtime for real sockets.
 *
 * `schedule(at, fn)` arms exactly one `setTimeout`, rounded up to whole
 * milliseconds so that the callback never runs before `at` (a stack that
 * woke early would only re-arm the same deadline).
 *
 * @example Schedule, cancel and draw random bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { RealRuntime } from "./real_runtime.ts";
 *
 * // Timers are unref'd by default; here nothing else keeps the loop alive.
 * const rt = new RealRuntime({ unrefTimers: false });
 * const start = rt.now();
 * const fired = await new Promise<number>((resolve) => {
 *   const never = rt.schedule(start + 1, () => resolve(-1));
 *   rt.cancel(never);
 *   rt.schedule(start + 5, () => resolve(rt.now()));
 * });
 * assert.ok(fired >= start + 5);
 *
 * const buf = new Uint8Array(16);
 * rt.randomBytes(buf);
 * assert.equal(buf.length, 16);
 * ```
 */
export class RealRuntime implements Runtime {
  #unref: boolean;
  /** CSPRNG bytes for small `randomBytes` requests; those before `#poolAt` are used. */
  readonly #pool = new Uint8Array(RANDOM_POOL_SIZE);
  #poolAt = RANDOM_POOL_SIZE;
  /** The clock read of the current task, or -1 before the first read. */
  #now = -1;
  readonly #forget = (): void => {
    this.#now = -1;
  };

  /** @param options Whether timers are unref'd (default true). */
  constructor(options: RealRuntimeOptions = {}) {
    this.#unref = options.unrefTimers ?? true;
  }

  /**
   * `performance.now()` (ms since the process started, sub-ms precision),
   * read once per task: every call until the current synchronous run ends
   * (the next microtask checkpoint) returns the same instant, as the
   * simulator's clock does within one event. A receive batch of up to 64
   * datagrams then costs one clock read instead of one per datagram
   * (issue 10: `performance.now()` measured ≈ 190 ns a call on Deno 2.9,
   * ≈ 2.6% of a bulk transfer's CPU profile; a cached read ≈ 10 ns).
   */
  now(): Instant {
    if (this.#now < 0) {
      this.#now = performance.now();
      queueMicrotask(this.#forget);
    }
    return this.#now;
  }

  /** Runs `fn` once, no earlier than `at`. */
  schedule(at: Instant, fn: () => void): TimerId {
    const delay = Math.max(0, Math.ceil(at - performance.now()));
    const timer = setTimeout(fn, delay);
    // Deno 2.9's setTimeout returns a Node-style Timeout object: unref must
    // get the object (its numeric id is ignored), clearTimeout takes either.
    if (this.#unref) Deno.unrefTimer(timer);
    return +timer;
  }

  /**
   * Runs `fn` after the I/O callbacks that are ready now: `setImmediate`
   * (measured on Deno 2.9: ≈2 µs, and it runs after the receive loop has
   * drained every datagram queued in the socket, up to ≈90 per batch;
   * `setTimeout(0)` fires 1–2 ms later, far too late for an ACK).
   */
  defer(fn: () => void): void {
    setImmediate(fn);
  }

  /** Cancels a scheduled callback; unknown or fired ids are ignored. */
  cancel(id: TimerId): void {
    clearTimeout(id);
  }

  /**
   * Fills `buf` from the system CSPRNG (in chunks of at most 65 536 bytes).
   * Requests of up to {@linkcode RANDOM_POOL_TAKE} bytes (a connect's
   * ephemeral port and timestamp offset) are served from a pool refilled
   * {@linkcode RANDOM_POOL_SIZE} bytes at a time: one `getRandomValues` per
   * many connections instead of two per connection. Pool bytes are handed
   * out once and then zeroed.
   */
  randomBytes(buf: Uint8Array): void {
    const n = buf.length;
    if (n <= RANDOM_POOL_TAKE) {
      let at = this.#poolAt;
      if (at + n > RANDOM_POOL_SIZE) {
        crypto.getRandomValues(this.#pool);
        at = 0;
      }
      const end = at + n;
      buf.set(this.#pool.subarray(at, end));
      this.#pool.fill(0, at, end);
      this.#poolAt = end;
      return;
    }
    for (let i = 0; i < buf.length; i += 65_536) {
      crypto.getRandomValues(buf.subarray(i, Math.min(buf.length, i + 65_536)));
    }
  }
}
