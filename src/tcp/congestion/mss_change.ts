/**
 * What a loss-based controller's windows become when the MSS changes
 * (after the handshake settles the effective MSS, or on a PMTU change).
 *
 * @module
 */

/** A loss-based controller's windows, in bytes. */
export interface LossWindows {
  /** Congestion window. */
  readonly cwnd: number;
  /** Slow-start threshold (Infinity before the first loss). */
  readonly ssthresh: number;
}

/**
 * The windows after an MSS change: before any congestion event (`pristine`)
 * the initial window is recomputed with the new MSS (RFC 6928 counts it in
 * segments); afterwards cwnd keeps at least one segment and a finite
 * ssthresh at least two (RFC 5681 §3.1).
 *
 * @param mss The new MSS in bytes (positive).
 * @param pristine Whether no ACK or congestion event has changed the windows yet.
 * @param initialCwnd Initial window in segments.
 * @param w The windows now.
 * @returns The windows to use.
 * @throws {RangeError} When `mss` is not positive (`name` says whose).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { windowsForMss } from "./mss_change.ts";
 * assert.deepEqual(windowsForMss("NewReno", 1000, true, 10, { cwnd: 14_600, ssthresh: Infinity }), {
 *   cwnd: 10_000,
 *   ssthresh: Infinity,
 * });
 * assert.deepEqual(windowsForMss("NewReno", 1000, false, 10, { cwnd: 500, ssthresh: 1200 }), {
 *   cwnd: 1000,
 *   ssthresh: 2000,
 * });
 * ```
 */
export function windowsForMss(
  name: string,
  mss: number,
  pristine: boolean,
  initialCwnd: number,
  w: LossWindows,
): LossWindows {
  if (!(mss > 0)) throw new RangeError(`${name} mss must be positive, got ${mss}`);
  if (pristine) return { cwnd: initialCwnd * mss, ssthresh: w.ssthresh };
  return {
    cwnd: Math.max(w.cwnd, mss),
    ssthresh: w.ssthresh === Infinity ? Infinity : Math.max(w.ssthresh, 2 * mss),
  };
}
