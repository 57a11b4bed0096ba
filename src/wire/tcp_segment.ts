/**
 * The emitted/parsed representation of a TCP segment (smoltcp's "Repr").
 *
 * `parseSegment` (bytes → {@linkcode TcpSegment}) and `emitSegment`
 * ({@linkcode TcpSegment} → bytes) live in `tcp_codec.ts`; the zero-copy
 * header view lives in `tcp_header_view.ts`.
 *
 * @module
 */

import type { Seq } from "./seq.ts";

/** One SACK block: bytes `[left, right)` were received (RFC 2018). */
export interface SackBlock {
  /** First sequence number of the block. */
  readonly left: Seq;
  /** Sequence number just past the block. */
  readonly right: Seq;
}

/** The TCP Timestamps option (RFC 7323 §3). */
export interface TimestampOption {
  /** TSval: the sender's timestamp clock. */
  readonly tsVal: number;
  /** TSecr: echo of the peer's most recent TSval. */
  readonly tsEcr: number;
}

/** An option kind this codec does not interpret, kept visible. */
export interface UnknownOption {
  /** Option kind byte. */
  readonly kind: number;
  /** Option data (without kind and length bytes). */
  readonly data: Uint8Array;
}

/** TCP options (RFC 9293 §3.1, RFC 7323, RFC 2018). Absent means "not present". */
export interface TcpOptions {
  /** Maximum segment size (kind 2), only meaningful on SYN. */
  readonly mss?: number;
  /** Window scale shift count (kind 3), only on SYN; 0..14. */
  readonly windowScale?: number;
  /** SACK-Permitted (kind 4), only on SYN. */
  readonly sackPermitted?: boolean;
  /** SACK blocks (kind 5), at most 4 (3 with timestamps). */
  readonly sackBlocks?: readonly SackBlock[];
  /** Timestamps (kind 8). */
  readonly timestamps?: TimestampOption;
  /**
   * TCP Fast Open cookie (kind 34, RFC 7413 §4.1.1): empty = a cookie
   * request (on a SYN), else a 4–16 byte cookie of even length.
   */
  readonly fastOpen?: Uint8Array;
  /** Options with unknown kinds, in order of appearance. */
  readonly unknown?: readonly UnknownOption[];
}

/** A TCP segment as values: what the state machine reads and writes. */
export interface TcpSegment {
  /** Source port. */
  readonly srcPort: number;
  /** Destination port. */
  readonly dstPort: number;
  /** SEG.SEQ. */
  readonly seq: Seq;
  /** SEG.ACK (meaningful only with the ACK flag). */
  readonly ack: Seq;
  /** Control bits, a mask of the constants in `tcp_flags.ts`. */
  readonly flags: number;
  /** The raw 16-bit window field (unscaled). */
  readonly window: number;
  /** Urgent pointer (meaningful only with URG). */
  readonly urgentPointer: number;
  /** Options. */
  readonly options: TcpOptions;
  /** Payload bytes; when parsed, a view into the datagram (not a copy). */
  readonly payload: Uint8Array;
}

/**
 * SEG.LEN: payload length plus one for SYN and one for FIN (RFC 9293 §3.4).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segmentSeqLen } from "./tcp_segment.ts";
 * import { SYN } from "./tcp_flags.ts";
 * import { seq } from "./seq.ts";
 * const s = { srcPort: 1, dstPort: 2, seq: seq(0), ack: seq(0), flags: SYN, window: 0,
 *   urgentPointer: 0, options: {}, payload: new Uint8Array(0) };
 * assert.equal(segmentSeqLen(s), 1);
 * ```
 */
export function segmentSeqLen(seg: TcpSegment): number {
  return seg.payload.length + (seg.flags & 0x02 ? 1 : 0) + (seg.flags & 0x01 ? 1 : 0);
}
