/**
 * NewReno window arithmetic: slow start and congestion avoidance (RFC 5681
 * §3.1, with appropriate byte counting, RFC 3465), the halving on a
 * congestion event (RFC 5681 §3.2 eq. 4) and the loss window after a
 * timeout. What is sent *during* recovery is sized by PRR (RFC 6937,
 * `prr.ts`) toward this controller's `ssthresh`; the fast-recovery state
 * machine (RFC 6582) lives in `recovery.ts`. This file only answers cwnd and
 * ssthresh.
 *
 * @module
 */

import type { Instant } from "../../time.ts";
import {
  type AckSample,
  checkCongestionOptions,
  type CongestionController,
  type CongestionEvent,
  type CongestionOptions,
} from "./congestion_controller.ts";
import { windowsForMss } from "./mss_change.ts";

/**
 * The NewReno congestion controller (registry name "newreno").
 *
 * - Initial window: `initialCwnd · mss` (RFC 6928 with the segment count taken
 *   as given, like Linux; no byte clamp).
 * - Slow start (cwnd < ssthresh): `cwnd += min(acked, 2·mss)` per ACK (RFC 3465
 *   §2.2, L = 2·SMSS, allowed by RFC 5681 §3.1).
 * - Congestion avoidance: byte counting, `cwnd += mss` each time a full cwnd of
 *   bytes has been acknowledged (RFC 5681 §3.1, RFC 3465 §2.1).
 * - Congestion event: `ssthresh = max(inFlight / 2, 2·mss)`; cwnd drops to
 *   ssthresh, and PRR paces the sending of the recovery toward it (RFC 6937:
 *   cwnd = ssthresh when recovery ends).
 * - A repeated RTO before new data is acknowledged keeps ssthresh (RFC 5681
 *   §3.1, note after eq. 4).
 * - A spurious event is undone: cwnd and ssthresh come back (RFC 4015 §3).
 *
 * @example Slow start, then a congestion event and the end of its recovery
 * ```ts
 * import assert from "node:assert/strict";
 * import { NewReno } from "./new_reno.ts";
 *
 * const cc = new NewReno({ mss: 1000, initialCwnd: 2 });
 * const ack = { ackedBytes: 1000, priorInFlight: 2000, inFlight: 1000, rtt: 10, minRtt: 10,
 *   srtt: 10, deliveryRate: -1, delivered: 1000, priorDelivered: 0, isAppLimited: false,
 *   inRecovery: false, lostBytes: 0 };
 * cc.onAck(0, ack);
 * assert.equal(cc.cwnd, 3000);
 * cc.onCongestionEvent(10, { inFlight: 3000, lostBytes: 1000 });
 * assert.equal(cc.ssthresh, 2000); // max(FlightSize / 2, 2·SMSS)
 * cc.onRecoveryExit(20, 1000);
 * assert.equal(cc.cwnd, 2000); // RFC 6937: cwnd = ssthresh
 * ```
 */
export class NewReno implements CongestionController {
  /** Registry name. */
  readonly name: string = "newreno";
  /** PRR sizes what is sent during recovery. */
  readonly usesPrr: boolean = true;
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
  /** Between onCongestionEvent and onRecoveryExit: PRR sizes the sending, cwnd holds. */
  #inFastRecovery = false;
  // The state before the last congestion event or RTO (for onSpuriousCongestion)
  #priorCwnd = 0;
  #priorSsthresh = Infinity;

  /**
   * @param options Sender MSS and initial window in segments.
   * @throws {RangeError} When `mss` or `initialCwnd` is not positive.
   */
  constructor(options: CongestionOptions) {
    checkCongestionOptions("NewReno", options);
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

  /** -1: the sender derives the pacing rate from cwnd/SRTT. */
  pacingRate(_srtt: number): number {
    return -1;
  }

  /** Grows cwnd for the bytes an ACK delivered outside recovery (PRR sizes it inside). */
  onAck(_now: Instant, sample: AckSample): void {
    const acked = sample.ackedBytes;
    if (acked <= 0) return;
    this.#pristine = false;
    this.#afterRto = false;
    if (this.#inFastRecovery) return; // (after an RTO, slow start goes on in recovery)
    const mss = this.#mss;
    if (this.#cwnd < this.#ssthresh) {
      // RFC 5681 §3.1 slow start with RFC 3465 §2.2 limit L = 2·SMSS
      this.#cwnd += Math.min(acked, 2 * mss);
      this.#bytesAcked = 0;
      return;
    }
    // RFC 5681 §3.1 congestion avoidance, byte counting (RFC 3465 §2.1)
    this.#bytesAcked += acked;
    if (this.#bytesAcked >= this.#cwnd) {
      this.#bytesAcked -= this.#cwnd;
      this.#cwnd += mss;
    }
  }

  /** Halves: ssthresh = max(inFlight / 2, 2·SMSS) (RFC 5681 §3.2 eq. 4); cwnd follows. */
  onCongestionEvent(_now: Instant, event: CongestionEvent): void {
    this.#pristine = false;
    this.#saveUndo();
    this.#ssthresh = this.#lossThreshold(event.inFlight);
    this.#cwnd = this.#ssthresh;
    this.#bytesAcked = 0;
    this.#inFastRecovery = true;
  }

  /** RFC 6937 §3.1: at the end of recovery cwnd = ssthresh. */
  onRecoveryExit(_now: Instant, _inFlight: number): void {
    this.#cwnd = this.#ssthresh;
    this.#bytesAcked = 0;
    this.#afterRto = false;
    this.#inFastRecovery = false;
  }

  /** Collapses cwnd to the loss window after a retransmission timeout. */
  onRto(_now: Instant, inFlight: number): void {
    this.#pristine = false;
    // RFC 5681 §3.1: ssthresh held constant when the timer fires again for the same data
    if (!this.#afterRto) {
      this.#saveUndo();
      this.#ssthresh = this.#lossThreshold(inFlight);
    }
    this.#afterRto = true;
    this.#inFastRecovery = false;
    this.#cwnd = this.#mss; // RFC 5681 §3.1: LW = 1 SMSS
    this.#bytesAcked = 0;
  }

  /** The last event was spurious: restore cwnd and ssthresh (RFC 4015 §3.2, as Linux's undo). */
  onSpuriousCongestion(_now: Instant): void {
    if (this.#priorCwnd === 0) return;
    this.#cwnd = Math.max(this.#cwnd, this.#priorCwnd);
    this.#ssthresh = this.#priorSsthresh;
    this.#priorCwnd = 0;
    this.#afterRto = false;
    this.#inFastRecovery = false;
  }

  /** Changes the MSS; before any event the initial window is recomputed with it. */
  setMss(mss: number): void {
    const w = windowsForMss("NewReno", mss, this.#pristine, this.#initialCwnd, {
      cwnd: this.#cwnd,
      ssthresh: this.#ssthresh,
    });
    this.#mss = mss;
    this.#cwnd = w.cwnd;
    this.#ssthresh = w.ssthresh;
  }

  #saveUndo(): void {
    this.#priorCwnd = this.#cwnd;
    this.#priorSsthresh = this.#ssthresh;
  }

  /** RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2·SMSS). */
  #lossThreshold(flightSize: number): number {
    return Math.max(Math.floor(flightSize / 2), 2 * this.#mss);
  }
}
