/**
 * Building our segments (RFC 9293 §3.1, §3.10.7; RFC 7323; RFC 2018): what
 * `pollTransmit` sends next (the sender's plan, a pure ACK, a keepalive
 * probe), each segment's ACK, window and options within the segment
 * budget, and RST segments.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seq, seqAdd } from "../wire/seq.ts";
import { ACK, FIN, PSH, RST, SYN } from "../wire/tcp_flags.ts";
import type { SackBlock, TcpOptions, TcpSegment } from "../wire/tcp_segment.ts";
import type { ConnectionCore } from "./_core.ts";
import { synOptions, TCP_HEADER_LEN, TIMESTAMPS_OPTION_LEN } from "./handshake.ts";
import type { Keepalive } from "./timers.ts";

const EMPTY: Uint8Array = new Uint8Array(0);
const NO_OPTIONS: TcpOptions = Object.freeze({});

/**
 * Bytes the SACK option takes for `blocks` blocks (NOP, NOP, kind, len, 8 per block).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sackOptionLength } from "./output.ts";
 * assert.equal(sackOptionLength(0), 0);
 * assert.equal(sackOptionLength(3), 28);
 * ```
 */
export function sackOptionLength(blocks: number): number {
  return blocks === 0 ? 0 : 4 + 8 * blocks;
}

/**
 * Most SACK blocks that fit next to the Timestamps option, or alone (RFC 2018 §3).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxSackBlocks } from "./output.ts";
 * assert.deepEqual([maxSackBlocks(true), maxSackBlocks(false)], [3, 4]);
 * ```
 */
export function maxSackBlocks(timestamps: boolean): number {
  return timestamps ? 3 : 4;
}

/**
 * A RST segment: `<SEQ=seqNo><CTL=RST>`, or `<SEQ=seqNo><ACK=ack><CTL=RST,ACK>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resetSegment } from "./output.ts";
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
 *
 * @param core The connection.
 * @param now Current time (TSval).
 * @param flags SYN, FIN, PSH as planned (ACK is added once synchronized).
 * @param seqNo SEG.SEQ.
 * @param payload The data (a view of the send buffer).
 * @param blocks SACK blocks to report, if any.
 * @returns The segment.
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

/**
 * The next segment of a synchronized or opening connection (not RSTs, which
 * the connection queues itself): what the sender plans (SYN, data, FIN,
 * retransmission, zero-window probe), else a pure ACK when one is due, else
 * a keepalive probe; when nothing goes, arms the persist timer if stalled.
 *
 * @param core The connection.
 * @param now Current time.
 * @param keepalive The connection's keepalive (whether a probe is due).
 * @returns The segment, or undefined.
 */
export function nextSegment(
  core: ConnectionCore,
  now: Instant,
  keepalive: Keepalive,
): TcpSegment | undefined {
  const rcv = core.rcv;
  const ts = rcv.timestamps;
  const blocks = rcv.synced ? rcv.sackBlocks(maxSackBlocks(ts)) : undefined;
  const optLen = (ts ? TIMESTAMPS_OPTION_LEN : 0) + sackOptionLength(blocks?.length ?? 0);
  const snd = core.snd;
  if (snd.next(now, core.config.segmentBudget - TCP_HEADER_LEN - optLen)) {
    const p = snd.plan;
    let flags = (p.syn ? SYN : 0) | (p.fin ? FIN : 0);
    let payload: Uint8Array = EMPTY;
    if (p.len > 0) {
      payload = snd.peek(p.offset, p.len);
      if (p.offset + p.len === snd.queued) flags |= PSH;
    }
    return buildSegment(core, now, flags, p.seq, payload, blocks);
  }
  // A pure ACK carries SND.MAX: after a go-back-N rewind of SND.NXT the peer
  // may hold bytes past SND.NXT and would find an older SEG.SEQ unacceptable.
  if (rcv.synced && rcv.ackNow) {
    return buildSegment(core, now, 0, snd.sndMax, EMPTY, blocks);
  }
  if (keepalive.takeProbe()) {
    // RFC 1122 4.2.3.6: a probe with SEG.SEQ = SND.NXT - 1 and no data
    return buildSegment(core, now, 0, seqAdd(snd.sndMax, -1), EMPTY, undefined);
  }
  snd.armPersistIfStalled(now);
  return undefined;
}
