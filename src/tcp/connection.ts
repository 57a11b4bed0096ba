/**
 * One TCP connection as a sans-I/O state machine (RFC 9293).
 *
 * Structure (one concern per file):
 * - `connection.ts` (this file): the state machine of RFC 9293 §3.3.2 —
 *   segment arrival in the order of §3.10.7 (sequence check, RST, SYN, ACK,
 *   text, FIN), the application calls, timers, events and segment building.
 * - `handshake.ts`: SYN options and their negotiation (MSS, window scale,
 *   timestamps, SACK-Permitted).
 * - `sender.ts`: send sequence space, what to send next (Nagle, SWS, cwnd,
 *   zero-window probes), ACK processing, RTT, fast retransmit/NewReno, RTO.
 * - `receiver.ts`: receive sequence space, acceptability, reassembly, the
 *   advertised window, delayed ACKs, the peer's FIN, PAWS, SACK blocks.
 * - `timers.ts`: the deadline table (retransmit, persist, delayedAck,
 *   keepalive, timeWait, finWait2).
 *
 * Event/poll flow: inputs are `handleSegment(now, seg)`, `handleTimeout(now)`
 * and the app calls (`write`, `read`, `closeWrite`, `close`, `abort`, ...).
 * They only change state. After each input the driver calls
 * `pollTransmit(now)` until it returns undefined (each segment must be
 * encoded before the next call: its payload is a view of the send buffer),
 * then `pollEvent()` until undefined, then arms one timer at
 * `pollTimeout()`. App calls have no `now`; they use the time of the latest
 * input or poll, which the driver's next `pollTransmit(now)` follows at once.
 *
 * Choices where the RFCs leave room (Linux-like):
 * - Data after our `shutdownRead()` is ACKed and discarded; data arriving
 *   after `close()` (read side closed, orphaned) resets the connection
 *   (RFC 1122 4.2.2.13, Linux `tcp_rcv_state_process`).
 * - Data after the peer's FIN is ignored (RFC 9293 §3.10.7.4 seventh step).
 * - Segments without timestamps are accepted even when timestamps are in use
 *   (Linux; RFC 7323 §3.2 says SHOULD drop).
 * - A RST in TIME_WAIT is ignored (RFC 1337); a passive open reset in
 *   SYN_RCVD goes to CLOSED (the stack's listener is the LISTEN state).
 * - Keepalive timeout and abort() send a RST; retransmission timeouts do not.
 *
 * This file is longer than 600 lines because the arrival procedure of RFC
 * 9293 §3.10.7 reads best as one sequence next to the state transitions it
 * causes; the per-concern logic lives in the files above.
 *
 * @module
 */

import { type Duration, type Instant, NEVER } from "../time.ts";
import { type Seq, seq, seqAdd, seqLe, seqGt, seqSub } from "../wire/seq.ts";
import { ACK, FIN, PSH, RST, SYN } from "../wire/tcp_flags.ts";
import type { SackBlock, TcpOptions, TcpSegment } from "../wire/tcp_segment.ts";
import type { TcpConfig } from "./config.ts";
import { TcpUsageError } from "./errors.ts";
import type { TcpErrorKind, TcpEvent } from "./events.ts";
import {
  advertisedMss,
  effectiveSendMss,
  maxSackBlocks,
  type Negotiated,
  negotiate,
  sackOptionLength,
  synOptions,
  TCP_HEADER_LEN,
  TIMESTAMPS_OPTION_LEN,
} from "./handshake.ts";
import type { TcpInfo } from "./info.ts";
import { Receiver } from "./receiver.ts";
import {
  ACK_FIN_ACKED,
  ACK_SYN_ACKED,
  ACK_UNACCEPTABLE,
  ACK_WRITABLE,
  Sender,
} from "./sender.ts";
import type { TcpState } from "./state.ts";
import { TimerTable } from "./timers.ts";

/** What the stack supplies to open a connection. */
export interface ConnectionParams {
  /** Our port. */
  readonly localPort: number;
  /** The peer's port. */
  readonly remotePort: number;
  /** Initial send sequence number (RFC 6528, chosen by the stack). */
  readonly iss: Seq;
  /** Tunables. */
  readonly config: TcpConfig;
  /** Added to the ms clock to form TSval (RFC 7323 §5.4 randomization). Default 0. */
  readonly tsOffset?: number;
}

/** Keepalive settings of {@linkcode TcpConnection.setKeepAlive} (defaults from the config). */
export interface KeepAliveOptions {
  /** Idle time before the first probe (ms). */
  readonly idle?: Duration;
  /** Interval between probes (ms). */
  readonly interval?: Duration;
  /** Unanswered probes before the peer is declared dead. */
  readonly count?: number;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const NO_OPTIONS: TcpOptions = Object.freeze({});
const CONNECTED: TcpEvent = Object.freeze({ type: "connected" });
const READABLE: TcpEvent = Object.freeze({ type: "readable" });
const WRITABLE: TcpEvent = Object.freeze({ type: "writable" });
const EOF: TcpEvent = Object.freeze({ type: "eof" });
const CLOSED_EVENT: TcpEvent = Object.freeze({ type: "closed" });
/** At most this many RSTs wait to be sent (they are answers to floods of junk). */
const MAX_CONTROL_QUEUE = 16;
/** Timers handled per handleTimeout call before yielding (guards degenerate configs). */
const MAX_TIMER_ROUNDS = 64;

/**
 * A TCP connection: RFC 9293 state machine with RFC 6298, 5681, 6582, 7323,
 * 2018 (receiver), 5961 and 1122 behaviour. Sans-I/O: time comes in as
 * `now`, segments come in and go out as {@linkcode TcpSegment} values.
 *
 * @example A client and a server handshake by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { TcpConnection } from "./connection.ts";
 * import { tcpConfig } from "./config.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const config = tcpConfig();
 * const client = TcpConnection.connect(0, { localPort: 1, remotePort: 2, iss: seq(100), config });
 * const syn = client.pollTransmit(0)!;
 * const server = TcpConnection.accept(1, { localPort: 2, remotePort: 1, iss: seq(500), config }, syn);
 * client.handleSegment(2, server.pollTransmit(1)!); // SYN-ACK
 * server.handleSegment(3, client.pollTransmit(2)!); // ACK
 * assert.equal(client.state, "ESTABLISHED");
 * assert.equal(server.state, "ESTABLISHED");
 * client.write(new TextEncoder().encode("hi"));
 * server.handleSegment(4, client.pollTransmit(3)!);
 * const buf = new Uint8Array(10);
 * assert.equal(server.read(buf), 2);
 * ```
 */
export class TcpConnection {
  #state: TcpState = "CLOSED";
  readonly #config: TcpConfig;
  readonly #localPort: number;
  readonly #remotePort: number;
  readonly #tsOffset: number;
  readonly #passive: boolean;
  readonly #timers = new TimerTable();
  readonly #snd: Sender;
  readonly #rcv: Receiver;
  #negotiated: Negotiated | undefined;
  #tsEnabled = false;
  #orphaned = false;
  #now: Instant;

  #events: TcpEvent[] = [];
  #eventHead = 0;
  #readablePending = false;
  #control: TcpSegment[] = [];

  #keepAlive: boolean;
  #kaIdle: Duration;
  #kaInterval: Duration;
  #kaCount: number;
  #kaProbes = 0;
  #kaProbePending = false;
  #lastRecv: Instant;

  #challengeStart: Instant = -Infinity;
  #challengeCount = 0;

  private constructor(now: Instant, p: ConnectionParams, passive: boolean) {
    this.#config = p.config;
    this.#localPort = p.localPort;
    this.#remotePort = p.remotePort;
    this.#tsOffset = p.tsOffset ?? 0;
    this.#passive = passive;
    this.#now = now;
    this.#lastRecv = now;
    this.#snd = new Sender({ iss: p.iss, config: p.config, timers: this.#timers, passive });
    this.#rcv = new Receiver(p.config, this.#timers, advertisedMss(p.config));
    this.#keepAlive = p.config.keepAlive;
    this.#kaIdle = p.config.keepAliveIdle;
    this.#kaInterval = p.config.keepAliveInterval;
    this.#kaCount = p.config.keepAliveCount;
  }

  /**
   * Active open (RFC 9293 §3.10.1): CLOSED → SYN_SENT; the SYN is the first
   * segment `pollTransmit` returns.
   *
   * @param now Current time.
   * @param p Ports, ISS and configuration.
   */
  static connect(now: Instant, p: ConnectionParams): TcpConnection {
    const c = new TcpConnection(now, p, false);
    c.#setState(now, "SYN_SENT", "connect()");
    return c;
  }

  /**
   * Passive open on a SYN that reached a listener: LISTEN → SYN_RCVD; the
   * SYN-ACK is the first segment `pollTransmit` returns. Data on the SYN is
   * not queued (the peer resends it).
   *
   * @param now Current time.
   * @param p Ports, ISS and configuration.
   * @param syn The SYN segment.
   * @throws {TcpUsageError} When `syn` is not a SYN without ACK and RST.
   */
  static accept(now: Instant, p: ConnectionParams, syn: TcpSegment): TcpConnection {
    if ((syn.flags & (SYN | ACK | RST)) !== SYN) {
      throw new TcpUsageError("Cannot accept: the segment is not a SYN");
    }
    const c = new TcpConnection(now, p, true);
    c.#state = "LISTEN";
    c.#applySyn(now, syn);
    c.#snd.windowFromSyn(syn);
    c.#setState(now, "SYN_RCVD", "SYN received");
    return c;
  }

  // ---- state -----------------------------------------------------------------------

  /** Current state. */
  get state(): TcpState {
    return this.#state;
  }
  /** Our port. */
  get localPort(): number {
    return this.#localPort;
  }
  /** The peer's port. */
  get remotePort(): number {
    return this.#remotePort;
  }
  /** ISS. */
  get iss(): Seq {
    return this.#snd.iss;
  }
  /** IRS (0 until the peer's SYN arrives). */
  get irs(): Seq {
    return this.#rcv.irs;
  }
  /** SND.UNA. */
  get sndUna(): Seq {
    return this.#snd.sndUna;
  }
  /** SND.NXT. */
  get sndNxt(): Seq {
    return this.#snd.sndNxt;
  }
  /** SND.WND (scaled). */
  get sndWnd(): number {
    return this.#snd.sndWnd;
  }
  /** RCV.NXT. */
  get rcvNxt(): Seq {
    return this.#rcv.rcvNxt;
  }
  /** RCV.WND as last advertised. */
  get rcvWnd(): number {
    return this.#rcv.rcvWnd;
  }
  /** Whether close() was called (no application owns the connection any more). */
  get orphaned(): boolean {
    return this.#orphaned;
  }
  /** Bytes ready for read(). */
  get readable(): number {
    return this.#rcv.readShut ? 0 : this.#rcv.readable;
  }
  /** Bytes write() would take now (0 once writing is no longer allowed). */
  get writable(): number {
    return this.#canWrite() ? this.#snd.free : 0;
  }

  /** A Linux TCP_INFO-like snapshot. */
  info(): TcpInfo {
    const s = this.#snd;
    const r = this.#rcv;
    return {
      state: this.#state,
      rtt: s.rtt.srtt,
      rttvar: s.rtt.rttvar,
      rto: s.rtt.rto,
      cwnd: s.cc.cwnd,
      ssthresh: s.cc.ssthresh,
      mss: s.mss,
      rcvMss: r.rcvMss,
      bytesSent: s.bytesSent,
      bytesAcked: s.bytesAcked,
      bytesReceived: r.bytesReceived,
      retransmits: s.retransmits,
      lost: s.lost,
      unacked: seqSub(s.sndMax, s.sndUna),
      sendQueue: s.queued,
      recvQueue: r.readable,
      sndWnd: s.sndWnd,
      rcvWnd: r.rcvWnd,
      sndWscale: s.sndWscale,
      rcvWscale: r.rcvWscale,
      timestamps: this.#tsEnabled,
      sack: r.sack,
    };
  }

  // ---- outputs ------------------------------------------------------------------------

  /**
   * The next segment to send, or undefined. Call until undefined; encode each
   * segment before the next call (its payload may view the send buffer).
   */
  pollTransmit(now: Instant): TcpSegment | undefined {
    this.#now = now;
    if (this.#control.length > 0) return this.#control.shift();
    const st = this.#state;
    if (st === "CLOSED" || st === "LISTEN") return undefined;
    const rcv = this.#rcv;
    const blocks = rcv.synced ? rcv.sackBlocks(maxSackBlocks(this.#tsEnabled)) : undefined;
    const optLen = (this.#tsEnabled ? TIMESTAMPS_OPTION_LEN : 0) +
      sackOptionLength(blocks?.length ?? 0);
    const snd = this.#snd;
    if (snd.next(now, this.#config.segmentBudget - TCP_HEADER_LEN - optLen)) {
      const p = snd.plan;
      let flags = 0;
      if (p.syn) flags |= SYN;
      if (p.fin) flags |= FIN;
      let payload: Uint8Array = EMPTY;
      if (p.len > 0) {
        payload = snd.peek(p.offset, p.len);
        if (p.offset + p.len === snd.queued) flags |= PSH;
      }
      return this.#build(now, flags, p.seq, payload, blocks);
    }
    // A pure ACK carries SND.MAX, not a rewound SND.NXT: after an RTO go-back-N the
    // peer may already hold bytes past SND.NXT and would drop the ACK as old (BSD tcp_output).
    if (rcv.synced && rcv.ackNow) return this.#build(now, 0, snd.sndMax, EMPTY, blocks);
    if (this.#kaProbePending) {
      this.#kaProbePending = false;
      // RFC 1122 4.2.3.6: a probe with SEG.SEQ = SND.NXT - 1 and no data
      return this.#build(now, 0, seqAdd(snd.sndNxt, -1), EMPTY, undefined);
    }
    snd.armPersistIfStalled(now);
    return undefined;
  }

  /** The earliest timer deadline, or NEVER. */
  pollTimeout(): Instant {
    return this.#state === "CLOSED" ? NEVER : this.#timers.earliest();
  }

  /** The next event for the application / stack, or undefined. */
  pollEvent(): TcpEvent | undefined {
    if (this.#eventHead < this.#events.length) {
      const ev = this.#events[this.#eventHead++];
      if (ev === READABLE) this.#readablePending = false;
      return ev;
    }
    if (this.#eventHead > 0) {
      this.#events.length = 0;
      this.#eventHead = 0;
    }
    return undefined;
  }

  // ---- inputs -------------------------------------------------------------------------

  /** Processes a segment from the peer (RFC 9293 §3.10.7). */
  handleSegment(now: Instant, seg: TcpSegment): void {
    this.#now = now;
    switch (this.#state) {
      case "CLOSED":
      case "LISTEN":
        return;
      case "SYN_SENT":
        this.#arriveSynSent(now, seg);
        break;
      default:
        this.#arriveSynchronized(now, seg);
    }
    // FIN_WAIT_1 → FIN_WAIT_2 waits for the end of the segment, so that a
    // FIN+ACK goes straight to TIME_WAIT.
    if (this.#state === "FIN_WAIT_1" && this.#snd.finAcked) {
      this.#setState(now, "FIN_WAIT_2", "ACK of FIN received");
    }
  }

  /** Runs expired timers; an early or repeated call does nothing. */
  handleTimeout(now: Instant): void {
    this.#now = now;
    for (let round = 0; round < MAX_TIMER_ROUNDS; round++) {
      if (this.#state === "CLOSED") return;
      const kind = this.#timers.expired(now);
      if (kind === undefined) return;
      this.#timers.clear(kind);
      switch (kind) {
        case "retransmit": {
          const detail = this.#snd.onRetransmitTimeout(now);
          if (detail !== undefined) this.#fail(now, "timed_out", detail);
          break;
        }
        case "persist": {
          const detail = this.#snd.onPersistTimeout(now);
          if (detail !== undefined) this.#fail(now, "timed_out", detail);
          break;
        }
        case "delayedAck":
          this.#rcv.onDelayedAckTimeout();
          break;
        case "keepalive":
          this.#onKeepaliveTimeout(now);
          break;
        case "timeWait":
          this.#setState(now, "CLOSED", "2MSL timeout");
          break;
        case "finWait2":
          if (this.#state === "FIN_WAIT_2") this.#setState(now, "CLOSED", "FIN_WAIT_2 timeout");
          break;
      }
    }
  }

  // ---- application --------------------------------------------------------------------

  /**
   * Queues bytes to send.
   *
   * @returns Bytes accepted (0 when the send buffer is full; a `writable`
   *   event follows once space opens after a short write).
   * @throws {TcpUsageError} After closeWrite()/close() or when the connection is closed.
   */
  write(data: Uint8Array): number {
    if (this.#snd.finQueued) throw new TcpUsageError("Cannot write after closeWrite()");
    if (!this.#canWrite()) {
      throw new TcpUsageError(`Cannot write: connection is ${this.#state}`);
    }
    return this.#snd.write(data);
  }

  /**
   * Copies received bytes into `into`.
   *
   * @returns Bytes copied; 0 when nothing is available yet; -1 at end of stream
   *   (the peer's FIN was read, the read side was shut down, or the connection closed).
   */
  read(into: Uint8Array): number {
    const rcv = this.#rcv;
    if (rcv.readShut) return -1;
    const n = rcv.read(into);
    if (n > 0) return n;
    if (rcv.finReceived || this.#state === "CLOSED") return -1;
    return 0;
  }

  /** Half-close: send a FIN after all queued data; reading goes on. */
  closeWrite(): void {
    const snd = this.#snd;
    if (snd.finQueued) return;
    switch (this.#state) {
      case "SYN_SENT":
        snd.queueFin(); // sent once established (RFC 9293 §3.10.4: queued until then)
        break;
      case "SYN_RCVD":
      case "ESTABLISHED":
        snd.queueFin();
        this.#setState(this.#now, "FIN_WAIT_1", "closeWrite()");
        break;
      case "CLOSE_WAIT":
        snd.queueFin();
        this.#setState(this.#now, "LAST_ACK", "closeWrite()");
        break;
      default:
        break;
    }
  }

  /** Stops reading: buffered and later data is discarded (and still ACKed); read() returns -1. */
  shutdownRead(): void {
    this.#rcv.shutdownRead();
  }

  /**
   * Closes both directions; the connection becomes orphaned and finishes on
   * its own. With unread received data it is reset instead (RFC 1122 4.2.2.13).
   */
  close(): void {
    const st = this.#state;
    if (st === "CLOSED" || this.#orphaned) return;
    const now = this.#now;
    if (this.#rcv.readable > 0 && !this.#rcv.readShut && this.#canReset()) {
      this.#queueRst(this.#snd.sndMax, this.#rcv.rcvNxt);
      this.#fail(now, "aborted", "close() with unread data: connection reset (RFC 1122 4.2.2.13)");
      return;
    }
    this.#orphaned = true;
    this.#rcv.shutdownRead();
    if (st === "SYN_SENT") {
      this.#setState(now, "CLOSED", "close()"); // RFC 9293 §3.10.4: delete the TCB
      return;
    }
    this.closeWrite();
    if (this.#state === "FIN_WAIT_2") {
      this.#timers.set("finWait2", now + this.#config.finWait2Timeout);
    }
  }

  /** Resets the connection (SO_LINGER 0): RST, no TIME_WAIT, CLOSED. */
  abort(): void {
    if (this.#state === "CLOSED") return;
    if (this.#canReset()) this.#queueRst(this.#snd.sndMax, this.#rcv.rcvNxt);
    this.#fail(this.#now, "aborted", "connection aborted by the application");
  }

  /** TCP_NODELAY: turn Nagle's algorithm off (true) or on. */
  setNoDelay(on: boolean): void {
    this.#snd.setNoDelay(on);
  }

  /** SO_KEEPALIVE with optional idle/interval/count (RFC 1122 4.2.3.6). */
  setKeepAlive(on: boolean, opts: KeepAliveOptions = {}): void {
    this.#keepAlive = on;
    if (opts.idle !== undefined) this.#kaIdle = opts.idle;
    if (opts.interval !== undefined) this.#kaInterval = opts.interval;
    if (opts.count !== undefined) this.#kaCount = opts.count;
    this.#kaProbes = 0;
    if (on && this.#keepaliveState()) {
      const at = this.#lastRecv + Math.max(1, this.#kaIdle);
      this.#timers.set("keepalive", Math.max(this.#now, at));
    } else {
      this.#timers.clear("keepalive");
    }
  }

  // ---- arrival: SYN_SENT (RFC 9293 §3.10.7.3) ------------------------------------------

  #arriveSynSent(now: Instant, seg: TcpSegment): void {
    const f = seg.flags;
    const snd = this.#snd;
    if (f & ACK) {
      // first: SEG.ACK =< ISS or SEG.ACK > SND.NXT is not acceptable
      if (seqLe(seg.ack, snd.iss) || seqGt(seg.ack, snd.sndMax)) {
        if (!(f & RST)) this.#queueRst(seg.ack, undefined); // "historical" SYN-ACK
        return;
      }
    }
    if (f & RST) {
      // second: RFC 5961 §3.2, only with an acceptable ACK
      if (f & ACK) this.#fail(now, "refused", "connection refused");
      return;
    }
    if (!(f & SYN)) return;
    this.#applySyn(now, seg);
    snd.windowFromSyn(seg);
    this.#touch(now);
    if (f & ACK) {
      snd.processAck(now, seg, this.#tsRtt(now, seg));
      snd.established();
      this.#setState(now, "ESTABLISHED", "SYN-ACK received");
      this.#rcv.requestAck();
      // "continue processing at the sixth step": data or FIN riding on the SYN-ACK
      this.#arriveText(now, seg, seqAdd(seg.seq, 1));
      if (snd.finQueued && this.#state === "ESTABLISHED") {
        this.#setState(now, "FIN_WAIT_1", "closeWrite() before connected");
      }
    } else {
      // simultaneous open (RFC 9293 §3.5 figure 8): answer SYN with SYN-ACK
      snd.resendSyn();
      this.#setState(now, "SYN_RCVD", "SYN received (simultaneous open)");
    }
  }

  // ---- arrival: other states (RFC 9293 §3.10.7.4) ---------------------------------------

  #arriveSynchronized(now: Instant, seg: TcpSegment): void {
    const rcv = this.#rcv;
    let s = seg;
    // RFC 7323 §5.3 R1: PAWS
    if (!(s.flags & RST) && rcv.pawsRejects(s, now)) {
      rcv.requestAck();
      return;
    }
    if (this.#state === "SYN_RCVD" && (s.flags & SYN) && s.seq === rcv.irs && !(s.flags & RST)) {
      if (!(s.flags & ACK)) {
        this.#snd.resendSyn(); // the peer's SYN again: our SYN-ACK was lost
        return;
      }
      // simultaneous open: the peer's SYN-ACK repeats a SYN we have; keep the ACK
      s = { ...s, seq: seqAdd(s.seq, 1), flags: s.flags & ~SYN };
    }
    // first: sequence number acceptability
    if (!rcv.acceptable(s)) {
      if (s.flags & RST) return;
      if (this.#state === "TIME_WAIT" && rcv.isDuplicateFin(s)) {
        this.#timers.set("timeWait", now + 2 * this.#config.msl); // ACK it, restart 2MSL
      }
      rcv.requestAck();
      return;
    }
    this.#touch(now);
    // second: RST (RFC 5961 §3.2: only an exact match resets)
    if (s.flags & RST) {
      if (s.seq === rcv.rcvNxt) this.#onReset(now);
      else this.#challengeAck(now);
      return;
    }
    // RFC 7323 §4.3: TS.Recent
    rcv.updateTsRecent(s, now);
    // fourth: SYN in a synchronized state (RFC 5961 §4.2)
    if (s.flags & SYN) {
      this.#challengeAck(now);
      return;
    }
    // fifth: ACK
    if (!(s.flags & ACK)) return;
    if (!this.#arriveAck(now, s)) return;
    // seventh and eighth: text and FIN
    this.#arriveText(now, s, s.seq);
  }

  /** The ACK step; returns whether to go on with the segment. */
  #arriveAck(now: Instant, s: TcpSegment): boolean {
    const snd = this.#snd;
    const r = snd.processAck(now, s, this.#tsRtt(now, s));
    if (this.#state === "SYN_RCVD") {
      if ((r & ACK_UNACCEPTABLE) || !(r & ACK_SYN_ACKED)) {
        this.#queueRst(s.ack, undefined); // RFC 9293 §3.10.7.4: <SEQ=SEG.ACK><CTL=RST>
        return false;
      }
      snd.established();
      this.#setState(now, "ESTABLISHED", "ACK of SYN-ACK received");
    } else if (r & ACK_UNACCEPTABLE) {
      this.#challengeAck(now); // RFC 5961 §5.2
      return false;
    } else if (r & ACK_SYN_ACKED) {
      snd.established(); // closeWrite() in SYN_RCVD moved us on already
      this.#pushEvent(CONNECTED);
    }
    if (r & ACK_WRITABLE) this.#pushEvent(WRITABLE);
    if (r & ACK_FIN_ACKED) {
      if (this.#state === "CLOSING") {
        this.#setState(now, "TIME_WAIT", "ACK of FIN received");
      } else if (this.#state === "LAST_ACK") {
        this.#setState(now, "CLOSED", "ACK of FIN received");
        return false;
      }
    }
    return true;
  }

  /** Text (seventh step) and FIN (eighth step); `dataSeq` is the first data byte. */
  #arriveText(now: Instant, s: TcpSegment, dataSeq: Seq): void {
    const rcv = this.#rcv;
    const st = this.#state;
    const open = st === "ESTABLISHED" || st === "FIN_WAIT_1" || st === "FIN_WAIT_2";
    if (!open) {
      // CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT: the peer's FIN came; ignore text
      if (s.flags & FIN) rcv.noteFin(dataSeq, s);
      return;
    }
    if (s.flags & FIN) rcv.noteFin(dataSeq, s);
    if (s.payload.length > 0) {
      if (this.#orphaned && rcv.hasNewData(dataSeq, s)) {
        // RFC 1122 4.2.2.13 / Linux: nobody will read this data
        this.#queueRst(this.#snd.sndMax, rcv.rcvNxt);
        this.#fail(now, "aborted", "data received after close(): connection reset");
        return;
      }
      const advanced = rcv.onText(now, dataSeq, s.payload);
      if (advanced > 0 && !rcv.readShut && !this.#readablePending) {
        this.#readablePending = true;
        this.#pushEvent(READABLE);
      }
    }
    if (rcv.reachFin()) this.#onFin(now);
  }

  /** The peer's FIN was reached in the byte stream (RFC 9293 §3.10.7.4 eighth step). */
  #onFin(now: Instant): void {
    this.#pushEvent(EOF);
    switch (this.#state) {
      case "ESTABLISHED":
        this.#setState(now, "CLOSE_WAIT", "FIN received");
        break;
      case "FIN_WAIT_1":
        if (this.#snd.finAcked) this.#setState(now, "TIME_WAIT", "FIN+ACK received");
        else this.#setState(now, "CLOSING", "FIN received (simultaneous close)");
        break;
      case "FIN_WAIT_2":
        this.#setState(now, "TIME_WAIT", "FIN received");
        break;
      default:
        break;
    }
  }

  /** An acceptable RST with SEG.SEQ = RCV.NXT (RFC 9293 §3.10.7.4 second step). */
  #onReset(now: Instant): void {
    switch (this.#state) {
      case "SYN_RCVD":
        if (this.#passive) this.#fail(now, "reset", "connection reset during the handshake");
        else this.#fail(now, "refused", "connection refused");
        break;
      case "CLOSING":
      case "LAST_ACK":
        this.#setState(now, "CLOSED", "RST received");
        break;
      case "TIME_WAIT":
        break; // RFC 1337: ignore, avoiding TIME-WAIT assassination
      default:
        this.#fail(now, "reset", "connection reset by peer");
    }
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** Applies the options of the peer's SYN (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
  #applySyn(now: Instant, syn: TcpSegment): void {
    const n = negotiate(this.#config, syn.options);
    this.#negotiated = n;
    this.#tsEnabled = n.timestamps;
    this.#rcv.onSyn(syn, now, n);
    this.#snd.configure(effectiveSendMss(this.#config, n.peerMss, n.timestamps), n.sndWscale);
  }

  /** RTT from the echoed timestamp of an ACK (RFC 7323 §4.1), or -1. */
  #tsRtt(now: Instant, seg: TcpSegment): number {
    const ts = seg.options.timestamps;
    if (!this.#tsEnabled || ts === undefined || !(seg.flags & ACK)) return -1;
    const rtt = (this.#tsClock(now) - ts.tsEcr) >>> 0;
    return rtt <= this.#config.rtoMax ? rtt : -1;
  }

  /** TSval: a 1 ms clock offset per connection (RFC 7323 §5.4). */
  #tsClock(now: Instant): number {
    return (Math.floor(now) + this.#tsOffset) >>> 0;
  }

  /** Peer activity: restart the keepalive idle timer. */
  #touch(now: Instant): void {
    this.#lastRecv = now;
    this.#kaProbes = 0;
    if (this.#keepAlive && this.#keepaliveState()) {
      this.#timers.set("keepalive", now + Math.max(1, this.#kaIdle));
    }
  }

  #keepaliveState(): boolean {
    const st = this.#state;
    return st === "ESTABLISHED" || st === "CLOSE_WAIT" || st === "FIN_WAIT_1" ||
      st === "FIN_WAIT_2";
  }

  #onKeepaliveTimeout(now: Instant): void {
    if (!this.#keepAlive || !this.#keepaliveState()) return;
    if (!this.#snd.idle) {
      // data outstanding: the retransmission timer watches the peer
      this.#timers.set("keepalive", now + Math.max(1, this.#kaIdle));
      return;
    }
    if (this.#kaProbes >= this.#kaCount) {
      this.#queueRst(this.#snd.sndMax, this.#rcv.rcvNxt);
      this.#fail(
        now,
        "timed_out",
        `keepalive: peer dead after ${this.#kaProbes} probe${this.#kaProbes === 1 ? "" : "s"}`,
      );
      return;
    }
    this.#kaProbes++;
    this.#kaProbePending = true;
    this.#timers.set("keepalive", now + Math.max(1, this.#kaInterval));
  }

  /** RFC 5961 §7: challenge ACKs, at most `challengeAckLimit` per second. */
  #challengeAck(now: Instant): void {
    if (now - this.#challengeStart >= 1000) {
      this.#challengeStart = now;
      this.#challengeCount = 0;
    }
    if (this.#challengeCount < this.#config.challengeAckLimit) {
      this.#challengeCount++;
      this.#rcv.requestAck();
    }
  }

  #canWrite(): boolean {
    const st = this.#state;
    return st === "SYN_SENT" || st === "SYN_RCVD" || st === "ESTABLISHED" ||
      st === "CLOSE_WAIT";
  }

  /** States in which the peer knows our sequence numbers, so a RST means something. */
  #canReset(): boolean {
    const st = this.#state;
    return st === "SYN_RCVD" || st === "ESTABLISHED" || st === "FIN_WAIT_1" ||
      st === "FIN_WAIT_2" || st === "CLOSE_WAIT";
  }

  #fail(now: Instant, kind: TcpErrorKind, detail: string): void {
    this.#pushEvent({ type: "error", kind, detail });
    this.#setState(now, "CLOSED", detail);
  }

  #setState(now: Instant, to: TcpState, cause: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#pushEvent({ type: "state", from, to, cause });
    switch (to) {
      case "ESTABLISHED":
        this.#pushEvent(CONNECTED);
        this.#touch(now);
        break;
      case "FIN_WAIT_2":
        if (this.#orphaned) this.#timers.set("finWait2", now + this.#config.finWait2Timeout);
        break;
      case "TIME_WAIT":
        // RFC 9293 §3.10.7.4: turn off the other timers, start the 2MSL timer
        this.#timers.clearAll();
        this.#timers.set("timeWait", now + 2 * this.#config.msl);
        break;
      case "CLOSED":
        this.#timers.clearAll();
        this.#pushEvent(CLOSED_EVENT);
        break;
      default:
        break;
    }
  }

  #pushEvent(ev: TcpEvent): void {
    this.#events.push(ev);
  }

  #queueRst(seqNo: Seq, ack: Seq | undefined): void {
    if (this.#control.length >= MAX_CONTROL_QUEUE) return;
    this.#control.push({
      srcPort: this.#localPort,
      dstPort: this.#remotePort,
      seq: seqNo,
      ack: ack ?? seq(0),
      flags: ack === undefined ? RST : RST | ACK,
      window: 0,
      urgentPointer: 0,
      options: NO_OPTIONS,
      payload: EMPTY,
    });
  }

  /** Builds a segment from us: ACK = RCV.NXT once synchronized, window, options. */
  #build(
    now: Instant,
    flags: number,
    seqNo: Seq,
    payload: Uint8Array,
    blocks: SackBlock[] | undefined,
  ): TcpSegment {
    const rcv = this.#rcv;
    const synced = rcv.synced;
    const syn = (flags & SYN) !== 0;
    let options: TcpOptions;
    if (syn) {
      options = synOptions(
        this.#config,
        synced ? this.#negotiated : undefined,
        this.#tsClock(now),
        synced ? rcv.tsRecent : 0,
      );
    } else if (this.#tsEnabled) {
      const timestamps = { tsVal: this.#tsClock(now), tsEcr: rcv.tsRecent };
      options = blocks === undefined ? { timestamps } : { timestamps, sackBlocks: blocks };
    } else {
      options = blocks === undefined ? NO_OPTIONS : { sackBlocks: blocks };
    }
    const seg: TcpSegment = {
      srcPort: this.#localPort,
      dstPort: this.#remotePort,
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
}
