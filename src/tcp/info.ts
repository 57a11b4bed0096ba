/**
 * A snapshot of one connection's internals, like Linux `TCP_INFO` / `ss -ti`.
 *
 * @module
 */

import { type Duration, type Instant, NEVER } from "../time.ts";
import { seqSub } from "../wire/seq.ts";
import type { Receiver } from "./receiver.ts";
import type { Sender } from "./sender.ts";
import type { TcpState } from "./state.ts";
import { TIMER_KINDS, type TimerKind, type TimerTable } from "./timers.ts";

/**
 * What `TcpConnection.info()` returns. Sizes are bytes, times ms.
 *
 * @example Reading a snapshot
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TcpInfo } from "./info.ts";
 * const info: TcpInfo = {
 *   state: "ESTABLISHED", rtt: 10, rttvar: 5, rto: 200, cwnd: 14480, ssthresh: Infinity,
 *   mss: 1416, rcvMss: 1416, bytesSent: 0, bytesAcked: 0, bytesReceived: 0,
 *   retransmits: 0, lost: 0, timeouts: 0, dsackDups: 0, sacked: 0, unacked: 0, sendQueue: 0,
 *   recvQueue: 0,
 *   sndWnd: 65535, rcvWnd: 65535, sndWscale: 7, rcvWscale: 7, timestamps: true, sack: true,
 *   iss: 1000, irs: 5000, deliveryRate: 0,
 * };
 * assert.equal(info.unacked, 0);
 * ```
 */
export interface TcpInfo {
  /** Current state. */
  readonly state: TcpState;
  /** Smoothed RTT (0 before the first sample). */
  readonly rtt: Duration;
  /** RTT variation. */
  readonly rttvar: Duration;
  /** Current retransmission timeout, backoff included. */
  readonly rto: Duration;
  /** Congestion window in bytes. */
  readonly cwnd: number;
  /** Slow-start threshold in bytes (Infinity before the first loss). */
  readonly ssthresh: number;
  /** Effective send MSS: payload bytes per full data segment. */
  readonly mss: number;
  /** Largest payload seen from the peer (its effective MSS, estimated). */
  readonly rcvMss: number;
  /** Payload bytes sent, retransmissions included. */
  readonly bytesSent: number;
  /** Payload bytes the peer acknowledged. */
  readonly bytesAcked: number;
  /** Payload bytes received in order. */
  readonly bytesReceived: number;
  /** Segments retransmitted (SYN, data and FIN), in total. */
  readonly retransmits: number;
  /** Loss events detected: retransmission timeouts plus fast retransmits. */
  readonly lost: number;
  /** Retransmission timeouts (RFC 6298 §5.4), in total. */
  readonly timeouts: number;
  /**
   * D-SACK blocks received (RFC 2883): segments the peer got twice, i.e. spurious
   * retransmissions or duplication on the path (Linux `tcpi_dsack_dups`).
   */
  readonly dsackDups: number;
  /** Bytes the peer SACKed above SND.UNA (RFC 2018), as on the sender's scoreboard now. */
  readonly sacked: number;
  /** Sequence space in flight: SND.MAX - SND.UNA (bytes, plus 1 for an unacked SYN or FIN). */
  readonly unacked: number;
  /** Bytes in the send buffer (unacknowledged plus not yet sent). */
  readonly sendQueue: number;
  /** Bytes received and waiting to be read. */
  readonly recvQueue: number;
  /** Peer's receive window (scaled). */
  readonly sndWnd: number;
  /** Receive window we last advertised. */
  readonly rcvWnd: number;
  /** Shift applied to the peer's window field (RFC 7323). */
  readonly sndWscale: number;
  /** Shift applied to our window field (RFC 7323). */
  readonly rcvWscale: number;
  /** Whether RFC 7323 timestamps are in use. */
  readonly timestamps: boolean;
  /** Whether SACK (RFC 2018) was negotiated. */
  readonly sack: boolean;
  /** Our initial send sequence number (RFC 9293 ISS; RFC 6528: clock + hash of the 4-tuple). */
  readonly iss: number;
  /** The peer's initial sequence number (RFC 9293 IRS; 0 before its SYN arrived). */
  readonly irs: number;
  /**
   * Delivery rate in bytes per second (Linux `tcpi_delivery_rate`): the last
   * rate sample not limited by the application, or a larger one (0 before any).
   */
  readonly deliveryRate: number;
  /**
   * Pacing rate in bytes per second (Linux `tcpi_pacing_rate`); absent when
   * pacing is off or before the first RTT sample.
   */
  readonly pacingRate?: number;
  /**
   * The armed timers, each with the ms left until it fires (0 when due),
   * in `TIMER_KINDS` order; present only when `info(now)` was given the time.
   */
  readonly timers?: Readonly<Partial<Record<TimerKind, Duration>>>;
}

/** The armed timers of `timers` with the ms left at `now`. */
export function timersLeft(
  timers: TimerTable,
  now: Instant,
): Partial<Record<TimerKind, Duration>> {
  const out: Partial<Record<TimerKind, Duration>> = {};
  for (const kind of TIMER_KINDS) {
    const at = timers.get(kind);
    if (at !== NEVER) out[kind] = Math.max(0, at - now);
  }
  return out;
}

/** Assembles a {@linkcode TcpInfo} from the two halves of a connection. */
export function buildTcpInfo(
  state: TcpState,
  snd: Sender,
  rcv: Receiver,
  timestamps: boolean,
  timers?: Partial<Record<TimerKind, Duration>>,
): TcpInfo {
  const pacing = snd.pacingRate;
  return {
    state,
    rtt: snd.rtt.srtt,
    rttvar: snd.rtt.rttvar,
    rto: snd.rtt.rto,
    cwnd: snd.cc.cwnd,
    ssthresh: snd.cc.ssthresh,
    mss: snd.mss,
    rcvMss: rcv.rcvMss,
    bytesSent: snd.bytesSent,
    bytesAcked: snd.bytesAcked,
    bytesReceived: rcv.bytesReceived,
    retransmits: snd.retransmits,
    lost: snd.lost,
    timeouts: snd.timeouts,
    dsackDups: snd.dsackDups,
    sacked: snd.sacked,
    unacked: seqSub(snd.sndMax, snd.sndUna),
    sendQueue: snd.queued,
    recvQueue: rcv.readable,
    sndWnd: snd.sndWnd,
    rcvWnd: rcv.rcvWnd,
    sndWscale: snd.sndWscale,
    rcvWscale: rcv.rcvWscale,
    timestamps,
    sack: rcv.sack,
    iss: snd.iss,
    irs: rcv.irs,
    deliveryRate: snd.recovery.rate.lastRate * 1000,
    ...(pacing === undefined ? {} : { pacingRate: pacing * 1000 }),
    ...(timers === undefined ? {} : { timers }),
  };
}
