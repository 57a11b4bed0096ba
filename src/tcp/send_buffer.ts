/**
 * The send buffer: bytes the application wrote that the peer has not yet
 * acknowledged, starting at SND.UNA (RFC 9293 §3.3.1).
 *
 * @module
 */

import { releaseMemory } from "./release_memory.ts";
import { giveRing, POOLED_RING, takeRing } from "./ring_pool.ts";

/**
 * A fixed-capacity byte ring holding unacknowledged and not-yet-sent data.
 * Offset 0 is the first unacknowledged byte (SND.UNA); the connection keeps
 * the sequence numbers, this buffer only counts bytes.
 *
 * The ring starts small (16 KiB, or `capacity` if smaller) and doubles on
 * demand up to `capacity`, so a thousand idle connections do not each hold
 * megabytes (Linux autotunes its buffers likewise). Writes copy into it and
 * {@linkcode SendBuffer.peek} returns views of it, so once grown the hot
 * path allocates nothing.
 *
 * @example Write, peek, acknowledge
 * ```ts
 * import assert from "node:assert/strict";
 * import { SendBuffer } from "./send_buffer.ts";
 *
 * const buf = new SendBuffer(8);
 * assert.equal(buf.write(new Uint8Array([1, 2, 3, 4, 5])), 5);
 * assert.deepEqual([...buf.peek(1, 3)], [2, 3, 4]);
 * buf.consume(2); // SND.UNA advanced by 2
 * assert.equal(buf.length, 3);
 * assert.equal(buf.free, 5);
 * ```
 */
/** Initial ring size; the ring doubles up to the capacity as needed. */
// Small: most connections of a request/response workload never grow it (it doubles on demand).
/** The scratch buffer until a wrapped read needs one: shared, never written. */
const NO_BYTES = new Uint8Array(0);
// Rings of this size come from and go back to a free list (ring_pool.ts).
const INITIAL_RING = POOLED_RING;
/** Ring size after {@linkcode SendBuffer.compact} (small enough to live in the JS heap). */
export const COMPACT_RING = 64;

export class SendBuffer {
  #ring: Uint8Array;
  readonly #capacity: number;
  /** Soft bound on held bytes set by a memory budget (≤ capacity; see `setLimit`). */
  #limit: number;
  /** Ring index of offset 0 (the byte at SND.UNA). */
  #head = 0;
  #length = 0;
  /** Grows on demand (never beyond capacity) for peeks that wrap. */
  #scratch: Uint8Array = NO_BYTES;

  /**
   * @param capacity Bytes the buffer can hold (a positive integer).
   * @throws {RangeError} When `capacity` is not a positive integer.
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) {
      throw new RangeError(`SendBuffer capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
    this.#limit = capacity;
    this.#ring = takeRing(Math.min(capacity, INITIAL_RING));
  }

  /**
   * Bounds the bytes held to `limit` (at most the capacity): a memory budget
   * shared by many connections (the stack's `memoryBudget`) lowers it, and
   * writes then stop at it. Bytes already held stay; the ring shrinks back
   * once they are acknowledged.
   *
   * @param limit Bytes; clamped to [1, capacity].
   */
  setLimit(limit: number): void {
    this.#limit = Math.max(1, Math.min(this.#capacity, Math.floor(limit)));
    if (this.#length === 0) this.#trim();
  }

  /** The current bound on held bytes (the capacity unless a budget lowered it). */
  get limit(): number {
    return this.#limit;
  }

  /** Bytes of memory the buffer holds (its ring and peek scratch). */
  get allocated(): number {
    return this.#ring.length + this.#scratch.length;
  }

  /** Total bytes the buffer can hold. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes held, counted from the first unacknowledged byte (SND.UNA). */
  get length(): number {
    return this.#length;
  }

  /** Bytes that can still be written. */
  get free(): number {
    return Math.max(0, this.#limit - this.#length);
  }

  /**
   * Copies as much of `data` as fits after the held bytes.
   *
   * @param data Bytes from the application.
   * @returns The number of bytes taken (0 when full).
   */
  write(data: Uint8Array): number {
    if (data.length > this.free) data = data.subarray(0, this.free);
    const want = this.#length + data.length;
    if (want > this.#ring.length && this.#ring.length < this.#capacity) this.#grow(want);
    const ring = this.#ring;
    const cap = ring.length;
    const n = Math.min(data.length, cap - this.#length);
    if (n === 0) return 0;
    let tail = this.#head + this.#length;
    if (tail >= cap) tail -= cap;
    const first = Math.min(n, cap - tail);
    ring.set(first === data.length ? data : data.subarray(0, first), tail);
    if (first < n) ring.set(data.subarray(first, n), 0);
    this.#length += n;
    return n;
  }

  /**
   * Returns `len` bytes starting `offset` bytes after SND.UNA.
   *
   * The result is a view into the ring when the bytes are contiguous, else a
   * copy in a reused scratch buffer. Either way it is valid only until the next
   * `peek`, `write` or `consume`: encode it (or copy it) before calling again.
   *
   * @param offset Bytes after the first unacknowledged byte.
   * @param len Bytes wanted.
   * @returns A `len`-byte view.
   * @throws {RangeError} When `[offset, offset + len)` is not within `length`.
   */
  peek(offset: number, len: number): Uint8Array {
    if (
      !Number.isInteger(offset) || !Number.isInteger(len) || offset < 0 || len < 0 ||
      offset + len > this.#length
    ) {
      throw new RangeError(
        `SendBuffer.peek(${offset}, ${len}) is beyond the ${this.#length} bytes held`,
      );
    }
    const ring = this.#ring;
    const cap = ring.length;
    let start = this.#head + offset;
    if (start >= cap) start -= cap;
    if (start + len <= cap) return ring.subarray(start, start + len);
    if (this.#scratch.length < len) {
      const old = this.#scratch; // its views are stale from this call on (see above)
      this.#scratch = new Uint8Array(Math.min(cap, Math.max(len, this.#scratch.length * 2)));
      releaseMemory(old);
    }
    const out = this.#scratch.subarray(0, len);
    const first = cap - start;
    out.set(ring.subarray(start, cap), 0);
    out.set(ring.subarray(0, len - first), first);
    return out;
  }

  /** Re-allocates the ring (linearized, head at 0) to hold at least `want` bytes. */
  #grow(want: number): void {
    let size = this.#ring.length;
    while (size < want && size < this.#capacity) size *= 2;
    size = Math.min(size, Math.max(want, this.#limit));
    const next = new Uint8Array(size);
    if (this.#length > 0) next.set(this.peek(0, this.#length), 0);
    giveRing(this.#ring); // copied: pooled or freed now (ring_pool.ts)
    this.#ring = next;
    this.#head = 0;
  }

  /**
   * Drops `n` acknowledged bytes from the front (SND.UNA advanced by `n`).
   *
   * @param n Bytes newly acknowledged.
   * @throws {RangeError} When `n` is negative, not an integer or more than `length`.
   */
  consume(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.#length) {
      throw new RangeError(`SendBuffer.consume(${n}) exceeds the ${this.#length} bytes held`);
    }
    this.#length -= n;
    if (this.#length === 0) {
      this.#head = 0; // keep later writes contiguous
      this.#trim();
      return;
    }
    let head = this.#head + n;
    if (head >= this.#ring.length) head -= this.#ring.length;
    this.#head = head;
  }

  /**
   * Gives the ring back when nothing is held (a connection entering
   * TIME_WAIT): a ring of {@linkcode COMPACT_RING} bytes, kept inside the
   * JS heap, replaces it, so that the many TIME_WAIT connections of short
   * connections hold no buffer memory. A later write grows it again.
   */
  compact(): void {
    if (this.#length !== 0 || this.#ring.length <= COMPACT_RING) return;
    giveRing(this.#ring);
    releaseMemory(this.#scratch);
    this.#ring = new Uint8Array(COMPACT_RING);
    this.#head = 0;
    this.#scratch = NO_BYTES;
  }

  /** Empty and larger than its limit allows: give the memory back (a budget shrank it). */
  #trim(): void {
    if (this.#ring.length > this.#limit && this.#ring.length > INITIAL_RING) {
      giveRing(this.#ring);
      this.#ring = takeRing(Math.min(this.#capacity, INITIAL_RING));
    }
    if (this.#scratch.length > this.#limit) {
      releaseMemory(this.#scratch);
      this.#scratch = NO_BYTES;
    }
  }
}
