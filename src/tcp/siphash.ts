/**
 * SipHash-2-4 (Aumasson & Bernstein, 2012) in pure TypeScript, as the keyed
 * function F of RFC 6528 ISN generation. JavaScript has no fast 64-bit
 * integers, so each 64-bit lane is a pair of unsigned 32-bit locals;
 * nothing is allocated per call.
 *
 * @module
 */

/** The 64-bit result of the last {@linkcode compute}: [lo, hi]. */
const out64 = new Uint32Array(2);

function readLe32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/**
 * Runs SipHash-2-4 and leaves the 64-bit result in `out64`. Each 64-bit lane
 * is a pair of unsigned 32-bit locals (`aL`/`aH`); the rounds are written out
 * inline, so a hash allocates nothing and touches no typed array but the
 * input (a forged SYN costs three hashes: see docs on SYN cookies).
 */
function compute(key: Uint8Array, data: Uint8Array, len: number): void {
  if (key.length !== 16) {
    throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
  }
  const k0lo = readLe32(key, 0), k0hi = readLe32(key, 4);
  const k1lo = readLe32(key, 8), k1hi = readLe32(key, 12);
  // "somepseudorandomlygeneratedbytes"
  let v0L = (k0lo ^ 0x70736575) >>> 0, v0H = (k0hi ^ 0x736f6d65) >>> 0;
  let v1L = (k1lo ^ 0x6e646f6d) >>> 0, v1H = (k1hi ^ 0x646f7261) >>> 0;
  let v2L = (k0lo ^ 0x6e657261) >>> 0, v2H = (k0hi ^ 0x6c796765) >>> 0;
  let v3L = (k1lo ^ 0x79746573) >>> 0, v3H = (k1hi ^ 0x74656462) >>> 0;
  let tL = 0;
  const end = len - (len % 8);
  // Message blocks, then (i === end + 8) the 4 finalization rounds.
  for (let i = 0; i <= end + 8; i += 8) {
    let rounds = 2;
    let mL = 0, mH = 0;
    if (i < end) {
      mL = readLe32(data, i);
      mH = readLe32(data, i + 4);
    } else if (i === end) {
      // Last block: the remaining bytes, with len mod 256 in the top byte.
      mH = (len & 0xff) << 24;
      for (let j = 0; j < len - end; j++) {
        if (j < 4) mL |= data[end + j] << (8 * j);
        else mH |= data[end + j] << (8 * (j - 4));
      }
      mL >>>= 0;
      mH >>>= 0;
    } else {
      v2L = (v2L ^ 0xff) >>> 0;
      rounds = 4;
    }
    v3L = (v3L ^ mL) >>> 0;
    v3H = (v3H ^ mH) >>> 0;
    for (let r = 0; r < rounds; r++) {
      // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
      tL = (v0L + v1L) >>> 0;
      v0H = (v0H + v1H + (tL < v0L ? 1 : 0)) >>> 0;
      v0L = tL;
      tL = (v1L << 13) | (v1H >>> 19);
      v1H = ((v1H << 13) | (v1L >>> 19)) ^ v0H;
      v1L = tL ^ v0L;
      tL = v0L;
      v0L = v0H;
      v0H = tL;
      // v2 += v3; v3 = rotl(v3, 16) ^ v2
      tL = (v2L + v3L) >>> 0;
      v2H = (v2H + v3H + (tL < v2L ? 1 : 0)) >>> 0;
      v2L = tL;
      tL = (v3L << 16) | (v3H >>> 16);
      v3H = (((v3H << 16) | (v3L >>> 16)) ^ v2H) >>> 0;
      v3L = (tL ^ v2L) >>> 0;
      // v0 += v3; v3 = rotl(v3, 21) ^ v0
      tL = (v0L + v3L) >>> 0;
      v0H = (v0H + v3H + (tL < v0L ? 1 : 0)) >>> 0;
      v0L = tL;
      tL = (v3L << 21) | (v3H >>> 11);
      v3H = (((v3H << 21) | (v3L >>> 11)) ^ v0H) >>> 0;
      v3L = (tL ^ v0L) >>> 0;
      // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
      v1L >>>= 0;
      v1H >>>= 0;
      tL = (v2L + v1L) >>> 0;
      v2H = (v2H + v1H + (tL < v2L ? 1 : 0)) >>> 0;
      v2L = tL;
      tL = (v1L << 17) | (v1H >>> 15);
      v1H = (((v1H << 17) | (v1L >>> 15)) ^ v2H) >>> 0;
      v1L = (tL ^ v2L) >>> 0;
      tL = v2L;
      v2L = v2H;
      v2H = tL;
    }
    if (i <= end) {
      v0L = (v0L ^ mL) >>> 0;
      v0H = (v0H ^ mH) >>> 0;
    }
  }
  out64[0] = v0L ^ v1L ^ v2L ^ v3L;
  out64[1] = v0H ^ v1H ^ v2H ^ v3H;
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
  compute(key, data, data.length);
  const lo = out64[0], hi = out64[1];
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
 * @param length Bytes of `data` hashed (its first ones; default all), so a
 * caller's scratch buffer needs no view per call.
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
export function siphash24Low32(
  key: Uint8Array,
  data: Uint8Array,
  length: number = data.length,
): number {
  if (length > data.length) throw new RangeError(`SipHash length ${length} > ${data.length}`);
  compute(key, data, length);
  return out64[0];
}

/**
 * The high 32 bits of the last {@linkcode siphash24Low32} result (output
 * bytes 4–7, little-endian): a second value from the same hash, valid until
 * the next SipHash call.
 *
 * @returns An unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastSiphash24High32, siphash24, siphash24Low32 } from "./siphash.ts";
 * const key = Uint8Array.from({ length: 16 }, (_, i) => i);
 * siphash24Low32(key, new Uint8Array(0));
 * const tag = siphash24(key, new Uint8Array(0));
 * assert.equal(lastSiphash24High32(), new DataView(tag.buffer).getUint32(4, true));
 * ```
 */
export function lastSiphash24High32(): number {
  return out64[1];
}
