/**
 * Internal: the byte layout of a sealed datagram (see `sealed_socket.ts` and
 * docs/security.md) and allocation-free helpers to read it in place.
 *
 * @module
 */

import { SESSION_SALT_LEN } from "./key_schedule.ts";
// The envelope codec is pure (wire -> time only), so this edge adds no cycle.
import {
  emitEnvelope,
  ENVELOPE_HEADER_LEN,
  EnvelopeType,
  parseEnvelope,
} from "../wire/envelope.ts";

/** Session salt: 16 bytes after the envelope header. */
export const SALT_LEN: number = SESSION_SALT_LEN;
/** Counter: u64 big-endian after the salt; also the nonce's last 8 bytes. */
export const COUNTER_LEN: number = 8;
/** Send time: u32 big-endian seconds after the counter. */
export const TIME_LEN: number = 4;
/** Poly1305 tag at the end. */
export const TAG_LEN: number = 16;
/** Bytes between the envelope header and the ciphertext. */
export const FIELDS_LEN: number = SALT_LEN + COUNTER_LEN + TIME_LEN;
/** Envelope header plus fields: the associated data (32 bytes). */
export const HEADER_LEN: number = ENVELOPE_HEADER_LEN + FIELDS_LEN;
/** 2^32, to split and join the u64 counter. */
export const TWO_32: number = 2 ** 32;
/** Counters stay below 2^53 so they are exact JS numbers. */
export const MAX_COUNTER_HI: number = 0x1f_ffff;

/** Reads the big-endian u32 at `off`. */
export function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** Writes `v` as a big-endian u32 at `off`. */
export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** Whether `salt` equals the 16 bytes of `b` at `off` (no view allocated). */
export function saltAt(salt: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < SALT_LEN; i++) if (salt[i] !== b[off + i]) return false;
  return true;
}

/** The map key of the 16-byte salt at `off` in `b`. */
export function saltId(b: Uint8Array, off = 0): string {
  return String.fromCharCode(
    (b[off] << 8) | b[off + 1],
    (b[off + 2] << 8) | b[off + 3],
    (b[off + 4] << 8) | b[off + 5],
    (b[off + 6] << 8) | b[off + 7],
    (b[off + 8] << 8) | b[off + 9],
    (b[off + 10] << 8) | b[off + 11],
    (b[off + 12] << 8) | b[off + 13],
    (b[off + 14] << 8) | b[off + 15],
  );
}

/** The envelope header a sealed socket emits (version 0, Hlen 0, SEALED, flags 0). */
export const SEALED_HEAD: Uint8Array = (() => {
  const h = new Uint8Array(ENVELOPE_HEADER_LEN);
  emitEnvelope(EnvelopeType.SEALED, 0, h, 0);
  return h;
})();

/**
 * Offset of the sealed body in `data`, or -1 when `data` is not a SEALED
 * envelope. The usual header (Hlen 0) is recognised without parsing;
 * anything else goes through `parseEnvelope`, so both accept the same set.
 */
export function sealedBodyOffset(data: Uint8Array): number {
  if (
    data.length >= ENVELOPE_HEADER_LEN && data[0] === SEALED_HEAD[0] && data[1] === SEALED_HEAD[1]
  ) {
    return ENVELOPE_HEADER_LEN;
  }
  const env = parseEnvelope(data);
  if (!env.ok || env.value.type !== EnvelopeType.SEALED) return -1;
  return env.value.body.byteOffset - data.byteOffset;
}
