/**
 * Loss recovery of the sender, on the per-segment send records
 * (`send_records.ts`):
 *
 * - with SACK, RACK-TLP (RFC 8985): time-based loss marking with an adaptive
 *   reordering window (`rack.ts`), the reordering timer, and tail loss probes
 *   (`tlp.ts`); DupThresh is subsumed (RACK's window is 0 once DupThresh
 *   segments are SACKed and no reordering was seen);
 * - without SACK, NewReno (RFC 5681 §3.2, RFC 6582): the third duplicate ACK
 *   marks SND.UNA's segment lost, each partial ACK the next one;
 * - either way PRR (RFC 6937, `prr.ts`) sizes what is sent during a
 *   recovery episode for controllers with `usesPrr`, and the controller only
 *   gets signals (`onCongestionEvent` once per episode, `onRecoveryExit`,
 *   `onRto`, `onSpuriousCongestion`, `onAck` with a rate sample from
 *   `delivery_rate.ts`);
 * - after a timeout every unSACKed segment is lost (RFC 8985 §6.3) and is
 *   resent in order as the window allows; an RTO or a fast recovery found
 *   spurious by timestamps (Eifel detection, RFC 3522, with the RFC 4015
 *   response) is undone.
 *
 * Nothing is allocated per ACK or per segment.
 *
 * The file stays over 600 lines (about 740, some 230 of them comments):
 * the per-record mechanisms are already split out (`rack.ts`, `tlp.ts`,
 * `prr.ts`, `delivery_rate.ts`, `send_records.ts`); what is left is one
 * episode's state (phase, recovery point, lost bytes, the undo bookkeeping)
 * that every per-ACK step reads and changes.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seqGe, seqLe, seqLt, seqSub } from "../wire/seq.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import type { AckSample, CongestionController } from "./congestion/congestion_controller.ts";
import { DeliveryRate } from "./delivery_rate.ts";
import { Prr } from "./prr.ts";
import { Rack } from "./rack.ts";
import type { RttEstimator } from "./rtt.ts";
import { SackScoreboard } from "./sack_scoreboard.ts";
import { REC_LOST, REC_RETRANS, REC_SACKED, SendRecords } from "./send_records.ts";
import { TailLossProbe } from "./tlp.ts";

/** RFC 5681 §3.2 / RFC 6675 §2 DupThresh. */
export const DUP_THRESH = 3;

/** {@linkcode LossRecovery.phase}: no recovery episode. */
export const PHASE_NONE = 0;
/** {@linkcode LossRecovery.phase}: fast recovery (RACK or DupThresh marked a loss). */
export const PHASE_FAST = 1;
/** {@linkcode LossRecovery.phase}: recovery after a retransmission timeout. */
export const PHASE_RTO = 2;

/** What loss recovery reads of the sender (its public getters). */
export interface SendView {
  /** SND.UNA. */
  readonly sndUna: Seq;
  /** SND.NXT. */
  readonly sndNxt: Seq;
  /** Highest sequence number sent plus one. */
  readonly sndMax: Seq;
  /** SMSS. */
  readonly mss: number;
  /** The congestion controller. */
  readonly cc: CongestionController;
  /** The RTT estimator (SRTT, min RTT). */
  readonly rtt: RttEstimator;
}

/** {@linkcode LossRecovery.onNewAck}: leave the retransmission timer running. */
export const KEEP_RTO = 0;
/** {@linkcode LossRecovery.onNewAck}: restart the retransmission timer (RFC 6298 §5.3). */
export const RESTART_RTO = 1;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The sender's loss-recovery state. The sender calls, per ACK:
 * {@linkcode LossRecovery.beginAck}, {@linkcode LossRecovery.onAckBlocks},
 * {@linkcode LossRecovery.onCumAck} (before SND.UNA moves),
 * {@linkcode LossRecovery.onNewAck} (after), {@linkcode LossRecovery.onDupAck},
 * {@linkcode LossRecovery.afterAck}; per segment sent
 * {@linkcode LossRecovery.onTransmit}; and asks
 * {@linkcode LossRecovery.nextRetransmit} and {@linkcode LossRecovery.ccRoom}.
 *
 * @example RACK marks a hole lost once DupThresh segments above it are SACKed
 * ```ts
 * import assert from "node:assert/strict";
 * import { LossRecovery, PHASE_FAST } from "./recovery.ts";
 * import { createController } from "./congestion/registry.ts";
 * import { RttEstimator } from "./rtt.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const cc = createController("newreno", { mss: 1000, initialCwnd: 10 });
 * const rtt = new RttEstimator({ initial: 1000, min: 200, max: 60_000 });
 * rtt.sample(100);
 * const snd = { sndUna: seq(0), sndNxt: seq(0), sndMax: seq(0), mss: 1000, cc, rtt };
 * const rec = new LossRecovery(seq(0));
 * rec.sack = true;
 * for (let i = 0; i < 5; i++) {
 *   rec.onTransmit(i, snd, seq(i * 1000), seq(i * 1000 + 1000));
 *   snd.sndNxt = snd.sndMax = seq(i * 1000 + 1000);
 * }
 * const ack = (right: number) => ({
 *   srcPort: 1, dstPort: 2, seq: seq(0), ack: seq(0), flags: 16, window: 60000,
 *   urgentPointer: 0, payload: new Uint8Array(0),
 *   options: { sackBlocks: [{ left: seq(1000), right: seq(right) }] },
 * });
 * for (const right of [2000, 3000, 4000]) {
 *   rec.beginAck(100, snd, -1);
 *   rec.onAckBlocks(100, snd, 0, ack(right));
 *   rec.afterAck(100, snd, -1);
 * }
 * assert.equal(rec.phase, PHASE_FAST); // [0, 1000) is lost: fast recovery
 * assert.equal(rec.nextRetransmit(snd), true);
 * assert.deepEqual([rec.rxSeq, rec.rxLimit], [0, 1000]);
 * ```
 */
export class LossRecovery {
  /** Whether SACK was negotiated (RFC 2018): RACK-TLP on, else NewReno. */
  sack = false;
  /** What the peer SACKed above SND.UNA. */
  readonly board: SackScoreboard = new SackScoreboard();
  /** One record per segment in flight. */
  readonly records: SendRecords = new SendRecords();
  /** Delivery-rate estimation. */
  readonly rate: DeliveryRate = new DeliveryRate();
  /** RACK state. */
  readonly rack: Rack = new Rack();
  /** Tail loss probe state. */
  readonly tlp: TailLossProbe = new TailLossProbe();
  /** PRR state of the current episode. */
  readonly prr: Prr = new Prr();
  #phase = PHASE_NONE;
  /** RFC 6582 `recover` / RFC 6675 RecoveryPoint. */
  #recover: Seq;
  #dupAcks = 0;
  /** Without SACK: bytes the duplicate ACKs of the episode say have left the network. */
  #dupBytes = 0;
  /** Bytes of records marked lost and not resent since (not SACKed). */
  #lostBytes = 0;
  /** Where the search for lost records starts. */
  #lostFrom: Seq;
  // the current ACK
  #delivered = 0;
  #newlyLost = 0;
  #dsack = false;
  /** D-SACK blocks received (RFC 2883): the peer got a segment twice (Linux tcpi_dsack_dups). */
  dsackDups = 0;
  #priorInFlight = 0;
  #exitPending = false;
  /**
   * After an RTO (as F-RTO, RFC 5682 §2.1 step 1): 1 while only SND.UNA's
   * segment may go, 2 once it went, until an ACK shows whether the timeout
   * was spurious; 0 otherwise.
   */
  #rtoGuard = 0;
  /** The send time (ms, floored) the current ACK echoes, or -1 without timestamps. */
  #ackEcho = -1;
  // undo (Eifel detection with timestamps, RFC 3522)
  /** Time of the episode's first retransmission, or -1 (no undo possible). */
  #undoRetransAt = -1;
  /** End of the highest retransmission of the episode. */
  #undoHigh: Seq = 0 as Seq;
  /** The episode has not retransmitted yet: its first retransmission starts undo tracking. */
  #undoArmed = false;
  /** Bytes retransmitted in the last episode and not yet reported as duplicates (D-SACK). */
  #dsackUndoBytes = 0;
  /** Whether D-SACKs may still undo the last episode (until the next one begins). */
  #dsackUndoValid = false;
  /** SND.UNA when the last episode began (Linux's undo_marker). */
  #undoMarker: Seq = 0 as Seq;
  #undone = 0;
  readonly #sample: Mutable<AckSample> = {
    ackedBytes: 0,
    priorInFlight: 0,
    inFlight: 0,
    rtt: -1,
    minRtt: Infinity,
    srtt: 0,
    deliveryRate: -1,
    delivered: 0,
    priorDelivered: 0,
    isAppLimited: false,
    inRecovery: false,
    lostBytes: 0,
  };
  /** Start of the retransmission {@linkcode LossRecovery.nextRetransmit} chose. */
  rxSeq: Seq = 0 as Seq;
  /** Its end (the end of its record). */
  rxLimit: Seq = 0 as Seq;

  /** @param iss The initial send sequence number. */
  constructor(iss: Seq) {
    this.#recover = iss;
    this.#lostFrom = iss;
  }

  /** {@linkcode PHASE_NONE}, {@linkcode PHASE_FAST} or {@linkcode PHASE_RTO}. */
  get phase(): number {
    return this.#phase;
  }
  /** Whether a fast-recovery or RTO episode is in progress. */
  get inRecovery(): boolean {
    return this.#phase !== PHASE_NONE;
  }
  /** Bytes deemed lost and not yet resent. */
  get lostBytes(): number {
    return this.#lostBytes;
  }
  /** Episodes undone as spurious. */
  get undone(): number {
    return this.#undone;
  }
  /** The rate sample and signals of the last ACK. */
  get sample(): AckSample {
    return this.#sample;
  }

  /**
   * Bytes in flight: outstanding, minus SACKed, minus deemed lost (RFC 6675
   * pipe with RACK's marks; without SACK, minus what duplicate ACKs reported).
   */
  pipe(snd: SendView): number {
    const una = snd.sndUna;
    let p = seqSub(snd.sndMax, una) - this.#lostBytes - this.#dupBytes;
    if (this.board.count > 0) p -= this.board.sackedBetween(una, snd.sndMax);
    return p > 0 ? p : 0;
  }

  /**
   * Starts processing an ACK.
   *
   * @param tsRtt RTT from the ACK's echoed timestamp, or -1 (RACK's check of
   *   retransmissions, RFC 8985 §6.2 step 2).
   */
  beginAck(now: Instant, snd: SendView, tsRtt: number): void {
    this.#ackEcho = tsRtt >= 0 ? Math.floor(now) - tsRtt : -1;
    this.#rtoGuard = 0;
    this.rate.beginAck();
    this.#delivered = 0;
    this.#newlyLost = 0;
    this.#dsack = false;
    this.#priorInFlight = this.pipe(snd);
  }

  /**
   * The ACK's SACK blocks (RFC 6675 §4 Update(), RFC 2883 D-SACK): marks
   * newly SACKed records delivered, then updates the scoreboard.
   *
   * @param acked Bytes the ACK advances SND.UNA by (negative: old ACK).
   * @returns Whether it carried SACK information not known before.
   */
  onAckBlocks(now: Instant, snd: SendView, acked: number, seg: TcpSegment): boolean {
    if (!this.sack || acked < 0) return false;
    const board = this.board;
    const una = acked > 0 ? seg.ack : snd.sndUna;
    if (acked > 0) board.trim(una); // clears it when the peer reneged (RFC 2018 §8)
    const blocks = seg.options.sackBlocks;
    if (blocks === undefined || blocks.length === 0) return false;
    // RFC 2883 §4: a first block below the ACK or inside the second reports a duplicate
    const b0 = blocks[0];
    if (
      seqLe(b0.right, seg.ack) ||
      (blocks.length > 1 && seqGe(b0.left, blocks[1].left) && seqLe(b0.right, blocks[1].right))
    ) {
      this.#dsack = true;
      this.dsackDups++;
      this.rack.onDsack(snd.sndUna, snd.sndMax);
      // as Linux (tcp_check_dsack): a duplicate above the episode's start counts
      if (seqLt(this.#undoMarker, b0.right)) this.#onDsackUndo(now, snd, seqSub(b0.right, b0.left));
    }
    for (let b = this.#dsack ? 1 : 0; b < blocks.length; b++) {
      const l = seqLt(blocks[b].left, una) ? una : blocks[b].left;
      const r = blocks[b].right;
      if (seqLt(l, r) && seqLe(r, snd.sndMax)) this.#markSacked(now, snd, l, r);
    }
    return board.update(una, snd.sndMax, blocks);
  }

  /** Marks the records inside `[l, r)` not SACKed before as SACKed and delivered. */
  #markSacked(now: Instant, snd: SendView, l: Seq, r: Seq): void {
    const board = this.board, recs = this.records;
    let s = l;
    while (seqLt(s, r)) {
      const j = board.find(s);
      if (j >= 0) {
        s = board.right(j);
        continue;
      }
      const e = board.holeEnd(s, r);
      let i = recs.find(s);
      for (; i >= 0 && i < recs.count && seqLt(recs.start(i), e); i++) {
        const k = recs.slot(i);
        const f = recs.flags[k];
        const a = recs.startSeq[k] as Seq, z = recs.endSeq[k] as Seq;
        if ((f & REC_SACKED) || seqLt(a, l) || seqLt(r, z)) continue;
        recs.flags[k] = (f | REC_SACKED) & ~REC_LOST;
        const len = seqSub(z, a);
        if (f & REC_LOST) this.#lostBytes -= len;
        this.#deliver(now, snd, i, len, false);
      }
      s = e;
    }
  }

  /**
   * Record `i` (`len` bytes) was delivered, by the cumulative ACK or by a
   * SACK block.
   */
  #deliver(now: Instant, snd: SendView, i: number, len: number, cumulative: boolean): void {
    const recs = this.records;
    const k = recs.slot(i);
    this.rate.onDelivered(recs, i, len, now);
    this.#delivered += len;
    const retrans = (recs.flags[k] & REC_RETRANS) !== 0;
    // RFC 8985 §6.2 step 2: an ACK echoing a time before the retransmission was for
    // the original, so it says nothing about when the retransmission was delivered.
    // Only a cumulative ACK's echo can be this segment's: for a segment SACKed above
    // a hole the receiver echoes the last in-order segment's TSval (RFC 7323 §4.3),
    // older than any retransmission, which would hide every SACKed retransmission
    // (a tail loss probe's included) from RACK. The min_RTT condition still applies.
    if (
      cumulative && retrans && this.#ackEcho >= 0 && this.#ackEcho < Math.floor(recs.xmit[k])
    ) return;
    this.rack.onDelivered(recs.xmit[k], recs.endSeq[k] as Seq, retrans, now, snd.rtt.minRtt);
  }

  /**
   * The cumulative part of an ACK, before SND.UNA moves to `ack`: the
   * records below it are delivered (unless SACKed before) and dropped.
   */
  onCumAck(now: Instant, snd: SendView, ack: Seq): void {
    const recs = this.records;
    while (recs.count > 0) {
      const k = recs.slot(0);
      const s = recs.startSeq[k] as Seq, e = recs.endSeq[k] as Seq;
      if (seqLe(ack, s)) break;
      const f = recs.flags[k];
      const whole = seqLe(e, ack);
      const len = seqSub(whole ? e : ack, s);
      if (!(f & REC_SACKED)) {
        if (f & REC_LOST) this.#lostBytes -= len;
        this.#deliver(now, snd, 0, len, true);
      }
      if (!whole) {
        recs.trimHead(ack);
        break;
      }
      recs.shift();
    }
    if (this.#dupBytes > 0) {
      this.#dupBytes = Math.max(0, this.#dupBytes - seqSub(ack, snd.sndUna));
    }
  }

  /**
   * An ACK advanced SND.UNA (already applied to `snd`): ends an episode at
   * its recovery point, or (NewReno) marks the next hole after a partial ACK.
   *
   * @param tsRtt RTT from the ACK's echoed timestamp, or -1 (for undo).
   * @returns {@linkcode KEEP_RTO} or {@linkcode RESTART_RTO}.
   */
  onNewAck(now: Instant, snd: SendView, tsRtt: number): number {
    this.#dupAcks = 0;
    const ack = snd.sndUna;
    if (this.#phase !== PHASE_NONE && this.#undoRetransAt >= 0) {
      // Eifel detection (RFC 3522 §3.2): every ACK that filled a retransmitted hole
      // echoes a timestamp older than the first retransmission: the originals
      // arrived and the episode was needless (RFC 4015 §3: undo it)
      const original = tsRtt >= 0 && Math.floor(now) - tsRtt < Math.floor(this.#undoRetransAt);
      if (!original) this.#undoRetransAt = -1;
      else if (seqGe(ack, this.#undoHigh)) return this.#undo(now, snd);
    }
    if (this.#phase === PHASE_FAST && seqGe(ack, this.#recover)) {
      // RFC 6675 §5 step A / RFC 6582 §3.2 step 6: the recovery point is acknowledged
      this.#phase = PHASE_NONE;
      this.#dupBytes = 0;
      this.rack.onRecoveryExit();
      this.#exitPending = true; // after this ACK's onAck (afterAck)
      return RESTART_RTO;
    }
    if (this.#phase === PHASE_RTO && seqGe(ack, this.#recover)) {
      this.#phase = PHASE_NONE;
      this.rack.onRecoveryExit();
      return RESTART_RTO;
    }
    if (this.#phase === PHASE_FAST && !this.sack) {
      // RFC 6582 §3.2 step 5: a partial ACK; resend the next hole ("impatient" RTO reset)
      this.#markHeadLost();
      return KEEP_RTO;
    }
    return RESTART_RTO;
  }

  /**
   * D-SACK undo (RFC 2883 §5, as Linux's undo_retrans): once every byte
   * retransmitted in the episode was reported received twice, no
   * retransmission was needed and the episode is undone.
   */
  #onDsackUndo(now: Instant, snd: SendView, len: number): void {
    if (!this.#dsackUndoValid || this.#dsackUndoBytes <= 0) return;
    this.#dsackUndoBytes -= len;
    if (this.#dsackUndoBytes > 0) return;
    this.#dsackUndoValid = false;
    if (this.#phase !== PHASE_NONE) {
      this.#undo(now, snd);
    } else {
      this.#undone++;
      snd.cc.onSpuriousCongestion(now); // the episode already ended
    }
  }

  /** The episode was spurious: restore the controller and forget the loss marks. */
  #undo(now: Instant, snd: SendView): number {
    this.#undone++;
    if (this.#phase === PHASE_FAST) snd.cc.onRecoveryExit(now, this.pipe(snd)); // the episode ends
    this.#phase = PHASE_NONE;
    this.#undoRetransAt = -1;
    this.#dsackUndoValid = false;
    this.#dupBytes = 0;
    this.#unmarkLost();
    snd.cc.onSpuriousCongestion(now);
    return RESTART_RTO;
  }

  #unmarkLost(): void {
    const recs = this.records;
    for (let i = 0; i < recs.count; i++) recs.flags[recs.slot(i)] &= ~REC_LOST;
    this.#lostBytes = 0;
  }

  /**
   * A duplicate ACK (RFC 5681 §2; with SACK, RFC 6675 §2 DupAck).
   *
   * @returns Whether it began a NewReno episode (a loss event).
   */
  onDupAck(now: Instant, snd: SendView): boolean {
    this.#dupAcks++;
    if (this.sack) return false; // RACK decides
    if (this.#phase === PHASE_FAST) {
      // RFC 6937 §3: without SACK a duplicate ACK delivered one segment
      this.#dupBytes += snd.mss;
      this.#delivered += snd.mss;
      return false;
    }
    if (this.#dupAcks !== DUP_THRESH || !seqGe(snd.sndUna, this.#recover)) return false;
    if (this.#phase === PHASE_RTO) return false;
    // RFC 6582 §3.2 step 2: fast retransmit only past the last recovery point
    this.#dupBytes = DUP_THRESH * snd.mss;
    this.#markHeadLost();
    this.#enterFast(now, snd);
    return true;
  }

  #markHeadLost(): void {
    const recs = this.records;
    if (recs.count === 0) return;
    const k = recs.slot(0);
    const f = recs.flags[k];
    if (f & (REC_LOST | REC_SACKED)) return;
    recs.flags[k] = f | REC_LOST;
    const len = seqSub(recs.endSeq[k] as Seq, recs.startSeq[k] as Seq);
    this.#lostBytes += len;
    this.#newlyLost += len;
    this.#lostFrom = recs.startSeq[k] as Seq;
  }

  /** A new episode (fast or RTO) starts its undo bookkeeping afresh: Eifel and D-SACK. */
  #armUndo(snd: SendView): void {
    this.#undoRetransAt = -1;
    this.#undoArmed = true;
    this.#dsackUndoBytes = 0;
    this.#dsackUndoValid = true;
    this.#undoMarker = snd.sndUna;
  }

  #enterFast(now: Instant, snd: SendView): void {
    this.#phase = PHASE_FAST;
    this.#recover = snd.sndMax;
    this.#armUndo(snd);
    this.tlp.reset();
    const flight = seqSub(snd.sndMax, snd.sndUna);
    // RFC 5681 §3.2 eq. 4 takes FlightSize; RFC 6937 §3.1 RecoverFS likewise
    snd.cc.onCongestionEvent(now, { inFlight: flight, lostBytes: this.#lostBytes });
    this.prr.enter(flight);
  }

  /** RACK's loss detection (RFC 8985 §6.2 step 5) with the current reordering window. */
  #detect(now: Instant, snd: SendView): void {
    if (this.records.count === 0) return;
    const rtt = snd.rtt;
    const sacked = this.board.count > 0
      ? this.board.sackedBetween(snd.sndUna, snd.sndMax) / snd.mss
      : 0;
    const reoWnd = this.rack.reoWnd(this.#phase !== PHASE_NONE, sacked, rtt.minRtt, rtt.srtt);
    const lost = this.rack.detectLoss(this.records, now, reoWnd);
    if (lost > 0) {
      this.#lostBytes += lost;
      this.#newlyLost += lost;
      this.#lostFrom = snd.sndUna;
    }
  }

  /**
   * After every ACK: RACK loss detection, the start of an episode, PRR's
   * sndcnt, the controller's `onAck`, and the tail-loss-probe outcome
   * (RFC 8985 §7.4).
   *
   * @param ackRtt The RTT sample this ACK gave, or -1.
   * @returns Whether an episode (a loss event) began.
   */
  afterAck(now: Instant, snd: SendView, ackRtt: number): boolean {
    const cc = snd.cc;
    const una = snd.sndUna;
    let began = false;
    this.rack.endAck();
    if (this.sack && this.rack.xmitTs >= 0) this.#detect(now, snd);
    if (this.#lostBytes > 0 && this.#phase === PHASE_NONE && seqGe(una, this.#recover)) {
      this.#enterFast(now, snd);
      began = true;
    }
    // RFC 8985 §7.4.2: the probe's outcome
    const tlp = this.tlp;
    if (tlp.active && seqGe(una, tlp.endSeq)) {
      tlp.reset();
      if (tlp.isRetrans && !this.#dsack && this.#phase === PHASE_NONE && !began) {
        // the probe repaired a tail loss: one congestion response, as for a fast recovery
        const flight = seqSub(snd.sndMax, una);
        cc.onCongestionEvent(now, { inFlight: flight + this.#delivered, lostBytes: 0 });
        cc.onRecoveryExit(now, this.pipe(snd));
        began = true;
      }
    }
    const rtt = snd.rtt;
    const hasRate = this.rate.endAck(rtt.minRtt);
    const pipe = this.pipe(snd);
    if (this.#phase === PHASE_FAST && cc.usesPrr) {
      this.prr.onAck(this.#delivered, pipe, cc.ssthresh, snd.mss);
      // RFC 6937 §3.1 (as Linux): the episode's first retransmission goes out at once
      if (this.prr.out === 0 && this.prr.allowance < snd.mss) this.prr.allowance = snd.mss;
    }
    if (this.#delivered > 0) {
      const s = this.#sample;
      s.ackedBytes = this.#delivered;
      s.priorInFlight = this.#priorInFlight;
      s.inFlight = pipe;
      s.rtt = ackRtt;
      s.minRtt = rtt.minRtt;
      s.srtt = rtt.srtt;
      s.deliveryRate = hasRate ? this.rate.sampleRate : -1;
      s.delivered = this.rate.delivered;
      s.priorDelivered = this.rate.priorDelivered;
      s.isAppLimited = this.rate.sampleAppLimited;
      s.inRecovery = this.#phase !== PHASE_NONE || this.#exitPending;
      s.lostBytes = this.#newlyLost;
      cc.onAck(now, s);
    }
    if (this.#exitPending) {
      this.#exitPending = false;
      cc.onRecoveryExit(now, pipe);
    }
    return began;
  }

  /**
   * The RACK reordering timer expired (RFC 8985 §6.2 step 6): detect again.
   *
   * @returns Whether an episode began.
   */
  onReorderTimeout(now: Instant, snd: SendView): boolean {
    if (!this.sack) return false;
    this.#newlyLost = 0;
    this.#detect(now, snd);
    if (this.#lostBytes <= 0 || this.#phase !== PHASE_NONE) return false;
    if (!seqGe(snd.sndUna, this.#recover)) return false;
    this.#enterFast(now, snd);
    if (snd.cc.usesPrr) {
      this.prr.onAck(0, this.pipe(snd), snd.cc.ssthresh, snd.mss);
      if (this.prr.allowance < snd.mss) this.prr.allowance = snd.mss;
    }
    return true;
  }

  /**
   * The retransmission timer expired (RFC 8985 §6.3): SND.UNA's segment and
   * every unSACKed one whose RACK deadline has passed are lost, and an RTO
   * episode runs to SND.MAX (RFC 6675 §5.1).
   */
  onRto(now: Instant, snd: SendView): void {
    this.#phase = PHASE_RTO;
    this.#recover = snd.sndMax;
    this.#dupAcks = 0;
    this.#dupBytes = 0;
    this.tlp.reset();
    const recs = this.records;
    const rtt = snd.rtt;
    const wait = this.rack.rtt + this.rack.reoWnd(true, 0, rtt.minRtt, rtt.srtt);
    let lost = 0;
    for (let i = 0; i < recs.count; i++) {
      const k = recs.slot(i);
      const f = recs.flags[k];
      if (f & REC_SACKED) continue;
      if ((f & REC_LOST) || i === 0 || recs.xmit[k] + wait <= now) {
        recs.flags[k] = f | REC_LOST;
        lost += seqSub(recs.endSeq[k] as Seq, recs.startSeq[k] as Seq);
      }
    }
    this.#lostBytes = lost;
    this.#lostFrom = snd.sndUna;
    this.#armUndo(snd);
    this.#rtoGuard = 1;
  }

  /** A timeout just fired and nothing was resent since: the segment at SND.UNA is due (RFC 6298 §5.4). */
  get timeoutResendDue(): boolean {
    return this.#rtoGuard === 1;
  }

  /**
   * Congestion-window room: PRR's sndcnt during a fast recovery (at least a
   * segment once it is positive), else cwnd - pipe.
   */
  ccRoom(snd: SendView): number {
    if (this.#rtoGuard === 2) return 0; // wait for the first ACK after the timeout
    const cc = snd.cc;
    if (this.#phase === PHASE_FAST && cc.usesPrr) {
      const a = this.prr.allowance;
      return a > 0 ? Math.max(a, snd.mss) : 0;
    }
    return cc.cwnd - this.pipe(snd);
  }

  /**
   * The first record deemed lost, if the window has room for it (RFC 6675
   * §4 NextSeg() rule 1 with RACK's marks).
   *
   * @returns Whether to retransmit `[rxSeq, rxLimit)`.
   */
  nextRetransmit(snd: SendView): boolean {
    if (this.#lostBytes <= 0 || snd.sndNxt !== snd.sndMax) return false;
    const recs = this.records;
    if (this.#rtoGuard === 1 && recs.count > 0) {
      // RFC 6298 §5.4: on a timeout, retransmit the earliest unacknowledged segment,
      // whatever the pipe (Linux tcp_retransmit_timer sends the head directly).
      // Gated by cwnd - pipe, with recently resent segments still counted in the
      // pipe, the head was never resent and the connection stalled for good.
      const f = recs.flagsAt(0);
      // only a record that starts at SND.UNA (never one left below it)
      if ((f & REC_LOST) !== 0 && (f & REC_SACKED) === 0 && recs.start(0) === snd.sndUna) {
        this.#lostFrom = recs.start(0);
        this.rxSeq = recs.start(0);
        this.rxLimit = recs.end(0);
        return true;
      }
    }
    const room = this.ccRoom(snd);
    if (room <= 0) return false;
    let i = seqLt(this.#lostFrom, snd.sndUna) ? 0 : recs.find(this.#lostFrom);
    if (i < 0) i = 0;
    for (; i < recs.count; i++) {
      const f = recs.flagsAt(i);
      if ((f & REC_LOST) === 0 || (f & REC_SACKED) !== 0) continue;
      const s = recs.start(i), e = recs.end(i);
      if (this.#rtoGuard === 1 && i > 0) return false;
      this.#lostFrom = s;
      const usesPrr = this.#phase === PHASE_FAST && snd.cc.usesPrr;
      if (!usesPrr && room < Math.min(seqSub(e, s), snd.mss)) return false;
      this.rxSeq = s;
      this.rxLimit = e;
      return true;
    }
    this.#lostBytes = 0; // nothing lost is left (defensive: keeps the counter exact)
    return false;
  }

  /** The last unSACKed record, for a retransmitted tail loss probe; false when none. */
  lastUnsacked(): boolean {
    const recs = this.records;
    for (let i = recs.count - 1; i >= 0; i--) {
      if (recs.flagsAt(i) & REC_SACKED) continue;
      this.rxSeq = recs.start(i);
      this.rxLimit = recs.end(i);
      return true;
    }
    return false;
  }

  /**
   * Where go-back-N (after a zero window) sends next: SND.NXT moved past a
   * SACKed range it points into (RFC 6675 §5.1: SACK information is kept).
   */
  skipSacked(snd: SendView): Seq {
    const nxt = snd.sndNxt;
    if (this.board.count === 0 || !seqLt(nxt, snd.sndMax)) return nxt;
    const i = this.board.find(nxt);
    return i >= 0 ? this.board.right(i) : nxt;
  }

  /**
   * Accounts a data or FIN segment `[seq, end)` about to be sent (SND.MAX not
   * yet moved): a record for new data, the records' retransmission state for
   * old data, PRR's prr_out.
   */
  onTransmit(now: Instant, snd: SendView, seq: Seq, end: Seq): void {
    const max = snd.sndMax;
    const nothingInFlight = max === snd.sndUna;
    if (seqLt(seq, max)) this.#onRetransmit(now, seq, seqLt(end, max) ? end : max);
    if (seqLt(max, end)) {
      this.rate.onSend(this.records, seqLt(seq, max) ? max : seq, end, now, nothingInFlight);
    }
    if (this.#phase === PHASE_FAST) this.prr.onSent(seqSub(end, seq));
    if (this.#rtoGuard === 1) this.#rtoGuard = 2;
  }

  #onRetransmit(now: Instant, s: Seq, e: Seq): void {
    const recs = this.records;
    let i = recs.find(s);
    if (i < 0) return;
    if (seqLt(recs.start(i), s)) {
      recs.split(i, s);
      i++;
    }
    for (; i < recs.count && seqLt(recs.start(i), e); i++) {
      if (seqLt(e, recs.end(i))) recs.split(i, e);
      const k = recs.slot(i);
      const f = recs.flags[k];
      if ((f & REC_LOST) && !(f & REC_SACKED)) {
        this.#lostBytes -= seqSub(recs.endSeq[k] as Seq, recs.startSeq[k] as Seq);
      }
      recs.flags[k] = (f & ~REC_LOST) | REC_RETRANS;
      this.rate.onResend(recs, k, now);
    }
    if (this.#phase !== PHASE_NONE && this.#dsackUndoValid) this.#dsackUndoBytes += seqSub(e, s);
    if (this.#phase !== PHASE_NONE && this.#undoArmed) {
      this.#undoArmed = false;
      this.#undoRetransAt = now;
      this.#undoHigh = e;
    } else if (this.#undoRetransAt >= 0 && seqLt(this.#undoHigh, e)) this.#undoHigh = e;
  }
}
