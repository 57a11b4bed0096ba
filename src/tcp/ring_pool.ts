/**
 * A free list of the small rings every connection's send and receive
 * buffers start with (issue 15). A short connection allocates two 4 KiB
 * rings and drops them at TIME_WAIT or CLOSED; each is an ArrayBuffer with
 * its own off-heap backing store, and allocating and collecting those was
 * ≈ 20 µs of CPU per connection per side in a `--cpu-prof` of many short
 * tunnelled connections (bench/conn_profile.ts). Reusing them costs a fill.
 *
 * A ring is given back only when its buffer holds no bytes (everything
 * acknowledged, or read), and it is zeroed then, so a reused ring carries
 * nothing from its former connection. Views returned by a buffer's `peek`
 * stay valid only until the next call on that buffer (they are consumed at
 * once by segment encoding), as with the send buffer's peek scratch.
 *
 * The list is shared by the whole process (it holds no connection state)
 * and bounded by {@linkcode RING_POOL_MAX}.
 *
 * @module
 */

import { releaseMemory } from "./release_memory.ts";

/** Bytes of a pooled ring: the initial ring of `SendBuffer` and `RecvBuffer`. */
export const POOLED_RING = 4 * 1024;
/** Most free rings kept (1 MiB). */
export const RING_POOL_MAX = 256;

const free: Uint8Array<ArrayBuffer>[] = [];

/**
 * A zeroed ring of `size` bytes: from the free list when `size` is
 * {@linkcode POOLED_RING}, else newly allocated.
 *
 * @param size Bytes.
 * @returns A zero-filled ring.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { giveRing, POOLED_RING, takeRing } from "./ring_pool.ts";
 * const r = takeRing(POOLED_RING);
 * r[0] = 7;
 * giveRing(r);
 * const again = takeRing(POOLED_RING);
 * assert.equal(again, r);
 * assert.equal(again[0], 0); // zeroed when given back
 * ```
 */
export function takeRing(size: number): Uint8Array<ArrayBuffer> {
  if (size === POOLED_RING) {
    const r = free.pop();
    if (r !== undefined) return r;
  }
  return new Uint8Array(size);
}

/**
 * Gives a ring the caller no longer references back: to the free list when
 * it is a whole {@linkcode POOLED_RING}-byte buffer and the list has room,
 * else its memory is freed at once (release_memory.ts).
 *
 * @param ring The ring; nothing may use it afterwards.
 */
export function giveRing(ring: Uint8Array): void {
  if (
    ring.length !== POOLED_RING || ring.byteOffset !== 0 ||
    ring.buffer.byteLength !== POOLED_RING || free.length >= RING_POOL_MAX
  ) {
    releaseMemory(ring);
    return;
  }
  ring.fill(0);
  free.push(ring as Uint8Array<ArrayBuffer>);
}

/** Free rings held now (for tests). */
export function freeRings(): number {
  return free.length;
}
