/**
 * NewReno window arithmetic: slow start and congestion avoidance (RFC 5681
 * §3.1, with appropriate byte counting, RFC 3465) and the fast-recovery window
 * (RFC 5681 §3.2, RFC 6582 §3.2). The connection decides when each event
 * happens; this file only computes cwnd and ssthresh.
 *
 * @module
 */

import type { Instant } from "../../time.ts";
import type { CongestionController, ControllerOptions } from "./controller.ts";

/**
 * The NewReno congestion controller (registry name "newreno").
 *
 * - Initial window: `initialCwnd · mss` (RFC 6928 with the segment count taken
 *   as given, like Linux; no byte clamp).
 * - Slow start (cwnd < ssthresh): `cwnd += min(acked, 2·mss)` per ACK (RFC 3465
 *   §2.2, L = 2·SMSS, allowed by RFC 5681 §3.1).
 * - Congestion avoidance: byte counting, `cwnd += mss` each time a full cwnd of
 *   bytes has been acknowledged (RFC 5681 §3.1, RFC 3465 §2.1).
 * - A repeated RTO before new data is acknowledged keeps ssthresh (RFC 5681
 *   §3.1, note after eq. 4), so the caller need not track it.
 *
 * `onAck` is for ACKs outside fast recovery; inside it the connection calls
 * `onRecoveryDupAck`, `onPartialAck` and `onRecoveryExit` instead.
 *
 * @example Slow start, then a fast retransmit
 * ```ts
 * import assert from "node:assert/strict";
 * import { NewReno } from "./new_reno.ts";
 *
 * const cc = new NewReno({ mss: 1000, initialCwnd: 2 });
 * cc.onAck(0, 1000, 2000);
 * assert.equal(cc.cwnd, 3000);
 * cc.onFastRetransmit(10, 3000);
 * assert.equal(cc.ssthresh, 2000); // max(FlightSize / 2, 2·SMSS)
 * assert.equal(cc.cwnd, 5000); // ssthresh + 3·SMSS
 * ```
 */
export class NewReno implements CongestionController {
  /** Registry name. */
  readonly name: string = "newreno";
  #mss: number;
  readonly #initialCwnd: number;
  #cwnd: number;
  #ssthresh = Infinity;
  /** Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 3465). */
  #bytesAcked = 0;
  /** No event yet: `setMss` recomputes the initial window. */
  #pristine = true;
  /** An RTO happened and no new data has been acknowledged since. */
  #afterRto = false;

  /**
   * @param options Sender MSS and initial window in segments.
   * @throws {RangeError} When `mss` or `initialCwnd` is not positive.
   */
  constructor(options: ControllerOptions) {
    if (!(options.mss > 0 && options.initialCwnd > 0)) {
      throw new RangeError(
        `NewReno needs mss > 0 and initialCwnd > 0, got ${JSON.stringify(options)}`,
      );
    }
    this.#mss = options.mss;
    this.#initialCwnd = options.initialCwnd;
    this.#cwnd = options.initialCwnd * options.mss; // RFC 6928 §2
  }

  /** Congestion window in bytes. */
  get cwnd(): number {
    return this.#cwnd;
  }

  /** Slow-start threshold in bytes (Infinity until the first loss). */
  get ssthresh(): number {
    return this.#ssthresh;
  }

  /** Sender MSS in bytes. */
  get mss(): number {
    return this.#mss;
  }

  /** Grows cwnd for `ackedBytes` newly acknowledged outside recovery. */
  onAck(_now: Instant, ackedBytes: number, _flightSize: number): void {
    if (ackedBytes <= 0) return;
    this.#pristine = false;
    this.#afterRto = false;
    const mss = this.#mss;
    if (this.#cwnd < this.#ssthresh) {
      // RFC 5681 §3.1 slow start with RFC 3465 §2.2 limit L = 2·SMSS
      this.#cwnd += Math.min(ackedBytes, 2 * mss);
      this.#bytesAcked = 0;
      return;
    }
    // RFC 5681 §3.1 congestion avoidance, byte counting (RFC 3465 §2.1)
    this.#bytesAcked += ackedBytes;
    if (this.#bytesAcked >= this.#cwnd) {
      this.#bytesAcked -= this.#cwnd;
      this.#cwnd += mss;
    }
  }

  /** Enters fast recovery on the third duplicate ACK. */
  onFastRetransmit(_now: Instant, flightSize: number): void {
    this.#pristine = false;
    this.#ssthresh = this.#lossThreshold(flightSize); // RFC 5681 §3.2 step 2, eq. 4
    this.#cwnd = this.#ssthresh + 3 * this.#mss; // RFC 5681 §3.2 step 3 / RFC 6582 §3.2 step 2
    this.#bytesAcked = 0;
  }

  /** Inflates cwnd by one segment for each further duplicate ACK. */
  onRecoveryDupAck(_now: Instant): void {
    this.#cwnd += this.#mss; // RFC 5681 §3.2 step 4 / RFC 6582 §3.2 step 3
  }

  /** Deflates cwnd by the bytes a partial ACK acknowledged. */
  onPartialAck(_now: Instant, ackedBytes: number): void {
    // RFC 6582 §3.2 step 5: deflate by the amount acked, add back SMSS if >= SMSS
    let cwnd = this.#cwnd - ackedBytes;
    if (ackedBytes >= this.#mss) cwnd += this.#mss;
    this.#cwnd = Math.max(cwnd, this.#mss);
    this.#afterRto = false;
  }

  /** Deflates cwnd when the recovery point is acknowledged. */
  onRecoveryExit(_now: Instant, flightSize: number): void {
    // RFC 6582 §3.2 step 6, option 1
    this.#cwnd = Math.min(this.#ssthresh, Math.max(flightSize, this.#mss) + this.#mss);
    this.#bytesAcked = 0;
    this.#afterRto = false;
  }

  /** Collapses cwnd to the loss window after a retransmission timeout. */
  onRto(_now: Instant, flightSize: number): void {
    this.#pristine = false;
    // RFC 5681 §3.1: ssthresh held constant when the timer fires again for the same data
    if (!this.#afterRto) this.#ssthresh = this.#lossThreshold(flightSize);
    this.#afterRto = true;
    this.#cwnd = this.#mss; // RFC 5681 §3.1: LW = 1 SMSS
    this.#bytesAcked = 0;
  }

  /** Changes the MSS; before any event the initial window is recomputed with it. */
  setMss(mss: number): void {
    if (!(mss > 0)) throw new RangeError(`NewReno mss must be positive, got ${mss}`);
    this.#mss = mss;
    if (this.#pristine) {
      this.#cwnd = this.#initialCwnd * mss;
      return;
    }
    this.#cwnd = Math.max(this.#cwnd, mss);
    if (this.#ssthresh !== Infinity) this.#ssthresh = Math.max(this.#ssthresh, 2 * mss);
  }

  /** RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2·SMSS). */
  #lossThreshold(flightSize: number): number {
    return Math.max(Math.floor(flightSize / 2), 2 * this.#mss);
  }
}
