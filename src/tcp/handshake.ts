/**
 * Opening a connection and shaping its segments (RFC 9293 §3.5, §3.7.1,
 * §3.10.7.3; RFC 7323; RFC 2018): which options our SYN carries, what the
 * peer's SYN lets us use, segment arrival in SYN_SENT, and the assembly of
 * every outgoing segment (ACK, window, options) within the segment budget.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seq, seqAdd, seqGt, seqLe } from "../wire/seq.ts";
import { ACK, RST, SYN } from "../wire/tcp_flags.ts";
import type { SackBlock, TcpOptions, TcpSegment } from "../wire/tcp_segment.ts";
import type { TcpConfig } from "./config.ts";
import type { ConnectionCore } from "./connection.ts";
import { arriveText } from "./receiver.ts";

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
  let shift = 0;
  while (shift < MAX_WINDOW_SHIFT && bufferSize / 2 ** shift > 0xffff) shift++;
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

/** Bytes the SACK option takes for `blocks` blocks (NOP, NOP, kind, len, 8 per block). */
export function sackOptionLength(blocks: number): number {
  return blocks === 0 ? 0 : 4 + 8 * blocks;
}

/** Most SACK blocks that fit next to the Timestamps option, or alone (RFC 2018 §3). */
export function maxSackBlocks(timestamps: boolean): number {
  return timestamps ? 3 : 4;
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

/**
 * Applies the options of the peer's SYN to both halves (RFC 9293 §3.7.1,
 * RFC 7323, RFC 2018) and takes SND.WND from it, unscaled.
 */
export function applyPeerSyn(core: ConnectionCore, now: Instant, syn: TcpSegment): void {
  const n = negotiate(core.config, syn.options);
  core.negotiated = n;
  core.rcv.onSyn(syn, now, n);
  core.snd.configure(effectiveSendMss(core.config, n.peerMss, n.timestamps), n);
  core.snd.windowFromSyn(syn);
}

/** Segment arrival in SYN_SENT (RFC 9293 §3.10.7.3). */
export function arriveSynSent(core: ConnectionCore, now: Instant, seg: TcpSegment): void {
  const f = seg.flags;
  const snd = core.snd;
  // first: SEG.ACK =< ISS or SEG.ACK > SND.NXT is not acceptable
  if ((f & ACK) && (seqLe(seg.ack, snd.iss) || seqGt(seg.ack, snd.sndMax))) {
    if (!(f & RST)) core.queueRst(seg.ack, undefined); // a "historical" SYN-ACK
    return;
  }
  if (f & RST) {
    // second: RFC 5961 §3.2, only with an acceptable ACK
    if (f & ACK) core.fail(now, "refused", "connection refused");
    return;
  }
  if (!(f & SYN)) return;
  applyPeerSyn(core, now, seg);
  core.touch(now);
  if (f & ACK) {
    snd.processAck(now, seg, core.tsRtt(now, seg));
    snd.established();
    core.setState(now, "ESTABLISHED", "SYN-ACK received");
    core.rcv.requestAck();
    // "continue processing at the sixth step": data or FIN riding on the SYN-ACK
    arriveText(core, now, seg, seqAdd(seg.seq, 1));
    if (snd.finQueued && core.state() === "ESTABLISHED") {
      core.setState(now, "FIN_WAIT_1", "closeWrite() before connected");
    }
  } else {
    // simultaneous open (RFC 9293 §3.5 figure 8): answer the SYN with a SYN-ACK
    snd.resendSyn();
    core.setState(now, "SYN_RCVD", "SYN received (simultaneous open)");
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);
const NO_OPTIONS: TcpOptions = Object.freeze({});

/**
 * A RST segment: `<SEQ=seqNo><CTL=RST>`, or `<SEQ=seqNo><ACK=ack><CTL=RST,ACK>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resetSegment } from "./handshake.ts";
 * import { seq } from "../wire/seq.ts";
 * assert.equal(resetSegment(1, 2, seq(5), undefined).flags, 0x04);
 * ```
 */
export function resetSegment(
  localPort: number,
  remotePort: number,
  seqNo: Seq,
  ack: Seq | undefined,
): TcpSegment {
  return {
    srcPort: localPort,
    dstPort: remotePort,
    seq: seqNo,
    ack: ack ?? seq(0),
    flags: ack === undefined ? RST : RST | ACK,
    window: 0,
    urgentPointer: 0,
    options: NO_OPTIONS,
    payload: EMPTY,
  };
}

/**
 * Builds one of our segments: ACK = RCV.NXT once synchronized, the window
 * field, and the options (SYN options, or timestamps and SACK blocks). The
 * caller sized `payload` so the whole segment fits the segment budget.
 */
export function buildSegment(
  core: ConnectionCore,
  now: Instant,
  flags: number,
  seqNo: Seq,
  payload: Uint8Array,
  blocks: SackBlock[] | undefined,
): TcpSegment {
  const rcv = core.rcv;
  const synced = rcv.synced;
  const syn = (flags & SYN) !== 0;
  let options: TcpOptions;
  if (syn) {
    const n = synced ? core.negotiated : undefined;
    options = synOptions(core.config, n, core.tsClock(now), synced ? rcv.tsRecent : 0);
  } else if (rcv.timestamps) {
    const timestamps = { tsVal: core.tsClock(now), tsEcr: rcv.tsRecent };
    options = blocks === undefined ? { timestamps } : { timestamps, sackBlocks: blocks };
  } else {
    options = blocks === undefined ? NO_OPTIONS : { sackBlocks: blocks };
  }
  const seg: TcpSegment = {
    srcPort: core.localPort,
    dstPort: core.remotePort,
    seq: seqNo,
    ack: synced ? rcv.rcvNxt : seq(0),
    flags: synced ? flags | ACK : flags,
    window: rcv.windowField(syn),
    urgentPointer: 0,
    options,
    payload,
  };
  if (synced) rcv.onAckSent();
  return seg;
}
