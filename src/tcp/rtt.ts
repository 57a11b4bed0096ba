/**
 * Round-trip time estimation and the retransmission timeout (RFC 6298).
 *
 * @module
 */

import type { Duration } from "../time.ts";

/** Options of {@linkcode RttEstimator}, all in ms. */
export interface RttOptions {
  /** RTO before the first sample (RFC 6298 §2.1; `TcpConfig.rtoInitial`). */
  readonly initial: Duration;
  /** Lower bound of the RTO (RFC 6298 §2.4; `TcpConfig.rtoMin`). */
  readonly min: Duration;
  /** Upper bound of the RTO, also after backoff (RFC 6298 §2.5; `TcpConfig.rtoMax`). */
  readonly max: Duration;
}

/** Clock granularity G of RFC 6298 §2, in ms. */
export const RTT_CLOCK_GRANULARITY: Duration = 1;

/** Most doublings applied by {@linkcode RttEstimator.backoff}; 2^30 · 1 ms is far beyond any max. */
const MAX_BACKOFF_EXPONENT = 30;

/**
 * SRTT/RTTVAR estimator with exponential backoff of the RTO (RFC 6298).
 *
 * Karn's algorithm (RFC 6298 §3) is the caller's job: do not feed samples
 * measured on retransmitted segments unless timestamps disambiguate them
 * (RFC 7323 §4). {@linkcode RttEstimator.sample} does not clear the backoff;
 * call {@linkcode RttEstimator.resetBackoff} after a valid sample (RFC 6298 §5).
 *
 * @example Two samples, then a timeout
 * ```ts
 * import assert from "node:assert/strict";
 * import { RttEstimator } from "./rtt.ts";
 *
 * const rtt = new RttEstimator({ initial: 1000, min: 200, max: 120_000 });
 * assert.equal(rtt.rto, 1000);
 * rtt.sample(100); // SRTT 100, RTTVAR 50, RTO 100 + 4·50
 * assert.equal(rtt.rto, 300);
 * rtt.backoff();
 * assert.equal(rtt.rto, 600);
 * rtt.resetBackoff();
 * assert.equal(rtt.rto, 300);
 * ```
 */
export class RttEstimator {
  #initial: Duration;
  readonly #min: Duration;
  readonly #max: Duration;
  #srtt = 0;
  #rttvar = 0;
  #hasSample = false;
  #backoffs = 0;
  #minRtt = Infinity;

  /**
   * @param options Initial RTO and its bounds, in ms.
   * @throws {RangeError} When the bounds are not `0 <= min <= max` or `initial` is not positive.
   */
  constructor(options: RttOptions) {
    const { initial, min, max } = options;
    if (!(min >= 0 && max >= min && initial > 0)) {
      throw new RangeError(
        `RttEstimator needs 0 <= min <= max and initial > 0, got ${JSON.stringify(options)}`,
      );
    }
    this.#initial = initial;
    this.#min = min;
    this.#max = max;
  }

  /** Smoothed RTT in ms (0 before the first sample). */
  get srtt(): Duration {
    return this.#srtt;
  }

  /** RTT variation in ms (0 before the first sample). */
  get rttvar(): Duration {
    return this.#rttvar;
  }

  /** Smallest RTT sample in ms (Infinity before the first); RACK's and BBR's min_RTT. */
  get minRtt(): Duration {
    return this.#minRtt;
  }

  /** Whether any sample was taken. */
  get hasSample(): boolean {
    return this.#hasSample;
  }

  /** Times {@linkcode RttEstimator.backoff} was called since the last reset. */
  get backoffCount(): number {
    return this.#backoffs;
  }

  /** The retransmission timeout in ms, backoff applied, at most `max`. */
  get rto(): Duration {
    let base: Duration;
    if (this.#hasSample) {
      // RFC 6298 §2.3: RTO = SRTT + max(G, K·RTTVAR), then §2.4/§2.5 bounds.
      base = this.#srtt + Math.max(RTT_CLOCK_GRANULARITY, 4 * this.#rttvar);
      base = Math.min(this.#max, Math.max(this.#min, base));
    } else {
      base = Math.min(this.#max, this.#initial); // RFC 6298 §2.1
    }
    // RFC 6298 §5.5: back off the timer, bounded by the maximum.
    return Math.min(this.#max, base * 2 ** Math.min(this.#backoffs, MAX_BACKOFF_EXPONENT));
  }

  /**
   * Feeds one RTT measurement.
   *
   * @param rtt The measured round-trip time in ms.
   * @throws {RangeError} When `rtt` is negative or not finite.
   */
  sample(rtt: Duration): void {
    if (!(rtt >= 0 && rtt < Infinity)) {
      throw new RangeError(`RTT sample must be a finite non-negative number, got ${rtt}`);
    }
    if (rtt < this.#minRtt) this.#minRtt = rtt;
    if (!this.#hasSample) {
      // RFC 6298 §2.2
      this.#srtt = rtt;
      this.#rttvar = rtt / 2;
      this.#hasSample = true;
      return;
    }
    // RFC 6298 §2.3: beta = 1/4 (RTTVAR first, with the old SRTT), alpha = 1/8
    this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - rtt);
    this.#srtt = 0.875 * this.#srtt + 0.125 * rtt;
  }

  /** Doubles the RTO after a retransmission timeout (RFC 6298 §5.5), up to `max`. */
  backoff(): void {
    if (this.#backoffs < MAX_BACKOFF_EXPONENT) this.#backoffs++;
  }

  /**
   * Drops the backoff. Only after a valid RTT sample (RFC 6298 §5 note, Karn's
   * algorithm, RFC 9293 MUST-18): an ACK that gives no sample keeps it.
   */
  resetBackoff(): void {
    this.#backoffs = 0;
  }

  /**
   * RFC 6298 §5.7: after a retransmitted SYN (or SYN-ACK) and with no sample,
   * the RTO is re-initialised to `fallback` (3 s) when data transmission
   * begins; a larger initial RTO stays. Drops the backoff. No-op once a
   * sample exists.
   *
   * @param fallback The RTO to start data transmission with, in ms.
   */
  reinitialize(fallback: Duration): void {
    if (this.#hasSample) return;
    this.#initial = Math.max(this.#initial, fallback);
    this.#backoffs = 0;
  }
}
