/**
 * The sender's SACK scoreboard (RFC 6675 §3, RFC 2018): which ranges above
 * SND.UNA the peer reported as received. Ranges are kept sorted, disjoint and
 * non-adjacent in two fixed typed arrays, so an update allocates nothing; at
 * most {@linkcode SACK_SCOREBOARD_RANGES} are held and the highest is
 * forgotten when a new one does not fit (losing SACK information only makes
 * the sender retransmit more, never wrongly).
 *
 * @module
 */

import { type Seq, seqGe, seqGt, seqLe, seqLt, seqSub } from "../wire/seq.ts";
import type { SackBlock } from "../wire/tcp_segment.ts";

/** Capacity of the scoreboard in disjoint ranges (the receiver side keeps 64 out-of-order ranges). */
export const SACK_SCOREBOARD_RANGES = 32;

/** The ranges of a scoreboard that never held one (shared, never written). */
const NO_RANGES = new Uint32Array(0);

/**
 * SACKed ranges `[left, right)` above SND.UNA, in sequence order.
 *
 * @example Two blocks, then a cumulative ACK that passes the first
 * ```ts
 * import assert from "node:assert/strict";
 * import { SackScoreboard } from "./sack_scoreboard.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const sb = new SackScoreboard();
 * const una = seq(1000), max = seq(9000);
 * assert.equal(sb.update(una, max, [{ left: seq(2000), right: seq(3000) }]), true);
 * assert.equal(sb.update(una, max, [{ left: seq(2000), right: seq(3000) }]), false); // nothing new
 * sb.update(una, max, [{ left: seq(5000), right: seq(6000) }]);
 * assert.equal(sb.count, 2);
 * assert.equal(sb.sackedBetween(una, max), 2000);
 * sb.trim(seq(3000)); // cumulative ACK past the first range
 * assert.equal(sb.count, 1);
 * assert.equal(sb.left(0), 5000);
 * ```
 */
export class SackScoreboard {
  // Allocated at the first SACK block: most connections never see one, and two
  // backing stores per connection were a measurable part of a short connection's cost.
  #left = NO_RANGES;
  #right = NO_RANGES;
  #n = 0;

  /** Number of ranges held. */
  get count(): number {
    return this.#n;
  }

  /** Left edge of range `i` (0 = lowest). */
  left(i: number): Seq {
    return this.#left[i] as Seq;
  }

  /** Right edge (exclusive) of range `i`. */
  right(i: number): Seq {
    return this.#right[i] as Seq;
  }

  /** Forgets everything (RFC 2018 §8: after reneging). */
  clear(): void {
    this.#n = 0;
  }

  /** Gives the range arrays back when empty (nothing left to send); the next SACK block allocates them again. */
  compact(): void {
    if (this.#n !== 0) return;
    this.#left = NO_RANGES;
    this.#right = NO_RANGES;
  }

  /**
   * Adds the blocks of one ACK (RFC 6675 §4 Update()). Blocks outside
   * `(una, sndMax]` (D-SACKs, RFC 2883, or bogus ones) are ignored.
   *
   * @param una SND.UNA after the ACK's cumulative part.
   * @param sndMax Highest sequence number sent plus one.
   * @param blocks The ACK's SACK blocks.
   * @returns Whether any block carried information not held before.
   */
  update(una: Seq, sndMax: Seq, blocks: readonly SackBlock[]): boolean {
    let fresh = false;
    for (let b = 0; b < blocks.length; b++) {
      let l = blocks[b].left;
      const r = blocks[b].right;
      if (!seqLt(l, r) || seqLe(r, una) || seqGt(r, sndMax)) continue;
      if (seqLt(l, una)) l = una;
      if (this.#insert(l, r)) fresh = true;
    }
    return fresh;
  }

  /** Merges `[l, r)` in; returns whether the union grew. */
  #insert(l: Seq, r: Seq): boolean {
    if (this.#left === NO_RANGES) {
      this.#left = new Uint32Array(SACK_SCOREBOARD_RANGES);
      this.#right = new Uint32Array(SACK_SCOREBOARD_RANGES);
    }
    const L = this.#left, R = this.#right;
    const n = this.#n;
    // i: first range that ends at or after l; j: last range that starts at or before r
    let i = 0;
    while (i < n && seqLt(R[i] as Seq, l)) i++;
    let j = i - 1;
    while (j + 1 < n && seqLe(L[j + 1] as Seq, r)) j++;
    if (i > j) {
      // disjoint from every range: insert at i, dropping the highest when full
      if (n === SACK_SCOREBOARD_RANGES) {
        if (i === n) return false;
        this.#n--;
      }
      L.copyWithin(i + 1, i, this.#n);
      R.copyWithin(i + 1, i, this.#n);
      L[i] = l;
      R[i] = r;
      this.#n++;
      return true;
    }
    const newL = seqLt(l, L[i] as Seq) ? l : L[i] as Seq;
    const newR = seqGt(r, R[j] as Seq) ? r : R[j] as Seq;
    const grew = j > i || newL !== L[i] || newR !== R[j];
    L[i] = newL;
    R[i] = newR;
    if (j > i) {
      L.copyWithin(i + 1, j + 1, n);
      R.copyWithin(i + 1, j + 1, n);
      this.#n -= j - i;
    }
    return grew;
  }

  /**
   * Drops what the cumulative ACK `una` covers.
   *
   * @returns False when `una` ends inside or at the start of a SACKed range:
   *   the receiver discarded data it had SACKed (reneging, RFC 2018 §8), and
   *   the scoreboard was cleared.
   */
  trim(una: Seq): boolean {
    const L = this.#left, R = this.#right;
    let k = 0;
    while (k < this.#n && seqLe(R[k] as Seq, una)) k++;
    if (k > 0) {
      L.copyWithin(0, k, this.#n);
      R.copyWithin(0, k, this.#n);
      this.#n -= k;
    }
    if (this.#n > 0 && seqLe(L[0] as Seq, una)) {
      this.#n = 0;
      return false;
    }
    return true;
  }

  /** SACKed bytes in `[from, to)`. */
  sackedBetween(from: Seq, to: Seq): number {
    let sum = 0;
    for (let i = 0; i < this.#n; i++) {
      const l = this.#left[i] as Seq, r = this.#right[i] as Seq;
      if (seqGe(l, to)) break;
      const a = seqLt(l, from) ? from : l;
      const b = seqGt(r, to) ? to : r;
      if (seqLt(a, b)) sum += seqSub(b, a);
    }
    return sum;
  }

  /** Index of the range holding `s`, or -1. */
  find(s: Seq): number {
    for (let i = 0; i < this.#n; i++) {
      if (seqGt(this.#left[i] as Seq, s)) return -1;
      if (seqLt(s, this.#right[i] as Seq)) return i;
    }
    return -1;
  }

  /** Left edge of the first range above `s`, or `limit` when none is below it. */
  holeEnd(s: Seq, limit: Seq): Seq {
    for (let i = 0; i < this.#n; i++) {
      const l = this.#left[i] as Seq;
      if (seqGt(l, s)) return seqLt(l, limit) ? l : limit;
    }
    return limit;
  }
}
