/**
 * Hand-built segments for scripted tests: flags written the tcpdump way
 * ("S", "S.", "P.", "F.", "R", "R."), everything else defaulted.
 *
 * @module
 */

import { ACK, CWR, ECE, FIN, PSH, RST, SYN, URG } from "../wire/tcp_flags.ts";
import { seq } from "../wire/seq.ts";
import type { TcpOptions, TcpSegment } from "../wire/tcp_segment.ts";

/** A segment to send from a raw peer. Numbers are plain (reduced mod 2^32). */
export interface SegmentSpec {
  /** Flags as tcpdump prints them ("S.", "P.", ...) or a bitmask. Default "." (ACK). */
  readonly flags?: string | number;
  /** SEG.SEQ. Default 0. */
  readonly seq?: number;
  /** SEG.ACK. Default 0. */
  readonly ack?: number;
  /** Raw window field. Default 65535. */
  readonly window?: number;
  /** Options. Default none. */
  readonly options?: TcpOptions;
  /** Payload, as bytes or text. Default empty. */
  readonly payload?: Uint8Array | string;
  /** Source port. Default: the raw peer's TCP port. */
  readonly srcPort?: number;
  /** Destination port. Default: the raw peer's target port. */
  readonly dstPort?: number;
  /** Urgent pointer. Default 0. */
  readonly urgentPointer?: number;
}

/**
 * Parses tcpdump-style flags: S SYN, F FIN, R RST, P PSH, U URG, E ECE,
 * W CWR, "." ACK.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./segment_spec.ts";
 * assert.equal(parseFlags("S."), 0x12);
 * assert.equal(parseFlags("FP."), 0x19);
 * ```
 */
export function parseFlags(text: string): number {
  let f = 0;
  for (const ch of text) {
    switch (ch) {
      case "S":
        f |= SYN;
        break;
      case "F":
        f |= FIN;
        break;
      case "R":
        f |= RST;
        break;
      case "P":
        f |= PSH;
        break;
      case "U":
        f |= URG;
        break;
      case "E":
        f |= ECE;
        break;
      case "W":
        f |= CWR;
        break;
      case ".":
        f |= ACK;
        break;
      default:
        throw new RangeError(`Unknown flag "${ch}" in "${text}" (use S F R P U E W .)`);
    }
  }
  return f;
}

const encoder = new TextEncoder();

/** Builds a {@linkcode TcpSegment} from a spec and default ports. */
export function buildSegment(
  spec: SegmentSpec,
  ports: { srcPort: number; dstPort: number },
): TcpSegment {
  const payload = typeof spec.payload === "string"
    ? encoder.encode(spec.payload)
    : spec.payload ?? new Uint8Array(0);
  return {
    srcPort: spec.srcPort ?? ports.srcPort,
    dstPort: spec.dstPort ?? ports.dstPort,
    seq: seq(spec.seq ?? 0),
    ack: seq(spec.ack ?? 0),
    flags: typeof spec.flags === "number" ? spec.flags : parseFlags(spec.flags ?? "."),
    window: spec.window ?? 65535,
    urgentPointer: spec.urgentPointer ?? 0,
    options: spec.options ?? {},
    payload,
  };
}
