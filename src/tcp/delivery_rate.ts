/**
 * Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02):
 * the connection-wide delivery counters (`C.delivered`, `C.delivered_time`,
 * `C.first_sent_time`, `C.app_limited`) and the rate sample `rs` of one ACK,
 * computed from the send records of the segments it delivered. Allocation
 * free: the sample lives in fields reused per ACK.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seqGt } from "../wire/seq.ts";
import { REC_APP_LIMITED, type SendRecords } from "./send_records.ts";

/**
 * The connection's delivery counters and the current rate sample.
 *
 * @example Two segments sent back to back, acknowledged 100 ms later
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeliveryRate } from "./delivery_rate.ts";
 * import { SendRecords } from "./send_records.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const dr = new DeliveryRate();
 * const r = new SendRecords();
 * dr.onSend(r, seq(0), seq(1000), 0, true);
 * dr.onSend(r, seq(1000), seq(2000), 0, false);
 * dr.beginAck();
 * dr.onDelivered(r, 0, 1000, 100);
 * dr.onDelivered(r, 1, 1000, 100);
 * assert.equal(dr.endAck(50), true);
 * assert.equal(dr.sampleDelivered, 2000);
 * assert.equal(dr.sampleRate, 20); // 2000 B in 100 ms
 * ```
 */
export class DeliveryRate {
  /** C.delivered: bytes delivered so far. */
  delivered = 0;
  /** C.delivered_time. */
  deliveredTime: Instant = 0;
  /** C.first_sent_time. */
  firstSentTime: Instant = 0;
  /** C.app_limited: 0, or the C.delivered value that ends the app-limited phase. */
  appLimited = 0;
  // rs: the sample of the current ACK
  #hasData = false;
  /** rs.prior_delivered. */
  priorDelivered = 0;
  #priorTime: Instant = 0;
  /** rs.is_app_limited. */
  sampleAppLimited = false;
  #sendElapsed = 0;
  #ackElapsed = 0;
  #lastXmit: Instant = -1;
  #lastEnd = 0 as Seq;
  /** rs.delivered of the last sample. */
  sampleDelivered = 0;
  /** rs.interval of the last sample (ms). */
  sampleInterval = 0;
  /** rs.delivery_rate in bytes per ms, or -1 when the last ACK gave no sample. */
  sampleRate = -1;
  /**
   * The delivery rate `ss` shows (Linux `tcpi_delivery_rate`), bytes per ms:
   * the last sample that was not application-limited, or a larger
   * application-limited one (Linux `tcp_rate_gen`); 0 before any sample.
   */
  lastRate = 0;

  /**
   * SendPacket(): records the delivery state in a new record `[start, end)`.
   *
   * @param nothingInFlight No data was outstanding before this segment.
   */
  onSend(
    records: SendRecords,
    start: Seq,
    end: Seq,
    now: Instant,
    nothingInFlight: boolean,
  ): void {
    if (nothingInFlight) this.firstSentTime = this.deliveredTime = now; // draft §3.2
    records.append(
      start,
      end,
      now,
      this.delivered,
      this.deliveredTime,
      this.firstSentTime,
      this.appLimited !== 0,
    );
  }

  /**
   * A retransmission of record slot `k`: it carries the current delivery
   * state again (data is outstanding, so draft §3.2's idle restart never applies).
   */
  onResend(records: SendRecords, k: number, now: Instant): void {
    records.xmit[k] = now;
    records.delivered[k] = this.delivered;
    records.deliveredTime[k] = this.deliveredTime;
    records.firstSent[k] = this.firstSentTime;
    if (this.appLimited !== 0) records.flags[k] |= REC_APP_LIMITED;
    else records.flags[k] &= ~REC_APP_LIMITED;
  }

  /** Starts the sample of one ACK. */
  beginAck(): void {
    this.#hasData = false;
    this.sampleRate = -1;
  }

  /** UpdateRateSample(): `bytes` of logical record `i` were delivered (ACKed or SACKed). */
  onDelivered(records: SendRecords, i: number, bytes: number, now: Instant): void {
    const k = records.slot(i);
    this.delivered += bytes;
    this.deliveredTime = now;
    const xmit = records.xmit[k];
    const end = records.endSeq[k];
    // the newest packet (latest send) of the ACK defines the sample
    if (
      !this.#hasData || xmit > this.#lastXmit ||
      (xmit === this.#lastXmit && seqGt(end as Seq, this.#lastEnd))
    ) {
      this.#hasData = true;
      this.priorDelivered = records.delivered[k];
      this.#priorTime = records.deliveredTime[k];
      this.sampleAppLimited = (records.flags[k] & REC_APP_LIMITED) !== 0;
      this.#sendElapsed = xmit - records.firstSent[k];
      this.#ackElapsed = this.deliveredTime - records.deliveredTime[k];
      this.#lastXmit = xmit;
      this.#lastEnd = end as Seq;
      this.firstSentTime = xmit;
    }
  }

  /**
   * GenerateRateSample(): closes the ACK's sample.
   *
   * @param minRtt The connection's min RTT (ms); intervals below it give no sample.
   * @returns Whether {@linkcode DeliveryRate.sampleRate} holds a sample.
   */
  endAck(minRtt: number): boolean {
    if (this.appLimited !== 0 && this.delivered > this.appLimited) this.appLimited = 0;
    if (!this.#hasData) return false;
    const interval = Math.max(this.#sendElapsed, this.#ackElapsed);
    this.sampleDelivered = this.delivered - this.priorDelivered;
    this.sampleInterval = interval;
    // draft §3.3: an interval shorter than min_rtt is an artifact of ACK compression
    if (!(interval > 0) || interval < minRtt) return false;
    this.sampleRate = this.sampleDelivered / interval;
    if (!this.sampleAppLimited || this.sampleRate >= this.lastRate) this.lastRate = this.sampleRate;
    return true;
  }

  /**
   * CheckIfApplicationLimited() (draft §3.4): the sender had less than a
   * segment to send and room in cwnd: samples until `inFlight` more bytes are
   * delivered are app-limited.
   */
  markAppLimited(inFlight: number): void {
    this.appLimited = Math.max(this.delivered + inFlight, 1);
  }
}
