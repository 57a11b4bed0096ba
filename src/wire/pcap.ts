/**
 * Classic libpcap capture files (the format tcpdump `-w` writes and
 * Wireshark reads) carrying tou's TCP segments as native TCP over IPv4 or
 * IPv6: an IP header is made up from the outer UDP addresses, and the TCP
 * checksum is rewritten for that IP pseudo-header (RFC 9293 §3.1), so that
 * Wireshark's own TCP analysis (retransmissions, dup ACKs, window full)
 * works on a tou conversation. Pure codecs; the file I/O is in
 * `src/udp/pcap_socket.ts`.
 *
 * Layouts: pcap global header and record header as in
 * draft-ietf-opsawg-pcap §4–5 (little-endian, microsecond timestamps),
 * link type `LINKTYPE_RAW` (101: the packet starts with an IPv4 or IPv6
 * header, told apart by its version nibble).
 *
 * @module
 */

import { onesComplementSum, TCP_CHECKSUM_OFFSET, TCP_PROTOCOL, tcpChecksum } from "./checksum.ts";

/** `LINKTYPE_RAW`: raw IPv4 or IPv6 packets, no link-layer header. */
export const LINKTYPE_RAW = 101;

/** Bytes of the pcap global (file) header. */
export const PCAP_FILE_HEADER_LEN = 24;

/** Bytes of a pcap record (per-packet) header. */
export const PCAP_RECORD_HEADER_LEN = 16;

/** Bytes of an IPv4 header without options. */
export const IPV4_HEADER_LEN = 20;

/** Bytes of an IPv6 fixed header. */
export const IPV6_HEADER_LEN = 40;

/** Largest packet a record keeps whole (the file header's snap length). */
export const PCAP_SNAPLEN = 262_144;

/**
 * The 24-byte pcap file header: magic 0xa1b2c3d4 (little-endian, so a
 * reader sees `d4 c3 b2 a1`), version 2.4, zone 0, sigfigs 0, snap length,
 * link type.
 *
 * @param linkType Link type of every record (default {@linkcode LINKTYPE_RAW}).
 * @returns The header bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pcapFileHeader } from "./pcap.ts";
 * const h = pcapFileHeader();
 * assert.deepEqual([...h.subarray(0, 4)], [0xd4, 0xc3, 0xb2, 0xa1]);
 * assert.equal(h[20], 101);
 * ```
 */
export function pcapFileHeader(linkType: number = LINKTYPE_RAW): Uint8Array {
  const b = new Uint8Array(PCAP_FILE_HEADER_LEN);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, PCAP_SNAPLEN, true);
  v.setUint32(20, linkType, true);
  return b;
}

/**
 * Writes a 16-byte pcap record header at `buf[offset]`: timestamp (seconds,
 * microseconds), captured length, original length.
 *
 * @param buf Destination; needs 16 bytes at `offset`.
 * @param offset Where the header starts.
 * @param timeMs Capture time in ms since the Unix epoch (fractions kept to the µs).
 * @param length Packet length (captured = original: records are never truncated).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writePcapRecordHeader } from "./pcap.ts";
 * const b = new Uint8Array(16);
 * writePcapRecordHeader(b, 0, 1500.25, 40);
 * const v = new DataView(b.buffer);
 * assert.deepEqual([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)], [1, 500250, 40]);
 * ```
 */
export function writePcapRecordHeader(
  buf: Uint8Array,
  offset: number,
  timeMs: number,
  length: number,
): void {
  const v = new DataView(buf.buffer, buf.byteOffset + offset, PCAP_RECORD_HEADER_LEN);
  const us = Math.max(0, Math.round(timeMs * 1000));
  v.setUint32(0, Math.floor(us / 1_000_000), true);
  v.setUint32(4, us % 1_000_000, true);
  v.setUint32(8, length, true);
  v.setUint32(12, length, true);
}

/**
 * The bytes of an IPv4 ("10.0.0.1") or IPv6 ("::1", "fe80::1%eth0",
 * "::ffff:10.0.0.1") address literal, or undefined when `text` is not one.
 * An IPv4-mapped IPv6 address comes back as its 4 IPv4 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipBytes } from "./pcap.ts";
 * assert.deepEqual([...ipBytes("10.0.0.1")!], [10, 0, 0, 1]);
 * assert.equal(ipBytes("::1")!.length, 16);
 * assert.deepEqual([...ipBytes("::ffff:127.0.0.1")!], [127, 0, 0, 1]);
 * assert.equal(ipBytes("nope"), undefined);
 * ```
 */
export function ipBytes(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4) return v4;
  const pct = text.indexOf("%");
  let s = pct >= 0 ? text.slice(0, pct) : text;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const v6 = parseIpv6(s);
  if (!v6) return undefined;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

/**
 * The 4 bytes of an IPv4 literal, or `undefined` when `text` is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIpv4 } from "./pcap.ts";
 * assert.deepEqual(parseIpv4("127.0.0.1"), new Uint8Array([127, 0, 0, 1]));
 * ```
 */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * The 16 bytes of an IPv6 literal (with `::` and an optional trailing IPv4
 * part), or `undefined` when `text` is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIpv6 } from "./pcap.ts";
 * const b = parseIpv6("::1");
 * assert.equal(b?.[15], 1);
 * assert.equal(parseIpv6("::ffff:1.2.3.4")?.[12], 1);
 * ```
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  return out;
}

/** Sum of the 16-bit words of both addresses (same length, 4 or 16 bytes). */
function addressSum(src: Uint8Array, dst: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < src.length; i += 2) {
    s += (src[i] << 8) | src[i + 1];
    s += (dst[i] << 8) | dst[i + 1];
  }
  return s;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * The length of the IP packet {@linkcode writeIpTcpPacket} makes of a TCP
 * segment of `segmentLength` bytes between addresses of `addrLength` bytes.
 */
export function ipPacketLength(addrLength: 4 | 16, segmentLength: number): number {
  return (addrLength === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) + segmentLength;
}

/**
 * Writes an IPv4 (4-byte addresses) or IPv6 (16-byte) packet carrying
 * `segment` into `buf[offset]`, and rewrites the copied segment's checksum
 * for the real pseudo-header. The rewrite is the RFC 1624 incremental update
 * from tou's zero-address checksum (`new = ~(~old + address words)`), so a
 * segment whose tou checksum was valid gets a valid IP checksum and a
 * corrupt one stays corrupt. IPv4: no options, DF set, TTL 64, the given
 * identification, header checksum computed. IPv6: hop limit 64, no
 * extension headers (the TCP length is the same in both pseudo-headers).
 *
 * @param buf Destination; needs {@linkcode ipPacketLength} bytes at `offset`.
 * @param offset Where the packet starts.
 * @param src Source address bytes.
 * @param dst Destination address bytes (same family as `src`).
 * @param segment The TCP segment as tou sent it (header, options, payload).
 * @param ipId IPv4 identification (ignored for IPv6).
 * @param computeChecksum Compute the checksum from scratch instead of
 *   updating the one the segment carries: for segments that travelled sealed,
 *   whose checksum field is 0 (docs/wire-format.md, "No checksum inside a
 *   sealed datagram"). Default `false`.
 * @returns Bytes written.
 * @throws {RangeError} When the address lengths differ or are not 4 or 16.
 *
 * @example A SYN from 10.0.0.1 to 10.0.0.2
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipPacketLength, writeIpTcpPacket } from "./pcap.ts";
 * import { internetChecksum } from "./checksum.ts";
 * const seg = new Uint8Array(20);
 * seg[12] = 0x50; // data offset 5, checksum field left 0 (not a valid tou checksum)
 * const buf = new Uint8Array(ipPacketLength(4, 20));
 * writeIpTcpPacket(buf, 0, new Uint8Array([10, 0, 0, 1]), new Uint8Array([10, 0, 0, 2]), seg, 7);
 * assert.equal(buf[0], 0x45);
 * assert.equal(internetChecksum(buf.subarray(0, 20)), 0); // the IPv4 header checksum verifies
 * ```
 */
export function writeIpTcpPacket(
  buf: Uint8Array,
  offset: number,
  src: Uint8Array,
  dst: Uint8Array,
  segment: Uint8Array,
  ipId = 0,
  computeChecksum = false,
): number {
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new RangeError(
      `Cannot build an IP packet from addresses of ${src.length} and ${dst.length} bytes`,
    );
  }
  const v4 = src.length === 4;
  const hlen = v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  const total = hlen + segment.length;
  const h = buf.subarray(offset, offset + hlen);
  h.fill(0);
  if (v4) {
    h[0] = 0x45;
    h[2] = total >> 8;
    h[3] = total & 0xff;
    h[4] = (ipId >> 8) & 0xff;
    h[5] = ipId & 0xff;
    h[6] = 0x40; // DF
    h[8] = 64; // TTL
    h[9] = TCP_PROTOCOL;
    h.set(src, 12);
    h.set(dst, 16);
    const c = ~onesComplementSum(h) & 0xffff;
    h[10] = c >> 8;
    h[11] = c & 0xff;
  } else {
    h[0] = 0x60;
    h[4] = segment.length >> 8;
    h[5] = segment.length & 0xff;
    h[6] = TCP_PROTOCOL; // next header
    h[7] = 64; // hop limit
    h.set(src, 8);
    h.set(dst, 24);
  }
  const t = offset + hlen;
  buf.set(segment, t);
  if (segment.length >= TCP_CHECKSUM_OFFSET + 2) {
    if (computeChecksum) {
      // tou's zero-address checksum first; the update below adds the addresses.
      const sum = tcpChecksum(buf.subarray(t, t + segment.length));
      buf[t + TCP_CHECKSUM_OFFSET] = sum >> 8;
      buf[t + TCP_CHECKSUM_OFFSET + 1] = sum & 0xff;
    }
    // RFC 1624 eqn. 3 with m = 0: tou's pseudo-header has zero addresses.
    const old = (buf[t + TCP_CHECKSUM_OFFSET] << 8) | buf[t + TCP_CHECKSUM_OFFSET + 1];
    const updated = ~fold((~old & 0xffff) + addressSum(src, dst)) & 0xffff;
    buf[t + TCP_CHECKSUM_OFFSET] = updated >> 8;
    buf[t + TCP_CHECKSUM_OFFSET + 1] = updated & 0xff;
  }
  return total;
}

/** One record of a pcap file. */
export interface PcapRecord {
  /** Capture time, ms since the Unix epoch. */
  readonly timeMs: number;
  /** The captured bytes (a view into the file). */
  readonly data: Uint8Array;
}

/** A parsed pcap file. */
export interface PcapFile {
  /** Link type of the records. */
  readonly linkType: number;
  /** The records in file order. */
  readonly records: readonly PcapRecord[];
}

/**
 * Reads a classic pcap file (either byte order, µs or ns timestamps).
 * Never throws: a file that is not pcap comes back as an error message, a
 * truncated last record is left out.
 *
 * @param bytes The whole file.
 * @returns The link type and records, or why not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePcap, pcapFileHeader } from "./pcap.ts";
 * const r = parsePcap(pcapFileHeader());
 * assert.ok(r.ok && r.value.records.length === 0);
 * assert.ok(!parsePcap(new Uint8Array(3)).ok);
 * ```
 */
export function parsePcap(
  bytes: Uint8Array,
): { ok: true; value: PcapFile } | { ok: false; error: string } {
  if (bytes.length < PCAP_FILE_HEADER_LEN) {
    return { ok: false, error: "shorter than a pcap header" };
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magics: Record<number, [boolean, number]> = {
    0xa1b2c3d4: [true, 1e-3],
    0xa1b23c4d: [true, 1e-6],
  };
  let little = true;
  let unit = magics[v.getUint32(0, true)];
  if (unit === undefined) {
    little = false;
    unit = magics[v.getUint32(0, false)];
  }
  if (unit === undefined) return { ok: false, error: "not a pcap file (bad magic number)" };
  const fracMs = unit[1];
  const linkType = v.getUint32(20, little) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let off = PCAP_FILE_HEADER_LEN;
  while (off + PCAP_RECORD_HEADER_LEN <= bytes.length) {
    const sec = v.getUint32(off, little), frac = v.getUint32(off + 4, little);
    const incl = v.getUint32(off + 8, little);
    const start = off + PCAP_RECORD_HEADER_LEN;
    if (start + incl > bytes.length) break;
    records.push({ timeMs: sec * 1000 + frac * fracMs, data: bytes.subarray(start, start + incl) });
    off = start + incl;
  }
  return { ok: true, value: { linkType, records } };
}

/** An IP packet carrying TCP, taken apart. */
export interface IpTcpPacket {
  /** Source address, text ("10.0.0.1", "2001:db8::1"). */
  readonly src: string;
  /** Destination address, text. */
  readonly dst: string;
  /** The TCP segment (a view). */
  readonly segment: Uint8Array;
}

/**
 * Takes apart a raw IPv4/IPv6 packet carrying TCP (no IPv6 extension
 * headers), or returns undefined for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIpTcpPacket, writeIpTcpPacket } from "./pcap.ts";
 * const buf = new Uint8Array(40);
 * writeIpTcpPacket(buf, 0, new Uint8Array([10, 0, 0, 1]), new Uint8Array([10, 0, 0, 2]), new Uint8Array(20));
 * assert.equal(parseIpTcpPacket(buf)?.dst, "10.0.0.2");
 * ```
 */
export function parseIpTcpPacket(p: Uint8Array): IpTcpPacket | undefined {
  const version = p.length > 0 ? p[0] >> 4 : 0;
  if (version === 4 && p.length >= IPV4_HEADER_LEN) {
    const ihl = (p[0] & 0x0f) * 4;
    const total = Math.min(p.length, (p[2] << 8) | p[3]);
    if (p[9] !== TCP_PROTOCOL || ihl < IPV4_HEADER_LEN || total < ihl) return undefined;
    return {
      src: [...p.subarray(12, 16)].join("."),
      dst: [...p.subarray(16, 20)].join("."),
      segment: p.subarray(ihl, total),
    };
  }
  if (version === 6 && p.length >= IPV6_HEADER_LEN) {
    if (p[6] !== TCP_PROTOCOL) return undefined;
    const end = Math.min(p.length, IPV6_HEADER_LEN + ((p[4] << 8) | p[5]));
    return {
      src: ipv6Text(p.subarray(8, 24)),
      dst: ipv6Text(p.subarray(24, 40)),
      segment: p.subarray(40, end),
    };
  }
  return undefined;
}

function ipv6Text(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i] << 8) | b[i + 1]).toString(16));
  // RFC 5952 §4.2.3: the longest run of two or more zero words becomes "::".
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return words.join(":");
  return `${words.slice(0, best).join(":")}::${words.slice(best + bestLen).join(":")}`;
}
