/**
 * `decodeDatagram()`: a whole tou datagram (envelope, then the TCP segment
 * it carries) in one call, for everything that looks at datagrams from the
 * outside (traces, the tunnel's segment observer, the lab's loss rules).
 * Never throws: malformed input comes back as a {@linkcode WireError} that
 * says which layer failed.
 *
 * @module
 */

import { type Envelope, EnvelopeType, parseEnvelope } from "./envelope.ts";
import { parseSegment, type ParseSegmentOptions } from "./tcp_codec.ts";
import type { TcpSegment } from "./tcp_segment.ts";
import type { WireError } from "./wire_error.ts";

/**
 * A decoded datagram: the TCP segment it carries, or, for any other
 * envelope type (sealed, control), the envelope itself.
 */
export type DecodedDatagram =
  | {
    /** A TCP segment envelope. */
    readonly kind: "segment";
    /** The envelope. */
    readonly envelope: Envelope;
    /** The segment; its payload is a view into the datagram. */
    readonly segment: TcpSegment;
  }
  | {
    /** Another envelope type (`EnvelopeType.SEALED`, a control message). */
    readonly kind: "other";
    /** The envelope; `body` is a view into the datagram. */
    readonly envelope: Envelope;
  };

/** The outcome of {@linkcode decodeDatagram}. */
export type DatagramResult =
  | { readonly ok: true; readonly value: DecodedDatagram }
  | {
    readonly ok: false;
    /** Which layer did not decode: the envelope header, or the TCP segment in it. */
    readonly layer: "envelope" | "segment";
    /** Why, with a machine-readable `reason`. */
    readonly error: WireError;
  };

/**
 * Decodes a tou datagram: the envelope, then (for a TCP segment envelope)
 * the segment. Never throws.
 *
 * @param bytes The UDP payload.
 * @param opts Segment options; `verifyChecksum: false` for observers that
 *   only look (the checksum is then the receiving stack's business).
 * @returns The segment or the other envelope, or which layer failed and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeDatagram } from "./datagram.ts";
 * const bad = decodeDatagram(new Uint8Array([0x00, 0x06, 0x00, 0x00, 0x01]));
 * assert.ok(!bad.ok);
 * assert.equal(bad.layer, "segment");
 * assert.equal(bad.error.reason, "truncated-header");
 * const short = decodeDatagram(new Uint8Array([1]));
 * assert.ok(!short.ok && short.layer === "envelope");
 * ```
 */
export function decodeDatagram(bytes: Uint8Array, opts?: ParseSegmentOptions): DatagramResult {
  const env = parseEnvelope(bytes);
  if (!env.ok) return { ok: false, layer: "envelope", error: env.error };
  const envelope = env.value;
  if (envelope.type !== EnvelopeType.TCP_SEGMENT) {
    return { ok: true, value: { kind: "other", envelope } };
  }
  const seg = parseSegment(envelope.body, opts);
  if (!seg.ok) return { ok: false, layer: "segment", error: seg.error };
  return { ok: true, value: { kind: "segment", envelope, segment: seg.value } };
}
