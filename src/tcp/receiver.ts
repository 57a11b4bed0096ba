/**
 * The receiving half of a connection (RFC 9293 §3.8.6.2, §3.10.7.4; RFC 1122
 * 4.2.3.2–4.2.3.3; RFC 7323; RFC 2018): receive sequence variables, the
 * segment acceptability test, reassembly through {@linkcode RecvBuffer}, the
 * advertised window (scaling, receiver SWS avoidance, never shrinking), the
 * ACK policy (delayed, immediate, challenge ACKs), the peer's FIN, TS.Recent
 * / PAWS and SACK blocks. What an arriving segment means for the connection
 * is decided in `arrival.ts`; this half only keeps the receive state.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import {
  inWindow,
  type Seq,
  seq,
  seqAdd,
  seqGe,
  seqGt,
  seqLe,
  seqLt,
  seqSub,
} from "../wire/seq.ts";
import { FIN, SYN } from "../wire/tcp_flags.ts";
import type { SackBlock, TcpSegment } from "../wire/tcp_segment.ts";
import { DEFAULT_TCP_CONFIG, type TcpConfig } from "./config.ts";
import { RecvBuffer } from "./recv_buffer.ts";
import { RcvAutotune } from "./rcv_autotune.ts";
import { addDropCounters, type TcpDropCounters, zeroDropCounters } from "./drop_counters.ts";
import type { TimerTable } from "./timers.ts";

/** RFC 7323 §5.5: TS.Recent is invalid after 24 days of idleness. */
/** Least time between ACKs to unacceptable segments without data (Linux tcp_invalid_ratelimit). */
export const INVALID_ACK_INTERVAL_MS = 500;
const PAWS_IDLE_LIMIT = 24 * 24 * 3600 * 1000;
/** Delayed ACKs wait at most this long (RFC 1122 4.2.3.2: less than 0.5 s; Linux 200 ms). */
const MAX_DELAYED_ACK = 200;
const DISCARD_CHUNK = 64 * 1024;
/** Where discarded bytes are read to, shared (allocated on first use). */
let DISCARD_SCRATCH: Uint8Array | undefined;

/**
 * Receive-side state machine. Not exported from the package: `TcpConnection`
 * owns one and is its only caller.
 */
export class Receiver {
  readonly #config: TcpConfig;
  readonly #timers: TimerTable;
  readonly #buf: RecvBuffer;
  /** Receive-buffer auto-tuning: caps buffered + offered bytes (rcv_autotune.ts). */
  readonly #autotune: RcvAutotune | undefined;
  /** When data last arrived: the auto-tuning clock (app reads carry no time). */
  #lastTextAt: Instant = 0;
  #synced = false;
  #irs: Seq = seq(0);
  #rcvNxt: Seq = seq(0);
  /** Right edge of the window we advertised: RCV.NXT + RCV.WND when it was sent. */
  #rcvAdv: Seq = seq(0);
  #rcvWscale = 0;
  #lastAckSent: Seq = seq(0);
  #ackNow = false;
  /** The pending ACK must not wait for the end of a receive batch (see `ackUrgent`). */
  #ackUrgent = false;
  #unackedBytes = 0;
  #rcvMss: number;
  #advMss: number;

  #finSeen = false;
  #finSeq: Seq = seq(0);
  #finReceived = false;
  #readShut = false;

  #sack = false;
  /** RFC 2883: the duplicate range to report first in the next ACK's SACK option. */
  #dsack: SackBlock | undefined;
  #timestamps = false;
  #tsRecent = 0;
  #tsRecentAt: Instant = 0;

  #bytesReceived = 0;
  #challengeStart: Instant = -Infinity;
  #challengeCount = 0;
  #lastInvalidAck: Instant = -Infinity;

  /**
   * Makes the receive side with an empty buffer; it learns the IRS from the peer's SYN.
   *
   * @param config Connection configuration (buffer size, delayed ACK, ranges).
   * @param timers The connection's timer table (this uses "delayedAck").
   * @param advMss The MSS we advertise.
   */
  constructor(config: TcpConfig, timers: TimerTable, advMss: number) {
    this.#config = config;
    this.#timers = timers;
    this.#buf = new RecvBuffer(config.recvBufferSize, { maxRanges: config.maxOutOfOrderRanges });
    const autoTune = config.recvAutoTune ??
      config.recvBufferSize >= DEFAULT_TCP_CONFIG.recvBufferSize;
    if (autoTune) this.#autotune = new RcvAutotune({ max: config.recvBufferSize, mss: advMss });
    this.#advMss = advMss;
    this.#rcvMss = Math.min(536, advMss);
  }

  // ---- state ----------------------------------------------------------------------

  /** Whether the peer's SYN was received (IRS known). */
  get synced(): boolean {
    return this.#synced;
  }
  /** IRS. */
  get irs(): Seq {
    return this.#irs;
  }
  /** RCV.NXT. */
  get rcvNxt(): Seq {
    return this.#rcvNxt;
  }
  /** RCV.WND as last advertised (right edge minus RCV.NXT). */
  get rcvWnd(): number {
    return this.#synced ? Math.max(0, seqSub(this.#rcvAdv, this.#rcvNxt)) : 0;
  }
  /** Shift applied to our window field. */
  get rcvWscale(): number {
    return this.#rcvWscale;
  }
  /** Bytes waiting to be read. */
  get readable(): number {
    return this.#buf.readable;
  }
  /** Estimated peer MSS (largest payload seen). */
  get rcvMss(): number {
    return this.#rcvMss;
  }
  /** In-order payload bytes received. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }
  /** The peer's FIN has been reached in the byte stream. */
  get finReceived(): boolean {
    return this.#finReceived;
  }
  /** shutdownRead() was called. */
  get readShut(): boolean {
    return this.#readShut;
  }
  /** An ACK should go out now. */
  get ackNow(): boolean {
    return this.#ackNow;
  }
  /**
   * An ACK is due for a reason other than "every second full-sized segment"
   * (out-of-order or duplicate data, a gap filled, a FIN, a window update, a
   * challenge, delayed ACKs off): the driver must not coalesce it with the
   * ACKs of later segments of the same receive batch.
   */
  get ackUrgent(): boolean {
    return this.#ackUrgent;
  }
  /** Whether timestamps are in use. */
  get timestamps(): boolean {
    return this.#timestamps;
  }
  /** TS.Recent: the TSval to echo (RFC 7323 §4.3). */
  get tsRecent(): number {
    return this.#tsRecent;
  }
  /** When TS.Recent was last set (RFC 7323 §5.5; Linux `ts_recent_stamp`). */
  get tsRecentAt(): Instant {
    return this.#tsRecentAt;
  }
  /** Whether SACK is in use. */
  get sack(): boolean {
    return this.#sack;
  }

  /**
   * The ACK RFC 9293 §3.10.7.4 sends for an unacceptable (or PAWS-rejected)
   * segment. For one without data (a pure ACK, a SYN, a RST-less control
   * segment) at most one per {@linkcode INVALID_ACK_INTERVAL_MS}, as Linux
   * `tcp_oow_rate_limited` (`tcp_invalid_ratelimit`): two desynchronized ends
   * would otherwise ACK each other's ACKs forever (an ACK loop).
   *
   * @param now Current time.
   * @param seg The unacceptable segment.
   */
  invalidSegmentAck(now: Instant, seg: TcpSegment): void {
    const data = seg.payload.length > 0 || (seg.flags & FIN) !== 0;
    if (!data || (seg.flags & SYN) !== 0) {
      if (now - this.#lastInvalidAck < INVALID_ACK_INTERVAL_MS) {
        this.drops.invalidAcksLimited++;
        return;
      }
      this.#lastInvalidAck = now;
    }
    this.requestAck();
  }

  /**
   * Drops and rate-limited answers (drop_counters.ts); `reassemblyDrops`
   * is read from the buffer by {@linkcode Receiver.dropCounters}.
   */
  readonly drops: TcpDropCounters = zeroDropCounters();

  /** The drop counters, reassembly drops included. */
  dropCounters(): TcpDropCounters {
    const sum = zeroDropCounters();
    this.addDropCountersTo(sum);
    return sum;
  }

  /** Adds the drop counters into `sum`, allocating nothing (a stack sums thousands). */
  addDropCountersTo(sum: TcpDropCounters): void {
    addDropCounters(sum, this.drops); // drops.reassemblyDrops stays 0: the buffer counts them
    sum.reassemblyDrops += this.#buf.droppedInserts;
  }

  /** Asks for an immediate ACK (duplicate, window update, FIN). */
  requestAck(): void {
    this.#ackNow = this.#ackUrgent = true;
  }

  /**
   * Asks for an ACK that may wait as a delayed ACK for the next segment we
   * send (`lazyAcks`); at once without it or with delayed ACKs off.
   *
   * @param now Current time.
   */
  requestLazyAck(now: Instant): void {
    const delay = Math.min(this.#config.delayedAck, MAX_DELAYED_ACK);
    if (!this.#config.lazyAcks || delay <= 0 || this.#ackNow) {
      this.#ackNow = this.#ackUrgent = true;
    } else if (!this.#timers.isArmed("delayedAck")) {
      this.#timers.set("delayedAck", now + delay);
    }
  }

  /**
   * An unacceptable segment: if its data lies wholly below RCV.NXT it is a duplicate,
   * reported in a D-SACK block of the ACK it draws (RFC 2883 §4 case 1).
   */
  noteOldDuplicate(seg: TcpSegment): void {
    const n = seg.payload.length;
    if (n === 0 || !this.#sack || !this.#synced) return;
    const end = seqAdd(seg.seq, n);
    if (seqLe(end, this.#rcvNxt)) this.#dsack = { left: seg.seq, right: end };
  }

  /** RFC 5961 §7: a challenge ACK, at most `limit` per second. */
  challengeAck(now: Instant, limit: number): void {
    if (now - this.#challengeStart >= 1000) {
      this.#challengeStart = now;
      this.#challengeCount = 0;
    }
    if (this.#challengeCount < limit) {
      this.#challengeCount++;
      this.drops.challengeAcks++;
      this.#ackNow = this.#ackUrgent = true;
    } else {
      this.drops.challengeAcksLimited++;
    }
  }

  // ---- handshake ---------------------------------------------------------------------

  /**
   * Records the peer's SYN: IRS, RCV.NXT = IRS + 1 and the negotiated options.
   *
   * @param syn The peer's SYN (or SYN-ACK).
   * @param now Current time.
   * @param opts Negotiated window shift, timestamps and SACK.
   */
  onSyn(
    syn: TcpSegment,
    now: Instant,
    opts: { rcvWscale: number; timestamps: boolean; sack: boolean },
  ): void {
    this.#synced = true;
    this.#irs = syn.seq;
    this.#rcvNxt = seqAdd(syn.seq, 1);
    this.#lastAckSent = this.#rcvNxt;
    this.#rcvAdv = seqAdd(this.#rcvNxt, Math.min(this.#offerable(), 0xffff));
    this.#rcvWscale = opts.rcvWscale;
    this.#timestamps = opts.timestamps;
    this.#sack = opts.sack;
    if (opts.timestamps && syn.options.timestamps) {
      this.#tsRecent = syn.options.timestamps.tsVal;
      this.#tsRecentAt = now;
    }
  }

  // ---- acceptability (RFC 9293 §3.10.7.4 first step) ------------------------------------

  /**
   * The four-case acceptability test against the window we advertised. A
   * bare FIN at RCV.NXT is accepted into a zero window, as Linux does.
   */
  acceptable(seg: TcpSegment): boolean {
    const len = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
    const wnd = this.rcvWnd;
    const nxt = this.#rcvNxt;
    if (len === 0) return wnd === 0 ? seg.seq === nxt : inWindow(seg.seq, nxt, wnd);
    if (wnd === 0) return seg.payload.length === 0 && seg.seq === nxt && (seg.flags & FIN) !== 0;
    return inWindow(seg.seq, nxt, wnd) || inWindow(seqAdd(seg.seq, len - 1), nxt, wnd);
  }

  /** Whether `seg` (with the ACK step passed) is a retransmission of the FIN we already have. */
  isDuplicateFin(seg: TcpSegment): boolean {
    return (seg.flags & FIN) !== 0 && this.#finReceived &&
      seqAdd(seg.seq, seg.payload.length + 1) === this.#rcvNxt;
  }

  // ---- timestamps (RFC 7323) ----------------------------------------------------------------

  /** RFC 7323 §5.3 R1: a non-RST segment whose TSval is older than TS.Recent fails PAWS. */
  pawsRejects(seg: TcpSegment, now: Instant): boolean {
    const ts = seg.options.timestamps;
    if (!this.#timestamps || ts === undefined) return false;
    if (now - this.#tsRecentAt > PAWS_IDLE_LIMIT) return false; // RFC 7323 §5.5
    return ((ts.tsVal - this.#tsRecent) | 0) < 0;
  }

  /**
   * RFC 7323 §4.3 (2): TS.Recent follows segments at or before Last.ACK.sent;
   * an invalid (over 24 days old, §5.5) TS.Recent is replaced whatever its value.
   */
  updateTsRecent(seg: TcpSegment, now: Instant): void {
    const ts = seg.options.timestamps;
    if (!this.#timestamps || ts === undefined) return;
    const newer = ((ts.tsVal - this.#tsRecent) | 0) >= 0 ||
      now - this.#tsRecentAt > PAWS_IDLE_LIMIT;
    if (newer && seqLe(seg.seq, this.#lastAckSent)) {
      this.#tsRecent = ts.tsVal;
      this.#tsRecentAt = now;
    }
  }

  /**
   * TS.Recent from a duplicate that reaches Last.ACK.sent (our ACK of it was
   * lost and the peer retransmitted). RFC 7323 only updates from acceptable
   * segments; Linux (`tcp_sequence` with `rcv_wup`) also takes these, so the
   * peer's RTT sample is not inflated by its retransmission timeouts.
   */
  updateTsRecentFromDuplicate(seg: TcpSegment, now: Instant): void {
    const end = seqAdd(seg.seq, seg.payload.length + (seg.flags & (SYN | FIN) ? 1 : 0));
    if (seqGe(end, this.#lastAckSent)) this.updateTsRecent(seg, now);
  }

  // ---- text and FIN (RFC 9293 §3.10.7.4 seventh and eighth steps) --------------------------

  /**
   * Notes where the peer's FIN is, if it lies within the window; the FIN is
   * processed once RCV.NXT reaches it ({@linkcode Receiver.reachFin}).
   *
   * @param dataSeq Sequence number of the segment's first data byte.
   * @param seg The segment carrying FIN.
   */
  noteFin(dataSeq: Seq, seg: TcpSegment): void {
    const at = seqAdd(dataSeq, seg.payload.length);
    if (this.#finReceived) {
      if (seqLt(at, this.#rcvNxt)) this.#ackNow = this.#ackUrgent = true; // a retransmitted FIN
      return;
    }
    if (this.#finSeen) return;
    const off = seqSub(at, this.#rcvNxt);
    if (off < 0 || off > this.#buf.window) return; // outside the window: dropped
    this.#finSeen = true;
    this.#finSeq = at;
  }

  /**
   * Queues segment text for the application.
   *
   * @param now Current time.
   * @param dataSeq Sequence number of `data[0]`.
   * @param data The payload.
   * @returns How far RCV.NXT advanced.
   */
  onText(now: Instant, dataSeq: Seq, data: Uint8Array): number {
    this.#lastTextAt = now;
    let off = seqSub(dataSeq, this.#rcvNxt);
    let payload = data;
    if (off < 0) {
      // RFC 9293 §3.10.7.4: trim what was already received; RFC 2883: report it in a D-SACK
      const dup = Math.min(-off, payload.length);
      if (this.#sack && dup > 0) {
        this.#dsack = { left: dataSeq, right: seqAdd(dataSeq, dup) };
        this.#ackNow = this.#ackUrgent = true; // the sender learns of its spurious retransmission now
      }
      if (-off >= payload.length) {
        this.#ackNow = this.#ackUrgent = true; // a duplicate: ACK at once (RFC 5681 §4.2)
        return 0;
      }
      payload = payload.subarray(-off);
      off = 0;
    } else if (off > 0 && this.#sack && this.#buf.holds(off, payload.length)) {
      // RFC 2883 §4 case 3: a duplicate of held out-of-order data
      this.#dsack = { left: dataSeq, right: seqAdd(dataSeq, payload.length) };
    }
    if (this.#finSeen) {
      // nothing after the FIN is data (RFC 9293 §3.10.7.4 eighth step)
      const room = seqSub(this.#finSeq, this.#rcvNxt) - off;
      if (room <= 0) return 0;
      if (payload.length > room) payload = payload.subarray(0, room);
    }
    if (data.length > this.#rcvMss) this.#rcvMss = Math.min(data.length, this.#advMss);
    const hadGaps = this.#buf.outOfOrderRanges > 0;
    const advanced = this.#buf.insert(off, payload);
    if (advanced > 0) {
      this.#rcvNxt = seqAdd(this.#rcvNxt, advanced);
      this.#bytesReceived += advanced;
      if (this.#readShut) this.#discardReadable();
    }
    if (off > 0 || hadGaps || advanced < payload.length) {
      // RFC 5681 §4.2: out-of-order, gap-filling or unstorable data is ACKed at once
      this.#ackNow = this.#ackUrgent = true;
    } else {
      // RFC 1122 4.2.3.2: ACK at least every second full-sized segment, else delay
      this.#unackedBytes += advanced;
      const delay = Math.min(this.#config.delayedAck, MAX_DELAYED_ACK);
      if (delay <= 0) this.#ackNow = this.#ackUrgent = true;
      else if (this.#unackedBytes >= 2 * this.#rcvMss) this.#ackNow = true; // may stretch
      else if (!this.#timers.isArmed("delayedAck")) this.#timers.set("delayedAck", now + delay);
    }
    return advanced;
  }

  /**
   * Consumes the FIN if RCV.NXT has reached it. Its ACK goes at once, or,
   * with `delayAck` (the FIN closes an ESTABLISHED connection's receive
   * side), `lazyAcks` and delayed ACKs on, with the next segment we send or when the
   * delayed-ACK timer expires: as Linux's `tcp_fin` (pingpong mode), so
   * that an application that closes on EOF sends one FIN+ACK, not an ACK
   * and then a FIN.
   *
   * @param now Current time.
   * @param delayAck Whether the ACK may wait.
   * @returns Whether the FIN was consumed now (RCV.NXT advanced over it).
   */
  reachFin(now: Instant, delayAck = false): boolean {
    if (!this.#finSeen || this.#finReceived || this.#rcvNxt !== this.#finSeq) return false;
    this.#finReceived = true;
    this.#rcvNxt = seqAdd(this.#rcvNxt, 1);
    if (delayAck) this.requestLazyAck(now);
    else this.#ackNow = this.#ackUrgent = true;
    return true;
  }

  /** Whether the segment carries data beyond RCV.NXT (new data). */
  hasNewData(dataSeq: Seq, seg: TcpSegment): boolean {
    return seg.payload.length > 0 &&
      seqGt(seqAdd(dataSeq, seg.payload.length), this.#rcvNxt);
  }

  // ---- application ----------------------------------------------------------------------

  /**
   * Copies readable bytes into `into`; asks for a window update when the
   * window opened enough (RFC 1122 4.2.3.3). `rtt` (SRTT, 0 when unknown)
   * and the time of the latest data arrival drive receive-buffer auto-tuning.
   */
  read(into: Uint8Array, rtt = 0): number {
    const n = this.#buf.read(into);
    if (n > 0) this.#autotune?.onConsumed(this.#lastTextAt, n, rtt);
    // no window update once the FIN is in: nothing more can arrive (Linux checks RCV_SHUTDOWN)
    if (n > 0 && this.#synced && !this.#finReceived) this.#maybeWindowUpdate();
    return n;
  }

  /** Free buffer space, capped by the auto-tuned target: what the receive path can absorb. */
  #offerable(): number {
    const target = Math.min(this.#autotune?.target ?? Infinity, this.#buf.limit);
    return Math.min(this.#buf.window, Math.max(0, target - this.#buf.readable));
  }

  /**
   * Bounds the receive buffer to `limit` bytes (a shared memory budget): the
   * window offered from now on fits in it. An advertised right edge never
   * moves back (RFC 9293 §3.8.6.2.2), so the window shrinks as data arrives.
   */
  setMemoryLimit(limit: number): void {
    this.#buf.setLimit(limit);
  }

  /** Gives the receive buffer's memory back when nothing is held (TIME_WAIT); see `RecvBuffer.compact`. */
  compact(): void {
    this.#buf.compact();
  }

  /** Bytes of memory the receive buffer holds. */
  get allocated(): number {
    return this.#buf.allocated;
  }

  /** Discards buffered and future data (shutdownRead). */
  shutdownRead(): void {
    this.#readShut = true;
    this.#discardReadable();
    if (this.#synced && !this.#finReceived) this.#maybeWindowUpdate();
  }

  #discardReadable(): void {
    // one scratch buffer for every connection (nothing keeps what it holds)
    if (this.#buf.readable === 0) return;
    const scratch = DISCARD_SCRATCH ??= new Uint8Array(DISCARD_CHUNK);
    while (this.#buf.read(scratch) > 0) { /* drop */ }
  }

  /** Receiver SWS threshold: min(RCV.BUFF / 2, MSS) (RFC 1122 4.2.3.3). */
  #swsThreshold(): number {
    return Math.min(Math.floor(this.#buf.limit / 2), this.#rcvMss);
  }

  /**
   * After a read: send a window update when the window can grow by the SWS
   * threshold and the advertised window has fallen to half the buffer or less
   * (the second condition is Linux's, to avoid an ACK per read).
   */
  #maybeWindowUpdate(): void {
    const cur = this.rcvWnd;
    const possible = Math.min(this.#offerable(), 0xffff * 2 ** this.#rcvWscale);
    const space = Math.min(this.#buf.limit, this.#autotune?.target ?? Infinity);
    if (possible - cur >= this.#swsThreshold() && cur <= space / 2) {
      this.#ackNow = this.#ackUrgent = true;
    }
  }

  // ---- output ----------------------------------------------------------------------

  /**
   * The window field for an outgoing segment, updating the advertised right
   * edge. SYNs carry the unscaled window (RFC 7323 §2.2); otherwise the
   * window is scaled, grows only by the SWS threshold (RFC 1122 4.2.3.3) and
   * never shrinks (RFC 9293 §3.8.6.2.2).
   */
  windowField(syn: boolean): number {
    const free = this.#offerable();
    if (syn) {
      const w = Math.min(free, 0xffff);
      if (this.#synced) this.#rcvAdv = seqAdd(this.#rcvNxt, w);
      return w;
    }
    const s = this.#rcvWscale;
    const unit = 2 ** s;
    const cur = this.rcvWnd;
    let wnd = Math.min(free, 0xffff * unit);
    if (wnd < cur + this.#swsThreshold()) wnd = cur;
    let field = Math.floor(wnd / unit);
    if (field * unit < cur) field = Math.ceil(cur / unit); // never shrink the right edge
    if (field > 0xffff) field = 0xffff;
    const edge = seqAdd(this.#rcvNxt, field * unit);
    if (seqGt(edge, this.#rcvAdv)) this.#rcvAdv = edge;
    return field;
  }

  /** SACK blocks for an outgoing segment (RFC 2018 §4), or undefined. */
  sackBlocks(max: number): SackBlock[] | undefined {
    const dsack = this.#dsack;
    if (!this.#sack || (this.#buf.outOfOrderRanges === 0 && dsack === undefined)) {
      return undefined;
    }
    // RFC 2883 §4: a D-SACK block goes first, in the one ACK that follows the duplicate
    const first = dsack === undefined ? 0 : 1;
    const ranges = this.#buf.outOfOrderRanges === 0 ? [] : this.#buf.sackRanges();
    const n = Math.min(max, ranges.length + first);
    const blocks: SackBlock[] = new Array(n);
    if (dsack !== undefined) blocks[0] = dsack;
    for (let i = first; i < n; i++) {
      const r = ranges[i - first];
      blocks[i] = { left: seqAdd(this.#rcvNxt, r.start), right: seqAdd(this.#rcvNxt, r.end) };
    }
    return blocks;
  }

  /** Number of held out-of-order ranges. */
  get outOfOrderRanges(): number {
    return this.#buf.outOfOrderRanges;
  }

  /** Bookkeeping after any segment carrying ACK = RCV.NXT left. */
  onAckSent(): void {
    this.#dsack = undefined; // reported once (RFC 2883 §4)
    this.#lastAckSent = this.#rcvNxt;
    this.#ackNow = false;
    this.#ackUrgent = false;
    this.#unackedBytes = 0;
    this.#timers.clear("delayedAck");
  }

  /** The delayed-ACK timer expired. */
  onDelayedAckTimeout(): void {
    this.#ackNow = this.#ackUrgent = true;
  }
}
