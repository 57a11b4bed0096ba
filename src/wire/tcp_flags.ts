/**
 * TCP control bits (RFC 9293 §3.1, RFC 3168 for CWR/ECE), as a bitmask in
 * the low byte of header bytes 12–13.
 *
 * @module
 */

/** FIN: no more data from sender. */
export const FIN = 0x01;
/** SYN: synchronize sequence numbers. */
export const SYN = 0x02;
/** RST: reset the connection. */
export const RST = 0x04;
/** PSH: push function. */
export const PSH = 0x08;
/** ACK: acknowledgment field is significant. */
export const ACK = 0x10;
/** URG: urgent pointer field is significant. */
export const URG = 0x20;
/** ECE: ECN-Echo (RFC 3168). */
export const ECE = 0x40;
/** CWR: congestion window reduced (RFC 3168). */
export const CWR = 0x80;

/**
 * Renders flags the way tcpdump does, e.g. `"S."` for SYN+ACK, `"P."` for PSH+ACK.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACK, formatFlags, SYN } from "./tcp_flags.ts";
 * assert.equal(formatFlags(SYN | ACK), "S.");
 * ```
 */
export function formatFlags(flags: number): string {
  let s = "";
  if (flags & SYN) s += "S";
  if (flags & FIN) s += "F";
  if (flags & RST) s += "R";
  if (flags & PSH) s += "P";
  if (flags & URG) s += "U";
  if (flags & ECE) s += "E";
  if (flags & CWR) s += "W";
  if (flags & ACK) s += ".";
  return s === "" ? "none" : s;
}
