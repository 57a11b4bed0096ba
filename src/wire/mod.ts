/**
 * Pure wire codecs of tou: sequence arithmetic, TCP flags, the TCP segment
 * repr and codec, the zero-copy header view, options, checksums and the
 * envelope header. Nothing here performs I/O or reads a clock.
 *
 * @example Envelope + segment round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   ACK, emitEnvelope, emitSegment, ENVELOPE_HEADER_LEN, EnvelopeType, parseEnvelope,
 *   parseSegment, PSH, seq,
 * } from "./mod.ts";
 * const seg = { srcPort: 5000, dstPort: 6000, seq: seq(1), ack: seq(2), flags: PSH | ACK,
 *   window: 1024, urgentPointer: 0, options: {}, payload: new TextEncoder().encode("hi") };
 * const buf = new Uint8Array(64);
 * emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf);
 * const n = ENVELOPE_HEADER_LEN + emitSegment(seg, buf, ENVELOPE_HEADER_LEN);
 * const env = parseEnvelope(buf.subarray(0, n));
 * assert.ok(env.ok);
 * const r = parseSegment(env.value.body);
 * assert.ok(r.ok);
 * assert.deepEqual(r.value, seg);
 * ```
 *
 * @module
 */

export * from "./seq.ts";
export * from "./tcp_flags.ts";
export * from "./tcp_segment.ts";
export * from "./wire_error.ts";
export * from "./checksum.ts";
export * from "./tcp_header_view.ts";
export * from "./tcp_options.ts";
export {
  emitSegment,
  normalizeSegment,
  parseSegment,
  type ParseSegmentOptions,
  segmentEncodedLength,
} from "./tcp_codec.ts";
export * from "./envelope.ts";
export { type DatagramResult, decodeDatagram, type DecodedDatagram } from "./datagram.ts";
