/**
 * Proportional Rate Reduction (RFC 6937, with the PRR-SSRB bound): during
 * loss recovery, how much may be sent on each ACK so that, by the end of the
 * episode, what is in flight has come down to the controller's `ssthresh`
 * smoothly (proportionally to what is delivered) rather than in one step,
 * and rises back toward it by at most slow start when losses cut deeper.
 *
 * @module
 */

/**
 * PRR's per-episode state (RFC 6937 §3.1).
 *
 * @example RFC 6937 §3's case: 20 segments in flight, one lost, ssthresh 10
 * ```ts
 * import assert from "node:assert/strict";
 * import { Prr } from "./prr.ts";
 * const mss = 1000, prr = new Prr();
 * prr.enter(20 * mss); // RecoverFS
 * let pipe = 20 * mss - mss; // the lost segment left the pipe
 * const sent: number[] = [];
 * for (let ack = 0; ack < 19; ack++) {
 *   pipe -= mss; // each ACK delivers one segment
 *   const n = prr.onAck(mss, pipe, 10 * mss, mss) > 0 ? 1 : 0; // whole segments
 *   prr.onSent(n * mss);
 *   pipe += n * mss;
 *   sent.push(n);
 * }
 * // proportional: one segment per two ACKs while pipe > ssthresh, then PRR-SSRB
 * assert.equal(sent.join(""), "1010101010101010011");
 * assert.equal(pipe, 10 * mss); // ends at ssthresh
 * ```
 */
export class Prr {
  /** prr_delivered: bytes delivered since recovery began. */
  delivered = 0;
  /** prr_out: bytes sent since recovery began. */
  out = 0;
  /** RecoverFS: bytes in flight when recovery began. */
  recoverFs = 0;
  /** sndcnt of the last ACK minus what was sent since: what may still go out. */
  allowance = 0;

  /** Recovery begins with `recoverFs` bytes in flight (RFC 6937 §3.1 init). */
  enter(recoverFs: number): void {
    this.delivered = 0;
    this.out = 0;
    this.recoverFs = Math.max(1, recoverFs);
    this.allowance = 0;
  }

  /**
   * RFC 6937 §3.1 on every ACK in recovery.
   *
   * @param deliveredData Bytes this ACK delivered (change in SND.UNA plus newly SACKed).
   * @param pipe Bytes in flight after it.
   * @param ssthresh The controller's target.
   * @param mss SMSS.
   * @returns sndcnt in bytes (also kept as {@linkcode Prr.allowance}).
   */
  onAck(deliveredData: number, pipe: number, ssthresh: number, mss: number): number {
    this.delivered += deliveredData;
    let sndcnt: number;
    if (pipe > ssthresh) {
      // proportional rate reduction
      sndcnt = Math.ceil(this.delivered * ssthresh / this.recoverFs) - this.out;
    } else {
      // PRR-SSRB: slow start back up to ssthresh, at most one MSS beyond what was delivered
      const limit = Math.max(this.delivered - this.out, deliveredData) + mss;
      sndcnt = Math.min(ssthresh - pipe, limit);
    }
    this.allowance = Math.max(sndcnt, 0);
    return this.allowance;
  }

  /** Counts a (re)transmission of `len` bytes in recovery (prr_out). */
  onSent(len: number): void {
    this.out += len;
    this.allowance -= len;
  }
}
