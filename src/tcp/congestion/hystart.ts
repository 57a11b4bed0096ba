/**
 * HyStart++ (RFC 9406): leaves slow start when the RTT of a round rises
 * above the previous round's minimum by a clamped threshold, then grows
 * cautiously (Conservative Slow Start, CSS) for a few rounds before handing
 * over to congestion avoidance, or resumes slow start if the RTT falls back.
 *
 * Rounds are counted with the delivery counters of the {@linkcode AckSample}
 * instead of SND.NXT (RFC 9406 §4.2 "windowEnd"): a round ends when a segment
 * sent after the round began is delivered (`priorDelivered` reaches the
 * `delivered` count taken at the round's start) — the same rounds as BBR's.
 *
 * @module
 */

import type { AckSample } from "./congestion_controller.ts";

/** RFC 9406 §4.3: lower clamp of the RTT-increase threshold (ms). */
export const MIN_RTT_THRESH = 4;
/** RFC 9406 §4.3: upper clamp of the RTT-increase threshold (ms). */
export const MAX_RTT_THRESH = 16;
/** RFC 9406 §4.3: the threshold is the last round's min RTT divided by this. */
export const MIN_RTT_DIVISOR = 8;
/** RFC 9406 §4.3: RTT samples a round needs before it is judged. */
export const N_RTT_SAMPLE = 8;
/** RFC 9406 §4.3: CSS grows cwnd this many times slower than slow start. */
export const CSS_GROWTH_DIVISOR = 4;
/** RFC 9406 §4.3: rounds spent in CSS before congestion avoidance. */
export const CSS_ROUNDS = 5;

/** Which phase of slow start the sender is in. */
export type HyStartPhase = "slowStart" | "css" | "done";

/** Options of {@linkcode HyStartPlusPlus}. */
export interface HyStartOptions {
  /**
   * L of RFC 9406 §4.3 in segments: the most one ACK may grow cwnd by.
   * Infinity when the sender paces (tou does by default), 8 otherwise.
   */
  readonly maxSegmentsPerAck?: number;
}

/**
 * HyStart++ state for one connection's initial slow start.
 *
 * Call {@linkcode HyStartPlusPlus.onAck} for every ACK while cwnd < ssthresh;
 * it returns how many bytes to add to cwnd. When {@linkcode HyStartPlusPlus.phase}
 * turns `"done"` the caller sets ssthresh = cwnd and continues in congestion
 * avoidance (RFC 9406 §4.2). On loss the caller just stops calling it.
 *
 * @example An RTT rise of more than lastRoundMinRTT/8 moves slow start into CSS
 * ```ts
 * import assert from "node:assert/strict";
 * import { HyStartPlusPlus } from "./hystart.ts";
 *
 * const hs = new HyStartPlusPlus();
 * let delivered = 0;
 * const round = (rtt: number) => {
 *   const start = delivered;
 *   for (let i = 0; i < 8; i++) {
 *     delivered += 1000;
 *     hs.onAck({ ackedBytes: 1000, rtt, delivered, priorDelivered: start }, 1000);
 *   }
 * };
 * round(40);
 * round(40);
 * assert.equal(hs.phase, "slowStart");
 * round(46); // 46 >= 40 + max(4, min(40 / 8, 16))
 * assert.equal(hs.phase, "css");
 * ```
 */
export class HyStartPlusPlus {
  readonly #maxSegmentsPerAck: number;
  #phase: HyStartPhase = "slowStart";
  /** `delivered` at the start of the current round; the round ends when priorDelivered reaches it. */
  #roundEndDelivered = 0;
  #lastRoundMinRtt = Infinity;
  #currentRoundMinRtt = Infinity;
  #rttSampleCount = 0;
  #cssBaselineMinRtt = Infinity;
  #cssRounds = 0;

  /** @param options L, the per-ACK growth cap in segments (default Infinity: paced). */
  constructor(options: HyStartOptions = {}) {
    this.#maxSegmentsPerAck = options.maxSegmentsPerAck ?? Infinity;
  }

  /** `"slowStart"`, `"css"` (Conservative Slow Start) or `"done"` (go to congestion avoidance). */
  get phase(): HyStartPhase {
    return this.#phase;
  }

  /** The minimum RTT of the last complete round (ms), Infinity before one. */
  get lastRoundMinRtt(): number {
    return this.#lastRoundMinRtt;
  }

  /** CSS rounds begun so far in the current CSS stay. */
  get cssRounds(): number {
    return this.#cssRounds;
  }

  /**
   * One ACK in slow start or CSS.
   *
   * @param sample The ACK's sample (bytes acked, RTT sample or -1, delivery counters).
   * @param mss Sender MSS in bytes.
   * @returns Bytes to add to cwnd for this ACK (0 once `phase` is `"done"`).
   */
  onAck(
    sample: Pick<AckSample, "ackedBytes" | "rtt" | "delivered" | "priorDelivered">,
    mss: number,
  ): number {
    if (this.#phase === "done") return 0;
    if (sample.priorDelivered >= this.#roundEndDelivered && this.#startRound(sample.delivered)) {
      return 0;
    }
    // RFC 9406 §4.2: cwnd += min(N, L·SMSS), divided by CSS_GROWTH_DIVISOR in CSS
    const n = Math.min(sample.ackedBytes, this.#maxSegmentsPerAck * mss);
    const increase = this.#phase === "css" ? n / CSS_GROWTH_DIVISOR : n;
    if (sample.rtt >= 0) {
      this.#currentRoundMinRtt = Math.min(this.#currentRoundMinRtt, sample.rtt);
      this.#rttSampleCount++;
    }
    if (this.#rttSampleCount < N_RTT_SAMPLE) return increase;
    if (this.#phase === "slowStart") {
      if (this.#currentRoundMinRtt === Infinity || this.#lastRoundMinRtt === Infinity) {
        return increase;
      }
      // RFC 9406 §4.2: RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH))
      const rttThresh = Math.max(
        MIN_RTT_THRESH,
        Math.min(this.#lastRoundMinRtt / MIN_RTT_DIVISOR, MAX_RTT_THRESH),
      );
      if (this.#currentRoundMinRtt >= this.#lastRoundMinRtt + rttThresh) {
        this.#cssBaselineMinRtt = this.#currentRoundMinRtt;
        this.#phase = "css";
        this.#cssRounds = 0;
      }
    } else if (this.#currentRoundMinRtt < this.#cssBaselineMinRtt) {
      // RFC 9406 §4.2: the RTT fell back, the rise was spurious: resume slow start
      this.#cssBaselineMinRtt = Infinity;
      this.#phase = "slowStart";
    }
    return increase;
  }

  /** RFC 9406 §4.2: at the start of each round; true when CSS has run its rounds. */
  #startRound(delivered: number): boolean {
    this.#roundEndDelivered = delivered;
    this.#lastRoundMinRtt = this.#currentRoundMinRtt;
    this.#currentRoundMinRtt = Infinity;
    this.#rttSampleCount = 0;
    if (this.#phase === "css" && ++this.#cssRounds >= CSS_ROUNDS) {
      this.#phase = "done"; // RFC 9406 §4.2: CSS_ROUNDS complete, enter congestion avoidance
      return true;
    }
    return false;
  }
}
