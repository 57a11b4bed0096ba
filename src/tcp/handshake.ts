/**
 * What the SYNs carry and allow (RFC 9293 §3.7.1; RFC 7323 §2, §3; RFC
 * 2018 §2; RFC 6691): the options our SYN offers, what the peer's SYN lets
 * us use, the sizes that follow (MSS, window shift, payload per segment),
 * and the handshake's timeout message. Pure functions of the configuration
 * and the peer's options: arrival in SYN_SENT is in `arrival.ts`, segment
 * building in `output.ts`.
 *
 * @module
 */

import type { TcpOptions } from "../wire/tcp_segment.ts";
import type { TcpConfig } from "./config.ts";

/** MSS assumed when the peer's SYN carries none (RFC 9293 §3.7.1, RFC 1122 4.2.2.6). */
export const DEFAULT_PEER_MSS = 536;
/** The fixed TCP header, without options. */
export const TCP_HEADER_LEN = 20;
/** Bytes the Timestamps option takes on every segment once negotiated (NOP, NOP, kind 8). */
export const TIMESTAMPS_OPTION_LEN = 12;
/** Largest shift of RFC 7323 §2.3. */
export const MAX_WINDOW_SHIFT = 14;
/** Smallest payload per segment we accept to use, whatever the peer's MSS says. */
export const MIN_SEND_MSS = 64;

/**
 * The MSS option we send: the segment budget minus the fixed TCP header
 * (RFC 6691: options are not counted; the sender leaves room for them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { advertisedMss } from "./handshake.ts";
 * import { tcpConfig } from "./config.ts";
 * assert.equal(advertisedMss(tcpConfig({ segmentBudget: 1448 })), 1428);
 * ```
 */
export function advertisedMss(config: TcpConfig): number {
  return Math.max(MIN_SEND_MSS, Math.min(0xffff, config.segmentBudget - TCP_HEADER_LEN));
}

/**
 * The window scale shift for a receive buffer: the smallest shift that lets
 * the 16-bit window field cover the whole buffer, at most 14 (RFC 7323 §2.3).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { windowShiftFor } from "./handshake.ts";
 * assert.equal(windowShiftFor(65535), 0);
 * assert.equal(windowShiftFor(4 * 1024 * 1024), 7);
 * assert.equal(windowShiftFor(2 ** 40), 14);
 * ```
 */
export function windowShiftFor(bufferSize: number): number {
  // bufferSize / 2^shift > 0xffff  ⇔  bufferSize > 0xffff · 2^shift (exact in doubles)
  let shift = 0;
  let limit = 0xffff;
  while (shift < MAX_WINDOW_SHIFT && bufferSize > limit) {
    shift++;
    limit *= 2;
  }
  return shift;
}

/** What both SYNs together allow. */
export interface Negotiated {
  /** The peer's MSS option (or {@linkcode DEFAULT_PEER_MSS}). */
  readonly peerMss: number;
  /** Shift applied to the peer's window fields (0 without scaling). */
  readonly sndWscale: number;
  /** Shift applied to our window fields (0 without scaling). */
  readonly rcvWscale: number;
  /** Window scaling in use (both SYNs carried the option; RFC 7323 §2.2). */
  readonly windowScaling: boolean;
  /** Timestamps in use (both SYNs carried them; RFC 7323 §3.2). */
  readonly timestamps: boolean;
  /** SACK in use (both SYNs carried SACK-Permitted; RFC 2018 §2). */
  readonly sack: boolean;
}

/**
 * Combines our configuration (we offer everything it enables) with the
 * options of the peer's SYN.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { negotiate } from "./handshake.ts";
 * import { tcpConfig } from "./config.ts";
 * const n = negotiate(tcpConfig(), { mss: 1000, windowScale: 20, sackPermitted: true });
 * assert.deepEqual(n, { peerMss: 1000, sndWscale: 14, rcvWscale: 7, windowScaling: true,
 *   timestamps: false, sack: true });
 * ```
 */
export function negotiate(config: TcpConfig, peer: TcpOptions): Negotiated {
  const windowScaling = config.windowScaling && peer.windowScale !== undefined;
  return {
    peerMss: peer.mss ?? DEFAULT_PEER_MSS,
    // RFC 7323 §2.3: a shift above 14 is used as 14
    sndWscale: windowScaling ? Math.min(peer.windowScale ?? 0, MAX_WINDOW_SHIFT) : 0,
    rcvWscale: windowScaling ? windowShiftFor(config.recvBufferSize) : 0,
    windowScaling,
    timestamps: config.timestamps && peer.timestamps !== undefined,
    sack: config.sack && peer.sackPermitted === true,
  };
}

/**
 * Options of our SYN (`negotiated` undefined: offer everything enabled) or of
 * our SYN-ACK (`negotiated` given: echo only what the peer's SYN offered,
 * RFC 7323 §2.2, §3.2; RFC 2018 §2).
 *
 * @param config Our configuration.
 * @param negotiated The result of {@linkcode negotiate} for a SYN-ACK.
 * @param tsVal Our timestamp clock.
 * @param tsEcr The peer's SYN TSval (0 in a SYN).
 */
export function synOptions(
  config: TcpConfig,
  negotiated: Negotiated | undefined,
  tsVal: number,
  tsEcr: number,
): TcpOptions {
  const ws = negotiated ? negotiated.windowScaling : config.windowScaling;
  const ts = negotiated ? negotiated.timestamps : config.timestamps;
  const sack = negotiated ? negotiated.sack : config.sack;
  const opts: {
    mss: number;
    windowScale?: number;
    sackPermitted?: boolean;
    timestamps?: { tsVal: number; tsEcr: number };
  } = { mss: advertisedMss(config) };
  if (ws) opts.windowScale = windowShiftFor(config.recvBufferSize);
  if (sack) opts.sackPermitted = true;
  if (ts) opts.timestamps = { tsVal, tsEcr };
  return opts;
}

/**
 * Payload bytes of a full-sized data segment: the peer's MSS bounded by our
 * segment budget, minus the options every data segment carries (RFC 6691),
 * so header + options + payload never exceeds `segmentBudget`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { effectiveSendMss } from "./handshake.ts";
 * import { tcpConfig } from "./config.ts";
 * assert.equal(effectiveSendMss(tcpConfig({ segmentBudget: 1448 }), 1460, true), 1416);
 * assert.equal(effectiveSendMss(tcpConfig({ segmentBudget: 1448 }), 536, false), 536);
 * ```
 */
export function effectiveSendMss(config: TcpConfig, peerMss: number, timestamps: boolean): number {
  const ceiling = config.segmentBudget - TCP_HEADER_LEN - (timestamps ? TIMESTAMPS_OPTION_LEN : 0);
  const fromPeer = Math.max(peerMss, MIN_SEND_MSS) - (timestamps ? TIMESTAMPS_OPTION_LEN : 0);
  return Math.max(1, Math.min(fromPeer, ceiling));
}

/**
 * The error detail when a handshake gives up, e.g. "timed out after 6 SYN
 * retransmissions".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { handshakeTimeoutDetail } from "./handshake.ts";
 * assert.equal(handshakeTimeoutDetail(false, 6), "timed out after 6 SYN retransmissions");
 * assert.equal(handshakeTimeoutDetail(true, 1), "timed out after 1 SYN-ACK retransmission");
 * ```
 */
export function handshakeTimeoutDetail(passive: boolean, retransmissions: number): string {
  return `timed out after ${retransmissions} ${passive ? "SYN-ACK" : "SYN"} retransmission${
    retransmissions === 1 ? "" : "s"
  }`;
}
