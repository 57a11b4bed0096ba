/**
 * Tail Loss Probe (RFC 8985 §7): when the ACKs for the tail of a flight are
 * lost, or the tail itself, no later segment triggers RACK. After a probe
 * timeout (PTO ≈ 2·SRTT) the sender sends one probe: a new segment if it
 * has one, else the last segment again. The probe's ACK (or SACK) lets RACK
 * find the losses, so the tail is repaired by fast recovery within about
 * two round trips instead of an RTO.
 *
 * @module
 */

import type { Duration } from "../time.ts";
import type { Seq } from "../wire/seq.ts";

/** RFC 8985 §7.2 WCDelAckT: the worst-case delayed-ACK time added when one segment is in flight. */
export const TLP_WC_DEL_ACK: Duration = 200;
/** PTO before the first RTT sample (RFC 8985 §7.2). */
export const TLP_PTO_NO_SRTT: Duration = 1000;

/**
 * TLP_calc_PTO() (RFC 8985 §7.2).
 *
 * @param srtt Smoothed RTT (ms), 0 before a sample.
 * @param oneSegment Only one segment is in flight (the receiver may delay its ACK).
 * @param untilRto Time left until the RTO would fire (the PTO never goes beyond).
 * @returns The probe timeout in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeTimeout } from "./tlp.ts";
 * assert.equal(probeTimeout(40, false, 1000), 80);
 * assert.equal(probeTimeout(40, true, 1000), 280);
 * assert.equal(probeTimeout(40, true, 250), 250);
 * ```
 */
export function probeTimeout(srtt: number, oneSegment: boolean, untilRto: number): Duration {
  let pto = srtt > 0 ? 2 * srtt : TLP_PTO_NO_SRTT;
  if (srtt > 0 && oneSegment) pto += TLP_WC_DEL_ACK;
  return Math.max(0, Math.min(pto, untilRto));
}

/** The state of the outstanding probe (RFC 8985 §7.1: TLP.end_seq, TLP.is_retrans). */
export class TailLossProbe {
  /** A probe is outstanding (TLP.end_seq is set). */
  active = false;
  /** TLP.end_seq: SND.NXT after the probe was sent. */
  endSeq: Seq = 0 as Seq;
  /** TLP.is_retrans: the probe was a retransmission. */
  isRetrans = false;
  /** A probe is due: the next transmit opportunity sends it. */
  pending = false;
  /** Probes sent, in total. */
  probes = 0;

  /** Records a sent probe. */
  sent(endSeq: Seq, isRetrans: boolean): void {
    this.pending = false;
    this.active = true;
    this.endSeq = endSeq;
    this.isRetrans = isRetrans;
    this.probes++;
  }

  /** Forgets the probe (its episode ended, or an RTO took over). */
  reset(): void {
    this.active = false;
    this.pending = false;
  }
}
