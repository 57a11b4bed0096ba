/**
 * The Internet checksum (RFC 1071) and tou's TCP checksum rule.
 *
 * tou computes the TCP checksum over a pseudo-header that does not depend on
 * the outer UDP addresses (which NATs rewrite): source 0.0.0.0, destination
 * 0.0.0.0, a zero byte, protocol 6 and the TCP length (docs/wire-format.md).
 * Because zero addresses add nothing to a ones'-complement sum, a real IPv4
 * checksum follows by an incremental update (RFC 1624), see
 * {@linkcode rechecksumForIpv4}.
 *
 * @module
 */

/** IP protocol number of TCP, the pseudo-header's protocol byte. */
export const TCP_PROTOCOL = 6;

/** Byte offset of the checksum field inside a TCP header (RFC 9293 §3.1). */
export const TCP_CHECKSUM_OFFSET = 16;

/** Folds a non-negative sum (below 2^53) to 16 bits with end-around carry. */
function fold(sum: number): number {
  while (sum > 0xffff) {
    // below 2^32 (every small segment) bit operations do it; above, division
    sum = sum <= 0xffffffff
      ? (sum >>> 16) + (sum & 0xffff)
      : (sum % 0x10000) + Math.floor(sum / 0x10000);
  }
  return sum;
}

/**
 * The ones'-complement sum of `bytes` read as big-endian 16-bit words (an odd
 * last byte is padded with a zero byte), plus `initial`, folded to 16 bits
 * (RFC 1071 §4.1). The result is not complemented, so sums can be chained.
 *
 * @param bytes The bytes to sum.
 * @param initial A previous sum (for example of a pseudo-header) to add in.
 * @returns A value in [0, 0xffff]; 0 only when everything summed was zero.
 *
 * @example Sum the RFC 1071 §3 example bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { onesComplementSum } from "./checksum.ts";
 * const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
 * assert.equal(onesComplementSum(b), 0xddf2);
 * ```
 */
export function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  const len = bytes.length;
  // A DataView that does not escape is cheap in V8 (measured in bench/wire_bench.ts).
  const dv = new DataView(bytes.buffer, bytes.byteOffset, len);
  // RFC 1071 §2(B): the sum is byte-order independent, so add little-endian
  // 32-bit words (fewer, faster loads) and swap the two bytes of the folded result.
  // Four accumulators break the add dependency chain; each stays far below 2^53.
  const blocks = len & ~15;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i < blocks; i += 16) {
    s0 += dv.getUint32(i, true);
    s1 += dv.getUint32(i + 4, true);
    s2 += dv.getUint32(i + 8, true);
    s3 += dv.getUint32(i + 12, true);
  }
  let sum = s0 + s1 + s2 + s3;
  const words = len & ~3;
  for (; i < words; i += 4) sum += dv.getUint32(i, true);
  sum = fold(sum);
  sum = ((sum & 0xff) << 8) | (sum >>> 8);
  for (; i + 1 < len; i += 2) sum += dv.getUint16(i);
  if (i < len) sum += bytes[i] << 8;
  return fold(sum + fold(initial));
}

/**
 * The RFC 1071 Internet checksum of `bytes`: the ones' complement of their
 * ones'-complement sum.
 *
 * @example A buffer containing its own checksum sums to zero
 * ```ts
 * import assert from "node:assert/strict";
 * import { internetChecksum } from "./checksum.ts";
 * const b = new Uint8Array([0x45, 0x00, 0x00, 0x1c, 0x00, 0x00]);
 * const c = internetChecksum(b);
 * const withSum = new Uint8Array([...b, c >> 8, c & 0xff]);
 * assert.equal(internetChecksum(withSum), 0);
 * ```
 */
export function internetChecksum(bytes: Uint8Array): number {
  return ~onesComplementSum(bytes) & 0xffff;
}

/** Sum of tou's pseudo-header: 0.0.0.0, 0.0.0.0, zero, protocol 6, TCP length. */
function pseudoHeaderSum(tcpLength: number): number {
  // RFC 9293 §3.1: the pseudo-header carries the addresses, protocol and TCP length;
  // tou's addresses are zero, so only the protocol and length words remain.
  return TCP_PROTOCOL + tcpLength;
}

function readChecksumField(segment: Uint8Array): number {
  return (segment[TCP_CHECKSUM_OFFSET] << 8) | segment[TCP_CHECKSUM_OFFSET + 1];
}

function checkSegmentLength(segment: Uint8Array): void {
  if (segment.length < TCP_CHECKSUM_OFFSET + 2 || segment.length > 0xffff) {
    throw new RangeError(
      `Cannot checksum a TCP segment of ${segment.length} bytes: it must hold 18 to 65535 bytes`,
    );
  }
}

/**
 * The value to store in bytes 16–17 of `segment` under tou's pseudo-header
 * rule (addresses 0.0.0.0, protocol 6, TCP length = `segment.length`). The
 * current content of the checksum field is ignored (treated as zero).
 *
 * @param segment The whole TCP segment: header, options and payload.
 * @returns The 16-bit checksum.
 * @throws {RangeError} If `segment` is shorter than 18 or longer than 65535 bytes.
 *
 * @example Store and verify
 * ```ts
 * import assert from "node:assert/strict";
 * import { tcpChecksum, verifyTcpChecksum } from "./checksum.ts";
 * const seg = new Uint8Array(20);
 * seg[12] = 0x50; // data offset 5
 * const c = tcpChecksum(seg);
 * seg[16] = c >> 8;
 * seg[17] = c & 0xff;
 * assert.ok(verifyTcpChecksum(seg));
 * ```
 */
export function tcpChecksum(segment: Uint8Array): number {
  checkSegmentLength(segment);
  // Subtract the stored field (adding its complement) instead of zeroing it in place.
  const field = readChecksumField(segment);
  const sum = onesComplementSum(segment, pseudoHeaderSum(segment.length) + (~field & 0xffff));
  return ~sum & 0xffff;
}

/**
 * Whether the checksum stored in `segment` verifies under tou's pseudo-header
 * rule. Never throws: a segment too short or too long to carry a checksum
 * does not verify.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyTcpChecksum } from "./checksum.ts";
 * assert.equal(verifyTcpChecksum(new Uint8Array(20)), false);
 * ```
 */
export function verifyTcpChecksum(segment: Uint8Array): boolean {
  if (segment.length < TCP_CHECKSUM_OFFSET + 2 || segment.length > 0xffff) return false;
  // RFC 1071 §1: a correct sum over data plus checksum is all ones.
  return onesComplementSum(segment, pseudoHeaderSum(segment.length)) === 0xffff;
}

/**
 * Rewrites the checksum of a segment carrying tou's zero-address checksum so
 * that a real IPv4 stack with addresses `srcIp` → `dstIp` accepts it, and
 * returns the new value. This is the RFC 1624 incremental update
 * `HC' = ~(~HC + ~m + m')` with `m = 0` (the zero addresses), i.e.
 * `new = ~(~old + sum(address words))`.
 *
 * @param segment A TCP segment whose checksum field holds tou's checksum; updated in place.
 * @param srcIp IPv4 source address, 4 bytes.
 * @param dstIp IPv4 destination address, 4 bytes.
 * @returns The new checksum, also written to bytes 16–17.
 * @throws {RangeError} If an address is not 4 bytes or the segment cannot carry a checksum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rechecksumForIpv4, tcpChecksum } from "./checksum.ts";
 * const seg = new Uint8Array(20);
 * seg[12] = 0x50;
 * const c = tcpChecksum(seg);
 * seg[16] = c >> 8;
 * seg[17] = c & 0xff;
 * const real = rechecksumForIpv4(seg, new Uint8Array([10, 0, 0, 1]), new Uint8Array([10, 0, 0, 2]));
 * assert.equal(real, ((seg[16] << 8) | seg[17]));
 * ```
 */
export function rechecksumForIpv4(
  segment: Uint8Array,
  srcIp: Uint8Array,
  dstIp: Uint8Array,
): number {
  if (srcIp.length !== 4 || dstIp.length !== 4) {
    throw new RangeError(
      `Cannot rechecksum for IPv4: addresses must be 4 bytes, got ${srcIp.length} and ${dstIp.length}`,
    );
  }
  checkSegmentLength(segment);
  // RFC 1624 eqn. 3 with m = 0: ~m is negative zero and drops out.
  const old = readChecksumField(segment);
  const added = ((srcIp[0] << 8) | srcIp[1]) + ((srcIp[2] << 8) | srcIp[3]) +
    ((dstIp[0] << 8) | dstIp[1]) + ((dstIp[2] << 8) | dstIp[3]);
  const updated = ~fold((~old & 0xffff) + added) & 0xffff;
  segment[TCP_CHECKSUM_OFFSET] = updated >>> 8;
  segment[TCP_CHECKSUM_OFFSET + 1] = updated & 0xff;
  return updated;
}
