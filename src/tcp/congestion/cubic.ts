/**
 * CUBIC congestion control (RFC 9438), in bytes, with HyStart++ (RFC 9406)
 * for the initial slow start. Loss recovery (RACK-TLP, RFC 6675, PRR) lives
 * in the sender; this file only answers cwnd and ssthresh to its signals.
 *
 * The window curve (RFC 9438 §4.2) is computed in segments and seconds, as
 * the RFC writes it, and converted to bytes:
 * `W_cubic(t) = C·(t − K)³ + W_max`, `K = ∛((W_max − cwnd_epoch)/C)`.
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
import { HyStartPlusPlus } from "./hystart.ts";
import { windowsForMss } from "./mss_change.ts";

/** RFC 9438 §4.1: C, the aggressiveness of the cubic curve (segments/s³). */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.1: β_cubic, the multiplicative decrease factor. */
export const BETA_CUBIC = 0.7;
/** RFC 9438 §4.3: α_cubic = 3(1 − β)/(1 + β), Reno's additive increase at equal average rate. */
export const ALPHA_CUBIC: number = (3 * (1 - BETA_CUBIC)) / (1 + BETA_CUBIC);

/**
 * RFC 9438 eq. 1: the cubic window in segments `t` seconds into the epoch.
 *
 * @param t Seconds since the congestion-avoidance epoch began.
 * @param k K in seconds (eq. 2).
 * @param wMax W_max in segments.
 * @returns W_cubic(t) in segments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cubicK, wCubic } from "./cubic.ts";
 *
 * const k = cubicK(100, 70); // ∛(30 / 0.4) ≈ 4.217 s
 * assert.ok(Math.abs(wCubic(0, k, 100) - 70) < 1e-9); // starts at cwnd_epoch
 * assert.equal(wCubic(k, k, 100), 100); // plateaus at W_max
 * ```
 */
export function wCubic(t: number, k: number, wMax: number): number {
  return CUBIC_C * (t - k) ** 3 + wMax;
}

/**
 * RFC 9438 eq. 2: K = ∛((W_max − cwnd_epoch)/C), 0 when cwnd_epoch ≥ W_max.
 *
 * @param wMax W_max in segments.
 * @param cwndEpoch cwnd at the start of the epoch, in segments.
 * @returns K in seconds.
 */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return wMax > cwndEpoch ? Math.cbrt((wMax - cwndEpoch) / CUBIC_C) : 0;
}

/** Options of {@linkcode Cubic} beyond the common {@linkcode CongestionOptions}. */
export interface CubicOptions extends CongestionOptions {
  /** RFC 9438 §4.7 fast convergence (default true). */
  readonly fastConvergence?: boolean;
  /** Use HyStart++ in the initial slow start (default true). */
  readonly hystart?: boolean;
  /** HyStart++'s L in segments: per-ACK growth cap in slow start (default Infinity: paced). */
  readonly maxSegmentsPerAck?: number;
}

/** The state a spurious congestion event restores (RFC 9438 §4.9). */
interface CubicSnapshot {
  cwnd: number;
  ssthresh: number;
  wMax: number;
  cwndPrior: number;
  k: number;
  epochStart: number;
  originPoint: number;
  wEst: number;
}

/**
 * The CUBIC congestion controller (registry name "cubic").
 *
 * - Slow start: `cwnd += acked` (HyStart++ may move to Conservative Slow Start
 *   and then congestion avoidance before any loss).
 * - Congestion avoidance (RFC 9438 §4.2–4.5): the Reno-friendly estimate
 *   W_est grows by α_cubic per cwnd acked (α = 1 once W_est ≥ cwnd_prior);
 *   when W_cubic(t) < W_est cwnd follows W_est, otherwise it moves
 *   `(target − cwnd)/cwnd` per segment acked toward
 *   `target = W_cubic(t + RTT)`, clamped to [cwnd, 1.5·cwnd] (the growth cap).
 * - Congestion event (§4.6, §4.7): W_max = cwnd, or cwnd·(1+β)/2 with fast
 *   convergence when cwnd < W_max; ssthresh = cwnd = max(β·cwnd, 2·SMSS).
 *   PRR sizes what is sent during recovery (`usesPrr`).
 * - RTO (§4.8): ssthresh as for a congestion event, cwnd = 1 SMSS; the next
 *   epoch starts with K = 0 from the cwnd it starts at.
 * - Spurious event (§4.9): everything saved at the event is restored.
 * - cwnd grows only while the sender uses it (in-flight ≥ cwnd/2, Linux's
 *   rule), and the epoch clock stands still meanwhile (§5.8).
 *
 * @example Congestion avoidance after a loss at 100 segments
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cubic } from "./cubic.ts";
 *
 * const cc = new Cubic({ mss: 1000, initialCwnd: 100 });
 * cc.onCongestionEvent(0, { inFlight: 100_000, lostBytes: 1000 });
 * assert.equal(cc.ssthresh, 70_000);
 * assert.equal(cc.wMax, 100_000);
 * cc.onRecoveryExit(40, 70_000);
 * assert.equal(cc.cwnd, 70_000);
 * // the first ACK in avoidance starts the epoch: K = ∛((W_max − cwnd_epoch)/C)
 * cc.onAck(41, {
 *   ackedBytes: 1000, priorInFlight: 70_000, inFlight: 69_000, rtt: 40, minRtt: 40, srtt: 40,
 *   deliveryRate: -1, delivered: 1000, priorDelivered: 0, isAppLimited: false,
 *   inRecovery: false, lostBytes: 0,
 * });
 * assert.ok(Math.abs(cc.k - Math.cbrt(30 / 0.4)) < 1e-9);
 * ```
 */
export class Cubic implements CongestionController {
  /** Registry name. */
  readonly name: string = "cubic";
  /** Loss-based: PRR (RFC 6937) sizes sending in recovery. */
  readonly usesPrr: boolean = true;
  #mss: number;
  readonly #initialCwnd: number;
  readonly #fastConvergence: boolean;
  readonly #useHystart: boolean;
  #hystart: HyStartPlusPlus;
  #cwnd: number;
  #ssthresh = Infinity;
  /** W_max (bytes): cwnd before the last reduction, maybe lowered by fast convergence. */
  #wMax = 0;
  /** cwnd_prior (bytes): cwnd just before the last reduction. */
  #cwndPrior = 0;
  /** K (s). */
  #k = 0;
  /** Start of the current congestion-avoidance epoch (ms), -1 when none. */
  #epochStart = -1;
  /** The plateau of the curve (bytes): W_max, or the epoch's cwnd when above it. */
  #originPoint = 0;
  /** W_est (bytes), the Reno-friendly estimate. */
  #wEst = 0;
  /** Time of the last ACK (ms), to freeze the epoch clock while not cwnd-limited. */
  #lastAck = -1;
  #inFastRecovery = false;
  /** An RTO happened and no new data has been acknowledged since. */
  #afterRto = false;
  /** The next epoch starts with K = 0 from its own cwnd (RFC 9438 §4.8). */
  #epochFromCwnd = false;
  #pristine = true;
  #saved: CubicSnapshot | undefined;

  /**
   * @param options Sender MSS, initial window in segments, and CUBIC knobs.
   * @throws {RangeError} When `mss` or `initialCwnd` is not positive.
   */
  constructor(options: CubicOptions) {
    checkCongestionOptions("Cubic", options);
    this.#mss = options.mss;
    this.#initialCwnd = options.initialCwnd;
    this.#fastConvergence = options.fastConvergence ?? true;
    this.#useHystart = options.hystart ?? true;
    this.#hystart = new HyStartPlusPlus(
      options.maxSegmentsPerAck === undefined
        ? {}
        : { maxSegmentsPerAck: options.maxSegmentsPerAck },
    );
    this.#cwnd = options.initialCwnd * options.mss; // RFC 6928 §2
  }

  /** Congestion window in bytes. */
  get cwnd(): number {
    return this.#cwnd;
  }

  /** Slow-start threshold in bytes (Infinity until the first congestion event). */
  get ssthresh(): number {
    return this.#ssthresh;
  }

  /** W_max in bytes (0 before the first congestion event). */
  get wMax(): number {
    return this.#wMax;
  }

  /** K in seconds of the current epoch. */
  get k(): number {
    return this.#k;
  }

  /** W_est in bytes (the Reno-friendly estimate of the current epoch). */
  get wEst(): number {
    return this.#wEst;
  }

  /** The HyStart++ phase of the initial slow start. */
  get hystartPhase(): string {
    return this.#hystart.phase;
  }

  /** Sender MSS in bytes. */
  get mss(): number {
    return this.#mss;
  }

  /** CUBIC leaves pacing to the sender's cwnd/SRTT rule. */
  pacingRate(_srtt: number): number {
    return -1;
  }

  /** Grows cwnd: slow start (with HyStart++) or the cubic / Reno-friendly curve. */
  onAck(now: Instant, sample: AckSample): void {
    if (sample.ackedBytes <= 0) return;
    this.#pristine = false;
    this.#afterRto = false;
    const lastAck = this.#lastAck;
    this.#lastAck = now;
    if (this.#inFastRecovery) return; // PRR sizes sending until the recovery point (RFC 6937)
    const mss = this.#mss;
    // Linux tcp_is_cwnd_limited: grow only a window the sender fills
    if (sample.priorInFlight * 2 < this.#cwnd) {
      // RFC 9438 §5.8: application-limited time does not advance the curve
      if (this.#epochStart >= 0 && lastAck >= 0) this.#epochStart += now - lastAck;
      return;
    }
    if (this.#cwnd < this.#ssthresh) {
      if (this.#useHystart && this.#ssthresh === Infinity) {
        this.#cwnd += this.#hystart.onAck(sample, mss);
        // RFC 9406 §4.2: CSS_ROUNDS done: ssthresh = cwnd, congestion avoidance
        if (this.#hystart.phase === "done") this.#ssthresh = this.#cwnd;
      } else {
        this.#cwnd += sample.ackedBytes; // RFC 5681 §3.1 slow start (no L limit when paced)
      }
      if (this.#cwnd <= this.#ssthresh) return;
      this.#cwnd = this.#ssthresh;
    }
    this.#congestionAvoidance(now, sample);
  }

  /** RFC 9438 §4.2–4.5: one ACK in congestion avoidance. */
  #congestionAvoidance(now: Instant, sample: AckSample): void {
    const mss = this.#mss;
    if (this.#epochStart < 0) this.#startEpoch(now);
    const t = (now - this.#epochStart) / 1000;
    const rtt = (sample.srtt > 0 ? sample.srtt : sample.rtt > 0 ? sample.rtt : 0) / 1000;
    const cwndSeg = this.#cwnd / mss;
    const ackedSeg = sample.ackedBytes / mss;
    // RFC 9438 §4.3: W_est += α_cubic · segments_acked / cwnd; α = 1 once W_est ≥ cwnd_prior
    const alpha = this.#wEst >= this.#cwndPrior ? 1 : ALPHA_CUBIC;
    this.#wEst += alpha * ackedSeg / cwndSeg * mss;
    const origin = this.#originPoint / mss;
    if (wCubic(t, this.#k, origin) * mss < this.#wEst) {
      this.#cwnd = this.#wEst; // RFC 9438 §4.3: Reno-friendly region
      return;
    }
    // RFC 9438 §4.4/§4.5: target = W_cubic(t + RTT), clamped to [cwnd, 1.5·cwnd]
    let target = wCubic(t + rtt, this.#k, origin);
    if (target < cwndSeg) target = cwndSeg;
    if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    this.#cwnd += (target - cwndSeg) / cwndSeg * ackedSeg * mss;
  }

  /** RFC 9438 §4.2: a congestion-avoidance epoch begins at `now` from the current cwnd. */
  #startEpoch(now: Instant): void {
    const mss = this.#mss;
    this.#epochStart = now;
    this.#wEst = this.#cwnd; // RFC 9438 §4.3: W_est = cwnd_epoch
    if (this.#epochFromCwnd || this.#wMax <= this.#cwnd) {
      // RFC 9438 §4.8 (after an RTO) and no plateau above: K = 0, W_max = cwnd_epoch
      this.#epochFromCwnd = false;
      this.#k = 0;
      this.#originPoint = this.#cwnd;
    } else {
      this.#k = cubicK(this.#wMax / mss, this.#cwnd / mss);
      this.#originPoint = this.#wMax;
    }
  }

  /** RFC 9438 §4.6–4.7: multiplicative decrease with fast convergence; PRR takes over. */
  onCongestionEvent(_now: Instant, _event: CongestionEvent): void {
    this.#pristine = false;
    this.#saved = this.#snapshot();
    this.#reduce();
    this.#cwnd = this.#ssthresh;
    this.#inFastRecovery = true;
  }

  /** Recovery point acknowledged: cwnd = ssthresh (RFC 6937 §3.1), avoidance resumes. */
  onRecoveryExit(_now: Instant, _inFlight: number): void {
    if (!this.#inFastRecovery) return;
    this.#inFastRecovery = false;
    this.#cwnd = this.#ssthresh;
  }

  /** RFC 9438 §4.8: ssthresh as for a congestion event, cwnd = 1 SMSS. */
  onRto(_now: Instant, _inFlight: number): void {
    this.#pristine = false;
    // RFC 5681 §3.1: a repeated RTO for the same data keeps ssthresh
    if (!this.#afterRto) {
      if (!this.#inFastRecovery) this.#saved = this.#snapshot();
      // already reduced for this episode's loss: keep that reduction
      if (!this.#inFastRecovery) this.#reduce();
    }
    this.#afterRto = true;
    this.#inFastRecovery = false;
    this.#cwnd = this.#mss;
    this.#epochFromCwnd = true;
  }

  /** RFC 9438 §4.9: the event was spurious: restore what it changed. */
  onSpuriousCongestion(_now: Instant): void {
    const s = this.#saved;
    if (s === undefined) return;
    this.#saved = undefined;
    this.#cwnd = Math.max(this.#cwnd, s.cwnd);
    this.#ssthresh = s.ssthresh;
    this.#wMax = s.wMax;
    this.#cwndPrior = s.cwndPrior;
    this.#k = s.k;
    this.#epochStart = s.epochStart;
    this.#originPoint = s.originPoint;
    this.#wEst = s.wEst;
    this.#inFastRecovery = false;
    this.#afterRto = false;
    this.#epochFromCwnd = false;
  }

  /** Changes the MSS; before any event the initial window is recomputed with it. */
  setMss(mss: number): void {
    const w = windowsForMss("Cubic", mss, this.#pristine, this.#initialCwnd, {
      cwnd: this.#cwnd,
      ssthresh: this.#ssthresh,
    });
    this.#mss = mss;
    this.#cwnd = w.cwnd;
    this.#ssthresh = w.ssthresh;
  }

  /** RFC 9438 §4.6–4.7: W_max with fast convergence, cwnd_prior, ssthresh; ends the epoch. */
  #reduce(): void {
    const cwnd = this.#cwnd;
    // RFC 9438 §4.7: a flow that lost before regaining W_max releases bandwidth
    this.#wMax = this.#fastConvergence && cwnd < this.#wMax ? cwnd * (1 + BETA_CUBIC) / 2 : cwnd;
    this.#cwndPrior = cwnd;
    // RFC 9438 §4.6: ssthresh = cwnd·β_cubic (cwnd-based; growth needs a full window), ≥ 2·SMSS
    this.#ssthresh = Math.max(Math.floor(cwnd * BETA_CUBIC), 2 * this.#mss);
    this.#epochStart = -1;
  }

  #snapshot(): CubicSnapshot {
    return {
      cwnd: this.#cwnd,
      ssthresh: this.#ssthresh,
      wMax: this.#wMax,
      cwndPrior: this.#cwndPrior,
      k: this.#k,
      epochStart: this.#epochStart,
      originPoint: this.#originPoint,
      wEst: this.#wEst,
    };
  }
}
