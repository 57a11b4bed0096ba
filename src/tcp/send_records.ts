/**
 * Per-segment send records: one per transmitted segment above SND.UNA, in
 * sequence order, covering `[SND.UNA, SND.MAX)` without gaps. Each holds what
 * RACK (RFC 8985 §5.2: `xmit_ts`, `end_seq`, retransmitted, lost) and delivery
 * rate estimation (draft-cheng-iccrg-delivery-rate-estimation §3.2:
 * `P.delivered`, `P.delivered_time`, `P.first_sent_time`, `P.is_app_limited`)
 * need about a segment.
 *
 * A ring of parallel typed arrays: appending, dropping acknowledged records
 * and marking allocate nothing; the ring doubles (rarely, amortized) only
 * when more segments are in flight than ever before.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seqGt, seqLe, seqLt } from "../wire/seq.ts";
import { releaseMemory } from "./release_memory.ts";

/** Record flag: SACKed by the peer (RFC 2018). */
export const REC_SACKED = 1;
/** Record flag: deemed lost and not retransmitted since (not in flight). */
export const REC_LOST = 2;
/** Record flag: retransmitted at least once (RFC 8985 `Segment.retransmitted`). */
export const REC_RETRANS = 4;
/** Record flag: sent while the sender was application-limited. */
export const REC_APP_LIMITED = 8;

// Small: a short connection sends a few segments, and arrays this small live on V8's heap
// (no backing store each); a bulk sender doubles them in its first round trips.
const INITIAL_CAPACITY = 8;
/** Bytes per record: four float64, two uint32 and one uint8 field (one buffer holds all seven arrays). */
const RECORD_BYTES = 4 * 8 + 2 * 4 + 1;
// Until the first record (and again after `compact`) the arrays are these shared empty ones:
// a connection in TIME_WAIT holds seven typed arrays less (about 1.5 KB of heap).
const NO_U32 = new Uint32Array(0);
const NO_F64 = new Float64Array(0);
const NO_U8 = new Uint8Array(0);

/**
 * Most records appended; beyond, a new segment extends the last record (only
 * when tiny segments fill a huge window: the records stay correct, RACK gets
 * coarser). A split may still grow the ring past it.
 */
export const SEND_RECORDS_MAX = 1 << 16;

/**
 * The ring of send records. Indices passed to accessors are logical: 0 is the
 * record holding SND.UNA.
 *
 * @example Three segments, the first acknowledged
 * ```ts
 * import assert from "node:assert/strict";
 * import { REC_SACKED, SendRecords } from "./send_records.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const r = new SendRecords();
 * for (let i = 0; i < 3; i++) r.append(seq(i * 100), seq(i * 100 + 100), i, 0, 0, 0, false);
 * assert.equal(r.find(seq(150)), 1);
 * r.flags[r.slot(2)] |= REC_SACKED;
 * r.shift();
 * assert.equal(r.count, 2);
 * assert.equal(r.start(0), 100);
 * assert.equal(r.flagsAt(1) & REC_SACKED, REC_SACKED);
 * ```
 */
export class SendRecords {
  #cap = 0;
  #mask = 0;
  #head = 0;
  #n = 0;
  /** Sequence number of each record's first byte (by physical slot). */
  startSeq: Uint32Array = NO_U32;
  /** Sequence number just past each record (a FIN counts). */
  endSeq: Uint32Array = NO_U32;
  /** Time of the latest (re)transmission (RACK `xmit_ts`). */
  xmit: Float64Array = NO_F64;
  /** C.delivered when sent (`P.delivered`). */
  delivered: Float64Array = NO_F64;
  /** C.delivered_time when sent (`P.delivered_time`). */
  deliveredTime: Float64Array = NO_F64;
  /** C.first_sent_time when sent (`P.first_sent_time`). */
  firstSent: Float64Array = NO_F64;
  /** `REC_*` bits. */
  flags: Uint8Array = NO_U8;

  /** Number of records. */
  get count(): number {
    return this.#n;
  }

  /** Physical slot of logical index `i` (for direct access to the arrays). */
  slot(i: number): number {
    return (this.#head + i) & this.#mask;
  }

  /** Start of record `i`. */
  start(i: number): Seq {
    return this.startSeq[(this.#head + i) & this.#mask] as Seq;
  }

  /** End of record `i`. */
  end(i: number): Seq {
    return this.endSeq[(this.#head + i) & this.#mask] as Seq;
  }

  /** Flags of record `i`. */
  flagsAt(i: number): number {
    return this.flags[(this.#head + i) & this.#mask];
  }

  /** Forgets every record. */
  clear(): void {
    this.#n = 0;
    this.#head = 0;
  }

  /** Appends the record of a new segment `[start, end)`. */
  append(
    start: Seq,
    end: Seq,
    now: Instant,
    delivered: number,
    deliveredTime: Instant,
    firstSent: Instant,
    appLimited: boolean,
  ): void {
    if (this.#n >= SEND_RECORDS_MAX) {
      this.endSeq[(this.#head + this.#n - 1) & this.#mask] = end;
      return;
    }
    if (this.#n === this.#cap) this.#grow();
    const k = (this.#head + this.#n) & this.#mask;
    this.#n++;
    this.startSeq[k] = start;
    this.endSeq[k] = end;
    this.xmit[k] = now;
    this.delivered[k] = delivered;
    this.deliveredTime[k] = deliveredTime;
    this.firstSent[k] = firstSent;
    this.flags[k] = appLimited ? REC_APP_LIMITED : 0;
  }

  /** Drops record 0. */
  shift(): void {
    this.#head = (this.#head + 1) & this.#mask;
    this.#n--;
  }

  /** Moves the start of record 0 up to `una` (a cumulative ACK inside it). */
  trimHead(una: Seq): void {
    this.startSeq[this.#head] = una;
  }

  /** Index of the record holding `s`, or -1 (binary search). */
  find(s: Seq): number {
    let lo = 0, hi = this.#n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = (this.#head + mid) & this.#mask;
      if (seqLt(s, this.startSeq[k] as Seq)) hi = mid - 1;
      else if (seqLe(this.endSeq[k] as Seq, s)) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /**
   * Splits record `i` at `at` (strictly inside it): both halves keep its
   * send state. Used when a retransmission covers part of a record.
   */
  split(i: number, at: Seq): void {
    const k0 = (this.#head + i) & this.#mask;
    if (!seqGt(at, this.startSeq[k0] as Seq) || !seqLt(at, this.endSeq[k0] as Seq)) return;
    if (this.#n === this.#cap) this.#grow();
    // shift records i+1.. up by one
    for (let j = this.#n; j > i + 1; j--) {
      this.#copy((this.#head + j - 1) & this.#mask, (this.#head + j) & this.#mask);
    }
    this.#n++;
    const a = (this.#head + i) & this.#mask, b = (this.#head + i + 1) & this.#mask;
    this.#copy(a, b);
    this.endSeq[a] = at;
    this.startSeq[b] = at;
  }

  #copy(from: number, to: number): void {
    this.startSeq[to] = this.startSeq[from];
    this.endSeq[to] = this.endSeq[from];
    this.xmit[to] = this.xmit[from];
    this.delivered[to] = this.delivered[from];
    this.deliveredTime[to] = this.deliveredTime[from];
    this.firstSent[to] = this.firstSent[from];
    this.flags[to] = this.flags[from];
  }

  /**
   * Gives the arrays back when no record is held (our FIN acknowledged:
   * nothing will be sent again), so that a connection does not keep them
   * through FIN_WAIT_2 and TIME_WAIT; the next append allocates them again.
   */
  compact(): void {
    if (this.#n !== 0 || this.#cap === 0) return;
    this.#release();
    this.#cap = 0;
    this.#mask = 0;
    this.#head = 0;
    this.startSeq = this.endSeq = NO_U32;
    this.xmit =
      this.delivered =
      this.deliveredTime =
      this.firstSent =
        NO_F64;
    this.flags = NO_U8;
  }

  /** Frees the one buffer behind the seven arrays (`xmit` is its first view). */
  #release(): void {
    if (this.#cap > 0) releaseMemory(new Uint8Array(this.xmit.buffer));
  }

  /** Slots the arrays have room for. */
  get capacity(): number {
    return this.#cap;
  }

  #grow(): void {
    const cap = Math.max(INITIAL_CAPACITY, this.#cap * 2);
    // One buffer holds all seven arrays: seven typed arrays of their own cost ≈ 3.7 µs per
    // connection on Deno 2.9, one buffer and seven views ≈ 0.8 µs (issue 15).
    const b = new ArrayBuffer(cap * RECORD_BYTES);
    const order = <T extends Uint32Array | Float64Array | Uint8Array>(src: T, dst: T): T => {
      for (let i = 0; i < this.#n; i++) dst[i] = src[(this.#head + i) & this.#mask];
      return dst;
    };
    const xmit = order(this.xmit, new Float64Array(b, 0, cap));
    const delivered = order(this.delivered, new Float64Array(b, 8 * cap, cap));
    const deliveredTime = order(this.deliveredTime, new Float64Array(b, 16 * cap, cap));
    const firstSent = order(this.firstSent, new Float64Array(b, 24 * cap, cap));
    const startSeq = order(this.startSeq, new Uint32Array(b, 32 * cap, cap));
    const endSeq = order(this.endSeq, new Uint32Array(b, 36 * cap, cap));
    const flags = order(this.flags, new Uint8Array(b, 40 * cap, cap));
    this.#release(); // copied: freed now, not at the next GC (release_memory.ts)
    this.xmit = xmit;
    this.delivered = delivered;
    this.deliveredTime = deliveredTime;
    this.firstSent = firstSent;
    this.startSeq = startSeq;
    this.endSeq = endSeq;
    this.flags = flags;
    this.#cap = cap;
    this.#mask = cap - 1;
    this.#head = 0;
  }
}
