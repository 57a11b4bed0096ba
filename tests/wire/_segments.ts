/**
 * Segment templates and raw-byte helpers shared by the wire tests.
 *
 * @module
 */

import { tcpChecksum } from "../../src/wire/checksum.ts";
import { emitSegment, segmentEncodedLength } from "../../src/wire/tcp_codec.ts";
import { seq } from "../../src/wire/seq.ts";
import { ACK } from "../../src/wire/tcp_flags.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";

/** A plain ACK with no options and no payload; override fields with a spread. */
export function segment(overrides: Partial<TcpSegment> = {}): TcpSegment {
  return {
    srcPort: 40000,
    dstPort: 443,
    seq: seq(1000),
    ack: seq(2000),
    flags: ACK,
    window: 502,
    urgentPointer: 0,
    options: {},
    payload: new Uint8Array(0),
    ...overrides,
  };
}

/** Emits `seg` into a fresh buffer of exactly its encoded length. */
export function emit(seg: TcpSegment): Uint8Array {
  const buf = new Uint8Array(segmentEncodedLength(seg));
  const n = emitSegment(seg, buf);
  if (n !== buf.length) throw new Error(`emitSegment wrote ${n}, expected ${buf.length}`);
  return buf;
}

/**
 * A raw segment: the 20-byte fixed header of a plain ACK with the given data
 * offset (words) and option bytes, then `payload`, with a valid checksum.
 */
export function rawSegment(
  dataOffset: number,
  optionBytes: readonly number[],
  payload: readonly number[] = [],
): Uint8Array {
  const bytes = new Uint8Array(20 + optionBytes.length + payload.length);
  bytes.set([0x9c, 0x40, 0x01, 0xbb, 0, 0, 3, 0xe8, 0, 0, 7, 0xd0]);
  bytes[12] = dataOffset << 4;
  bytes[13] = ACK;
  bytes[14] = 0x01;
  bytes[15] = 0xf6;
  bytes.set(optionBytes, 20);
  bytes.set(payload, 20 + optionBytes.length);
  if (bytes.length >= 18) fixChecksum(bytes);
  return bytes;
}

/** Recomputes and stores the checksum of `bytes` in place. */
export function fixChecksum(bytes: Uint8Array): Uint8Array {
  const c = tcpChecksum(bytes);
  bytes[16] = c >>> 8;
  bytes[17] = c & 0xff;
  return bytes;
}

/** Lower-case hex of `bytes`, no separators. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes from hex (whitespace ignored). */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
