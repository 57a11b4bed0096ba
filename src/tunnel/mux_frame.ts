/**
 * The frames of a multiplexed tunnel session (`tou client --mux`): many
 * application streams carried over one tou connection, as kcptun's smux
 * carries them over one KCP session. Each frame has an 8-byte header:
 *
 * ```text
 *  0      1      2      3      4      5      6      7
 * +------+------+------+------+------+------+------+------+
 * | type | flags|    length   |         stream id         |
 * +------+------+------+------+------+------+------+------+
 * | payload (length bytes) ...
 * ```
 *
 * All numbers are big-endian. The session begins with the client's 8-byte
 * {@linkcode MUX_PREFACE}. docs/wire-format.md §"Multiplexed sessions" has
 * the whole protocol: stream ids, flow control (per-stream credit), and what
 * each frame means.
 *
 * @module
 */

/** The tunnel port a multiplexed session connects to (reserved: no service may use it). */
export const MUX_PORT = 65535;

/** The first 8 bytes a client sends on a multiplexed session: "TOUMUX", version 1, 0. */
export const MUX_PREFACE: Uint8Array = new Uint8Array([0x54, 0x4f, 0x55, 0x4d, 0x55, 0x58, 1, 0]);

/** Size of a frame header. */
export const MUX_HEADER = 8;

/** Largest payload of one frame. */
export const MUX_MAX_PAYLOAD = 0xffff;

/** Frame types. */
export const MuxType = {
  /** Opens a stream (client → server); payload: the service port (u16). */
  OPEN: 1,
  /** Stream bytes. */
  DATA: 2,
  /** End of the sender's direction (half-close, a FIN). */
  FIN: 3,
  /** The stream is reset; payload: a {@linkcode MuxResetCode} (u8). */
  RST: 4,
  /** Flow-control credit: the receiver read this many more bytes (u32). */
  WINDOW: 5,
} as const;

/** A frame type. */
export type MuxType = typeof MuxType[keyof typeof MuxType];

/** Why a stream was reset (the RST payload). */
export const MuxResetCode = {
  /** The other side reset it (its TCP side was reset, or it failed). */
  RESET: 0,
  /** No service on that tunnel port (as a RST to a SYN on a port without listener). */
  REFUSED: 1,
  /** The frames broke the protocol (e.g. more data than the credit allowed). */
  PROTOCOL: 2,
} as const;

/** A reset code. */
export type MuxResetCode = typeof MuxResetCode[keyof typeof MuxResetCode];

/**
 * Writes a frame header at `at` of `buf`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MuxType, writeMuxHeader } from "./mux_frame.ts";
 * const b = new Uint8Array(8);
 * writeMuxHeader(b, 0, MuxType.DATA, 5, 7);
 * assert.deepEqual([...b], [2, 0, 0, 5, 0, 0, 0, 7]);
 * ```
 */
export function writeMuxHeader(
  buf: Uint8Array,
  at: number,
  type: MuxType,
  length: number,
  id: number,
): void {
  buf[at] = type;
  buf[at + 1] = 0;
  buf[at + 2] = length >>> 8;
  buf[at + 3] = length & 0xff;
  buf[at + 4] = id >>> 24;
  buf[at + 5] = (id >>> 16) & 0xff;
  buf[at + 6] = (id >>> 8) & 0xff;
  buf[at + 7] = id & 0xff;
}

/** The payload length of the header at `at`. */
export function muxLength(buf: Uint8Array, at: number): number {
  return (buf[at + 2] << 8) | buf[at + 3];
}

/** The stream id of the header at `at`. */
export function muxStreamId(buf: Uint8Array, at: number): number {
  return ((buf[at + 4] << 24) | (buf[at + 5] << 16) | (buf[at + 6] << 8) | buf[at + 7]) >>> 0;
}

/** Whether `buf` starts with {@linkcode MUX_PREFACE}. */
export function isMuxPreface(buf: Uint8Array): boolean {
  if (buf.length < MUX_PREFACE.length) return false;
  for (let i = 0; i < MUX_PREFACE.length; i++) if (buf[i] !== MUX_PREFACE[i]) return false;
  return true;
}
