/**
 * Loss recovery of the sender: when a phase begins and ends and what to
 * retransmit. With SACK (RFC 6675): the scoreboard, RecoveryPoint, HighRxt,
 * pipe and NextSeg() rule 1, several holes per RTT; without it NewReno
 * (RFC 5681 §3.2, RFC 6582), one hole per partial ACK. The congestion
 * controller only does the window arithmetic; `sender.ts` asks
 * {@linkcode LossRecovery} and sends.
 *
 * Everything is computed from the scoreboard's ranges (at most
 * `SACK_SCOREBOARD_RANGES`), never per segment, and nothing is allocated
 * per ACK.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seqAdd, seqGe, seqGt, seqLt, seqSub } from "../wire/seq.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import type { CongestionController } from "./congestion/controller.ts";
import { SackScoreboard } from "./sack_scoreboard.ts";

/** RFC 6675 §2 DupThresh. */
export const DUP_THRESH = 3;

/** Retransmissions of one phase watched for being lost again (more are not watched). */
export const WATCHED_RETRANSMISSIONS = 16;

const FREE = 0, IN_FLIGHT = 1, LOST_AGAIN = 2;

/**
 * The state of one SACK recovery phase (RFC 6675 §3 and §5).
 *
 * @example A hole, three SACKed segments above it, and what to resend
 * ```ts
 * import assert from "node:assert/strict";
 * import { SackRecovery } from "./recovery.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const rec = new SackRecovery();
 * const una = seq(0), max = seq(5000), mss = 1000;
 * rec.board.update(una, max, [{ left: seq(1000), right: seq(4000) }]);
 * assert.equal(rec.isLost(una, mss), true); // 3000 > (DupThresh - 1) · SMSS bytes above
 * rec.enter(una, max);
 * rec.setPipe(una, max, mss);
 * assert.equal(rec.pipe, 1000); // [4000, 5000) is in flight, [0, 1000) is lost
 * assert.equal(rec.nextLost(una), 0);
 * assert.equal(rec.holeLimit, 1000);
 * rec.onSent(seq(0), 1000, max);
 * assert.equal(rec.pipe, 2000);
 * assert.equal(rec.nextLost(una), -1); // nothing else lost
 * ```
 */
export class SackRecovery {
  /** What the peer SACKed above SND.UNA. */
  readonly board: SackScoreboard = new SackScoreboard();
  #active = false;
  #recoveryPoint = 0 as Seq;
  #highRxt = 0 as Seq;
  #lostEnd = 0 as Seq;
  #pipe = 0;
  #firstPending = false;
  /** End of the hole {@linkcode SackRecovery.nextLost} returned. */
  holeLimit: Seq = 0 as Seq;
  // Retransmissions in flight: [start, end) and SND.MAX when sent (a fixed table)
  readonly #rxStart = new Uint32Array(WATCHED_RETRANSMISSIONS);
  readonly #rxEnd = new Uint32Array(WATCHED_RETRANSMISSIONS);
  readonly #rxMark = new Uint32Array(WATCHED_RETRANSMISSIONS);
  readonly #rxState = new Uint8Array(WATCHED_RETRANSMISSIONS);
  /** The watched slot whose lost retransmission nextLost() chose, or -1. */
  #resendSlot = -1;

  /** Whether a recovery phase is in progress. */
  get active(): boolean {
    return this.#active;
  }
  /** RFC 6675 RecoveryPoint: HighData when the phase began. */
  get recoveryPoint(): Seq {
    return this.#recoveryPoint;
  }
  /** RFC 6675 pipe: bytes estimated in flight. */
  get pipe(): number {
    return this.#pipe;
  }
  /** Whether the phase's first retransmission (of SND.UNA) is still to go. */
  get firstPending(): boolean {
    return this.#firstPending;
  }

  /** RFC 6675 §4 IsLost(SND.UNA): whether the first unacknowledged byte is deemed lost. */
  isLost(una: Seq, mss: number): boolean {
    return seqGt(this.board.lostBoundary(una, mss, DUP_THRESH), una);
  }

  /** RFC 6675 §5 step 4: a phase begins; RecoveryPoint = HighData, SND.UNA is resent first. */
  enter(una: Seq, sndMax: Seq): void {
    this.#active = true;
    this.#recoveryPoint = sndMax;
    this.#highRxt = una;
    this.#firstPending = true;
  }

  /** The phase ends (RecoveryPoint acknowledged, or a timeout, RFC 6675 §5.1). */
  exit(): void {
    this.#active = false;
    this.#firstPending = false;
    this.#pipe = 0;
    this.#rxState.fill(FREE);
    this.#resendSlot = -1;
  }

  /**
   * RFC 6675 §4 SetPipe(): unSACKed bytes not deemed lost count once, bytes
   * retransmitted in this phase (below HighRxt) once more, except
   * retransmissions found lost again.
   */
  setPipe(una: Seq, sndMax: Seq, mss: number): void {
    const lostAgain = this.#watchRetransmissions(una, sndMax, mss);
    const board = this.board;
    const lostEnd = board.lostBoundary(una, mss, DUP_THRESH);
    this.#lostEnd = lostEnd;
    if (seqLt(this.#highRxt, una)) this.#highRxt = una;
    const rxt = this.#highRxt;
    let pipe = 0;
    let a = una;
    for (let i = 0; i <= board.count; i++) {
      const b = i < board.count ? board.left(i) : sndMax;
      if (seqLt(a, b)) {
        if (!seqLt(a, lostEnd)) pipe += seqSub(b, a); // not lost: still in flight
        if (seqLt(a, rxt)) pipe += seqSub(seqLt(rxt, b) ? rxt : b, a); // retransmitted
      }
      if (i < board.count) a = board.right(i);
    }
    this.#pipe = Math.max(0, pipe - lostAgain);
  }

  /**
   * Beyond RFC 6675, which leaves a lost retransmission to the RTO: as
   * Linux's lost-retransmit detection, a retransmission is lost again when
   * more than (DupThresh - 1) · SMSS bytes sent after it were SACKed while it
   * was not (IsLost() applied to it). Frees the slots of retransmissions that
   * arrived.
   *
   * @returns The unSACKed bytes of retransmissions lost again (not in pipe).
   */
  #watchRetransmissions(una: Seq, sndMax: Seq, mss: number): number {
    const board = this.board;
    const st = this.#rxState;
    let lost = 0;
    for (let k = 0; k < WATCHED_RETRANSMISSIONS; k++) {
      if (st[k] === FREE) continue;
      const end = this.#rxEnd[k] as Seq;
      const start = seqLt(this.#rxStart[k] as Seq, una) ? una : this.#rxStart[k] as Seq;
      const missing = seqLt(start, end) ? seqSub(end, start) - board.sackedBetween(start, end) : 0;
      if (missing <= 0) {
        st[k] = FREE;
        continue;
      }
      if (
        st[k] === IN_FLIGHT &&
        board.sackedBetween(this.#rxMark[k] as Seq, sndMax) > (DUP_THRESH - 1) * mss
      ) {
        st[k] = LOST_AGAIN;
      }
      if (st[k] === LOST_AGAIN) lost += missing;
    }
    return lost;
  }

  /**
   * RFC 6675 §4 NextSeg() rule 1: the first unSACKed byte above HighRxt that
   * IsLost() marks, or -1. {@linkcode SackRecovery.holeLimit} is set to the
   * end of its hole.
   */
  nextLost(una: Seq): number {
    const board = this.board;
    for (let k = 0; k < WATCHED_RETRANSMISSIONS; k++) {
      if (this.#rxState[k] !== LOST_AGAIN) continue;
      // a retransmission lost again goes first, as a hole deemed lost
      let r = seqLt(this.#rxStart[k] as Seq, una) ? una : this.#rxStart[k] as Seq;
      const end = this.#rxEnd[k] as Seq;
      const j = board.find(r);
      if (j >= 0) r = board.right(j);
      if (!seqLt(r, end)) continue;
      this.holeLimit = board.holeEnd(r, end);
      this.#resendSlot = k;
      return r;
    }
    this.#resendSlot = -1;
    let s = seqLt(this.#highRxt, una) ? una : this.#highRxt;
    const i = this.board.find(s);
    if (i >= 0) s = this.board.right(i);
    if (!seqLt(s, this.#lostEnd)) return -1;
    this.holeLimit = this.board.holeEnd(s, this.#lostEnd);
    return s;
  }

  /**
   * Accounts a segment sent during the phase (RFC 6675 §5 step C.2/C.4):
   * a retransmission moves HighRxt; either adds to pipe.
   */
  onSent(seq: Seq, len: number, sndMax: Seq): void {
    if (!this.#active) return;
    this.#firstPending = false;
    if (seqLt(seq, sndMax)) {
      const end = seqAdd(seq, len);
      if (seqGt(end, this.#highRxt)) this.#highRxt = end;
      this.#watch(seq, end, sndMax);
    }
    this.#pipe += len;
  }

  /** Records a retransmission in the slot nextLost() chose or a free one. */
  #watch(start: Seq, end: Seq, sndMax: Seq): void {
    let k = this.#resendSlot;
    this.#resendSlot = -1;
    if (k < 0) k = this.#rxState.indexOf(FREE);
    if (k < 0) return; // all watched: this one is left to the RTO
    this.#rxStart[k] = start;
    this.#rxEnd[k] = end;
    this.#rxMark[k] = sndMax;
    this.#rxState[k] = IN_FLIGHT;
  }
}

/** What loss recovery reads of the sender (its public getters). */
export interface SendView {
  /** SND.UNA (RFC 6675 HighACK). */
  readonly sndUna: Seq;
  /** SND.NXT. */
  readonly sndNxt: Seq;
  /** Highest sequence number sent plus one (RFC 6675 HighData). */
  readonly sndMax: Seq;
  /** SMSS. */
  readonly mss: number;
  /** The congestion controller. */
  readonly cc: CongestionController;
}

/** {@linkcode LossRecovery.onNewAck}: no phase is in progress; grow cwnd as usual. */
export const NOT_IN_RECOVERY = -1;
/** {@linkcode LossRecovery.onNewAck}: in a phase, leave the retransmission timer running. */
export const KEEP_RTO = 0;
/** {@linkcode LossRecovery.onNewAck}: restart the retransmission timer (RFC 6298 §5.3). */
export const RESTART_RTO = 1;

/**
 * The sender's loss-recovery state: RFC 6675 with SACK, RFC 6582 without.
 * The sender calls the `on*` hooks from ACK processing and the timer, and
 * asks {@linkcode LossRecovery.nextSackRetransmit} /
 * {@linkcode LossRecovery.takeRetransmit} what to resend.
 *
 * @example Three SACK-carrying duplicate ACKs start a phase even as the window grows
 * ```ts
 * import assert from "node:assert/strict";
 * import { LossRecovery } from "./recovery.ts";
 * import { createController } from "./congestion/controller.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const cc = createController("newreno", { mss: 1000, initialCwnd: 10 });
 * const snd = { sndUna: seq(0), sndNxt: seq(10_000), sndMax: seq(10_000), mss: 1000, cc };
 * const rec = new LossRecovery(seq(0));
 * rec.sack = true;
 * const dupAck = (right: number) => ({
 *   srcPort: 1, dstPort: 2, seq: seq(0), ack: seq(0), flags: 16, window: 60000 + right,
 *   urgentPointer: 0, payload: new Uint8Array(0),
 *   options: { sackBlocks: [{ left: seq(1000), right: seq(right) }] },
 * });
 * for (const right of [2000, 3000, 4000]) {
 *   assert.equal(rec.onAckBlocks(snd, 0, dupAck(right)), true); // new SACK information
 *   rec.onDupAck(0, snd);
 * }
 * assert.equal(rec.afterAck(0, snd), true); // a loss event: the phase began
 * assert.equal(rec.nextSackRetransmit(snd), true);
 * assert.deepEqual([rec.rxSeq, rec.rxLimit], [0, 1000]); // resend [0, 1000) first
 * ```
 */
export class LossRecovery {
  readonly #rec: SackRecovery = new SackRecovery();
  /** Whether SACK was negotiated (RFC 2018). */
  sack = false;
  #dupAcks = 0;
  #newReno = false;
  #partialAcked = false;
  /** RFC 6582 `recover` (also RFC 6675 §5.1 RecoveryPoint after a timeout). */
  #recover: Seq;
  #rexmitPending = false;
  /** Start of the retransmission {@linkcode LossRecovery.nextSackRetransmit} chose. */
  rxSeq: Seq = 0 as Seq;
  /** It may extend up to here (the end of its hole). */
  rxLimit: Seq = 0 as Seq;

  /** @param iss The initial send sequence number. */
  constructor(iss: Seq) {
    this.#recover = iss;
  }

  /** The SACK scoreboard. */
  get board(): SackScoreboard {
    return this.#rec.board;
  }
  /** Whether a SACK or NewReno phase is in progress. */
  get inRecovery(): boolean {
    return this.#newReno || this.#rec.active;
  }
  /** Whether an RFC 6675 phase is in progress. */
  get sackActive(): boolean {
    return this.#rec.active;
  }
  /** RFC 6675 pipe in a SACK phase, else the sequence space in flight minus SACKed bytes. */
  pipe(snd: SendView): number {
    if (this.#rec.active) return this.#rec.pipe;
    return seqSub(snd.sndNxt, snd.sndUna) - this.board.sackedBetween(snd.sndUna, snd.sndNxt);
  }

  /**
   * RFC 6675 §5: every ACK with SACK information updates the scoreboard
   * (Update()), after its cumulative part (`acked` bytes) is dropped.
   *
   * @returns Whether it carried SACK information not known before.
   */
  onAckBlocks(snd: SendView, acked: number, seg: TcpSegment): boolean {
    if (!this.sack || acked < 0) return false;
    const board = this.#rec.board;
    if (acked > 0) board.trim(seg.ack); // clears it when the peer reneged (RFC 2018 §8)
    const blocks = seg.options.sackBlocks;
    return blocks !== undefined && blocks.length > 0 && board.update(seg.ack, snd.sndMax, blocks);
  }

  /**
   * An ACK that advanced SND.UNA (already applied to `snd`) by `acked` bytes.
   *
   * @returns {@linkcode NOT_IN_RECOVERY}, {@linkcode KEEP_RTO} or {@linkcode RESTART_RTO}.
   */
  onNewAck(now: Instant, snd: SendView, acked: number): number {
    this.#dupAcks = 0;
    const ack = snd.sndUna;
    if (this.#rec.active) {
      if (seqGe(ack, this.#rec.recoveryPoint)) {
        // RFC 6675 §5 step A: RecoveryPoint acknowledged, the phase ends
        this.#rec.exit();
        snd.cc.onRecoveryExit(now, seqSub(snd.sndMax, ack));
      }
      return RESTART_RTO;
    }
    if (!this.#newReno) return NOT_IN_RECOVERY;
    if (seqGe(ack, this.#recover)) {
      // RFC 6582 §3.2 step 6: full acknowledgment ends fast recovery
      this.#newReno = false;
      snd.cc.onRecoveryExit(now, seqSub(snd.sndMax, ack));
      return RESTART_RTO;
    }
    // RFC 6582 §3.2 step 5: partial ACK, retransmit the next hole
    snd.cc.onPartialAck(now, acked);
    this.#rexmitPending = true;
    const first = !this.#partialAcked; // "Impatient" variant: reset only on the first
    this.#partialAcked = true;
    return first ? RESTART_RTO : KEEP_RTO;
  }

  /**
   * A duplicate ACK (RFC 5681 §2; with SACK, RFC 6675 §2 DupAck).
   *
   * @returns Whether it began a NewReno phase (a loss event).
   */
  onDupAck(now: Instant, snd: SendView): boolean {
    this.#dupAcks++;
    if (this.sack) return false; // afterAck decides
    if (this.#newReno) {
      snd.cc.onRecoveryDupAck(now); // RFC 5681 §3.2 step 4
      return false;
    }
    if (this.#dupAcks !== 3 || !seqGe(snd.sndUna, this.#recover)) return false;
    // RFC 6582 §3.2 step 2: enter fast retransmit only past the last recovery point
    this.#newReno = true;
    this.#partialAcked = false;
    this.#recover = snd.sndMax;
    snd.cc.onFastRetransmit(now, seqSub(snd.sndMax, snd.sndUna));
    this.#rexmitPending = true;
    return true;
  }

  /**
   * With SACK, after every ACK: in a phase SetPipe(); else RFC 6675 §5 entry
   * on DupThresh duplicate ACKs or IsLost(SND.UNA), only past the last
   * RecoveryPoint (§5.1) and not while a timeout's go-back-N is under way.
   *
   * @returns Whether a phase began (a loss event).
   */
  afterAck(now: Instant, snd: SendView): boolean {
    const rec = this.#rec;
    const una = snd.sndUna;
    if (!this.sack || una === snd.sndMax) return false;
    if (rec.active) {
      rec.setPipe(una, snd.sndMax, snd.mss);
      return false;
    }
    if (snd.sndNxt !== snd.sndMax || !seqGe(una, this.#recover)) return false;
    if (this.#dupAcks < DUP_THRESH && !rec.isLost(una, snd.mss)) return false;
    // RFC 6675 §5 step 4: RecoveryPoint = HighData; ssthresh = FlightSize / 2
    this.#recover = snd.sndMax;
    snd.cc.onFastRetransmit(now, seqSub(snd.sndMax, una));
    rec.enter(una, snd.sndMax);
    rec.setPipe(una, snd.sndMax, snd.mss);
    return true;
  }

  /** The retransmission timer expired: every phase ends (RFC 6582 §3.2 step 4, RFC 6675 §5.1). */
  onRto(snd: SendView): void {
    this.#newReno = false;
    this.#rec.exit(); // the scoreboard is kept: go-back-N skips SACKed data
    this.#recover = snd.sndMax;
    this.#dupAcks = 0;
    this.#rexmitPending = false;
  }

  /** NewReno: whether SND.UNA is to be resent now (RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 5). */
  takeRetransmit(): boolean {
    const p = this.#rexmitPending;
    this.#rexmitPending = false;
    return p;
  }

  /**
   * RFC 6675 §5 steps 4.3 and C: in a SACK phase, the first retransmission
   * (SND.UNA, regardless of pipe), then NextSeg() rule 1 while cwnd - pipe
   * is at least one SMSS. Rule 2 (new data) is the sender's ordinary path
   * with {@linkcode LossRecovery.ccRoom}.
   *
   * @returns Whether to retransmit from {@linkcode LossRecovery.rxSeq}.
   */
  nextSackRetransmit(snd: SendView): boolean {
    const rec = this.#rec;
    if (!rec.active || snd.sndNxt !== snd.sndMax) return false;
    if (rec.firstPending) {
      this.rxSeq = snd.sndUna;
      this.rxLimit = rec.board.holeEnd(snd.sndUna, snd.sndMax);
      return true;
    }
    if (this.ccRoom(snd, 0) < snd.mss) return false;
    const lost = rec.nextLost(snd.sndUna);
    if (lost < 0) return false;
    this.rxSeq = lost as Seq;
    this.rxLimit = rec.holeLimit;
    return true;
  }

  /**
   * Congestion-window room with `flight` bytes of sequence space
   * outstanding: in a SACK phase min(cwnd, ssthresh) - pipe when at least
   * one SMSS (RFC 6675 §5 step C; no NewReno inflation), else cwnd minus
   * what is outstanding and not SACKed (RFC 6675 §5 step 3: Limited
   * Transmit governed by pipe, RFC 3042).
   */
  ccRoom(snd: SendView, flight: number): number {
    const cc = snd.cc;
    if (this.#rec.active) {
      const room = Math.min(cc.cwnd, cc.ssthresh) - this.#rec.pipe;
      return room >= snd.mss ? room : 0;
    }
    if (this.board.count === 0) return cc.cwnd - flight;
    return cc.cwnd - flight + this.board.sackedBetween(snd.sndUna, snd.sndNxt);
  }

  /**
   * Where go-back-N (after a timeout) sends next: SND.NXT moved past a SACKed
   * range it points into (RFC 6675 §5.1: SACK information is used after an RTO).
   */
  skipSacked(snd: SendView): Seq {
    const nxt = snd.sndNxt;
    if (this.board.count === 0 || !seqLt(nxt, snd.sndMax)) return nxt;
    const i = this.board.find(nxt);
    return i >= 0 ? this.board.right(i) : nxt;
  }

  /** Accounts a segment sent (pipe and HighRxt in a SACK phase). */
  onSent(seq: Seq, len: number, sndMax: Seq): void {
    this.#rec.onSent(seq, len, sndMax);
  }
}
