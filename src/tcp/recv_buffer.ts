/**
 * The receive buffer: in-order data waiting for the application plus
 * out-of-order data held for reassembly (RFC 9293 §3.10.7.4, RFC 2018).
 *
 * @module
 */

import { giveRing, POOLED_RING, takeRing } from "./ring_pool.ts";

/** A held out-of-order range, as byte offsets from RCV.NXT (`start` inclusive, `end` exclusive). */
export interface RecvRange {
  /** First byte, counted from RCV.NXT (always > 0: offset 0 would be readable). */
  readonly start: number;
  /** One past the last byte, counted from RCV.NXT. */
  readonly end: number;
}

/** Bytes of the ring a new buffer starts with. */
// Rings of this size come from and go back to a free list (ring_pool.ts).
const INITIAL_RING = POOLED_RING;
/** Ring size after {@linkcode RecvBuffer.compact} (small enough to live in the JS heap). */
const COMPACT_RING = 64;

/** Options of {@linkcode RecvBuffer}. */
export interface RecvBufferOptions {
  /** Most separate out-of-order ranges held at once (`TcpConfig.maxOutOfOrderRanges`). Default 64. */
  readonly maxRanges?: number;
}

/** The ranges of a buffer that never held one out of order (shared, never written). */
const NO_RANGES = new Float64Array(0);

/**
 * A fixed-capacity byte ring holding readable (in-order) bytes followed by the
 * receive window, in which out-of-order segments are placed at their offset.
 *
 * Offsets passed to {@linkcode RecvBuffer.insert} count from RCV.NXT, i.e. from
 * the end of the readable data. The caller trims what lies before RCV.NXT
 * (already received) so `offset >= 0`; this buffer trims what lies beyond the
 * window (`capacity - readable`). Out-of-order ranges are tracked in a small
 * sorted list of at most `maxRanges` entries, allocated at the first one, so later inserts
 * allocate nothing.
 *
 * @example Fill a gap
 * ```ts
 * import assert from "node:assert/strict";
 * import { RecvBuffer } from "./recv_buffer.ts";
 *
 * const buf = new RecvBuffer(16);
 * assert.equal(buf.insert(3, new Uint8Array([4, 5])), 0); // out of order
 * assert.deepEqual(buf.sackRanges(), [{ start: 3, end: 5 }]);
 * assert.equal(buf.insert(0, new Uint8Array([1, 2, 3])), 5); // gap filled
 * const out = new Uint8Array(8);
 * assert.equal(buf.read(out), 5);
 * assert.deepEqual([...out.subarray(0, 5)], [1, 2, 3, 4, 5]);
 * assert.equal(buf.window, 16);
 * ```
 */
export class RecvBuffer {
  /** Grows by doubling up to `#capacity` (starts at 16 KiB): idle connections stay small. */
  #ring: Uint8Array;
  readonly #capacity: number;
  /** Soft bound set by a memory budget (≤ capacity): the ring grows no further unless data needs it. */
  #limit: number;
  readonly #maxRanges: number;
  /**
   * Stream offsets are absolute byte counts since the buffer was made (exact in
   * a double up to 2^53 bytes); ring index = absolute offset mod capacity.
   */
  #rcvNxtAbs = 0;
  #readable = 0;
  /** Out-of-order ranges, sorted by start, disjoint and non-adjacent. */
  // Allocated at the first out-of-order segment: most connections never see one, and three
  // backing stores per connection were a measurable part of a short connection's cost.
  #starts = NO_RANGES;
  #ends = NO_RANGES;
  /** Update stamp of each range, for RFC 2018 §4 ordering. */
  #stamps = NO_RANGES;
  #count = 0;
  #stamp = 0;
  #oooBytes = 0;
  #dropped = 0;

  /**
   * @param capacity Bytes the buffer can hold (a positive integer); the largest window.
   * @param options `maxRanges`: the bound on separate out-of-order ranges.
   * @throws {RangeError} When `capacity` or `maxRanges` is not a valid integer.
   */
  constructor(capacity: number, options: RecvBufferOptions = {}) {
    const maxRanges = options.maxRanges ?? 64;
    if (!Number.isInteger(capacity) || capacity <= 0) {
      throw new RangeError(`RecvBuffer capacity must be a positive integer, got ${capacity}`);
    }
    if (!Number.isInteger(maxRanges) || maxRanges < 0) {
      throw new RangeError(`RecvBuffer maxRanges must be a non-negative integer, got ${maxRanges}`);
    }
    this.#capacity = capacity;
    this.#limit = capacity;
    // Small: most connections of a request/response workload never grow it (it doubles on demand).
    this.#ring = takeRing(Math.min(capacity, INITIAL_RING));
    this.#maxRanges = maxRanges;
  }

  /** Total bytes the buffer can hold. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Lowers (or raises, up to the capacity) the soft bound a memory budget
   * sets: the receiver offers no window beyond it, the ring grows no larger
   * than the data needs, and an empty ring larger than it is given back.
   *
   * @param limit Bytes; clamped to [1, capacity].
   */
  setLimit(limit: number): void {
    this.#limit = Math.max(1, Math.min(this.#capacity, Math.floor(limit)));
    this.#trim();
  }

  /** The soft bound (the capacity unless a budget lowered it). */
  get limit(): number {
    return this.#limit;
  }

  /** Bytes of memory the ring holds. */
  get allocated(): number {
    return this.#ring.length;
  }

  /** In-order bytes waiting to be read. */
  get readable(): number {
    return this.#readable;
  }

  /** The receive window: `capacity - readable` (out-of-order data lies inside it). */
  get window(): number {
    return this.#capacity - this.#readable;
  }

  /** Number of separate out-of-order ranges held. */
  get outOfOrderRanges(): number {
    return this.#count;
  }

  /** Bytes held out of order. */
  get outOfOrderBytes(): number {
    return this.#oooBytes;
  }

  /** Inserts dropped because they would have needed more than `maxRanges` ranges. */
  get droppedInserts(): number {
    return this.#dropped;
  }

  /**
   * Whether `[offset, offset + len)` (bytes after RCV.NXT) lies wholly inside one
   * held out-of-order range: a duplicate to report in a D-SACK (RFC 2883).
   */
  holds(offset: number, len: number): boolean {
    const start = this.#rcvNxtAbs + offset;
    const end = start + len;
    for (let i = 0; i < this.#count; i++) {
      if (this.#starts[i] <= start && end <= this.#ends[i]) return true;
    }
    return false;
  }

  /**
   * Stores segment data that starts `offset` bytes after RCV.NXT.
   *
   * Bytes beyond the window are cut off; bytes already held are overwritten with
   * the same stream bytes (duplicates are harmless). When the data would need
   * more than `maxRanges` separate out-of-order ranges the whole insert is
   * dropped (returns 0 and counts in {@linkcode RecvBuffer.droppedInserts}).
   *
   * @param offset Bytes after RCV.NXT where `data` starts; the caller trims old bytes first.
   * @param data Segment payload.
   * @returns How many bytes became readable, i.e. how far RCV.NXT advances.
   * @throws {RangeError} When `offset` is negative or not an integer.
   */
  insert(offset: number, data: Uint8Array): number {
    if (!Number.isInteger(offset) || offset < 0) {
      throw new RangeError(
        `RecvBuffer.insert offset must be a non-negative integer, got ${offset}`,
      );
    }
    const window = this.#capacity - this.#readable;
    if (offset >= window || data.length === 0) return 0;
    const len = Math.min(data.length, window - offset);
    const s = this.#rcvNxtAbs + offset;
    const e = s + len;

    // Ranges [lo, hi) overlap or touch [s, e) and merge with it.
    const starts = this.#starts;
    const ends = this.#ends;
    const count = this.#count;
    let lo = 0;
    while (lo < count && ends[lo] < s) lo++;
    let hi = lo;
    while (hi < count && starts[hi] <= e) hi++;
    const mergedStart = hi > lo ? Math.min(s, starts[lo]) : s;
    const mergedEnd = hi > lo ? Math.max(e, ends[hi - 1]) : e;
    const becomesReadable = mergedStart === this.#rcvNxtAbs;
    const newCount = count - (hi - lo) + (becomesReadable ? 0 : 1);
    if (newCount > this.#maxRanges) {
      this.#dropped++;
      return 0;
    }

    const base = this.#rcvNxtAbs - this.#readable;
    if (e - base > this.#ring.length) this.#grow(e - base, base);
    this.#copyIn(s, data, len);

    let held = 0;
    for (let i = lo; i < hi; i++) held += ends[i] - starts[i];
    if (becomesReadable) {
      // mergedStart is RCV.NXT, so lo is 0: remove ranges [0, hi).
      this.#removeRanges(0, hi, 0);
      this.#oooBytes -= held;
      const advance = mergedEnd - this.#rcvNxtAbs;
      this.#rcvNxtAbs = mergedEnd;
      this.#readable += advance;
      return advance;
    }
    // Replace ranges [lo, hi) by one merged range at lo.
    if (this.#starts === NO_RANGES) {
      // One spare slot: an insert may briefly hold maxRanges + 1 before the check.
      this.#starts = new Float64Array(this.#maxRanges + 1);
      this.#ends = new Float64Array(this.#maxRanges + 1);
      this.#stamps = new Float64Array(this.#maxRanges + 1);
    }
    this.#removeRanges(lo, hi, 1);
    this.#starts[lo] = mergedStart;
    this.#ends[lo] = mergedEnd;
    this.#stamps[lo] = ++this.#stamp;
    this.#oooBytes += mergedEnd - mergedStart - held;
    return 0;
  }

  /**
   * Copies readable bytes into `into` and frees their space (the window grows).
   *
   * @param into Destination.
   * @returns Bytes copied (0 when nothing is readable or `into` is empty).
   */
  read(into: Uint8Array): number {
    const n = Math.min(into.length, this.#readable);
    if (n === 0) return 0;
    const ring = this.#ring;
    const cap = ring.length;
    const start = (this.#rcvNxtAbs - this.#readable) % cap;
    const first = Math.min(n, cap - start);
    into.set(ring.subarray(start, start + first), 0);
    if (first < n) into.set(ring.subarray(0, n - first), first);
    this.#readable -= n;
    if (this.#readable === 0) this.#trim();
    return n;
  }

  /**
   * The out-of-order ranges as offsets from the current RCV.NXT, the most
   * recently updated first (RFC 2018 §4: the first SACK block reports the
   * segment that triggered the ACK). The caller adds RCV.NXT and keeps as many
   * blocks as fit in the option space.
   *
   * @returns A new array of at most `maxRanges` ranges.
   */
  sackRanges(): RecvRange[] {
    const count = this.#count;
    const order: number[] = [];
    for (let i = 0; i < count; i++) order.push(i);
    const stamps = this.#stamps;
    order.sort((a, b) => stamps[b] - stamps[a]);
    const base = this.#rcvNxtAbs;
    return order.map((i) => ({ start: this.#starts[i] - base, end: this.#ends[i] - base }));
  }

  /** Re-allocates the ring to hold `span` bytes from absolute offset `base`, keeping held bytes. */
  #grow(span: number, base: number): void {
    let size = this.#ring.length;
    while (size < span) size *= 2;
    size = Math.min(size, this.#capacity, Math.max(span, this.#limit));
    const old = this.#ring;
    const next = new Uint8Array(size);
    const heldEnd = this.#count > 0 ? this.#ends[this.#count - 1] : this.#rcvNxtAbs;
    // Copy [base, heldEnd) (gaps included; they are rewritten when filled).
    for (let abs = base; abs < heldEnd;) {
      const from = abs % old.length;
      const to = abs % size;
      const n = Math.min(heldEnd - abs, old.length - from, size - to);
      next.set(old.subarray(from, from + n), to);
      abs += n;
    }
    giveRing(old); // copied: pooled or freed now (ring_pool.ts)
    this.#ring = next;
  }

  /** Copies the first `len` bytes of `data` to absolute stream offset `abs`. */
  #copyIn(abs: number, data: Uint8Array, len: number): void {
    const ring = this.#ring;
    const cap = ring.length;
    const pos = abs % cap;
    const first = Math.min(len, cap - pos);
    ring.set(first === data.length ? data : data.subarray(0, first), pos);
    if (first < len) ring.set(data.subarray(first, len), 0);
  }

  /** Removes ranges [lo, hi) and leaves `gap` empty slots at `lo`. */
  #removeRanges(lo: number, hi: number, gap: number): void {
    const shift = gap - (hi - lo);
    if (shift !== 0) {
      const from = hi;
      const to = this.#count;
      this.#starts.copyWithin(from + shift, from, to);
      this.#ends.copyWithin(from + shift, from, to);
      this.#stamps.copyWithin(from + shift, from, to);
    }
    this.#count += shift;
  }

  /**
   * Gives the ring back when nothing is held (a connection entering
   * TIME_WAIT): a ring of {@linkcode COMPACT_RING} bytes, kept inside the JS
   * heap, replaces it. Bytes that arrive later grow it again.
   */
  compact(): void {
    if (this.#readable !== 0 || this.#count !== 0) return;
    // the out-of-order ranges go too (allocated again at the next gap)
    this.#starts = this.#ends = this.#stamps = NO_RANGES;
    if (this.#ring.length <= COMPACT_RING) return;
    giveRing(this.#ring);
    this.#ring = new Uint8Array(Math.min(this.#capacity, COMPACT_RING));
  }

  /** Nothing held and the ring is larger than the limit: give the memory back. */
  #trim(): void {
    if (
      this.#readable === 0 && this.#count === 0 && this.#ring.length > this.#limit &&
      this.#ring.length > INITIAL_RING
    ) {
      giveRing(this.#ring);
      this.#ring = takeRing(Math.min(this.#capacity, INITIAL_RING));
    }
  }
}
