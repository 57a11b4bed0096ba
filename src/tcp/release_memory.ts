/**
 * Gives an array's memory back to the allocator at once instead of at the
 * next garbage collection.
 *
 * V8 frees an ArrayBuffer's backing store only when a GC finds the buffer
 * unreachable, and it starts a GC for external memory only after tens of
 * megabytes have been allocated since the last one: a tunnel server whose
 * thousand connections grow their rings (4 KiB, 8 KiB, ... doubling) and then
 * give them back (FIN_WAIT_2, TIME_WAIT) held that much garbage on top of the
 * live buffers, and the malloc heap it sat in stayed in the process's RSS.
 * `ArrayBuffer.prototype.transfer(0)` detaches the buffer and frees its
 * backing store now (ES2024).
 *
 * @module
 */

/**
 * Smallest buffer worth detaching: V8 keeps typed arrays of up to 64 bytes
 * inside the JS heap (asking for their `.buffer` would move them out), and a
 * small backing store is cheap to leave to the GC.
 */
export const RELEASE_MIN_BYTES = 1024;

/**
 * Frees the memory behind `buf` now, when `buf` spans the whole of a large
 * enough ArrayBuffer that nothing else uses. Every view of that buffer
 * becomes empty: call it only on an array no one reads again (a ring that was
 * copied into its replacement).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { releaseMemory } from "./release_memory.ts";
 * const ring = new Uint8Array(64 * 1024);
 * releaseMemory(ring);
 * assert.equal(ring.length, 0); // detached: its 64 KiB are back with the allocator
 * const small = new Uint8Array(16);
 * releaseMemory(small); // left to the GC
 * assert.equal(small.length, 16);
 * ```
 */
export function releaseMemory(buf: Uint8Array | Uint32Array | Float64Array): void {
  if (buf.byteLength < RELEASE_MIN_BYTES || buf.byteOffset !== 0) return;
  const ab = buf.buffer;
  if (!(ab instanceof ArrayBuffer) || ab.byteLength !== buf.byteLength || ab.detached) return;
  ab.transfer(0);
}
