/**
 * SipHash-2-4 (Aumasson & Bernstein, 2012) in pure TypeScript, as the keyed
 * function F of RFC 6528 ISN generation. JavaScript has no fast 64-bit
 * integers, so each 64-bit lane is a pair of 32-bit halves kept in a reused
 * `Uint32Array`; nothing is allocated per call.
 *
 * @module
 */

/** Lane state: v0..v3 as [lo, hi] pairs, then the message word [lo, hi]. */
const v = new Uint32Array(10);

/** v[a] += v[b] (64-bit, lanes are pair indices). */
function add(a: number, b: number): void {
  const lo = (v[a] + v[b]) >>> 0;
  v[a + 1] = (v[a + 1] + v[b + 1] + (lo < v[a] ? 1 : 0)) >>> 0;
  v[a] = lo;
}

/** v[a] = rotl(v[a], r) for 0 < r < 32. */
function rotl(a: number, r: number): void {
  const lo = v[a];
  const hi = v[a + 1];
  v[a] = (lo << r) | (hi >>> (32 - r));
  v[a + 1] = (hi << r) | (lo >>> (32 - r));
}

/** v[a] = rotl(v[a], 32): swap the halves. */
function swap(a: number): void {
  const lo = v[a];
  v[a] = v[a + 1];
  v[a + 1] = lo;
}

/** v[a] ^= v[b]. */
function xor(a: number, b: number): void {
  v[a] ^= v[b];
  v[a + 1] ^= v[b + 1];
}

const V0 = 0, V1 = 2, V2 = 4, V3 = 6, M = 8;

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  swap(V0);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  swap(V2);
}

function readLe32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** Runs SipHash-2-4 and leaves the 64-bit result in v[0] (lo), v[1] (hi). */
function compute(key: Uint8Array, data: Uint8Array): void {
  if (key.length !== 16) {
    throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
  }
  const k0lo = readLe32(key, 0), k0hi = readLe32(key, 4);
  const k1lo = readLe32(key, 8), k1hi = readLe32(key, 12);
  // "somepseudorandomlygeneratedbytes"
  v[0] = k0lo ^ 0x70736575;
  v[1] = k0hi ^ 0x736f6d65;
  v[2] = k1lo ^ 0x6e646f6d;
  v[3] = k1hi ^ 0x646f7261;
  v[4] = k0lo ^ 0x6e657261;
  v[5] = k0hi ^ 0x6c796765;
  v[6] = k1lo ^ 0x79746573;
  v[7] = k1hi ^ 0x74656462;
  const len = data.length;
  const end = len - (len % 8);
  for (let i = 0; i <= end; i += 8) {
    if (i < end) {
      v[M] = readLe32(data, i);
      v[M + 1] = readLe32(data, i + 4);
    } else {
      // Last block: the remaining bytes, with len mod 256 in the top byte.
      let lo = 0, hi = (len & 0xff) << 24;
      for (let j = 0; j < len - end; j++) {
        if (j < 4) lo |= data[end + j] << (8 * j);
        else hi |= data[end + j] << (8 * (j - 4));
      }
      v[M] = lo;
      v[M + 1] = hi;
    }
    xor(V3, M);
    sipRound();
    sipRound();
    xor(V0, M);
  }
  v[V2] ^= 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  v[0] = v[0] ^ v[2] ^ v[4] ^ v[6];
  v[1] = v[1] ^ v[3] ^ v[5] ^ v[7];
}

/**
 * SipHash-2-4 of `data` under a 16-byte `key`, as the 8 output bytes
 * (little-endian, as in the reference implementation's test vectors).
 *
 * @param key 16-byte secret key.
 * @param data Message.
 * @param out Where to write the 8 bytes (a new array by default).
 * @returns `out`.
 * @throws {RangeError} When `key` is not 16 bytes or `out` is shorter than 8.
 *
 * @example The first reference vector (key 00..0f, empty message)
 * ```ts
 * import assert from "node:assert/strict";
 * import { siphash24 } from "./siphash.ts";
 * const key = Uint8Array.from({ length: 16 }, (_, i) => i);
 * const tag = siphash24(key, new Uint8Array(0));
 * assert.deepEqual([...tag], [0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72]);
 * ```
 */
export function siphash24(
  key: Uint8Array,
  data: Uint8Array,
  out: Uint8Array = new Uint8Array(8),
): Uint8Array {
  if (out.length < 8) throw new RangeError(`SipHash output needs 8 bytes, got ${out.length}`);
  compute(key, data);
  const lo = v[0], hi = v[1];
  for (let j = 0; j < 4; j++) {
    out[j] = lo >>> (8 * j);
    out[4 + j] = hi >>> (8 * j);
  }
  return out;
}

/**
 * The low 32 bits of SipHash-2-4 of `data` under a 16-byte `key` (the first
 * four output bytes, little-endian), without allocating.
 *
 * @param key 16-byte secret key.
 * @param data Message.
 * @returns An unsigned 32-bit integer.
 * @throws {RangeError} When `key` is not 16 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { siphash24Low32 } from "./siphash.ts";
 * const key = Uint8Array.from({ length: 16 }, (_, i) => i);
 * assert.equal(siphash24Low32(key, new Uint8Array(0)), 0xdd0e0e31);
 * ```
 */
export function siphash24Low32(key: Uint8Array, data: Uint8Array): number {
  compute(key, data);
  return v[0];
}
