/**
 * Abort signals that fire after a timeout, shared by the calls of one short
 * window. A tunnel opens many connections a second, each with a connect
 * timeout; one `AbortController` and one timer per window cost less than one
 * per connection (a timer per connection also stayed armed for the whole
 * timeout after the connect had long finished).
 *
 * @module
 */

/** Longest window whose calls share a signal (ms). */
const MAX_SLACK_MS = 100;

/**
 * Shared timeout signals: {@linkcode SharedTimeoutSignals.get} returns a
 * signal that aborts between `ms` and `ms` + slack after the call (slack: a
 * tenth of `ms`, at most 100 ms) with the reason `reason(ms)`. Calls within
 * one slack window get the same signal. Its timer is unref'd: it never keeps
 * the process alive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedTimeoutSignals } from "./timeout_signals.ts";
 * const signals = new SharedTimeoutSignals((ms) => new Deno.errors.TimedOut(`after ${ms} ms`));
 * assert.equal(signals.get(10_000), signals.get(10_000)); // one 100 ms window
 * const s = signals.get(20); // aborts after 20–22 ms
 * await new Promise((r) => setTimeout(r, 50));
 * assert.ok(s.aborted && s.reason instanceof Deno.errors.TimedOut);
 * ```
 */
export class SharedTimeoutSignals {
  readonly #reason: (ms: number) => Error;
  readonly #latest = new Map<number, { readonly until: number; readonly signal: AbortSignal }>();

  /** @param reason The abort reason of a signal for `ms`. */
  constructor(reason: (ms: number) => Error) {
    this.#reason = reason;
  }

  /**
   * A signal that aborts `ms` (plus at most the slack) from now.
   *
   * @param ms The timeout.
   * @returns The signal, shared with the other calls for `ms` of this window.
   */
  get(ms: number): AbortSignal {
    const now = performance.now();
    const e = this.#latest.get(ms);
    if (e !== undefined && now < e.until) return e.signal;
    const slack = Math.min(MAX_SLACK_MS, Math.floor(ms / 10));
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(this.#reason(ms)), ms + slack);
    Deno.unrefTimer(timer);
    this.#latest.set(ms, { until: now + slack, signal: ac.signal });
    return ac.signal;
  }
}
