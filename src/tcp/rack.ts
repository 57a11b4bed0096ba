/**
 * RACK (RFC 8985 §6): time-based loss detection. A segment is lost when a
 * segment sent sufficiently later (by more than the reordering window) has
 * been delivered. The reordering window starts at min_RTT/4 once reordering
 * has been seen (0 before, after DupThresh SACKed segments or in recovery)
 * and grows by min_RTT/4 for every round trip that brought a D-SACK
 * (RFC 8985 §6.2 step 4), shrinking back after 16 D-SACK-free recoveries.
 *
 * Works on the send records (`send_records.ts`); allocation free.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seqGe, seqGt } from "../wire/seq.ts";
import { REC_LOST, REC_RETRANS, REC_SACKED, type SendRecords } from "./send_records.ts";

/** RFC 8985 §6.2 step 4: recoveries without D-SACK before the window multiplier resets. */
export const RACK_REO_WND_PERSIST = 16;
/** RFC 6675 DupThresh, used by RACK's reordering window when no reordering was seen. */
export const RACK_DUP_THRESH = 3;

/**
 * The RACK state of one connection.
 *
 * @example Segment 0 is lost once segment 3, sent 1 ms later, is SACKed after an RTT
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rack } from "./rack.ts";
 * import { REC_LOST, REC_SACKED, SendRecords } from "./send_records.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const r = new SendRecords();
 * for (let i = 0; i < 4; i++) r.append(seq(i * 1000), seq(i * 1000 + 1000), i, 0, 0, 0, false);
 * const rack = new Rack();
 * r.flags[r.slot(3)] |= REC_SACKED;
 * rack.onDelivered(3, seq(4000), false, 103, 100);
 * const reoWnd = rack.reoWnd(false, 1, 100, 100); // no reordering seen, 1 SACKed: min_RTT / 4
 * assert.equal(reoWnd, 25);
 * assert.equal(rack.detectLoss(r, 103, reoWnd), 0); // not yet: 0 + 100 + 25 > 103
 * assert.equal(rack.timeout, 24); // when segment 2 is due (the latest, RFC 8985)
 * assert.equal(rack.detectLoss(r, 125, reoWnd), 1000); // segment 0 lost, 1 and 2 wait
 * assert.equal(r.flagsAt(0) & REC_LOST, REC_LOST);
 * ```
 */
export class Rack {
  /** RACK.xmit_ts: send time of the most recently sent segment delivered; -1 before any. */
  xmitTs: Instant = -1;
  /** RACK.end_seq. */
  endSeq: Seq = 0 as Seq;
  /** RACK.rtt: the RTT of that segment (ms). */
  rtt = 0;
  /** RACK.fack: highest end sequence delivered. */
  fack: Seq = 0 as Seq;
  #fackSet = false;
  /** The highest end delivered by the current ACK (committed by endAck). */
  #ackFack: Seq = 0 as Seq;
  #ackFackSet = false;
  /** RACK.reordering_seen. */
  reorderingSeen = false;
  /** RACK.reo_wnd_mult. */
  reoWndMult = 1;
  #reoWndPersist = 0;
  #dsackRound: Seq = 0 as Seq;
  #dsackRoundSet = false;
  /** Time until the earliest not-yet-lost segment would be (ms), 0 when none (after detectLoss). */
  timeout = 0;

  /**
   * RACK_update() and RACK_detect_reordering() for one newly delivered segment.
   *
   * @param xmit Its latest send time.
   * @param end Its end sequence number.
   * @param retransmitted Whether it was ever retransmitted.
   * @param now Current time.
   * @param minRtt The connection's min RTT (ms).
   */
  onDelivered(xmit: Instant, end: Seq, retransmitted: boolean, now: Instant, minRtt: number): void {
    // RFC 8985 §6.2 step 3: delivered below the highest delivered by an earlier ACK,
    // never resent: reordering (segments of one ACK count as delivered together)
    if (!retransmitted && this.#fackSet && seqGt(this.fack, end)) this.reorderingSeen = true;
    if (!this.#ackFackSet || seqGt(end, this.#ackFack)) {
      this.#ackFack = end;
      this.#ackFackSet = true;
    }
    const rtt = now - xmit;
    // step 2: an ACK for a retransmission faster than min_RTT is for the original (ambiguous)
    if (retransmitted && rtt < minRtt) return;
    if (
      this.xmitTs < 0 || xmit > this.xmitTs || (xmit === this.xmitTs && seqGt(end, this.endSeq))
    ) {
      this.xmitTs = xmit;
      this.endSeq = end;
      this.rtt = rtt;
    } else if (xmit === this.xmitTs) {
      this.rtt = rtt;
    }
  }

  /** The ACK is processed: its highest delivered end becomes RACK.fack. */
  endAck(): void {
    if (!this.#ackFackSet) return;
    if (!this.#fackSet || seqGt(this.#ackFack, this.fack)) this.fack = this.#ackFack;
    this.#fackSet = true;
    this.#ackFackSet = false;
  }

  /**
   * An ACK carried a D-SACK (RFC 2883): grow the window once per round trip
   * (RFC 8985 §6.2 step 4).
   */
  onDsack(una: Seq, sndNxt: Seq): void {
    if (this.#dsackRoundSet && seqGe(una, this.#dsackRound)) this.#dsackRoundSet = false;
    if (this.#dsackRoundSet) return;
    this.#dsackRound = sndNxt;
    this.#dsackRoundSet = true;
    this.reoWndMult++;
    this.#reoWndPersist = RACK_REO_WND_PERSIST;
    this.reorderingSeen = true; // a D-SACK shows a spurious retransmission: reordering
  }

  /** A fast or RTO recovery ended: count toward resetting the multiplier. */
  onRecoveryExit(): void {
    if (this.#reoWndPersist > 0 && --this.#reoWndPersist === 0) this.reoWndMult = 1;
  }

  /**
   * RACK_update_reo_wnd() (RFC 8985 §6.2 step 4).
   *
   * @param inRecovery In fast or RTO recovery.
   * @param sackedSegments Segments SACKed (RACK.segs_sacked).
   * @param minRtt Min RTT (ms); Infinity (no sample yet): SRTT stands in.
   * @param srtt Smoothed RTT (ms).
   */
  reoWnd(inRecovery: boolean, sackedSegments: number, minRtt: number, srtt: number): number {
    if (!this.reorderingSeen && (inRecovery || sackedSegments >= RACK_DUP_THRESH)) return 0;
    const w = this.reoWndMult * (minRtt === Infinity ? srtt : minRtt) / 4;
    return w < srtt ? w : srtt;
  }

  /**
   * RACK_detect_loss() (RFC 8985 §6.2 step 5): marks `REC_LOST` on every
   * unSACKed record sent before the RACK segment whose deadline
   * `xmit_ts + RACK.rtt + reo_wnd` has passed, and sets
   * {@linkcode Rack.timeout} to when the next one would be due.
   *
   * @returns Bytes newly marked lost.
   */
  detectLoss(records: SendRecords, now: Instant, reoWnd: number): number {
    this.timeout = 0;
    if (this.xmitTs < 0) return 0;
    let lost = 0;
    const n = records.count;
    const xmitTs = this.xmitTs, endSeq = this.endSeq;
    for (let i = 0; i < n; i++) {
      const k = records.slot(i);
      const f = records.flags[k];
      const xmit = records.xmit[k];
      const end = records.endSeq[k] as Seq;
      if (xmit > xmitTs || (xmit === xmitTs && seqGe(end, endSeq))) {
        // sent after the RACK segment; every later original was too
        if ((f & REC_RETRANS) === 0) break;
        continue;
      }
      if (f & (REC_SACKED | REC_LOST)) continue;
      const remaining = xmit + this.rtt + reoWnd - now;
      if (remaining <= 0) {
        records.flags[k] = f | REC_LOST;
        lost += (end - records.startSeq[k]) >>> 0;
      } else if (remaining > this.timeout) {
        this.timeout = remaining;
      }
    }
    return lost;
  }
}
