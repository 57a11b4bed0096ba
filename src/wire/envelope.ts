/**
 * The tou envelope: a 4-byte header in front of every TCP segment inside a
 * UDP datagram, modelled on GUE (draft-ietf-intarea-gue §3.1).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|C|  Hlen   |  Proto/ctype  |             Flags             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~          Extension fields (Hlen words, none in version 0)     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Byte-by-byte description: docs/wire-format.md.
 *
 * @module
 */

import { wireFail, type WireResult } from "./wire_error.ts";

/** Bytes of the envelope header as tou emits it (same value as `src/tcp/config.ts`). */
export const ENVELOPE_HEADER_LEN = 4;

/** The only envelope version defined (the two top bits of byte 0). */
export const ENVELOPE_VERSION = 0;

/** Bit 8 of an {@linkcode EnvelopeType} code: GUE's C bit, set for control messages. */
export const ENVELOPE_CONTROL_BIT = 0x100;

/**
 * Envelope type codes: bits 0–7 are byte 1 of the header (the payload type,
 * or the control type for control messages) and bit 8 is the C bit.
 */
export const EnvelopeType = {
  /** A TCP segment follows (6, the IP protocol number of TCP). */
  TCP_SEGMENT: 0x006,
  /** An AEAD-sealed payload follows (reserved for authenticated encryption). */
  SEALED: 0x080,
  /** Control message (C = 1), control type 1: an unreachable notice (reserved, no body defined yet). */
  CONTROL_UNREACHABLE: 0x101,
} as const;

/** One of the {@linkcode EnvelopeType} codes. */
export type EnvelopeType = typeof EnvelopeType[keyof typeof EnvelopeType];

/** A decoded envelope. */
export interface Envelope {
  /** Payload or control type. */
  readonly type: EnvelopeType;
  /** The 16 flag bits (0 in version 0; unknown bits are passed up, not rejected). */
  readonly flags: number;
  /** What follows the header and its extension fields; a view, not a copy. */
  readonly body: Uint8Array;
}

function isEnvelopeType(code: number): code is EnvelopeType {
  return code === EnvelopeType.TCP_SEGMENT || code === EnvelopeType.SEALED ||
    code === EnvelopeType.CONTROL_UNREACHABLE;
}

/**
 * Whether `type` is a control message (C bit set).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EnvelopeType, isControlType } from "./envelope.ts";
 * assert.ok(isControlType(EnvelopeType.CONTROL_UNREACHABLE));
 * assert.ok(!isControlType(EnvelopeType.TCP_SEGMENT));
 * ```
 */
export function isControlType(type: EnvelopeType): boolean {
  return (type & ENVELOPE_CONTROL_BIT) !== 0;
}

/**
 * Decodes an envelope header. Never throws. Rejects fewer than 4 bytes, a
 * version other than 0, extension fields (Hlen words) running past the end,
 * and types version 0 does not define. Extension fields are skipped.
 *
 * @param bytes The UDP payload.
 * @returns Type, flags and body, or the {@linkcode WireError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EnvelopeType, parseEnvelope } from "./envelope.ts";
 * const r = parseEnvelope(new Uint8Array([0x00, 0x06, 0x00, 0x00, 0xaa]));
 * assert.ok(r.ok);
 * assert.equal(r.value.type, EnvelopeType.TCP_SEGMENT);
 * assert.deepEqual([...r.value.body], [0xaa]);
 * ```
 */
export function parseEnvelope(bytes: Uint8Array): WireResult<Envelope> {
  if (bytes.length < ENVELOPE_HEADER_LEN) {
    return wireFail("truncated-envelope", `${bytes.length} bytes is shorter than 4`);
  }
  const b0 = bytes[0];
  const version = b0 >>> 6;
  if (version !== ENVELOPE_VERSION) {
    return wireFail("bad-envelope-version", `version ${version} is not 0`);
  }
  // draft-ietf-intarea-gue §3.1: Hlen counts 32-bit words after the first four bytes.
  const headerLength = ENVELOPE_HEADER_LEN + (b0 & 0x1f) * 4;
  if (headerLength > bytes.length) {
    return wireFail(
      "truncated-envelope",
      `header of ${headerLength} bytes exceeds the ${bytes.length}-byte datagram`,
    );
  }
  const code = ((b0 & 0x20) << 3) | bytes[1];
  if (!isEnvelopeType(code)) {
    return wireFail(
      "unknown-envelope-type",
      `${code & ENVELOPE_CONTROL_BIT ? "control" : "payload"} type ${bytes[1]} is not defined`,
    );
  }
  return {
    ok: true,
    value: { type: code, flags: (bytes[2] << 8) | bytes[3], body: bytes.subarray(headerLength) },
  };
}

/**
 * Writes a version-0 envelope header (Hlen 0) at `offset` and returns 4.
 *
 * @param type Payload or control type.
 * @param flags The 16 flag bits; 0 in version 0.
 * @param buf Destination.
 * @param offset Where to write. Default 0.
 * @returns {@linkcode ENVELOPE_HEADER_LEN}.
 * @throws {RangeError} If `type` is not an {@linkcode EnvelopeType}, `flags`
 * is not 16-bit, or `buf` lacks 4 bytes at `offset`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emitEnvelope, EnvelopeType } from "./envelope.ts";
 * const buf = new Uint8Array(4);
 * assert.equal(emitEnvelope(EnvelopeType.CONTROL_UNREACHABLE, 0, buf), 4);
 * assert.deepEqual([...buf], [0x20, 0x01, 0x00, 0x00]);
 * ```
 */
export function emitEnvelope(
  type: EnvelopeType,
  flags: number,
  buf: Uint8Array,
  offset = 0,
): number {
  if (!isEnvelopeType(type)) {
    throw new RangeError(`Cannot emit envelope: type ${type} is not an EnvelopeType`);
  }
  if ((flags & 0xffff) !== flags) {
    throw new RangeError(`Cannot emit envelope: flags ${flags} do not fit in 16 bits`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + ENVELOPE_HEADER_LEN > buf.length) {
    throw new RangeError(
      `Cannot emit envelope at offset ${offset} into a ${buf.length}-byte buffer`,
    );
  }
  buf[offset] = (ENVELOPE_VERSION << 6) | ((type & ENVELOPE_CONTROL_BIT) >>> 3);
  buf[offset + 1] = type & 0xff;
  buf[offset + 2] = flags >>> 8;
  buf[offset + 3] = flags & 0xff;
  return ENVELOPE_HEADER_LEN;
}
