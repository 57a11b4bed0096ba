/**
 * The congestion-control interface, free of any particular algorithm (no
 * NewReno fast-recovery hooks): loss detection and recovery (RACK-TLP, RFC
 * 6675, PRR) live in the sender's recovery code and only *signal* the
 * controller; the controller answers a window and, if it wants, a pacing
 * rate. The registry that maps names to algorithms is in `registry.ts`, not
 * here.
 *
 * Who calls what, once per input:
 * - every ACK that delivers data (cumulative or SACK) → {@linkcode CongestionController.onAck}
 *   with an {@linkcode AckSample} (rate sample, RTT, in-flight, lost bytes);
 * - the first loss of a recovery episode (RACK or DupThresh marking) →
 *   {@linkcode CongestionController.onCongestionEvent}, once per episode
 *   (RFC 5681 §3.2 / RFC 9438 §4.6: one reduction per RTT);
 * - the end of the episode (the recovery point is acknowledged) →
 *   {@linkcode CongestionController.onRecoveryExit};
 * - a retransmission timeout → {@linkcode CongestionController.onRto};
 * - an episode found spurious (F-RTO, D-SACK / Eifel undo) →
 *   {@linkcode CongestionController.onSpuriousCongestion} (after `onRecoveryExit`
 *   when it was a fast recovery).
 *
 * An RTO episode has no `onRecoveryExit`: after `onRto` the controller is back
 * in slow start and simply gets `onAck`s. A tail loss probe that repaired a
 * loss gives `onCongestionEvent` immediately followed by `onRecoveryExit`.
 * `AckSample.inRecovery` is true in both kinds of episode.
 *
 * During recovery a controller with `usesPrr` lets PRR (RFC 6937) size what
 * is sent, aiming at its `ssthresh`; one without (BBR) keeps governing `cwnd`
 * itself (`AckSample.inRecovery` tells it the phase).
 *
 * Units: bytes, milliseconds ({@linkcode Instant}), rates in bytes per ms.
 *
 * @module
 */

import type { Instant } from "../../time.ts";

/** What one ACK told the sender: the inputs CUBIC, HyStart++ and BBR need. */
export interface AckSample {
  /** Bytes newly delivered by this ACK: newly cumulatively ACKed plus newly SACKed. */
  readonly ackedBytes: number;
  /** Bytes in flight before this ACK was processed. */
  readonly priorInFlight: number;
  /** Bytes in flight after it (RFC 6675 pipe with SACK, FlightSize without). */
  readonly inFlight: number;
  /** A valid RTT sample (ms) taken from this ACK, or -1 (none; Karn's rule, RFC 6298 §5). */
  readonly rtt: number;
  /** The smallest RTT seen on the connection (ms), or Infinity before the first sample. */
  readonly minRtt: number;
  /** Smoothed RTT (ms), or 0 before the first sample. */
  readonly srtt: number;
  /**
   * Delivery-rate sample in bytes per ms (draft-cheng-iccrg-delivery-rate-estimation),
   * or -1 when this ACK gives none.
   */
  readonly deliveryRate: number;
  /** Total bytes delivered on the connection so far (C.delivered), this ACK included. */
  readonly delivered: number;
  /** C.delivered when the newest segment this ACK delivered was sent (P.delivered): BBR's rounds. */
  readonly priorDelivered: number;
  /** The rate sample was taken while the sender was application-limited. */
  readonly isAppLimited: boolean;
  /** The sender is in loss recovery (fast recovery, or after an RTO) on this ACK. */
  readonly inRecovery: boolean;
  /** Bytes newly marked lost while processing this ACK (RACK or DupThresh). */
  readonly lostBytes: number;
}

/** A congestion event: the start of one loss-recovery episode. */
export interface CongestionEvent {
  /** Bytes in flight when the loss was detected. */
  readonly inFlight: number;
  /** Bytes marked lost so far in this episode. */
  readonly lostBytes: number;
}

/** Options every algorithm is created with. */
export interface CongestionOptions {
  /** Sender maximum segment size (SMSS) in bytes. */
  readonly mss: number;
  /** Initial window in segments (RFC 6928; `TcpConfig.initialCwnd`). */
  readonly initialCwnd: number;
  /**
   * For algorithms that compare a round's loss rate with a threshold (BBR's
   * BBRLossThresh): the loss rate (0–1) above which loss reads as congestion.
   * Undefined: the algorithm's own default. Loss-based algorithms ignore it.
   */
  readonly lossTolerance?: number;
}

/** A congestion-control algorithm. Sizes are bytes; every signal takes `now`. */
export interface CongestionController {
  /** Registry name, e.g. "cubic". */
  readonly name: string;
  /** Congestion window in bytes. */
  readonly cwnd: number;
  /** Slow-start threshold in bytes (Infinity until the first congestion event). */
  readonly ssthresh: number;
  /** Whether PRR (RFC 6937) sizes sending during recovery (true for loss-based algorithms). */
  readonly usesPrr: boolean;
  /**
   * The rate to pace at in bytes per ms, or -1 to let the sender derive one
   * from cwnd/SRTT (Linux's gain 2 in slow start, 1.2 in avoidance).
   */
  pacingRate(srtt: number): number;
  /** An ACK delivered data. */
  onAck(now: Instant, sample: AckSample): void;
  /** Loss detected: a recovery episode begins (called once per episode). */
  onCongestionEvent(now: Instant, event: CongestionEvent): void;
  /** The recovery point was acknowledged: the episode ends. */
  onRecoveryExit(now: Instant, inFlight: number): void;
  /** The retransmission timer expired. */
  onRto(now: Instant, inFlight: number): void;
  /** The last congestion event or RTO was spurious: restore the state from before it. */
  onSpuriousCongestion(now: Instant): void;
  /** The sender MSS changed (after the handshake or PMTU). */
  setMss(mss: number): void;
}

/**
 * Throws a RangeError naming the controller `name` unless `options.mss` and
 * `options.initialCwnd` are positive (every controller's constructor check).
 */
export function checkCongestionOptions(name: string, options: CongestionOptions): void {
  if (!(options.mss > 0 && options.initialCwnd > 0)) {
    throw new RangeError(
      `${name} needs mss > 0 and initialCwnd > 0, got ${JSON.stringify(options)}`,
    );
  }
}

/** Makes a controller. */
export type CongestionFactory = (options: CongestionOptions) => CongestionController;
