/**
 * BBR congestion control after draft-ietf-ccwg-bbr (the BBRv3 model): a
 * model of the path — bottleneck bandwidth (max filter over ProbeBW cycles)
 * and minimum RTT (10 s filter) — sets the pacing rate and bounds in-flight
 * data at BDP·cwnd_gain; a state machine probes the model: Startup, Drain,
 * ProbeBW (DOWN → CRUISE → REFILL → UP) and ProbeRTT.
 *
 * Loss is a signal only when it is heavy: a round whose loss rate exceeds
 * BBRLossThresh (2 %) bounds the model (inflight_hi from probing, bw_lo /
 * inflight_lo otherwise); random loss below it leaves the model alone. This
 * is the first deliberate departure from the draft, whose lower bounds react to
 * any loss in a round: tou's tunnel runs over paths whose loss is random, not
 * a queue overflowing (issue 9).
 *
 * A second departure keeps ProbeBW_CRUISE from cruising on a queue. The
 * draft paces CRUISE at max_bw, the largest delivery-rate sample of two
 * ProbeBW cycles; when ACK timing is noisy (receive batches, event-loop
 * stalls) some samples' ACK intervals are compressed and max_bw ends up a
 * few % above the bottleneck, so the queue grows by that much every round
 * until cwnd (2·BDP) stops it — a standing queue of a whole BDP that no loss
 * ever bounds. So a CRUISE round in which even the smallest RTT sample
 * exceeded min_rtt by more than a quarter ({@linkcode BBR_STANDING_QUEUE_FRACTION})
 * sends BBR back to ProbeBW_DOWN, pacing at 0.9 × the rate that round
 * actually delivered, until the queue is gone; the probe schedule is left
 * alone. When the drain does not lower the RTT within
 * {@linkcode BBR_QUEUE_DRAIN_ROUNDS} rounds the queue is not this flow's (a
 * loss-based flow fills it) and CRUISE stops checking until the next probe.
 *
 * Rounds are counted with the delivery counters of the {@linkcode AckSample};
 * `priorInFlight` stands in for the draft's `rs.tx_in_flight`, and loss rates
 * are measured over the current and the previous round.
 *
 * This file (about 1000 lines) is longer than the style guide's 600 because the draft's
 * state machine is one unit: its transitions read each other's state on every
 * ACK; split, it would be harder to check against the draft.
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
import { WindowedMaxFilter } from "./windowed_filter.ts";

/** draft-ietf-ccwg-bbr §5.1: Startup pacing gain, 4·ln 2 (doubles delivery per round). */
export const BBR_STARTUP_PACING_GAIN = 2.77;
/** draft-ietf-ccwg-bbr §5.1: Startup cwnd gain. */
export const BBR_STARTUP_CWND_GAIN = 2;
/** draft-ietf-ccwg-bbr §5.3.2: Drain pacing gain (drains Startup's queue in about a round). */
export const BBR_DRAIN_PACING_GAIN = 0.35;
/** draft-ietf-ccwg-bbr §5.6: default cwnd gain. */
export const BBR_DEFAULT_CWND_GAIN = 2;
/** draft-ietf-ccwg-bbr §5.3.3: the loss rate above which a round is congested. */
export const BBR_LOSS_THRESH = 0.02;
/** draft-ietf-ccwg-bbr §5.3.3: multiplicative decrease of the bounds on congestion. */
export const BBR_BETA = 0.7;
/** draft-ietf-ccwg-bbr §5.3.3: headroom left below inflight_hi while cruising. */
export const BBR_HEADROOM = 0.15;
/** draft-ietf-ccwg-bbr §5.3.4: ProbeRTT lasts at least this long (ms). */
export const BBR_PROBE_RTT_DURATION = 200;
/** draft-ietf-ccwg-bbr §5.3.4: ProbeRTT is due when min RTT was not refreshed for this long (ms). */
export const BBR_PROBE_RTT_INTERVAL = 5000;
/** draft-ietf-ccwg-bbr §5.3.4: ProbeRTT's cwnd is this fraction of the BDP. */
export const BBR_PROBE_RTT_CWND_GAIN = 0.5;
/** draft-ietf-ccwg-bbr §5.5.5: the min RTT filter's window (ms). */
export const BBR_MIN_RTT_FILTER_LEN = 10_000;
/** draft-ietf-ccwg-bbr §5.5.10: the extra-ACKed filter's window (rounds). */
export const BBR_EXTRA_ACKED_FILTER_LEN = 10;
/** draft-ietf-ccwg-bbr §5.3.1.2: ACKs with losses in a round that end Startup (with a high loss rate). */
export const BBR_STARTUP_FULL_LOSS_COUNT = 6;
/**
 * A round of ProbeBW_CRUISE whose smallest RTT sample exceeds min_rtt by more
 * than this fraction of it (and {@linkcode BBR_STANDING_QUEUE_MIN} ms) found a
 * standing queue: BBR drains it as in ProbeBW_DOWN (see the module doc).
 */
export const BBR_STANDING_QUEUE_FRACTION = 0.25;
/**
 * The smallest standing queue (ms) that sends ProbeBW_CRUISE back to draining:
 * below it, on short paths, a real runtime's timer and receive-batch noise
 * (1–2 ms) would read as queueing.
 */
export const BBR_STANDING_QUEUE_MIN = 2;
/**
 * Rounds a drain of a standing queue may take before its round-min RTT must
 * be below where it began: a round's RTT samples show the sending of the
 * round before, and ACK-timing noise moves a round's minimum by a few ms.
 */
export const BBR_QUEUE_DRAIN_ROUNDS = 5;
/**
 * The least fraction of the model's bandwidth a standing-queue drain paces
 * at: the rate of one round can be far below the path's (ACK compression,
 * an event-loop stall), and the drain only needs to send less than arrives.
 */
export const BBR_QUEUE_DRAIN_MIN_BW = 0.5;
/** draft-ietf-ccwg-bbr §5.6.2: pace this fraction below the estimate. */
const PACING_MARGIN = 0.01;

/** BBR's states; ProbeBW's four phases are separate states as in the draft. */
export type BbrState =
  | "Startup"
  | "Drain"
  | "ProbeBW_DOWN"
  | "ProbeBW_CRUISE"
  | "ProbeBW_REFILL"
  | "ProbeBW_UP"
  | "ProbeRTT";

/** draft-ietf-ccwg-bbr §5.3.3.6: where the ACKs of a bandwidth probe are. */
type AckPhase = "init" | "probeStarting" | "probeFeedback" | "probeStopping" | "refilling";

/** Options of {@linkcode Bbr} beyond the common {@linkcode CongestionOptions}. */
export interface BbrOptions extends CongestionOptions {
  /** A uniform random number in [0, 1) (the probe wait's jitter); default a fixed-seed xorshift. */
  readonly random?: () => number;
  /** Loss rate above which a round counts as congested (default {@linkcode BBR_LOSS_THRESH}). */
  readonly lossThresh?: number;
}

/**
 * The BBR congestion controller (registry name "bbr").
 *
 * `cwnd` bounds in-flight data; {@linkcode Bbr.pacingRate} is the model's
 * rate in bytes per ms, which the sender paces at. PRR is not used
 * (`usesPrr` is false): in recovery BBR keeps packet conservation for a round
 * (cwnd = in-flight + newly acked, minus newly lost), then regrows toward its
 * model, and restores the cwnd from before the episode when it ends.
 *
 * @example Startup paces at 2.77× the measured bandwidth
 * ```ts
 * import assert from "node:assert/strict";
 * import { Bbr } from "./bbr.ts";
 *
 * const bbr = new Bbr({ mss: 1000, initialCwnd: 10 });
 * assert.equal(bbr.state, "Startup");
 * bbr.onAck(40, {
 *   ackedBytes: 1000, priorInFlight: 10_000, inFlight: 9000, rtt: 40, minRtt: 40, srtt: 40,
 *   deliveryRate: 100, delivered: 1000, priorDelivered: 0, isAppLimited: false,
 *   inRecovery: false, lostBytes: 0,
 * });
 * assert.equal(bbr.maxBw, 100);
 * assert.ok(Math.abs(bbr.pacingRate(40) - 2.77 * 100 * 0.99) < 1e-9);
 * ```
 */
export class Bbr implements CongestionController {
  /** Registry name. */
  readonly name: string = "bbr";
  /** BBR governs cwnd in recovery itself (packet conservation), not PRR. */
  readonly usesPrr: boolean = false;
  #mss: number;
  readonly #initialCwnd: number;
  readonly #random: () => number;
  readonly #lossThresh: number;
  #cwnd: number;
  #state: BbrState = "Startup";
  #pacingGain = BBR_STARTUP_PACING_GAIN;
  #cwndGain = BBR_STARTUP_CWND_GAIN;
  /** The model's pacing rate (bytes/ms), -1 before the first bandwidth sample. */
  #pacingRate = -1;

  // Round counting (§5.5.1)
  #nextRoundDelivered = 0;
  #roundCount = 0;
  #roundStart = false;

  // Bandwidth model (§5.5.4): max_bw over the last two ProbeBW cycles, bounds, latest
  #bwHi0 = 0;
  #bwHi1 = 0;
  #maxBw = 0;
  #bw = 0;
  #cycleCount = 0;
  #bwLo = Infinity;
  #inflightLo = Infinity;
  #inflightHi = Infinity;
  #bwLatest = 0;
  #inflightLatest = 0;

  // Loss rounds and congestion signals (§5.5.9)
  #lossRoundDelivered = 0;
  #lossRoundStart = false;
  #lossInRound = false;
  #lossEventsInRound = 0;
  #roundLost = 0;
  #roundDelivered = 0;
  #prevRoundLost = 0;
  #prevRoundDelivered = 0;

  // Min RTT (§5.5.5) and ProbeRTT (§5.3.4)
  #minRtt = Infinity;
  #minRttStamp = 0;
  #probeRttMinDelay = Infinity;
  #probeRttMinStamp = 0;
  #probeRttExpired = false;
  #probeRttDoneStamp = 0;
  #probeRttRoundDone = false;

  // Standing-queue check: the smallest RTT sample of this round and of the last one
  #roundMinRttNow = Infinity;
  #roundMinRttPrev = Infinity;
  /** The last round's average delivery rate (bytes/ms), -1 before one. */
  #roundRatePrev = -1;
  #roundStartTime = -1;
  #roundStartDelivered = 0;
  /** Some ACK of the current round was app-limited: its average rate measures the application. */
  #roundAppLimited = false;
  /** The delivery rate of the round that showed a standing queue: pacing's bound while it drains. */
  #queueBw = Infinity;
  /** Draining a standing queue found in CRUISE: the rounds so far, 0 when not. */
  #queueDrainRounds = 0;
  /** The round-min RTT when the queue drain began. */
  #queueDrainRtt = Infinity;
  /** A drain made no progress (the queue is not ours): no more until the next probe. */
  #queueDrainOff = false;

  // Startup's full-pipe detection (§5.3.1.2)
  #fullBw = 0;
  #fullBwCount = 0;
  #fullBwNow = false;
  #fullBwReached = false;

  // ACK aggregation (§5.5.10)
  readonly #extraAckedFilter = new WindowedMaxFilter(BBR_EXTRA_ACKED_FILTER_LEN);
  #extraAckedIntervalStart = 0;
  #extraAckedDelivered = 0;

  // ProbeBW (§5.3.3)
  #cycleStamp = 0;
  #ackPhase: AckPhase = "init";
  #roundsSinceBwProbe = 0;
  #bwProbeWait = 0;
  #bwProbeUpRounds = 0;
  #bwProbeUpAcks = 0;
  #probeUpCnt = Infinity;
  #bwProbeSamples = false;

  // Loss recovery (§5.6.4)
  #priorCwnd = 0;
  #inLossRecovery = false;
  #packetConservation = false;
  /** The episode's first ACK sets cwnd = in-flight + newly acked. */
  #conservationPending = false;
  #maxInflight = 0;

  /**
   * @param options Sender MSS, initial window in segments, and BBR knobs.
   * @throws {RangeError} When `mss` or `initialCwnd` is not positive.
   */
  constructor(options: BbrOptions) {
    checkCongestionOptions("Bbr", options);
    this.#mss = options.mss;
    this.#initialCwnd = options.initialCwnd;
    this.#random = options.random ?? xorshift(0x9e3779b9);
    this.#lossThresh = options.lossThresh ?? options.lossTolerance ?? BBR_LOSS_THRESH;
    this.#cwnd = options.initialCwnd * options.mss;
  }

  /** Congestion window in bytes. */
  get cwnd(): number {
    return this.#cwnd;
  }

  /** BBR has no slow-start threshold: Infinity. */
  get ssthresh(): number {
    return Infinity;
  }

  /** The current state. */
  get state(): BbrState {
    return this.#state;
  }

  /** BBR.max_bw: the bottleneck bandwidth estimate (bytes/ms). */
  get maxBw(): number {
    return this.#maxBw;
  }

  /** BBR.bw: max_bw bounded by bw_lo (bytes/ms). */
  get bw(): number {
    return this.#bw;
  }

  /** BBR.min_rtt (ms), Infinity before the first sample. */
  get minRtt(): number {
    return this.#minRtt;
  }

  /** BBR.inflight_hi (bytes), Infinity until a probe met heavy loss. */
  get inflightHi(): number {
    return this.#inflightHi;
  }

  /** BBR.inflight_lo (bytes), Infinity unless a round met heavy loss. */
  get inflightLo(): number {
    return this.#inflightLo;
  }

  /** BBR.bw_lo (bytes/ms), Infinity unless a round met heavy loss. */
  get bwLo(): number {
    return this.#bwLo;
  }

  /** BBR.full_bw_reached: Startup found the pipe full. */
  get fullBwReached(): boolean {
    return this.#fullBwReached;
  }

  /** Rounds counted so far. */
  get roundCount(): number {
    return this.#roundCount;
  }

  /** The current pacing gain. */
  get pacingGain(): number {
    return this.#pacingGain;
  }

  /**
   * The model's pacing rate in bytes per ms; before any bandwidth sample,
   * Startup's gain times cwnd/SRTT (§5.6.2 BBRInitPacingRate; 1 ms without SRTT).
   */
  pacingRate(srtt: number): number {
    if (this.#pacingRate > 0) return this.#pacingRate;
    return BBR_STARTUP_PACING_GAIN * this.#cwnd / (srtt > 0 ? srtt : 1);
  }

  /** §5.2 BBRUpdateOnACK: update the model and state, then the control parameters. */
  onAck(now: Instant, sample: AckSample): void {
    if (this.#inLossRecovery && !sample.inRecovery) this.#exitRecovery();
    this.#updateLatestDeliverySignals(sample);
    this.#updateCongestionSignals(sample);
    this.#updateRoundSignals(now, sample);
    this.#updateAckAggregation(now, sample);
    this.#checkFullBwReached(sample);
    this.#checkStartupDone(now, sample);
    this.#checkDrainDone(now, sample);
    this.#updateProbeBwCyclePhase(now, sample);
    this.#updateMinRtt(now, sample);
    this.#checkProbeRtt(now, sample);
    this.#advanceLatestDeliverySignals(sample);
    this.#boundBwForModel();
    this.#setPacingRate();
    this.#setCwnd(sample);
  }

  /**
   * §5.6.4.4: entering fast recovery: packet conservation for a round. cwnd
   * becomes in-flight + newly acked on the episode's first ACK, whose
   * `inFlight` is the pipe (`event.inFlight` is FlightSize, SACKed and lost
   * bytes included).
   */
  onCongestionEvent(_now: Instant, event: CongestionEvent): void {
    this.#priorCwnd = this.#saveCwnd();
    this.#cwnd = Math.max(Math.min(this.#cwnd, event.inFlight + this.#mss), this.#minPipeCwnd());
    this.#packetConservation = true;
    this.#conservationPending = true;
    this.#inLossRecovery = true;
    this.#startRound(); // conservation lasts until this round ends
  }

  /** §5.6.4.4: leaving recovery restores the cwnd from before it. */
  onRecoveryExit(_now: Instant, _inFlight: number): void {
    this.#exitRecovery();
  }

  /**
   * §5.6.4.4: on an RTO cwnd falls to in-flight + 1 segment, where every
   * outstanding segment now counts as lost (RFC 8985 §6.3): one segment.
   */
  onRto(_now: Instant, _inFlight: number): void {
    this.#priorCwnd = this.#saveCwnd();
    this.#cwnd = this.#mss;
    this.#inLossRecovery = true;
    this.#packetConservation = false;
    this.#conservationPending = false;
  }

  /** The episode was spurious: restore cwnd, forget the bounds it set (Linux bbr_undo_cwnd). */
  onSpuriousCongestion(_now: Instant): void {
    this.#resetLowerBounds();
    this.#fullBw = 0;
    this.#fullBwCount = 0;
    this.#exitRecovery();
  }

  /** Changes the MSS; before any ACK the initial window is recomputed with it. */
  setMss(mss: number): void {
    if (!(mss > 0)) throw new RangeError(`Bbr mss must be positive, got ${mss}`);
    const pristine = this.#roundCount === 0 && this.#cwnd === this.#initialCwnd * this.#mss;
    this.#mss = mss;
    if (pristine) this.#cwnd = this.#initialCwnd * mss;
    this.#cwnd = Math.max(this.#cwnd, this.#minPipeCwnd());
  }

  // --- Delivery and loss signals -----------------------------------------

  /** §5.5.9 BBRUpdateLatestDeliverySignals. */
  #updateLatestDeliverySignals(s: AckSample): void {
    this.#lossRoundStart = false;
    if (s.deliveryRate >= 0) this.#bwLatest = Math.max(this.#bwLatest, s.deliveryRate);
    this.#inflightLatest = Math.max(this.#inflightLatest, s.delivered - s.priorDelivered);
    if (s.priorDelivered >= this.#lossRoundDelivered) {
      this.#lossRoundDelivered = s.delivered;
      this.#lossRoundStart = true;
    }
  }

  /** §5.5.9 BBRAdvanceLatestDeliverySignals. */
  #advanceLatestDeliverySignals(s: AckSample): void {
    if (!this.#lossRoundStart) return;
    this.#bwLatest = Math.max(0, s.deliveryRate);
    this.#inflightLatest = s.delivered - s.priorDelivered;
  }

  /** §5.5.9 BBRUpdateCongestionSignals, with the loss rate judged per round. */
  #updateCongestionSignals(s: AckSample): void {
    this.#updateMaxBw(s);
    this.#roundLost += s.lostBytes;
    this.#roundDelivered += s.ackedBytes;
    if (s.lostBytes > 0) {
      this.#lossInRound = true;
      this.#lossEventsInRound++;
    }
    this.#checkStartupHighLoss(s);
    if (!this.#lossRoundStart) return;
    this.#adaptLowerBoundsFromCongestion();
    this.#prevRoundLost = this.#roundLost;
    this.#prevRoundDelivered = this.#roundDelivered;
    this.#roundLost = 0;
    this.#roundDelivered = 0;
    this.#lossInRound = false;
    this.#lossEventsInRound = 0;
  }

  /** §5.3.3.5 IsInflightTooHigh: the loss rate of the last round or two exceeds the threshold. */
  #lossTooHigh(): boolean {
    const lost = this.#roundLost + this.#prevRoundLost;
    if (lost === 0) return false;
    return lost > this.#lossThresh * (lost + this.#roundDelivered + this.#prevRoundDelivered);
  }

  /** §5.5.10 BBRUpdateLowerBounds on a congested round (heavy loss only; see the module doc). */
  #adaptLowerBoundsFromCongestion(): void {
    if (this.#isProbingBw()) return;
    if (!this.#lossInRound || !this.#lossTooHigh()) return;
    if (this.#bwLo === Infinity) this.#bwLo = this.#maxBw;
    if (this.#inflightLo === Infinity) this.#inflightLo = this.#cwnd;
    this.#bwLo = Math.max(this.#bwLatest, BBR_BETA * this.#bwLo);
    this.#inflightLo = Math.max(this.#inflightLatest, BBR_BETA * this.#inflightLo);
  }

  #resetLowerBounds(): void {
    this.#bwLo = Infinity;
    this.#inflightLo = Infinity;
  }

  /** §5.5.4 BBRBoundBWForModel. */
  #boundBwForModel(): void {
    this.#bw = Math.min(this.#maxBw, this.#bwLo);
  }

  // --- Rounds and the bandwidth filter --------------------------------------

  /** §5.5.1 BBRUpdateRound. */
  #updateRound(s: AckSample): void {
    if (s.priorDelivered >= this.#nextRoundDelivered) {
      this.#startRound(s.delivered);
      this.#roundCount++;
      this.#roundsSinceBwProbe++;
      this.#roundStart = true;
      this.#packetConservation = false; // §5.6.4.4: conservation lasts one round
    } else {
      this.#roundStart = false;
    }
  }

  /** §5.5.1 BBRStartRound: the round ends when data sent from now on is delivered. */
  #startRound(delivered = this.#lastDelivered): void {
    this.#nextRoundDelivered = delivered;
  }

  /** C.delivered as of the last ACK. */
  #lastDelivered = 0;

  /** §5.5.4.2 BBRUpdateMaxBw: app-limited samples count only when they raise the max. */
  #updateMaxBw(s: AckSample): void {
    this.#lastDelivered = s.delivered;
    this.#updateRound(s);
    if (s.deliveryRate < 0) return;
    if (s.deliveryRate >= this.#maxBw || !s.isAppLimited) {
      this.#bwHi1 = Math.max(this.#bwHi1, s.deliveryRate);
      this.#maxBw = Math.max(this.#bwHi0, this.#bwHi1);
    }
  }

  /** §5.5.4.2 BBRAdvanceMaxBwFilter: a new ProbeBW cycle; the window is two cycles. */
  #advanceMaxBwFilter(): void {
    this.#cycleCount++;
    if (this.#bwHi1 === 0) return; // no samples this cycle: keep the old one
    this.#bwHi0 = this.#bwHi1;
    this.#bwHi1 = 0;
  }

  /** §5.5.10 BBRUpdateACKAggregation: how far ACKs ran ahead of the modelled rate. */
  #updateAckAggregation(now: Instant, s: AckSample): void {
    const interval = now - this.#extraAckedIntervalStart;
    let expected = this.#bw * interval;
    if (this.#extraAckedDelivered <= expected) {
      this.#extraAckedDelivered = 0;
      this.#extraAckedIntervalStart = now;
      expected = 0;
    }
    this.#extraAckedDelivered += s.ackedBytes;
    // Linux caps the aggregation allowance at 100 ms of bandwidth
    const extra = Math.min(this.#extraAckedDelivered - expected, this.#cwnd, this.#bw * 100);
    this.#extraAckedFilter.update(Math.max(0, extra), this.#roundCount);
  }

  // --- Startup and Drain -----------------------------------------------------

  /** §5.3.1.2 BBRCheckFullBWReached: three rounds without 25 % growth. */
  #checkFullBwReached(s: AckSample): void {
    if (this.#fullBwNow || s.isAppLimited || s.deliveryRate < 0) return;
    if (s.deliveryRate >= this.#fullBw * 1.25) {
      this.#resetFullBw();
      this.#fullBw = s.deliveryRate;
      return;
    }
    if (!this.#roundStart) return;
    this.#fullBwCount++;
    this.#fullBwNow = this.#fullBwCount >= 3;
    if (this.#fullBwNow) this.#fullBwReached = true;
  }

  #resetFullBw(): void {
    this.#fullBw = 0;
    this.#fullBwCount = 0;
    this.#fullBwNow = false;
  }

  /** §5.3.1.2 BBRCheckStartupHighLoss: heavy loss in a Startup round also fills the pipe. */
  #checkStartupHighLoss(s: AckSample): void {
    if (this.#fullBwReached || this.#state !== "Startup") return;
    if (!this.#lossRoundStart || !s.inRecovery) return;
    if (this.#lossEventsInRound < BBR_STARTUP_FULL_LOSS_COUNT || !this.#lossTooHigh()) return;
    this.#fullBwReached = true;
    this.#inflightHi = Math.max(this.#bdpMultiple(1), this.#inflightLatest);
  }

  /** §5.3.1.2 BBRCheckStartupDone. */
  #checkStartupDone(now: Instant, s: AckSample): void {
    if (this.#state === "Startup" && this.#fullBwReached) this.#enterDrain(now, s);
  }

  #enterStartup(): void {
    this.#state = "Startup";
    this.#pacingGain = BBR_STARTUP_PACING_GAIN;
    this.#cwndGain = BBR_STARTUP_CWND_GAIN;
  }

  #enterDrain(now: Instant, s: AckSample): void {
    this.#state = "Drain";
    this.#pacingGain = BBR_DRAIN_PACING_GAIN; // §5.3.2: pace below bw to empty the queue
    this.#cwndGain = BBR_STARTUP_CWND_GAIN;
    this.#checkDrainDone(now, s);
  }

  /** §5.3.2 BBRCheckDrainDone: the queue Startup built is gone. */
  #checkDrainDone(now: Instant, s: AckSample): void {
    if (this.#state === "Drain" && s.inFlight <= this.#inflight(this.#maxBw, 1)) {
      this.#enterProbeBw(now);
    }
  }

  // --- ProbeBW ---------------------------------------------------------------

  #enterProbeBw(now: Instant): void {
    this.#cwndGain = BBR_DEFAULT_CWND_GAIN;
    this.#startProbeBwDown(now);
  }

  #isInProbeBw(): boolean {
    const st = this.#state;
    return st === "ProbeBW_DOWN" || st === "ProbeBW_CRUISE" || st === "ProbeBW_REFILL" ||
      st === "ProbeBW_UP";
  }

  #isProbingBw(): boolean {
    const st = this.#state;
    return st === "Startup" || st === "ProbeBW_REFILL" || st === "ProbeBW_UP";
  }

  /** §5.3.3.6 BBRUpdateProbeBWCyclePhase. */
  #updateProbeBwCyclePhase(now: Instant, s: AckSample): void {
    if (!this.#fullBwReached) return;
    this.#adaptUpperBounds(now, s);
    switch (this.#state) {
      case "ProbeBW_DOWN":
        if (this.#isTimeToProbeBw(now)) return;
        if (this.#isTimeToCruise(s) || this.#queueDrainStalled()) {
          this.#state = "ProbeBW_CRUISE";
          this.#endQueueDrain();
        }
        this.#setGains();
        return;
      case "ProbeBW_CRUISE":
        if (this.#isTimeToProbeBw(now)) return;
        if (this.#roundStart && !this.#queueDrainOff && this.#hasStandingQueue()) {
          this.#state = "ProbeBW_DOWN"; // drain; the probe schedule stays as it is
          this.#queueDrainRounds = 1;
          this.#queueDrainRtt = this.#roundMinRttPrev;
          // never below half the model's rate: a round's average is a noisy measure
          if (this.#roundRatePrev > 0) {
            this.#queueBw = Math.max(this.#roundRatePrev, BBR_QUEUE_DRAIN_MIN_BW * this.#bw);
          }
          this.#setGains();
        }
        return;
      case "ProbeBW_REFILL":
        // one round of refilling at the base rate, then probe up
        if (this.#roundStart) {
          this.#bwProbeSamples = true;
          this.#startProbeBwUp(now, s);
        }
        return;
      case "ProbeBW_UP":
        if (this.#isTimeToGoDown(now, s)) this.#startProbeBwDown(now);
        return;
      default:
        return;
    }
  }

  /** §5.3.3.6 BBRAdaptUpperBounds: probe feedback, the max-bw window, and inflight_hi. */
  #adaptUpperBounds(now: Instant, s: AckSample): void {
    if (this.#ackPhase === "probeStarting" && this.#roundStart) {
      this.#ackPhase = "probeFeedback"; // the ACKs of the probe start arriving
    }
    if (this.#ackPhase === "probeStopping" && this.#roundStart) {
      // the probe's ACKs are in: the best time to forget the last cycle's samples
      this.#bwProbeSamples = false;
      this.#ackPhase = "init";
      if (this.#isInProbeBw() && !s.isAppLimited) this.#advanceMaxBwFilter();
    }
    if (this.#lossTooHigh() && this.#lossInRound) {
      // §5.3.3.5 BBRHandleInflightTooHigh, once per probe
      if (!this.#bwProbeSamples) return;
      this.#bwProbeSamples = false;
      if (!s.isAppLimited) {
        this.#inflightHi = Math.max(s.priorInFlight, this.#targetInflight() * BBR_BETA);
      }
      if (this.#state === "ProbeBW_UP") this.#startProbeBwDown(now);
      return;
    }
    if (this.#inflightHi === Infinity) return;
    if (s.priorInFlight > this.#inflightHi) this.#inflightHi = s.priorInFlight;
    if (this.#state === "ProbeBW_UP") this.#probeInflightHiUpward(s);
  }

  /** §5.3.3.6 BBRProbeInflightHiUpward: grow inflight_hi exponentially per round while it binds. */
  #probeInflightHiUpward(s: AckSample): void {
    if (!this.#isCwndLimited(s) || this.#cwnd < this.#inflightHi) return;
    this.#bwProbeUpAcks += s.ackedBytes;
    if (this.#bwProbeUpAcks >= this.#probeUpCnt) {
      const delta = Math.floor(this.#bwProbeUpAcks / this.#probeUpCnt);
      this.#bwProbeUpAcks -= delta * this.#probeUpCnt;
      this.#inflightHi += delta * this.#mss;
    }
    if (this.#roundStart) this.#raiseInflightHiSlope();
  }

  /** §5.3.3.6 BBRRaiseInflightHiSlope: 1, 2, 4, … segments more per round. */
  #raiseInflightHiSlope(): void {
    const growthThisRound = this.#mss * 2 ** this.#bwProbeUpRounds;
    this.#bwProbeUpRounds = Math.min(this.#bwProbeUpRounds + 1, 30);
    this.#probeUpCnt = Math.max(this.#cwnd / growthThisRound, 1) * this.#mss;
  }

  /** §5.3.3.6 BBRIsTimeToProbeBW: the wall-clock wait or Reno's round count elapsed. */
  #isTimeToProbeBw(now: Instant): boolean {
    if (now - this.#cycleStamp > this.#bwProbeWait || this.#isRenoCoexistenceProbeTime()) {
      this.#startProbeBwRefill();
      return true;
    }
    return false;
  }

  /** §5.3.3.6: probe at least as often as Reno would fill the same BDP (≤ 63 rounds). */
  #isRenoCoexistenceProbeTime(): boolean {
    const renoRounds = this.#targetInflight() / this.#mss;
    return this.#roundsSinceBwProbe >= Math.min(renoRounds, 63);
  }

  /**
   * Tracks the smallest RTT sample of the current round and of the one
   * before, and the last round's average delivery rate.
   */
  #updateRoundSignals(now: Instant, s: AckSample): void {
    if (this.#roundStart) {
      this.#roundMinRttPrev = this.#roundMinRttNow;
      this.#roundMinRttNow = Infinity;
      const elapsed = now - this.#roundStartTime;
      // An app-limited round (the sender ran out of data, or sat idle) measured the
      // application, not the path: pacing a drain at its rate stalled a soak connection
      // for 15 minutes (the round spanned an idle wait and delivered a few segments).
      this.#roundRatePrev = elapsed > 0 && this.#roundStartTime >= 0 && !this.#roundAppLimited
        ? (s.delivered - this.#roundStartDelivered) / elapsed
        : -1;
      this.#roundStartTime = now;
      this.#roundStartDelivered = s.delivered;
      this.#roundAppLimited = false;
    }
    if (s.isAppLimited) this.#roundAppLimited = true;
    if (s.rtt >= 0 && s.rtt < this.#roundMinRttNow) this.#roundMinRttNow = s.rtt;
  }

  /**
   * The whole last round saw queueing (even its smallest RTT sample exceeds
   * min_rtt by a quarter of it): max_bw overestimates the bottleneck, e.g.
   * from delivery-rate samples that ACK timing noise compressed, and pacing
   * at it would fill the queue up to cwnd (2·BDP).
   */
  #hasStandingQueue(): boolean {
    if (this.#minRtt === Infinity) return false;
    const allowed = Math.max(this.#minRtt * BBR_STANDING_QUEUE_FRACTION, BBR_STANDING_QUEUE_MIN);
    const rtt = this.#roundMinRttPrev;
    return rtt !== Infinity && rtt > this.#minRtt + allowed;
  }

  /**
   * A drain of a standing queue gets {@linkcode BBR_QUEUE_DRAIN_ROUNDS} rounds
   * to bring the round-min RTT below where it began, and must keep it there;
   * when it does not, the queue is not this flow's to drain (a loss-based
   * flow holds it, or the path's delay grew): CRUISE stops checking until the
   * next bandwidth probe.
   */
  #queueDrainStalled(): boolean {
    if (this.#queueDrainRounds === 0 || !this.#roundStart) return false;
    this.#queueDrainRounds++;
    if (this.#queueDrainRounds <= BBR_QUEUE_DRAIN_ROUNDS) return false;
    if (this.#roundMinRttPrev < this.#queueDrainRtt) return false;
    this.#queueDrainOff = true;
    return true;
  }

  /** §5.3.3.6 BBRIsTimeToCruise. */
  #isTimeToCruise(s: AckSample): boolean {
    if (s.inFlight > this.#inflightWithHeadroom()) return false;
    return s.inFlight <= this.#inflight(this.#maxBw, 1);
  }

  /** When UP has run a min RTT and in-flight passed 1.25·BDP (Linux tcp_bbr.c's rule). */
  #isTimeToGoDown(now: Instant, s: AckSample): boolean {
    return now - this.#cycleStamp > this.#minRtt &&
      s.inFlight > this.#inflight(this.#maxBw, 1.25);
  }

  /** The drain of a standing queue (if any) is over: pacing follows the model again. */
  #endQueueDrain(): void {
    this.#queueDrainRounds = 0;
    this.#queueBw = Infinity;
  }

  #startProbeBwDown(now: Instant): void {
    this.#endQueueDrain();
    this.#lossInRound = false; // BBRResetCongestionSignals
    this.#bwLatest = 0;
    this.#inflightLatest = 0;
    this.#probeUpCnt = Infinity;
    // BBRPickProbeWait: 0–1 rounds and 2–3 s, randomized so flows do not synchronize
    this.#roundsSinceBwProbe = Math.floor(this.#random() * 2);
    this.#bwProbeWait = 2000 + this.#random() * 1000;
    this.#cycleStamp = now;
    this.#ackPhase = "probeStopping";
    this.#startRound();
    this.#state = "ProbeBW_DOWN";
    this.#setGains();
  }

  #startProbeBwRefill(): void {
    this.#resetLowerBounds();
    this.#endQueueDrain();
    this.#queueDrainOff = false;
    this.#bwProbeUpRounds = 0;
    this.#bwProbeUpAcks = 0;
    this.#ackPhase = "refilling";
    this.#startRound();
    this.#state = "ProbeBW_REFILL";
    this.#setGains();
  }

  #startProbeBwUp(now: Instant, s: AckSample): void {
    this.#ackPhase = "probeStarting";
    this.#startRound();
    this.#cycleStamp = now;
    this.#resetFullBw();
    this.#fullBw = Math.max(0, s.deliveryRate);
    this.#state = "ProbeBW_UP";
    this.#setGains();
    this.#raiseInflightHiSlope();
  }

  /** §5.3.3: each ProbeBW phase's pacing and cwnd gains. */
  #setGains(): void {
    switch (this.#state) {
      case "ProbeBW_DOWN":
        this.#pacingGain = 0.9;
        this.#cwndGain = BBR_DEFAULT_CWND_GAIN;
        return;
      case "ProbeBW_CRUISE":
      case "ProbeBW_REFILL":
        this.#pacingGain = 1;
        this.#cwndGain = BBR_DEFAULT_CWND_GAIN;
        return;
      case "ProbeBW_UP":
        this.#pacingGain = 1.25;
        this.#cwndGain = 2.25;
        return;
      default:
        return;
    }
  }

  // --- Min RTT and ProbeRTT ----------------------------------------------------

  /** §5.5.5 BBRUpdateMinRTT. */
  #updateMinRtt(now: Instant, s: AckSample): void {
    this.#probeRttExpired = now > this.#probeRttMinStamp + BBR_PROBE_RTT_INTERVAL;
    if (s.rtt >= 0 && (s.rtt < this.#probeRttMinDelay || this.#probeRttExpired)) {
      this.#probeRttMinDelay = s.rtt;
      this.#probeRttMinStamp = now;
    }
    const minRttExpired = now > this.#minRttStamp + BBR_MIN_RTT_FILTER_LEN;
    if (this.#probeRttMinDelay < this.#minRtt || minRttExpired) {
      this.#minRtt = this.#probeRttMinDelay;
      this.#minRttStamp = this.#probeRttMinStamp;
    }
  }

  /** §5.3.4 BBRCheckProbeRTT. */
  #checkProbeRtt(now: Instant, s: AckSample): void {
    if (this.#state !== "ProbeRTT" && this.#probeRttExpired && this.#minRtt !== Infinity) {
      this.#state = "ProbeRTT";
      this.#pacingGain = 1;
      this.#cwndGain = BBR_PROBE_RTT_CWND_GAIN;
      this.#priorCwnd = this.#saveCwnd();
      this.#probeRttDoneStamp = 0;
      this.#ackPhase = "probeStopping";
      this.#startRound();
    }
    if (this.#state === "ProbeRTT") this.#handleProbeRtt(now, s);
  }

  /** §5.3.4 BBRHandleProbeRTT: hold the small window for 200 ms and a round. */
  #handleProbeRtt(now: Instant, s: AckSample): void {
    if (this.#probeRttDoneStamp === 0) {
      if (s.inFlight <= this.#probeRttCwnd()) {
        this.#probeRttDoneStamp = now + BBR_PROBE_RTT_DURATION;
        this.#probeRttRoundDone = false;
        this.#startRound();
      }
      return;
    }
    if (this.#roundStart) this.#probeRttRoundDone = true;
    if (this.#probeRttRoundDone && now > this.#probeRttDoneStamp) {
      this.#probeRttMinStamp = now; // the next ProbeRTT is due BBR_PROBE_RTT_INTERVAL from here
      this.#cwnd = Math.max(this.#cwnd, this.#priorCwnd); // BBRRestoreCwnd
      this.#resetLowerBounds();
      if (this.#fullBwReached) {
        this.#startProbeBwDown(now);
        this.#state = "ProbeBW_CRUISE";
        this.#setGains();
      } else {
        this.#enterStartup();
      }
    }
  }

  #probeRttCwnd(): number {
    return Math.max(this.#bdpMultiple(BBR_PROBE_RTT_CWND_GAIN), this.#minPipeCwnd());
  }

  // --- Control parameters --------------------------------------------------------

  /** §5.6.2 BBRSetPacingRateWithGain: never lower before the pipe is full. */
  #setPacingRate(): void {
    if (this.#bw <= 0) return;
    const bw = Math.min(this.#bw, this.#queueBw);
    const rate = this.#pacingGain * bw * (1 - PACING_MARGIN);
    if (this.#fullBwReached || rate > this.#pacingRate) this.#pacingRate = rate;
  }

  /** §5.6.4 BBRSetCwnd. */
  #setCwnd(s: AckSample): void {
    this.#maxInflight = this.#quantizationBudget(
      this.#bdpMultiple(this.#cwndGain) + this.#extraAckedFilter.best,
    );
    // §5.6.4.4 BBRModulateCwndForRecovery
    if (this.#conservationPending) {
      this.#conservationPending = false;
      this.#cwnd = Math.max(s.inFlight + Math.max(s.ackedBytes, this.#mss), this.#minPipeCwnd());
    } else if (this.#inLossRecovery) {
      if (s.lostBytes > 0) this.#cwnd = Math.max(this.#cwnd - s.lostBytes, this.#mss);
      if (this.#packetConservation) {
        this.#cwnd = Math.max(this.#cwnd, s.inFlight + s.ackedBytes);
      }
    }
    if (!this.#packetConservation) {
      if (this.#fullBwReached) {
        this.#cwnd = Math.min(this.#cwnd + s.ackedBytes, this.#maxInflight);
      } else if (
        this.#cwnd < this.#maxInflight || s.delivered < this.#initialCwnd * this.#mss
      ) {
        this.#cwnd += s.ackedBytes;
      }
      this.#cwnd = Math.max(this.#cwnd, this.#minPipeCwnd());
    }
    // §5.6.4.5 BBRBoundCwndForProbeRTT
    if (this.#state === "ProbeRTT") this.#cwnd = Math.min(this.#cwnd, this.#probeRttCwnd());
    // §5.6.4.6 BBRBoundCwndForModel
    let cap = Infinity;
    if (this.#isInProbeBw() && this.#state !== "ProbeBW_CRUISE") {
      cap = this.#inflightHi;
    } else if (this.#state === "ProbeRTT" || this.#state === "ProbeBW_CRUISE") {
      cap = this.#inflightWithHeadroom();
    }
    cap = Math.max(Math.min(cap, this.#inflightLo), this.#minPipeCwnd());
    this.#cwnd = Math.min(this.#cwnd, cap);
  }

  /** §5.6.4.2 BBRBDPMultiple: gain·BDP, or the initial window before a model exists. */
  #bdpMultiple(gain: number): number {
    return this.#bdpMultipleOf(this.#bw, gain);
  }

  #bdpMultipleOf(bw: number, gain: number): number {
    if (this.#minRtt === Infinity || bw <= 0) return this.#initialCwnd * this.#mss;
    return gain * bw * this.#minRtt;
  }

  /** §5.6.4.2 BBRInflight: gain·BDP for `bw`, with the quantization budget. */
  #inflight(bw: number, gain: number): number {
    return this.#quantizationBudget(this.#bdpMultipleOf(bw, gain));
  }

  /** §5.6.4.2 BBRQuantizationBudget: room for send quanta and, in UP, two more segments. */
  #quantizationBudget(inflight: number): number {
    const offloadBudget = 3 * this.#sendQuantum();
    let q = Math.max(inflight, offloadBudget, this.#minPipeCwnd());
    if (this.#state === "ProbeBW_UP") q += 2 * this.#mss;
    return q;
  }

  /** §5.6.3 BBRSetSendQuantum: 1 ms of pacing, 2 segments to 64 KB (1 segment below 1.2 Mbit/s). */
  #sendQuantum(): number {
    const rate = this.#pacingRate;
    if (rate < 150) return this.#mss;
    return Math.min(Math.max(rate, 2 * this.#mss), 65_536);
  }

  /** §5.3.3.5 BBRInflightWithHeadroom: leave 15 % below inflight_hi for other flows. */
  #inflightWithHeadroom(): number {
    if (this.#inflightHi === Infinity) return Infinity;
    const headroom = Math.max(this.#mss, BBR_HEADROOM * this.#inflightHi);
    return Math.max(this.#inflightHi - headroom, this.#minPipeCwnd());
  }

  /** §5.3.3.6 BBRTargetInflight. */
  #targetInflight(): number {
    return Math.min(this.#bdpMultiple(1), this.#cwnd);
  }

  #minPipeCwnd(): number {
    return 4 * this.#mss; // §5.6.4.1 BBRMinPipeCwnd
  }

  /** §5.6.4.4 BBRSaveCwnd. */
  #saveCwnd(): number {
    if (!this.#inLossRecovery && this.#state !== "ProbeRTT") return this.#cwnd;
    return Math.max(this.#priorCwnd, this.#cwnd);
  }

  #exitRecovery(): void {
    if (!this.#inLossRecovery) return;
    this.#inLossRecovery = false;
    this.#packetConservation = false;
    this.#conservationPending = false;
    this.#cwnd = Math.max(this.#cwnd, this.#priorCwnd); // §5.6.4.4 BBRRestoreCwnd
  }

  /** The sender filled (nearly) the whole window before this ACK. */
  #isCwndLimited(s: AckSample): boolean {
    return s.priorInFlight + 2 * this.#mss >= this.#cwnd;
  }
}

/** A xorshift32 generator in [0, 1): deterministic jitter without reading a clock. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}
