/**
 * A priority queue of timed events: a binary min-heap ordered by
 * (time, insertion sequence), so events due at the same time come out in the
 * order they were pushed (FIFO). Cancellation is O(1) by lazy deletion: the
 * entry is flagged and skipped when it reaches the top; the heap is
 * compacted when flagged entries outnumber live ones. Ids index a slot
 * table (with a generation, so stale ids are harmless) instead of a hash
 * map, which keeps push and pop cheap with hundreds of thousands of events.
 *
 * @module
 */

import { type Instant, NEVER } from "../time.ts";

/** An event as stored in an {@linkcode EventQueue}. */
export interface QueuedEvent<T> {
  /** When it is due. */
  readonly time: Instant;
  /** Insertion sequence (orders equal times). */
  readonly seq: number;
  /** The payload. */
  readonly value: T;
}

interface Entry<T> extends QueuedEvent<T> {
  readonly id: number;
  cancelled: boolean;
}

/** Slots per generation: at most this many events may be pending at once. */
const SLOT_SPACE = 2 ** 24;
/** Generations cycle through 1..GEN_SPACE so that ids stay below 2^53 and are never 0. */
const GEN_SPACE = 2 ** 29 - 1;

/** Compaction happens only past this many cancelled entries (and when they outnumber live ones). */
const COMPACT_MIN = 64;

/**
 * Min-heap of events by (time, insertion order) with O(1) cancel.
 *
 * @example Equal times pop in insertion order
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventQueue } from "./event_queue.ts";
 * const q = new EventQueue<string>();
 * q.push(5, "b1");
 * const id = q.push(1, "a");
 * q.push(5, "b2");
 * q.cancel(id);
 * assert.equal(q.peekTime(), 5);
 * assert.equal(q.pop()?.value, "b1");
 * assert.equal(q.pop()?.value, "b2");
 * assert.equal(q.pop(), undefined);
 * ```
 */
export class EventQueue<T> {
  #heap: Entry<T>[] = [];
  #slots: (Entry<T> | undefined)[] = [];
  #free: number[] = [];
  #live = 0;
  #nextSeq = 1;
  #cancelledInHeap = 0;

  /** Number of live (not cancelled, not popped) events. */
  get size(): number {
    return this.#live;
  }

  /**
   * Adds an event.
   *
   * @param time When it is due (any number but NaN).
   * @param value The payload.
   * @returns An opaque, positive event id for `cancel`.
   */
  push(time: Instant, value: T): number {
    if (Number.isNaN(time)) throw new RangeError("EventQueue.push: time is NaN");
    const seq = this.#nextSeq++;
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#slots.length;
      if (slot >= SLOT_SPACE) {
        throw new RangeError(`EventQueue: more than ${SLOT_SPACE} pending events`);
      }
      this.#slots.push(undefined);
    }
    const id = ((seq % GEN_SPACE) + 1) * SLOT_SPACE + slot;
    const entry: Entry<T> = { time, seq, id, value, cancelled: false };
    this.#slots[slot] = entry;
    this.#live++;
    const heap = this.#heap;
    heap.push(entry);
    this.#siftUp(heap.length - 1);
    return id;
  }

  /**
   * Cancels an event in O(1).
   *
   * @returns `true` when a live event was cancelled; `false` for unknown, popped or already cancelled ids.
   */
  cancel(id: number): boolean {
    const slot = id % SLOT_SPACE;
    const entry = this.#slots[slot];
    if (entry === undefined || entry.id !== id) return false;
    this.#release(slot);
    entry.cancelled = true;
    this.#cancelledInHeap++;
    if (
      this.#cancelledInHeap > COMPACT_MIN && this.#cancelledInHeap * 2 > this.#heap.length
    ) {
      this.#compact();
    }
    return true;
  }

  /** Time of the earliest live event, or `NEVER` when empty. */
  peekTime(): Instant {
    this.#dropCancelledTop();
    return this.#heap.length === 0 ? NEVER : this.#heap[0].time;
  }

  /** Removes and returns the earliest live event (FIFO among equal times). */
  pop(): QueuedEvent<T> | undefined {
    this.#dropCancelledTop();
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    this.#removeTop();
    this.#release(top.id % SLOT_SPACE);
    return top;
  }

  /** Removes every event. */
  clear(): void {
    this.#heap.length = 0;
    this.#slots = [];
    this.#free = [];
    this.#live = 0;
    this.#cancelledInHeap = 0;
  }

  #release(slot: number): void {
    this.#slots[slot] = undefined;
    this.#free.push(slot);
    this.#live--;
  }

  #dropCancelledTop(): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].cancelled) {
      this.#removeTop();
      this.#cancelledInHeap--;
    }
  }

  #removeTop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
  }

  #compact(): void {
    const kept = this.#heap.filter((e) => !e.cancelled);
    this.#heap = kept;
    this.#cancelledInHeap = 0;
    for (let i = (kept.length >>> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    const item = heap[i];
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const p = heap[parent];
      if (!before(item, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const item = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r], heap[l]) ? r : l;
      if (!before(heap[child], item)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = item;
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
