/**
 * TCP segment codec (RFC 9293 §3.1): bytes ↔ {@linkcode TcpSegment}.
 *
 * `parseSegment` never throws: malformed bytes give `{ ok: false, error }`
 * with a {@linkcode WireError}. `emitSegment` throws `RangeError` only for
 * programming errors (a field out of range, options over 40 bytes, a buffer
 * too small). For every segment `emitSegment` accepts,
 * `parseSegment(emitted)` deep-equals {@linkcode normalizeSegment}`(seg)`.
 *
 * @module
 */

import { tcpChecksum, verifyTcpChecksum } from "./checksum.ts";
import type { Seq } from "./seq.ts";
import { TCP_HEADER_MIN_LEN, TcpHeaderView } from "./tcp_header_view.ts";
import {
  decodeOptions,
  emitOptions,
  normalizeOptions,
  optionsEncodedLength,
} from "./tcp_options.ts";
import type { TcpSegment } from "./tcp_segment.ts";
import { WireError, type WireResult } from "./wire_error.ts";

export type { WireResult } from "./wire_error.ts";

/** Options of {@linkcode parseSegment}. */
export interface ParseSegmentOptions {
  /** Verify the checksum (tou's zero-address pseudo-header rule). Default `true`. */
  readonly verifyChecksum?: boolean;
}

// One view re-pointed at every datagram: parsing is synchronous, so sharing it is safe.
const sharedView = new TcpHeaderView();

/**
 * Decodes a TCP segment. The payload (and unknown options' data) are views
 * into `bytes`, not copies. Checks run in this order: header length, data
 * offset, checksum (unless disabled), options.
 *
 * @param bytes The whole segment (the datagram after the envelope header).
 * @param opts `verifyChecksum` (default `true`).
 * @returns The segment, or the {@linkcode WireError} explaining why not.
 *
 * @example Round-trip a SYN
 * ```ts
 * import assert from "node:assert/strict";
 * import { emitSegment, parseSegment } from "./tcp_codec.ts";
 * import { SYN } from "./tcp_flags.ts";
 * import { seq } from "./seq.ts";
 * const syn = { srcPort: 40000, dstPort: 80, seq: seq(1000), ack: seq(0), flags: SYN,
 *   window: 65535, urgentPointer: 0, options: { mss: 1448 }, payload: new Uint8Array(0) };
 * const buf = new Uint8Array(64);
 * const n = emitSegment(syn, buf);
 * const r = parseSegment(buf.subarray(0, n));
 * assert.ok(r.ok);
 * assert.deepEqual(r.value, syn);
 * ```
 *
 * @example Malformed bytes give a reason, never a throw
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSegment } from "./tcp_codec.ts";
 * const r = parseSegment(new Uint8Array(7));
 * assert.ok(!r.ok);
 * assert.equal(r.error.reason, "truncated-header");
 * ```
 */
export function parseSegment(
  bytes: Uint8Array,
  opts?: ParseSegmentOptions,
): WireResult<TcpSegment> {
  const r = decodeSegment(bytes, opts?.verifyChecksum !== false);
  return r instanceof WireError ? { ok: false, error: r } : { ok: true, value: r };
}

/**
 * {@linkcode parseSegment} for the receive fast path: the segment itself or
 * the {@linkcode WireError}, with no result object around it. Same checks in
 * the same order; the payload (and unknown options' data) are views into
 * `bytes`.
 *
 * @param bytes The whole segment (the datagram after the envelope header).
 * @param verifyChecksum Verify the checksum (default `true`); a stack under
 *   a seal passes `false` (docs/wire-format.md, "No checksum inside a sealed
 *   datagram").
 * @returns The segment, or why not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSegment } from "./tcp_codec.ts";
 * import { WireError } from "./wire_error.ts";
 * const seg = new Uint8Array(20);
 * seg[12] = 0x50; // data offset 5; checksum field 0, which does not verify
 * assert.ok(decodeSegment(seg) instanceof WireError);
 * const r = decodeSegment(seg, false);
 * assert.ok(!(r instanceof WireError) && r.payload.length === 0);
 * ```
 */
export function decodeSegment(bytes: Uint8Array, verifyChecksum = true): TcpSegment | WireError {
  const view = sharedView.reset(bytes);
  const bad = view.check();
  if (bad !== undefined) return bad;
  // RFC 9293 §3.10.7.1: a segment with a bad checksum is discarded.
  if (verifyChecksum && !verifyTcpChecksum(bytes)) {
    return new WireError(
      "bad-checksum",
      `checksum 0x${view.checksum.toString(16).padStart(4, "0")} does not verify`,
    );
  }
  const headerLength = view.headerLength;
  const options = decodeOptions(bytes, TCP_HEADER_MIN_LEN, headerLength);
  if (options instanceof WireError) return options;
  return {
    srcPort: view.srcPort,
    dstPort: view.dstPort,
    seq: view.seq,
    ack: view.ack,
    flags: view.flags,
    window: view.window,
    urgentPointer: view.urgentPointer,
    options,
    payload: bytes.subarray(headerLength),
  };
}

function checkU16(name: string, v: number): void {
  if ((v & 0xffff) !== v) {
    throw new RangeError(`Cannot emit TCP segment: ${name} ${v} is not a 16-bit unsigned integer`);
  }
}

function checkU32(name: string, v: Seq): void {
  if (v >>> 0 !== v) {
    throw new RangeError(`Cannot emit TCP segment: ${name} ${v} is not a 32-bit unsigned integer`);
  }
}

/**
 * Bytes `emitSegment` writes for `seg`: 20 + padded options + payload.
 *
 * @throws {RangeError} If the options are invalid or exceed 40 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segmentEncodedLength } from "./tcp_codec.ts";
 * import { ACK } from "./tcp_flags.ts";
 * import { seq } from "./seq.ts";
 * const seg = { srcPort: 1, dstPort: 2, seq: seq(0), ack: seq(0), flags: ACK, window: 0,
 *   urgentPointer: 0, options: { timestamps: { tsVal: 1, tsEcr: 2 } }, payload: new Uint8Array(5) };
 * assert.equal(segmentEncodedLength(seg), 20 + 12 + 5);
 * ```
 */
export function segmentEncodedLength(seg: TcpSegment): number {
  return TCP_HEADER_MIN_LEN + optionsEncodedLength(seg.options) + seg.payload.length;
}

/**
 * Writes `seg` into `buf` at `offset`: header, options (Linux order, padded
 * to 4 bytes), payload, then the checksum under tou's zero-address
 * pseudo-header rule. The four reserved bits of byte 12 are written as zero.
 *
 * @param seg The segment.
 * @param buf Destination; needs `segmentEncodedLength(seg)` bytes from `offset`.
 * @param offset Where to start writing. Default 0.
 * @param checksum Compute the checksum (default `true`); `false` leaves the
 *   field 0, for a segment that travels sealed (docs/wire-format.md, "No
 *   checksum inside a sealed datagram").
 * @returns Bytes written.
 * @throws {RangeError} If a field is out of range, the options exceed 40
 * bytes, the segment exceeds 65535 bytes or `buf` is too small.
 *
 * @example Emit a data segment
 * ```ts
 * import assert from "node:assert/strict";
 * import { emitSegment } from "./tcp_codec.ts";
 * import { ACK, PSH } from "./tcp_flags.ts";
 * import { seq } from "./seq.ts";
 * const buf = new Uint8Array(100);
 * const n = emitSegment({ srcPort: 1, dstPort: 2, seq: seq(7), ack: seq(9), flags: PSH | ACK,
 *   window: 512, urgentPointer: 0, options: {}, payload: new Uint8Array([104, 105]) }, buf, 4);
 * assert.equal(n, 22);
 * assert.equal(buf[4 + 12], 0x50); // data offset 5
 * assert.equal(buf[4 + 13], 0x18); // PSH|ACK
 * ```
 */
export function emitSegment(
  seg: TcpSegment,
  buf: Uint8Array,
  offset = 0,
  checksum = true,
): number {
  checkU16("source port", seg.srcPort);
  checkU16("destination port", seg.dstPort);
  checkU32("sequence number", seg.seq);
  checkU32("acknowledgment number", seg.ack);
  checkU16("window", seg.window);
  checkU16("urgent pointer", seg.urgentPointer);
  if ((seg.flags & 0xff) !== seg.flags) {
    throw new RangeError(`Cannot emit TCP segment: flags ${seg.flags} do not fit in 8 bits`);
  }
  const optionsLength = optionsEncodedLength(seg.options);
  const headerLength = TCP_HEADER_MIN_LEN + optionsLength;
  const total = headerLength + seg.payload.length;
  if (total > 0xffff) {
    throw new RangeError(`Cannot emit TCP segment: ${total} bytes exceed 65535`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + total > buf.length) {
    throw new RangeError(
      `Cannot emit a ${total}-byte TCP segment at offset ${offset} into a ${buf.length}-byte buffer`,
    );
  }
  const o = offset;
  buf[o] = seg.srcPort >>> 8;
  buf[o + 1] = seg.srcPort;
  buf[o + 2] = seg.dstPort >>> 8;
  buf[o + 3] = seg.dstPort;
  buf[o + 4] = seg.seq >>> 24;
  buf[o + 5] = seg.seq >>> 16;
  buf[o + 6] = seg.seq >>> 8;
  buf[o + 7] = seg.seq;
  buf[o + 8] = seg.ack >>> 24;
  buf[o + 9] = seg.ack >>> 16;
  buf[o + 10] = seg.ack >>> 8;
  buf[o + 11] = seg.ack;
  buf[o + 12] = (headerLength >>> 2) << 4; // RFC 9293 §3.1: data offset, reserved bits zero
  buf[o + 13] = seg.flags;
  buf[o + 14] = seg.window >>> 8;
  buf[o + 15] = seg.window;
  buf[o + 16] = 0;
  buf[o + 17] = 0;
  buf[o + 18] = seg.urgentPointer >>> 8;
  buf[o + 19] = seg.urgentPointer;
  if (optionsLength > 0) emitOptions(seg.options, buf, o + TCP_HEADER_MIN_LEN);
  buf.set(seg.payload, o + headerLength);
  if (checksum) {
    const sum = tcpChecksum(buf.subarray(o, o + total));
    buf[o + 16] = sum >>> 8;
    buf[o + 17] = sum;
  }
  return total;
}

/**
 * The canonical form of `seg`: what `parseSegment(emit(seg))` yields. Header
 * fields are kept, options go through {@linkcode normalizeOptions} (absent
 * and empty are the same; `sackPermitted: false` is absent), and any extra
 * properties are dropped. The payload is kept as is (not copied).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeSegment } from "./tcp_codec.ts";
 * import { seq } from "./seq.ts";
 * const seg = { srcPort: 1, dstPort: 2, seq: seq(0), ack: seq(0), flags: 0, window: 0,
 *   urgentPointer: 0, options: { unknown: [] }, payload: new Uint8Array(0) };
 * assert.deepEqual(normalizeSegment(seg).options, {});
 * ```
 */
export function normalizeSegment(seg: TcpSegment): TcpSegment {
  return {
    srcPort: seg.srcPort,
    dstPort: seg.dstPort,
    seq: seg.seq,
    ack: seg.ack,
    flags: seg.flags,
    window: seg.window,
    urgentPointer: seg.urgentPointer,
    options: normalizeOptions(seg.options),
    payload: seg.payload,
  };
}
