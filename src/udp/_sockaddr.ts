/**
 * Internal: `struct sockaddr_in` / `sockaddr_in6` encoding and a decoder
 * that returns the same {@linkcode DatagramAddr} object while the sender
 * does not change (no allocation per received datagram).
 *
 * Layouts (Linux, identical on x86_64 and aarch64):
 * - sockaddr_in, 16 bytes: family u16 (host order), port u16 (network
 *   order), address 4 bytes, 8 bytes zero;
 * - sockaddr_in6, 28 bytes: family u16, port u16 (network order),
 *   flowinfo u32, address 16 bytes, scope id u32.
 *
 * @module
 */

import type { DatagramAddr } from "./datagram_socket.ts";
import { canonicalIp } from "./addr.ts";
import { AF_INET, AF_INET6 } from "./_libc.ts";

/** Bytes reserved per socket address (sockaddr_in6 is 28; rounded up). */
export const SOCKADDR_SLOT = 32;
/** sockaddr_in length. */
export const SOCKADDR_IN_LEN = 16;
/** sockaddr_in6 length. */
export const SOCKADDR_IN6_LEN = 28;

/** The 16 address bytes of an IPv6 literal (canonical or not); `undefined` if not IPv6. */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  const canon = canonicalIp(text);
  if (canon === undefined || !canon.includes(":")) return undefined;
  const body = canon.split("%")[0];
  const out = new Uint8Array(16);
  const [head, tail] = body.includes("::") ? body.split("::") : [body, undefined];
  const words = (s: string): number[] => {
    if (s === "") return [];
    const r: number[] = [];
    for (const part of s.split(":")) {
      if (part.includes(".")) {
        const q = part.split(".").map(Number);
        r.push((q[0] << 8) | q[1], (q[2] << 8) | q[3]);
      } else r.push(parseInt(part, 16));
    }
    return r;
  };
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

/**
 * Writes `addr` as a sockaddr into `buf` at `off`; returns its length.
 * `addr.hostname` must be an IP literal (validated by the caller).
 */
export function encodeSockaddr(addr: DatagramAddr, buf: Uint8Array, off = 0): number {
  const dv = new DataView(buf.buffer, buf.byteOffset + off, SOCKADDR_SLOT);
  buf.fill(0, off, off + SOCKADDR_SLOT);
  if (!addr.hostname.includes(":")) {
    dv.setUint16(0, AF_INET, true);
    dv.setUint16(2, addr.port, false);
    const q = addr.hostname.split(".").map(Number);
    for (let i = 0; i < 4; i++) buf[off + 4 + i] = q[i];
    return SOCKADDR_IN_LEN;
  }
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, addr.port, false);
  buf.set(ipv6Bytes(addr.hostname)!, off + 8);
  return SOCKADDR_IN6_LEN;
}

/** The sockaddr of the AF_UNSPEC family (dissolves a UDP association). */
export function unspecSockaddr(): Uint8Array {
  return new Uint8Array(SOCKADDR_IN_LEN); // family 0
}

/** Decodes a sockaddr; `undefined` for a family other than IPv4/IPv6. */
export function decodeSockaddr(buf: Uint8Array, off = 0): DatagramAddr | undefined {
  const family = buf[off] | (buf[off + 1] << 8);
  const port = (buf[off + 2] << 8) | buf[off + 3];
  if (family === AF_INET) {
    return {
      hostname: `${buf[off + 4]}.${buf[off + 5]}.${buf[off + 6]}.${buf[off + 7]}`,
      port,
    };
  }
  if (family === AF_INET6) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) {
      groups.push(((buf[off + 8 + 2 * i] << 8) | buf[off + 9 + 2 * i]).toString(16));
    }
    return { hostname: canonicalIp(groups.join(":"))!, port };
  }
  return undefined;
}

/**
 * Decodes received sockaddrs, returning the previous object when the bytes
 * are the same as last time (the usual case: one peer per socket).
 */
export class SockaddrCache {
  readonly #last = new Uint32Array(SOCKADDR_SLOT / 4);
  #addr: DatagramAddr | undefined;

  /** The address in `words` (a sockaddr slot viewed as 8 u32s) at word index `w`. */
  decode(words: Uint32Array, w: number, bytes: Uint8Array): DatagramAddr | undefined {
    const last = this.#last;
    // Family+port, v4 address / flowinfo, then the v6 address: 7 words cover both layouts.
    if (
      this.#addr !== undefined && words[w] === last[0] && words[w + 1] === last[1] &&
      words[w + 2] === last[2] && words[w + 3] === last[3] && words[w + 4] === last[4] &&
      words[w + 5] === last[5] && words[w + 6] === last[6]
    ) return this.#addr;
    const a = decodeSockaddr(bytes, w * 4);
    if (a === undefined) return undefined;
    for (let i = 0; i < 7; i++) last[i] = words[w + i];
    this.#addr = a;
    return a;
  }

  /**
   * When `addr` is the object the last {@linkcode SockaddrCache.decode}
   * returned, writes its sockaddr (as received) into `out` (a slot of
   * {@linkcode SOCKADDR_SLOT} bytes, zeroed beyond) and returns its length;
   * else 0. An answer to the datagram just received (a SYN-ACK to a SYN)
   * then needs no address text parsed back into bytes.
   */
  encodeLast(addr: DatagramAddr, out: Uint8Array): number {
    if (addr !== this.#addr) return 0;
    const last = new Uint8Array(this.#last.buffer, 0, SOCKADDR_SLOT);
    const family = last[0] | (last[1] << 8);
    const len = family === AF_INET ? SOCKADDR_IN_LEN : SOCKADDR_IN6_LEN;
    out.set(last.subarray(0, len));
    out.fill(0, len, SOCKADDR_SLOT);
    return len;
  }
}
