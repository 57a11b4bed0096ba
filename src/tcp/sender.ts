/**
 * The sending half of a connection (RFC 9293 §3.8; RFC 6298; RFC 5681;
 * RFC 6582; RFC 1122 4.2.3.4): send sequence variables, the send buffer,
 * what to transmit next (Nagle, SWS avoidance, congestion and flow control,
 * zero-window probes), ACK processing and RTT sampling.
 *
 * Sequence layout: the SYN is `iss`, data byte `i` is `iss + 1 + i`, the FIN
 * follows the last byte. `sndMax` is the highest sequence number sent plus
 * one; `sndNxt` is where the next segment starts and is rewound to `sndUna`
 * on a retransmission timeout (go-back-N, as BSD and Linux do) and on a zero
 * window, so `sndUna <= sndNxt <= sndMax`.
 *
 * Split out: the plan and result bits (`sender_plan.ts`), the pacing token
 * bucket (`pacer.ts`), loss recovery (`recovery.ts`: RACK-TLP with SACK,
 * NewReno without, PRR, undo; on the per-segment `send_records.ts`, with
 * `delivery_rate.ts` feeding the controller's rate samples). The file stays
 * over 600 lines (about 930, some 220 of them comments) because sending, ACK
 * processing and the timers all read and move the same private send
 * sequence variables, RTT timing and timer state; split, each part would
 * need them exposed. About 100 lines are the read-only getters that
 * `recovery.ts`, `arrival.ts`, `output.ts` and `info.ts` read.
 *
 * @module
 */

import { FrozenController } from "./frozen_controller.ts";
import { type Instant, NEVER } from "../time.ts";
import { type Seq, seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from "../wire/seq.ts";
import { FIN, SYN } from "../wire/tcp_flags.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import { initialWindowSegments, type TcpConfig } from "./config.ts";
import type { CongestionController } from "./congestion/congestion_controller.ts";
import { createController } from "./congestion/registry.ts";
import { handshakeTimeoutDetail } from "./handshake.ts";
import { Pacer, pacingBurst, pacingRate } from "./pacer.ts";
import { KEEP_RTO, LossRecovery, PHASE_NONE } from "./recovery.ts";
import { RttEstimator } from "./rtt.ts";
import { SendBuffer } from "./send_buffer.ts";
import { probeTimeout } from "./tlp.ts";
import {
  ACK_ADVANCED,
  ACK_FIN_ACKED,
  ACK_SYN_ACKED,
  ACK_UNACCEPTABLE,
  ACK_WRITABLE,
  type SenderOptions,
  type TxPlan,
} from "./sender_plan.ts";
import type { TimerTable } from "./timers.ts";

export {
  ACK_ADVANCED,
  ACK_FIN_ACKED,
  ACK_SYN_ACKED,
  ACK_UNACCEPTABLE,
  ACK_WRITABLE,
  type SenderOptions,
  type TxPlan,
} from "./sender_plan.ts";

const PERSIST_MAX_SHIFT = 30;

/** The configured congestion controller for `mss` and an initial window of `initialCwnd` segments. */
function newController(config: TcpConfig, mss: number, initialCwnd: number): CongestionController {
  const tolerance = config.lossTolerance > 0 ? config.lossTolerance / 100 : undefined;
  return createController(config.congestionControl, {
    mss,
    initialCwnd,
    lossTolerance: tolerance,
  });
}

/**
 * Send-side state machine. Not exported from the package: `TcpConnection`
 * owns one and is its only caller.
 */
export class Sender {
  readonly #iss: Seq;
  readonly #config: TcpConfig;
  readonly #timers: TimerTable;
  readonly #passive: boolean;
  readonly #buf: SendBuffer;
  readonly #rtt: RttEstimator;
  #cc: CongestionController;
  /** Token bucket of paced sending, or undefined when `config.pacing` is off. */
  readonly #pacer: Pacer | undefined;
  /**
   * Retransmissions (and unanswered zero-window probes) before the
   * connection is aborted: `retries` (tcp_retries2), lowered to the orphan
   * count (tcp_orphan_retries) by `TcpConnection.close()`.
   */
  retryLimit: number;

  #sndUna: Seq;
  #sndNxt: Seq;
  #sndMax: Seq;
  #sndWnd = 0;
  #sndWl1: Seq;
  #sndWl2: Seq;
  #maxSndWnd = 0;
  #sndWscale = 0;
  #mss: number;
  #noDelay: boolean;

  #finQueued = false;
  #finSeq: Seq;
  #finAcked = false;
  /** End of the last sub-MSS segment sent (Minshall's Nagle variant). */
  #smallEnd: Seq;

  /** Loss recovery: RACK-TLP with SACK, else RFC 6582; PRR (`recovery.ts`). */
  readonly #rec: LossRecovery;

  // RTT timing without timestamps (Karn's algorithm, RFC 6298 §3)
  #rttTiming = false;
  #rttSeq: Seq;
  #rttStart: Instant = 0;
  /** RTT sample taken from the ACK being processed, or -1. */
  #ackRtt = -1;

  // Persist (RFC 9293 §3.8.6.1, RFC 1122 4.2.2.17 / 4.2.3.4)
  #persistShift = 0;
  #forceSend = false;
  #probesUnanswered = 0;

  // User timeout (RFC 9293 §3.8.3 USER TIMEOUT, Linux TCP_USER_TIMEOUT)
  /** Since when data (or a SYN/FIN) is outstanding without an ACK advancing SND.UNA; NEVER when none is. */
  #stallSince: Instant = NEVER;
  /** When the first still-unanswered zero-window probe was sent; NEVER when none is. */
  #persistSince: Instant = NEVER;

  // Anti-amplification of a passive open (config.amplificationLimit)
  #ampReceived = 0;
  #ampSent = 0;
  #ampLast = 0;
  #ampHeld = 0;

  #synRetransmits = 0;
  /** When our SYN (or SYN-ACK) was last sent. */
  #synSentAt = NEVER;
  #rtoCount = 0;
  #timeouts = 0;
  #retransmits = 0;
  #lost = 0;
  #bytesSent = 0;
  #bytesAcked = 0;
  #writeBlocked = false;

  /** The plan filled by {@linkcode Sender.next}. */
  readonly plan: TxPlan;

  // TCP Fast Open (RFC 7413; fast_open.ts)
  /** Client: the SYN waits (TCP_FASTOPEN_CONNECT) until the first write or a release. */
  synHold = false;
  /** Client: most data bytes the SYN may carry (a cookie is cached). */
  synDataMax = 0;
  /** Server: data may go before our SYN-ACK is acknowledged (RFC 7413 §4.2.2). */
  earlyData = false;

  /**
   * Makes the send side with an empty buffer and the initial RTO.
   *
   * @param options ISS, configuration, timers and whether the open is passive.
   */
  constructor(options: SenderOptions) {
    const { iss, config, timers } = options;
    this.#iss = iss;
    this.#config = config;
    this.retryLimit = config.retries;
    this.#timers = timers;
    this.#passive = options.passive;
    this.#buf = new SendBuffer(config.sendBufferSize);
    this.#rtt = new RttEstimator({
      initial: config.rtoInitial,
      min: config.rtoMin,
      max: config.rtoMax,
    });
    this.#mss = 536;
    this.#cc = newController(config, this.#mss, initialWindowSegments(config, this.#mss));
    this.#noDelay = config.noDelay;
    this.#pacer = config.pacing
      ? new Pacer(pacingBurst(config, this.#mss), config.pacingHorizon)
      : undefined;
    this.#sndUna = iss;
    this.#sndNxt = iss;
    this.#sndMax = iss;
    this.#sndWl1 = iss;
    this.#sndWl2 = iss;
    this.#finSeq = iss;
    this.#smallEnd = iss;
    this.#rec = new LossRecovery(iss);
    this.#rttSeq = iss;
    this.plan = { seq: iss, len: 0, offset: 0, syn: false, fin: false };
  }

  // ---- state ----------------------------------------------------------------

  /** ISS. */
  get iss(): Seq {
    return this.#iss;
  }
  /** SND.UNA. */
  get sndUna(): Seq {
    return this.#sndUna;
  }
  /** SND.NXT (rewound on timeout and zero window). */
  get sndNxt(): Seq {
    return this.#sndNxt;
  }
  /** Highest sequence number sent plus one. */
  get sndMax(): Seq {
    return this.#sndMax;
  }
  /** SND.WND (scaled). */
  get sndWnd(): number {
    return this.#sndWnd;
  }
  /** Shift applied to the peer's window field. */
  get sndWscale(): number {
    return this.#sndWscale;
  }
  /** Effective send MSS (payload bytes). */
  get mss(): number {
    return this.#mss;
  }
  /**
   * The pacing rate in bytes per ms (Linux `sk_pacing_rate`), or undefined
   * when pacing is off or there is no RTT sample yet.
   */
  get pacingRate(): number | undefined {
    if (this.#pacer === undefined) return undefined;
    const rate = pacingRate(this.#cc, this.#rtt, this.#mss);
    return Number.isFinite(rate) ? rate : undefined;
  }
  /** The RTT estimator. */
  get rtt(): RttEstimator {
    return this.#rtt;
  }
  /** The congestion controller. */
  get cc(): CongestionController {
    return this.#cc;
  }
  /** Whether our SYN has been acknowledged. */
  get synAcked(): boolean {
    return seqGt(this.#sndUna, this.#iss);
  }
  /** Whether closeWrite() queued a FIN. */
  get finQueued(): boolean {
    return this.#finQueued;
  }
  /** Whether our FIN has been acknowledged. */
  get finAcked(): boolean {
    return this.#finAcked;
  }
  /** Bytes held in the send buffer. */
  get queued(): number {
    return this.#buf.length;
  }
  /** Free send-buffer space. */
  get free(): number {
    return this.#buf.free;
  }

  /** Bounds the send buffer to `limit` bytes (a shared memory budget); see `SendBuffer.setLimit`. */
  setMemoryLimit(limit: number): void {
    this.#buf.setLimit(limit);
  }

  /** Gives the send buffer's memory back when it is empty (TIME_WAIT); see `SendBuffer.compact`. */
  compact(): void {
    this.#buf.compact();
    if (this.#buf.length === 0) {
      // nothing unacknowledged either (FIN_WAIT_2, TIME_WAIT): the recovery arrays go too,
      // and the controller's state (nothing will be sent: only its last window is kept)
      this.#rec.records.compact();
      this.#rec.board.compact();
      if (!(this.#cc instanceof FrozenController)) this.#cc = new FrozenController(this.#cc);
    }
  }

  /** Bytes of memory the send buffer holds. */
  get allocated(): number {
    return this.#buf.allocated;
  }
  /** Counters for `info()`. */
  get retransmits(): number {
    return this.#retransmits;
  }
  /** Loss events (timeouts and fast retransmits). */
  get lost(): number {
    return this.#lost;
  }
  /** Retransmission timeouts, in total. */
  get timeouts(): number {
    return this.#timeouts;
  }
  /** D-SACK blocks the peer sent (RFC 2883): segments it received twice. */
  get dsackDups(): number {
    return this.#rec.dsackDups;
  }
  /** Bytes the peer SACKed above SND.UNA (RFC 2018). */
  get sacked(): number {
    return this.#rec.board.sackedBetween(this.#sndUna, this.#sndMax);
  }
  /** Whether a fast-recovery or RTO recovery episode is in progress. */
  get inRecovery(): boolean {
    return this.#rec.inRecovery;
  }
  /** Bytes in flight: outstanding minus SACKed minus deemed lost. */
  get pipe(): number {
    return this.#rec.pipe(this);
  }
  /** Loss recovery state (RACK, TLP, PRR, rate samples), for tests and info. */
  get recovery(): LossRecovery {
    return this.#rec;
  }
  /** Payload bytes sent, retransmissions included. */
  get bytesSent(): number {
    return this.#bytesSent;
  }
  /** Payload bytes acknowledged. */
  get bytesAcked(): number {
    return this.#bytesAcked;
  }
  /** Whether nothing (no data, SYN or FIN) is unacknowledged or waiting to be sent. */
  get idle(): boolean {
    return this.#sndMax === this.#sndUna && this.#buf.length === 0 &&
      (!this.#finQueued || this.#finAcked);
  }

  /** Sequence number of send-buffer offset 0. */
  #dataSeq(): Seq {
    return this.synAcked ? this.#sndUna : seqAdd(this.#iss, 1);
  }

  /** Sequence number just past the buffered data. */
  #dataEnd(): Seq {
    return seqAdd(this.#dataSeq(), this.#buf.length);
  }

  // ---- configuration ----------------------------------------------------------

  /** Applies the handshake's outcome: MSS, the peer's window shift and whether SACK is on. */
  configure(mss: number, opts: { sndWscale: number; sack: boolean }): void {
    this.#mss = mss;
    this.#sndWscale = opts.sndWscale;
    this.#rec.sack = opts.sack;
    this.#pacer?.setBurst(pacingBurst(this.#config, mss));
    this.#cc = newController(this.#config, mss, initialWindowSegments(this.#config, mss));
  }

  /**
   * The handshake completed. After a lost SYN or SYN-ACK: the RTO starts
   * again from the fallback when no RTT sample exists (the sample of the
   * handshake, if any, already dropped the SYN backoff), and IW shrinks.
   */
  established(): void {
    if (this.#synRetransmits > 0) {
      // RFC 6298 §5.7: SYN or SYN-ACK retransmitted and no RTT sample: RTO = 3 s
      this.#rtt.reinitialize(this.#config.rtoFallback);
      // RFC 5681 §3.1: after a lost SYN or SYN-ACK the initial window is one segment
      this.#cc = newController(this.#config, this.#mss, 1);
    }
  }

  /** Takes SND.WND from a SYN (never scaled, RFC 7323 §2.2). */
  windowFromSyn(seg: TcpSegment): void {
    this.#sndWnd = seg.window;
    this.#maxSndWnd = Math.max(this.#maxSndWnd, seg.window);
    this.#sndWl1 = seg.seq;
    this.#sndWl2 = seg.ack;
  }

  /** TCP_NODELAY. */
  setNoDelay(on: boolean): void {
    this.#noDelay = on;
  }

  // ---- application ------------------------------------------------------------

  /** Queues `data`; returns the bytes taken. */
  write(data: Uint8Array): number {
    const n = this.#buf.write(data);
    if (n < data.length) this.#writeBlocked = true;
    return n;
  }

  /** Queues the FIN after all buffered data. */
  queueFin(): void {
    if (this.#finQueued) return;
    this.#finQueued = true;
    this.#finSeq = this.#dataEnd();
  }

  /** Payload of the planned segment: a view valid until the buffer changes. */
  peek(offset: number, len: number): Uint8Array {
    return this.#buf.peek(offset, len);
  }

  /** Resends the SYN (a duplicate SYN arrived in SYN_RCVD or a simultaneous open). */
  resendSyn(): void {
    if (!this.synAcked) this.#sndNxt = this.#iss;
  }

  /**
   * Takes back the data of a SYN the SYN-ACK did not acknowledge (RFC 7413
   * §4.2.2): it counts as never sent (SND.NXT = SND.MAX = SND.UNA), so it
   * goes again at once as new, full-sized segments. Were it left between
   * SND.UNA and SND.MAX, the congestion window would count it as in flight
   * (it has no send record, so no ACK or loss ever takes it out) and the
   * data would go as a stream of tiny "retransmissions" of cwnd − pipe
   * bytes each (a 1-MSS window after a retransmitted SYN left 20 bytes).
   * Only a client in SYN_SENT sends SYN data, and nothing after it.
   */
  rewind(): void {
    if (seqGt(this.#sndMax, this.#sndUna)) {
      this.#sndMax = this.#sndUna;
      this.#rttTiming = false; // the SYN's timing would span the resend
      this.#stallSince = NEVER; // nothing is outstanding
    }
    if (seqGt(this.#sndNxt, this.#sndUna)) this.#sndNxt = this.#sndUna;
  }

  // ---- transmit -----------------------------------------------------------------

  /**
   * Decides the next segment and advances SND.NXT; fills {@linkcode Sender.plan}.
   *
   * @param now Current time.
   * @param maxPayload Largest payload the segment's option space leaves.
   * @returns Whether there is a segment to send.
   */
  next(now: Instant, maxPayload: number): boolean {
    if (!this.synAcked && (this.#sndNxt === this.#iss || !this.earlyData)) {
      return this.#nextSyn(now, maxPayload);
    }
    const una = this.#sndUna;
    const segMax = Math.min(this.#mss, maxPayload);

    const rec = this.#rec;
    if (rec.tlp.pending && this.#sndNxt === this.#sndMax && this.#sndWnd > 0) {
      // RFC 8985 §7.3: the probe is a new segment if one fits the peer's window ...
      rec.tlp.pending = false;
      const nxt = this.#sndMax;
      const avail = seqSub(this.#dataEnd(), nxt);
      const room = this.#sndWnd - seqSub(nxt, una);
      if (avail > 0 && room > 0) {
        const len = Math.min(avail, room, segMax);
        const fin = this.#finQueued && len === avail && seqAdd(nxt, len) === this.#finSeq;
        this.#emit(now, nxt, len, fin, false);
        rec.tlp.sent(this.#sndMax, false);
        this.#timers.clear("lossProbe");
        return true;
      }
      // ... else the last segment sent, again
      if (rec.lastUnsacked()) {
        const re = rec.rxLimit;
        const dataEnd = seqLt(this.#dataEnd(), re) ? this.#dataEnd() : re;
        let st = seqAdd(dataEnd, -segMax);
        if (seqLt(st, rec.rxSeq)) st = rec.rxSeq;
        const dlen = Math.max(0, seqSub(dataEnd, st));
        const fin = this.#finQueued && seqLt(this.#finSeq, re) &&
          seqAdd(st, dlen) === this.#finSeq;
        if (dlen > 0 || fin) {
          this.#emit(now, st, dlen, fin, false);
          rec.tlp.sent(this.#sndMax, true);
          this.#timers.clear("lossProbe");
          return true;
        }
      }
    }

    if (rec.nextRetransmit(this)) {
      // a segment deemed lost (RACK, DupThresh, a partial ACK or a timeout), within its record
      const s = rec.rxSeq, limit = rec.rxLimit;
      const len = Math.max(0, Math.min(segMax, seqSub(limit, s), seqSub(this.#dataEnd(), s)));
      const fin = this.#finQueued && seqLt(this.#finSeq, limit) && seqAdd(s, len) === this.#finSeq;
      if (len > 0 || fin) return this.#emit(now, s, len, fin, false);
    }

    if (this.#forceSend && this.#sndWnd === 0) {
      // RFC 9293 §3.8.6.1 zero-window probe: one octet (or the FIN) at SND.UNA, also
      // when an earlier probe already moved SND.NXT past it and went unanswered
      this.#forceSend = false;
      const probeLen = Math.min(1, seqSub(this.#dataEnd(), una));
      const probeFin = probeLen === 0 && this.#finQueued && !this.#finAcked;
      if (probeLen === 0 && !probeFin) return false;
      this.#sndNxt = una;
      return this.#emit(now, una, probeLen, probeFin, true);
    }
    const nxt = this.#sndNxt = rec.skipSacked(this);
    const avail = Math.max(0, seqSub(this.#dataEnd(), nxt));
    const finPending = this.#finQueued && !this.#finAcked && seqLe(nxt, this.#finSeq);
    if (avail === 0 && !finPending) {
      // draft-cheng-iccrg-delivery-rate-estimation §3.4: application-limited
      if (rec.lostBytes === 0 && nxt === this.#sndMax) {
        const pipe = rec.pipe(this);
        if (pipe < this.#cc.cwnd) rec.rate.markAppLimited(pipe);
      }
      return false;
    }
    const flight = seqSub(nxt, una);
    const wndRoom = this.#sndWnd - flight;
    if (wndRoom < segMax && wndRoom < avail && rec.lostBytes === 0 && nxt === this.#sndMax) {
      // limited by the peer's window, not by cwnd: rate samples from now on do not
      // show the path's bandwidth (draft-cheng-iccrg-delivery-rate-estimation §3.4)
      const pipe = rec.pipe(this);
      if (pipe < this.#cc.cwnd) rec.rate.markAppLimited(pipe);
    }
    const usable = Math.max(0, Math.min(wndRoom, rec.ccRoom(this)));
    let len = Math.min(avail, usable, segMax);
    const rexmit = seqLt(nxt, this.#sndMax);
    if (rexmit) {
      // after a timeout, go-back-N resends only the holes (RFC 6675 §5.1)
      const whole = rec.board.count > 0
        ? Math.min(avail, segMax, seqSub(rec.board.holeEnd(nxt, this.#sndMax), nxt))
        : Math.min(avail, segMax);
      // ... and whole segments: a resend cut to the few bytes of room an ACK opened
      // split the send records into 1-byte pieces, each a "retransmission" in the
      // pipe, until the pipe never fell below cwnd and the hole at SND.UNA was never
      // resent (bench:soak stalls). As Linux, whose cwnd counts whole segments
      // (in flight < cwnd), a segment goes once cwnd has any room; the peer's window
      // must take all of it (RFC 1122 4.2.3.4), except for a zero-window probe.
      if (this.#forceSend) len = Math.min(len, whole);
      else if (this.#sndWnd - flight < whole) return false;
      else if (usable <= 0 && !(nxt === una && rec.timeoutResendDue)) return false; // RFC 6298 §5.4
      else len = whole;
    }
    // The FIN takes one sequence number of the peer's window (RFC 9293 §3.8.6)
    const fin = finPending && len === avail && seqLt(this.#finSeq, seqAdd(una, this.#sndWnd));

    if (len === 0 && !fin) return false;
    if (len < segMax && !rexmit && !this.#forceSend) {
      // RFC 1122 4.2.3.4 sender SWS avoidance with Nagle (RFC 896, Minshall's variant):
      // a short segment goes out only if it empties the queue and no short segment is
      // unacknowledged, or if it is at least half the largest window seen.
      const smallOutstanding = seqGt(this.#smallEnd, una) && seqLe(this.#smallEnd, nxt);
      const pushAll = len === avail && (this.#noDelay || fin || !smallOutstanding);
      const bigEnough = flight === 0 && len >= this.#maxSndWnd / 2;
      if (!pushAll && !bigEnough) return false;
    }
    if (len > 0 && !this.#forceSend && !this.#paceAllows(now, len)) return false;
    this.#forceSend = false;
    if (len < segMax) this.#smallEnd = seqAdd(nxt, len);
    return this.#emit(now, nxt, len, fin, false);
  }

  /** Whether the token bucket lets `len` bytes go now; else arms the "pacing" timer. */
  #paceAllows(now: Instant, len: number): boolean {
    const pacer = this.#pacer;
    if (pacer === undefined) return true;
    const rate = pacingRate(this.#cc, this.#rtt, this.#mss);
    pacer.refill(now, rate);
    if (pacer.canSend(len)) return true;
    this.#timers.set("pacing", pacer.sendTime(now, len, rate));
    return false;
  }

  #nextSyn(now: Instant, maxPayload: number): boolean {
    if (this.#sndNxt !== this.#iss || this.synHold) return false;
    // RFC 7413 §4.1.2: with a cookie, the SYN carries the first data
    const len = Math.max(0, Math.min(this.synDataMax, maxPayload, this.#buf.length));
    return this.#emit(now, this.#iss, len, false, false, true);
  }

  /** Fills the plan for `[seq, seq + len + fin)` and does the bookkeeping of sending it. */
  #emit(now: Instant, seq: Seq, len: number, fin: boolean, probe: boolean, syn = false): boolean {
    const p = this.plan;
    p.seq = seq;
    p.len = len;
    p.syn = syn;
    p.fin = fin;
    p.offset = len > 0 && !syn ? seqSub(seq, this.#dataSeq()) : 0;
    const end = seqAdd(seq, len + (fin ? 1 : 0) + (syn ? 1 : 0));
    const rexmit = seqLt(seq, this.#sndMax);
    if (rexmit) {
      if (!probe) this.#retransmits++; // a repeated zero-window probe is no retransmission
      this.#rttTiming = false; // Karn: no sample from a retransmitted range
    } else if (!this.#rttTiming) {
      this.#rttTiming = true;
      this.#rttSeq = end;
      this.#rttStart = now;
    }
    this.#bytesSent += len;
    if (syn) this.#synSentAt = now;
    if (!syn) this.#rec.onTransmit(now, this, seq, end); // a FIN takes one sequence number
    if (len > 0) this.#pacer?.consume(len);
    if (seqGt(end, this.#sndNxt)) this.#sndNxt = end;
    const fresh = seqGt(end, this.#sndMax);
    if (fresh) this.#sndMax = end;
    if (this.#stallSince === NEVER && this.#sndMax !== this.#sndUna) this.#stallSince = now;
    // RFC 6298 §5.1: start the timer when sending and it is not running; as Linux
    // (tcp_xmit_retransmit_queue), resending SND.UNA's segment restarts it, so a
    // retransmission lost again is found by RACK rather than by an early RTO
    if (!probe && (!this.#timers.isArmed("retransmit") || (rexmit && seq === this.#sndUna))) {
      this.#armRto(now);
    }
    if (!probe) this.#timers.clear("persist");
    if (fresh && !syn && !probe) this.#armProbe(now); // RFC 8985 §7.2: after new data
    return true;
  }

  /**
   * RFC 8985 §7.2: (re)arms the probe timeout when SACK is on, data is
   * outstanding, no episode runs and no probe is outstanding; else disarms it.
   */
  #armProbe(now: Instant): void {
    const rec = this.#rec;
    if (
      !rec.sack || !this.synAcked || this.#sndMax === this.#sndUna || this.#sndWnd === 0 ||
      rec.phase !== PHASE_NONE || rec.tlp.active || rec.tlp.pending
    ) {
      this.#timers.clear("lossProbe");
      return;
    }
    const rtoAt = this.#timers.get("retransmit");
    const untilRto = rtoAt === NEVER ? this.#rtt.rto : rtoAt - now;
    const flight = seqSub(this.#sndMax, this.#sndUna);
    const pto = probeTimeout(this.#rtt.srtt, flight <= this.#mss, untilRto);
    this.#timers.set("lossProbe", now + pto);
  }

  /** Arms the RACK reordering timer at what loss detection left pending (RFC 8985 §6.2 step 6). */
  #armReorder(now: Instant): void {
    const t = this.#rec.rack.timeout;
    if (this.#rec.sack && t > 0 && this.#sndMax !== this.#sndUna) {
      this.#timers.set("reorder", now + t);
    } else this.#timers.clear("reorder");
  }

  /**
   * Arms the persist timer when data or a FIN waits, nothing is in flight and
   * nothing can be sent (zero window, or SWS avoidance holding a short segment).
   */
  armPersistIfStalled(now: Instant): void {
    if (!this.synAcked || this.#timers.isArmed("persist")) return;
    if (this.#timers.isArmed("retransmit") || this.#sndNxt !== this.#sndUna) return;
    if (this.#timers.isArmed("pacing")) return; // only waiting for tokens
    const avail = seqSub(this.#dataEnd(), this.#sndNxt);
    const finPending = this.#finQueued && !this.#finAcked;
    if (avail <= 0 && !finPending) return;
    this.#timers.set("persist", now + this.#persistInterval());
  }

  #persistInterval(): number {
    const base = this.#rtt.rto * 2 ** this.#persistShift;
    return Math.min(this.#config.rtoMax, base);
  }

  // ---- input ------------------------------------------------------------------------

  /**
   * Processes SEG.ACK and SEG.WND of an acceptable segment with the ACK bit
   * (RFC 9293 §3.10.7.4 fifth step).
   *
   * @param now Current time.
   * @param seg The segment.
   * @param tsRtt RTT measured from its TSecr, or -1 (RFC 7323 §4).
   * @returns A mask of the `ACK_*` bits.
   */
  processAck(now: Instant, seg: TcpSegment, tsRtt: number): number {
    const ack = seg.ack;
    // RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT
    if (seqGt(ack, this.#sndMax)) return ACK_UNACCEPTABLE;
    // After a retransmitted SYN (SYN-ACK), an ACK of it that echoes the TSval of an
    // earlier copy than the last one measures the peer's lost ACKs, not the path:
    // the peer echoes TS.Recent until a newer segment reaches it (RFC 7323 §4.3). Soak
    // finding: 11.7 s from a SYN-ACK whose ACKs were lost gave an RTO of 35 s, past
    // the user timeout, and the first data was never resent. No sample then; the
    // handshake's RFC 6298 §5.7 fallback applies (established()).
    if (
      tsRtt >= 0 && !this.synAcked && this.#synRetransmits > 0 && tsRtt > now - this.#synSentAt + 1
    ) {
      tsRtt = -1;
    }
    if (seqLt(ack, seqAdd(this.#sndUna, -this.#maxSndWnd))) return ACK_UNACCEPTABLE;
    this.#probesUnanswered = 0;
    this.#persistSince = NEVER;
    const acked = seqSub(ack, this.#sndUna);
    let result = 0;
    const oldWnd = this.#sndWnd;
    const wnd = seg.window * 2 ** this.#sndWscale;
    // RFC 9293 §3.10.7.4: update the window only from the newest segment (a SYN's
    // window was taken unscaled by windowFromSyn, RFC 7323 §2.2)
    if (
      acked >= 0 && (seg.flags & SYN) === 0 &&
      (seqLt(this.#sndWl1, seg.seq) ||
        (this.#sndWl1 === seg.seq && seqLe(this.#sndWl2, ack)))
    ) {
      this.#sndWnd = wnd;
      this.#sndWl1 = seg.seq;
      this.#sndWl2 = ack;
      if (wnd > this.#maxSndWnd) this.#maxSndWnd = wnd;
    }

    const rec = this.#rec;
    this.#ackRtt = -1;
    rec.beginAck(now, this, tsRtt);
    const fresh = rec.onAckBlocks(now, this, acked, seg);
    if (acked > 0) {
      result |= ACK_ADVANCED | this.#onNewAck(now, ack, acked, tsRtt);
    } else if (
      acked === 0 && seqGt(this.#sndMax, this.#sndUna) && (seg.flags & (SYN | FIN)) === 0 &&
      (rec.sack
        // RFC 5681 §2 last paragraph / RFC 6675 §2 DupAck: previously unknown SACK information
        ? fresh
        // RFC 5681 §2: no data, same window
        : seg.payload.length === 0 && wnd === oldWnd && wnd > 0) &&
      rec.onDupAck(now, this)
    ) {
      this.#lost++;
    }
    if (!this.synAcked) return result;
    if (rec.afterAck(now, this, this.#ackRtt)) this.#lost++;
    this.#armReorder(now);
    if (acked > 0 || rec.phase !== PHASE_NONE) this.#armProbe(now);

    if (this.#sndWnd === 0) {
      // RFC 9293 §3.8.6.1: nothing fits a zero window; probe instead of retransmitting
      if (seqGt(this.#sndNxt, this.#sndUna)) this.#sndNxt = this.#sndUna;
      this.#timers.clear("retransmit");
    } else {
      if (this.#timers.isArmed("persist")) {
        this.#timers.clear("persist");
        this.#persistShift = 0;
        this.#forceSend = false;
      }
      if (seqGt(this.#sndNxt, this.#sndUna) && !this.#timers.isArmed("retransmit")) {
        this.#armRto(now);
      }
    }
    return result;
  }

  #onNewAck(now: Instant, ack: Seq, acked: number, tsRtt: number): number {
    let result = 0;
    let rest = acked;
    if (!this.synAcked) {
      rest--;
      result |= ACK_SYN_ACKED;
    }
    const dataAcked = Math.min(rest, this.#buf.length);
    rest -= dataAcked;
    if (rest > 0 && this.#finQueued) {
      this.#finAcked = true;
      result |= ACK_FIN_ACKED;
    }
    this.#buf.consume(dataAcked);
    this.#bytesAcked += dataAcked;
    // RFC 9293 §3.10.7.4 (SYN-RECEIVED, then ESTABLISHED): segments the ACK covers
    // leave the retransmission queue, also when it is the first ACK of our SYN: a
    // Fast Open server's data sent in SYN_RCVD (RFC 7413 §4.2.2) has send records,
    // and one left below SND.UNA kept every timeout from resending the hole at
    // SND.UNA. (A SYN, with or without data, has no record.)
    this.#rec.onCumAck(now, this, ack);
    this.#sndUna = ack;
    if (seqLt(this.#sndNxt, ack)) this.#sndNxt = ack;
    this.#stallSince = ack === this.#sndMax ? NEVER : now; // progress restarts the user timeout

    // RTT: from timestamps (valid for retransmissions, RFC 7323 §4.1) or Karn's timing
    if (tsRtt >= 0) {
      this.#rtt.sample(tsRtt);
      this.#ackRtt = tsRtt;
      this.#rtt.resetBackoff();
      if (this.#rttTiming && seqGe(ack, this.#rttSeq)) this.#rttTiming = false;
    } else if (this.#rttTiming && seqGe(ack, this.#rttSeq)) {
      this.#rttTiming = false;
      this.#ackRtt = Math.max(0, now - this.#rttStart);
      this.#rtt.sample(this.#ackRtt);
      this.#rtt.resetBackoff();
    }
    // RFC 6298 §5 / RFC 9293 MUST-18 (Karn): no valid sample, the backoff stays
    this.#rtoCount = 0;

    const phase = this.#rec.onNewAck(now, this, tsRtt);

    // RFC 6298 §5.2 / §5.3
    if (ack === this.#sndMax) this.#timers.clear("retransmit");
    else if (phase !== KEEP_RTO) this.#armRto(now);

    if (this.#writeBlocked && this.#buf.free > 0) {
      this.#writeBlocked = false;
      result |= ACK_WRITABLE;
    }
    return result;
  }

  // ---- timers -------------------------------------------------------------------------

  /**
   * The retransmission timer expired (RFC 6298 §5.4–5.6).
   *
   * @returns An error detail when the retries are exhausted, else undefined.
   */
  onRetransmitTimeout(now: Instant): string | undefined {
    const userTimedOut = this.#userTimedOut(now, this.#stallSince);
    if (!this.synAcked) {
      const max = this.#passive ? this.#config.synAckRetries : this.#config.synRetries;
      if (this.#synRetransmits >= max || userTimedOut) {
        const detail = handshakeTimeoutDetail(this.#passive, this.#synRetransmits);
        return userTimedOut ? `${detail} (${this.#userTimeoutText()})` : detail;
      }
      this.#synRetransmits++;
      this.#rtt.backoff();
      if (this.#amplificationBlocked()) this.#ampHeld++;
      else this.#sndNxt = this.#iss;
      this.#armRto(now);
      return undefined;
    }
    if (this.#sndMax === this.#sndUna) return undefined;
    if (userTimedOut) {
      // RFC 9293 §3.8.3 USER TIMEOUT (RFC 5482, Linux TCP_USER_TIMEOUT)
      return `timed out after ${this.#config.userTimeout} ms without acknowledgment (user timeout)`;
    }
    if (this.#rtoCount >= this.retryLimit) {
      return `timed out after ${this.#rtoCount} retransmission${this.#rtoCount === 1 ? "" : "s"}`;
    }
    this.#rtoCount++;
    this.#timeouts++;
    this.#lost++;
    this.#cc.onRto(now, seqSub(this.#sndMax, this.#sndUna));
    // RFC 8985 §6.3: SND.UNA's segment and those past their RACK deadline are lost and
    // resent in order as cwnd allows (the scoreboard is kept, RFC 6675 §5.1)
    this.#rec.onRto(now, this);
    this.#timers.clear("lossProbe");
    this.#timers.clear("reorder");
    // A go-back-N resend in progress starts again at SND.UNA (RFC 6298 §5.4), as after a
    // zero window: the earliest unacknowledged segment goes first
    if (this.#sndWnd === 0 || seqLt(this.#sndNxt, this.#sndMax)) this.#sndNxt = this.#sndUna;
    this.#rtt.backoff(); // RFC 6298 §5.5
    this.#armRto(now); // RFC 6298 §5.6
    return undefined;
  }

  /**
   * The probe timeout expired (RFC 8985 §7.3): the next transmit opportunity
   * sends a loss probe, and the RTO is re-armed behind it.
   */
  onProbeTimeout(now: Instant): void {
    const rec = this.#rec;
    if (!this.synAcked || this.#sndMax === this.#sndUna || this.#sndWnd === 0) return;
    if (rec.phase !== PHASE_NONE || rec.tlp.active) return;
    rec.tlp.pending = true;
    this.#armRto(now); // RFC 8985 §7.3: the RTO is re-armed behind the probe
  }

  /** The RACK reordering timer expired (RFC 8985 §6.2 step 6): detect losses again. */
  onReorderTimeout(now: Instant): void {
    if (!this.synAcked) return;
    if (this.#rec.onReorderTimeout(now, this)) {
      this.#lost++;
      this.#timers.clear("lossProbe");
    }
    this.#armReorder(now);
  }

  /**
   * The persist timer expired: allow one forced segment (a zero-window probe
   * or the SWS override) and re-arm with backoff, up to rtoMax.
   *
   * @returns An error detail when too many probes went unanswered.
   */
  onPersistTimeout(now: Instant): string | undefined {
    if (!this.synAcked || this.#sndNxt !== this.#sndUna && this.#sndWnd > 0) return undefined;
    if (this.#sndWnd === 0) {
      if (this.#probesUnanswered >= this.retryLimit) {
        return `timed out after ${this.#probesUnanswered} unanswered zero-window probes`;
      }
      if (this.#userTimedOut(now, this.#persistSince)) {
        return `timed out after ${this.#probesUnanswered} unanswered zero-window probes (${this.#userTimeoutText()})`;
      }
      if (this.#probesUnanswered === 0) this.#persistSince = now;
      this.#probesUnanswered++;
    }
    this.#forceSend = true;
    if (this.#persistShift < PERSIST_MAX_SHIFT) this.#persistShift++;
    this.#timers.set(
      "persist",
      this.#clampToUserTimeout(now + this.#persistInterval(), this.#persistSince),
    );
    return undefined;
  }

  /**
   * Counts bytes received from and sent to the peer of a passive open before
   * it acknowledged our SYN (for `amplificationLimit`).
   *
   * @param received Encoded bytes of a segment from the peer, or 0.
   * @param sent Encoded bytes of a segment to the peer, or 0.
   */
  noteUnvalidated(received: number, sent: number): void {
    this.#ampReceived += received;
    this.#ampSent += sent;
    if (sent > 0) this.#ampLast = sent;
  }

  /** Whether the anti-amplification limit applies: a passive open whose SYN is not yet acknowledged. */
  get unvalidated(): boolean {
    // a valid Fast Open cookie (earlyData) already proves the peer's address (RFC 7413 §4.1)
    return this.#passive && this.#config.amplificationLimit > 0 && !this.synAcked &&
      !this.earlyData;
  }

  /** SYN-ACK retransmissions skipped by the anti-amplification limit. */
  get amplificationHeld(): number {
    return this.#ampHeld;
  }

  /** Whether sending the SYN-ACK again would exceed amplificationLimit × bytes received. */
  #amplificationBlocked(): boolean {
    const f = this.#config.amplificationLimit;
    return this.unvalidated && this.#ampSent + this.#ampLast > f * this.#ampReceived;
  }

  /** Arms the retransmission timer one RTO from `now`, but not past the user timeout. */
  #armRto(now: Instant): void {
    this.#timers.set("retransmit", this.#clampToUserTimeout(now + this.#rtt.rto, this.#stallSince));
  }

  /** `at`, or the user-timeout deadline of a stall that began at `since` when that comes first (Linux tcp_clamp_rto_to_user_timeout). */
  #clampToUserTimeout(at: Instant, since: Instant): Instant {
    const ut = this.#config.userTimeout;
    if (ut <= 0 || since === NEVER) return at;
    return Math.min(at, since + ut);
  }

  /** Whether a stall that began at `since` has lasted the user timeout. */
  #userTimedOut(now: Instant, since: Instant): boolean {
    const ut = this.#config.userTimeout;
    return ut > 0 && since !== NEVER && now - since >= ut;
  }

  #userTimeoutText(): string {
    return `user timeout ${this.#config.userTimeout} ms`;
  }
}
