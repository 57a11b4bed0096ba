/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret), where M
 * is a 4-microsecond timer and F a keyed hash (here SipHash-2-4).
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seq } from "../wire/seq.ts";
import { siphash24Low32 } from "./siphash.ts";

/** The connection identifier hashed into the ISN. */
export interface IsnTuple {
  /** Local address as text (e.g. "127.0.0.1" or "::1"). */
  readonly localAddr: string;
  /** Local port. */
  readonly localPort: number;
  /** Remote address as text. */
  readonly remoteAddr: string;
  /** Remote port. */
  readonly remotePort: number;
}

/** Longest address text hashed; longer addresses are truncated (never happens for IPs). */
const MAX_ADDR_BYTES = 255;
/** Most bytes {@linkcode encodeTupleInto} writes. */
export const TUPLE_MAX_BYTES = 2 * (1 + MAX_ADDR_BYTES + 2);
const scratch = new Uint8Array(TUPLE_MAX_BYTES);
const encoder = new TextEncoder();

function encodeTuple(tuple: IsnTuple): Uint8Array {
  return scratch.subarray(0, encodeTupleInto(tuple, scratch));
}

/**
 * Encodes the tuple at the start of `buf` (at least {@linkcode TUPLE_MAX_BYTES}
 * long) as: len(localAddr) u8, localAddr UTF-8, localPort u16 BE, then the
 * same for the remote side. Length prefixes keep it unambiguous. Also the
 * SYN-cookie hash input (`syn_cookie.ts`).
 *
 * @returns The number of bytes written.
 */
export function encodeTupleInto(tuple: IsnTuple, buf: Uint8Array): number {
  const p = encodeSide(buf, tuple.localAddr, tuple.localPort, 0);
  return encodeSide(buf, tuple.remoteAddr, tuple.remotePort, p);
}

function encodeSide(buf: Uint8Array, addr: string, port: number, p: number): number {
  // IP literals are ASCII: copy their char codes (no TextEncoder call, no subarray per SYN)
  const n = addr.length;
  let written = 0;
  if (n <= MAX_ADDR_BYTES) {
    for (; written < n; written++) {
      const c = addr.charCodeAt(written);
      if (c > 0x7f) break;
      buf[p + 1 + written] = c;
    }
  }
  if (written !== n) {
    written = encoder.encodeInto(addr, buf.subarray(p + 1, p + 1 + MAX_ADDR_BYTES)).written;
  }
  buf[p] = written;
  p += 1 + written;
  buf[p] = (port >>> 8) & 0xff;
  buf[p + 1] = port & 0xff;
  return p + 2;
}

/**
 * RFC 6528 §3 ISN: `M + F(localip, localport, remoteip, remoteport, secretkey)`
 * mod 2^32, where M = floor(now · 250) counts 4-µs ticks and F is the low 32
 * bits of SipHash-2-4 keyed with `secret` over the encoded tuple (addresses as
 * UTF-8 text, each with a length byte, ports as 16-bit big-endian).
 *
 * @param secret 16 random bytes chosen once per stack (RFC 6528 §3 secretkey).
 * @param tuple The connection's addresses and ports.
 * @param now The current time in ms.
 * @returns The initial send sequence number.
 * @throws {RangeError} When `secret` is not 16 bytes.
 *
 * @example The ISN advances 250 per ms
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateIsn } from "./isn.ts";
 * import { seqSub } from "../wire/seq.ts";
 *
 * const secret = new Uint8Array(16).fill(7);
 * const tuple = { localAddr: "10.0.0.1", localPort: 4000, remoteAddr: "10.0.0.2", remotePort: 80 };
 * const a = generateIsn(secret, tuple, 1000);
 * const b = generateIsn(secret, tuple, 1010);
 * assert.equal(seqSub(b, a), 2500);
 * ```
 */
export function generateIsn(secret: Uint8Array, tuple: IsnTuple, now: Instant): Seq {
  // RFC 6528 §3: M is a timer incremented every 4 microseconds
  const m = Math.floor(now * 250) % 4294967296;
  const f = siphash24Low32(secret, encodeTuple(tuple));
  return seq(m + f);
}
