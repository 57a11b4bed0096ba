/**
 * One TCP connection as a sans-I/O state machine (RFC 9293).
 *
 * Structure (one concern per file; the parts get the internal
 * `ConnectionCore` of `_core.ts`, never this class, so src/tcp has no
 * import cycle):
 * - `connection.ts` (this file): the public API, the state variable and its
 *   side effects (RFC 9293 §3.3.2: timers started and stopped on entering a
 *   state, events), timer dispatch, the app calls and the event queue.
 * - `arrival.ts`: segment arrival (§3.10.7) in the RFC's order: SYN_SENT,
 *   then sequence check with PAWS, RST, security (none), SYN, ACK, URG
 *   (ignored), text and FIN; every TIME_WAIT rule in one function whose
 *   verdict the stack acts on.
 * - `handshake.ts`: SYN options and their negotiation (MSS, window scale,
 *   timestamps, SACK-permitted).
 * - `output.ts`: building our segments (ACK, window, options) and RSTs;
 *   what `pollTransmit` sends next.
 * - `sender.ts`: send sequence space, what to send next (Nagle, SWS, cwnd,
 *   pacing, zero-window probes), ACK processing, RTT, RTO; loss recovery
 *   (RFC 6675 SACK, NewReno without SACK) is in `recovery.ts`, with RACK-TLP
 *   in `rack.ts` and `tlp.ts`; the RTT estimator in `rtt.ts`, the pacer in
 *   `pacer.ts`, congestion control in `congestion/`.
 * - `receiver.ts`: the receive half: sequence space, acceptability,
 *   reassembly, the advertised window, the ACK policy, PAWS, SACK blocks.
 * - `timers.ts`: the deadline table (retransmit, persist, delayedAck,
 *   keepalive, timeWait, finWait2, pacing, lossProbe, reorder, idle) and keepalive.
 *
 * This file stays over 600 lines (about 800, some 250 of them comments):
 * it is the public API, and each app call, getter and the state side
 * effects are short; the protocol work is in the files above.
 *
 * Event/poll flow: inputs are `handleSegment(now, seg)`, `handleTimeout(now)`
 * and the app calls (`write`, `read`, `closeWrite`, `close`, `abort`, ...).
 * They only change state. After each input the driver calls
 * `pollTransmit(now)` until it returns undefined (each segment must be
 * encoded before the next call: its payload is a view of the send buffer),
 * then `pollEvent()` until undefined, then arms one timer at
 * `pollTimeout()`. Every app call that can arm a timer or change state
 * (`close`, `closeWrite`, `abort`, `setKeepAlive`) takes `now`: there is no
 * cached clock inside a connection.
 *
 * Choices where the RFCs leave room (Linux-like):
 * - Data after our `shutdownRead()` is ACKed and discarded; data arriving
 *   after `close()` (read side closed, orphaned) resets the connection
 *   (RFC 1122 4.2.2.13, Linux `tcp_rcv_state_process`).
 * - Data after the peer's FIN is ignored (RFC 9293 §3.10.7.4 seventh step).
 * - Segments without timestamps are accepted even when timestamps are in use
 *   (Linux; RFC 7323 §3.2 says SHOULD drop); a duplicate reaching
 *   Last.ACK.sent updates TS.Recent (Linux), so lost ACKs do not inflate RTTs.
 * - A RST in TIME_WAIT is ignored (RFC 1337, `rfc1337` on by default), with
 *   no challenge ACK; a passive open reset in SYN_RCVD goes back to LISTEN
 *   without an error, then to CLOSED (the stack's listener is the LISTEN TCB
 *   that goes on). See docs/stack.md.
 * - Keepalive timeout and abort() send a RST; retransmission timeouts do not.
 *
 * @module
 */

import { type Instant, NEVER } from "../time.ts";
import { type Seq, seqAdd } from "../wire/seq.ts";
import { ACK, RST, SYN } from "../wire/tcp_flags.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import { segmentEncodedLength } from "../wire/tcp_codec.ts";
import type { ConnectionCore } from "./_core.ts";
import { applyPeerSyn, type ArrivalVerdict, arrive, timeWaitReuseIss } from "./arrival.ts";
import { orphanRetryLimit, type TcpConfig } from "./config.ts";
import { TcpUsageError } from "./errors.ts";
import type { TcpErrorKind, TcpEvent } from "./events.ts";
import { type FastOpenParams, type FastOpenState, fastOpenState } from "./fast_open.ts";
import { advertisedMss, synOptions, TCP_HEADER_LEN } from "./handshake.ts";
import { optionsEncodedLength } from "../wire/tcp_options.ts";
import { buildTcpInfo, type TcpInfo, timersLeft } from "./info.ts";
import { nextSegment, resetSegment } from "./output.ts";
import { Receiver } from "./receiver.ts";
import { Sender } from "./sender.ts";
import type { TcpState } from "./state.ts";
import { Keepalive, type KeepAliveOptions, TimerTable } from "./timers.ts";
import type { TcpDropCounters } from "./drop_counters.ts";
import { type TcpTraceEvent, TraceProbe } from "./trace_events.ts";

export type { KeepAliveOptions } from "./timers.ts";
export type { ArrivalVerdict } from "./arrival.ts";
export type { FastOpenParams, FastOpenState } from "./fast_open.ts";

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
  /** TCP Fast Open (RFC 7413; `fast_open.ts`). Default: none. */
  readonly fastOpen?: FastOpenParams;
}

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
  readonly #core: ConnectionCore;
  readonly #tfo: FastOpenState | undefined;
  #orphaned = false;
  /** When data last went either way (idle expiry, `idleTimeout`). */
  #lastData: Instant;
  #idleExpired = false;

  #events: TcpEvent[] = [];
  #eventHead = 0;
  #readablePending = false;
  #control: TcpSegment[] = [];

  readonly #keepalive: Keepalive;
  /** Trace events (`trace_events.ts`), only while `traced` is on. */
  #probe: TraceProbe | undefined;

  private constructor(now: Instant, p: ConnectionParams, passive: boolean) {
    this.#config = p.config;
    this.#localPort = p.localPort;
    this.#remotePort = p.remotePort;
    this.#tsOffset = p.tsOffset ?? 0;
    this.#passive = passive;
    this.#snd = new Sender({ iss: p.iss, config: p.config, timers: this.#timers, passive });
    this.#rcv = new Receiver(p.config, this.#timers, advertisedMss(p.config));
    this.#keepalive = new Keepalive(p.config, this.#timers, now);
    this.#lastData = now;
    const tfo = p.fastOpen === undefined ? undefined : fastOpenState(p.fastOpen);
    this.#tfo = tfo;
    if (tfo !== undefined && !passive) {
      const cookie = p.fastOpen!.cookie;
      this.#snd.synHold = p.fastOpen!.holdSyn === true;
      if (cookie !== undefined && cookie.length > 0) {
        // the SYN's data fits the segment budget beside the SYN options and the cookie
        const room = p.config.segmentBudget - TCP_HEADER_LEN -
          optionsEncodedLength({ ...synOptions(p.config, undefined, 0, 0), fastOpen: cookie });
        this.#snd.synDataMax = Math.max(0, Math.min(p.fastOpen!.synDataMax ?? room, room));
      }
    }
    this.#core = new TcpConnection.#Core(this, p.config, p.localPort, p.remotePort, passive, tfo);
  }

  /**
   * The `ConnectionCore` the parts get: methods on a prototype that reach
   * this class's private members (a class in this class's body may), not
   * nine closures per connection (about 540 bytes of heap each connection).
   */
  static readonly #Core = class implements ConnectionCore {
    readonly snd: Sender;
    readonly rcv: Receiver;
    readonly timers: TimerTable;
    negotiated: ConnectionCore["negotiated"] = undefined;
    readonly #conn: TcpConnection;
    constructor(
      conn: TcpConnection,
      readonly config: TcpConfig,
      readonly localPort: number,
      readonly remotePort: number,
      readonly passive: boolean,
      readonly tfo: FastOpenState | undefined,
    ) {
      this.#conn = conn;
      this.snd = conn.#snd;
      this.rcv = conn.#rcv;
      this.timers = conn.#timers;
    }
    state(): TcpState {
      return this.#conn.#state;
    }
    orphaned(): boolean {
      return this.#conn.#orphaned;
    }
    setState(now: Instant, to: TcpState, cause: string): void {
      this.#conn.#setState(now, to, cause);
    }
    fail(now: Instant, kind: TcpErrorKind, detail: string): void {
      this.#conn.#fail(now, kind, detail);
    }
    queueRst(seqNo: Seq, ack: Seq | undefined): void {
      this.#conn.#queueRst(seqNo, ack);
    }
    emit(ev: TcpEvent): void {
      this.#conn.#emit(ev);
    }
    touch(now: Instant): void {
      const c = this.#conn;
      c.#keepalive.touch(now, c.#keepaliveState());
    }
    tsClock(now: Instant): number {
      return (Math.floor(now) + this.#conn.#tsOffset) >>> 0;
    }
    tsRtt(now: Instant, seg: TcpSegment): number {
      return this.#conn.#tsRtt(now, seg);
    }
  };

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
    if (c.#snd.unvalidated) c.#snd.noteUnvalidated(segmentEncodedLength(syn), 0);
    c.#state = "LISTEN";
    applyPeerSyn(c.#core, now, syn);
    c.#setState(now, "SYN_RCVD", "SYN received");
    if (p.fastOpen?.acceptData === true && c.#tfo !== undefined && syn.payload.length > 0) {
      // RFC 7413 §4.2.2: a valid cookie: the SYN's data goes to the application at once,
      // the SYN-ACK acknowledges it, and we may send before the handshake completes
      c.#snd.earlyData = true;
      const n = c.#rcv.onText(now, seqAdd(syn.seq, 1), syn.payload);
      c.#tfo.dataAccepted = n;
      if (n > 0) c.#emit({ type: "readable" });
    }
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
  /** Added to the ms clock to form TSval (RFC 7323 §5.4). */
  get tsOffset(): number {
    return this.#tsOffset;
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

  /**
   * Whether output is due that must not wait for the end of the current
   * receive batch: an urgent ACK (out-of-order or duplicate data, FIN, ...)
   * or a queued RST. When false, a driver may handle more segments that
   * arrived together before draining `pollTransmit`, so that one cumulative
   * ACK answers them all (a stretch ACK, as Linux sends after GRO).
   */
  get outputUrgent(): boolean {
    return this.#control.length > 0 || this.#rcv.ackUrgent;
  }

  /** TCP Fast Open state (RFC 7413), when the connection was opened with it. */
  get fastOpen(): Readonly<FastOpenState> | undefined {
    return this.#tfo;
  }

  /** Whether our SYN waits for the first write (Fast Open, `holdSyn`). */
  get synHeld(): boolean {
    return this.#snd.synHold && this.#state === "SYN_SENT";
  }

  /** Lets a SYN held for Fast Open data go (TCP_FASTOPEN_CONNECT: nothing was written in time). */
  releaseSyn(): void {
    this.#snd.synHold = false;
  }

  /**
   * Whether trace events are made (timers, retransmissions, window changes;
   * drained with {@linkcode TcpConnection.pollTrace}). Off by default: then
   * tracing costs one field check per input.
   */
  get traced(): boolean {
    return this.#probe !== undefined;
  }
  set traced(on: boolean) {
    if (on === (this.#probe !== undefined)) return;
    this.#probe = on ? new TraceProbe(this.#core) : undefined;
  }

  /** The next trace event, or undefined (always undefined while `traced` is off). */
  pollTrace(): TcpTraceEvent | undefined {
    return this.#probe?.poll();
  }

  /**
   * A Linux TCP_INFO-like snapshot.
   *
   * @param now Current time; when given, `timers` lists the armed timers and the ms they have left.
   */
  info(now?: Instant): TcpInfo {
    const timers = now === undefined || this.#state === "CLOSED"
      ? undefined
      : timersLeft(this.#timers, now);
    return buildTcpInfo(this.#state, this.#snd, this.#rcv, this.#rcv.timestamps, timers);
  }

  // ---- outputs ------------------------------------------------------------------------

  /**
   * The next segment to send, or undefined. Call until undefined; encode each
   * segment before the next call (its payload may view the send buffer).
   */
  pollTransmit(now: Instant): TcpSegment | undefined {
    const seg = this.#nextSegment(now);
    if (seg !== undefined && seg.payload.length > 0) this.#lastData = now;
    if (seg !== undefined && this.#snd.unvalidated) {
      this.#snd.noteUnvalidated(0, segmentEncodedLength(seg));
    }
    const probe = this.#probe;
    if (probe !== undefined) {
      if (seg !== undefined) probe.sent(seg);
      else probe.check("send");
    }
    return seg;
  }

  #nextSegment(now: Instant): TcpSegment | undefined {
    if (this.#control.length > 0) return this.#control.shift();
    const st = this.#state;
    if (st === "CLOSED" || st === "LISTEN") return undefined;
    return nextSegment(this.#core, now, this.#keepalive);
  }

  /** The earliest timer deadline, or NEVER. */
  pollTimeout(): Instant {
    return this.#state === "CLOSED" ? NEVER : this.#timers.earliest();
  }

  /** The next event for the application / stack, or undefined. */
  pollEvent(): TcpEvent | undefined {
    if (this.#eventHead < this.#events.length) {
      const ev = this.#events[this.#eventHead++];
      if (ev.type === "readable") this.#readablePending = false;
      return ev;
    }
    if (this.#eventHead > 0) {
      this.#events.length = 0;
      this.#eventHead = 0;
    }
    return undefined;
  }

  // ---- inputs -------------------------------------------------------------------------

  /**
   * Processes a segment from the peer (RFC 9293 §3.10.7, `arrival.ts`).
   *
   * @param now Current time.
   * @param seg The segment.
   * @returns `"reopen"` when a new SYN reached TIME_WAIT and a listener may
   *   take it (RFC 9293 §3.6.1, RFC 6191), else `"done"`.
   */
  handleSegment(now: Instant, seg: TcpSegment): ArrivalVerdict {
    // Anti-amplification: count what the peer of a passive open sent before it acknowledged our SYN.
    if (this.#snd.unvalidated) this.#snd.noteUnvalidated(segmentEncodedLength(seg), 0);
    if (seg.payload.length > 0) this.#lastData = now;
    const verdict = arrive(this.#core, now, seg);
    this.#probe?.check("segment");
    return verdict;
  }

  /**
   * tcp_tw_reuse: the ISS a new outgoing connection on this 4-tuple may use
   * now, or undefined when this connection is not a reusable TIME_WAIT one
   * (see `timeWaitReuseIss` in arrival.ts).
   *
   * @param now Current time.
   */
  timeWaitReuseIss(now: Instant): Seq | undefined {
    return timeWaitReuseIss(this.#core, now);
  }

  /** Runs expired timers; an early or repeated call does nothing. */
  handleTimeout(now: Instant): void {
    for (let round = 0; round < MAX_TIMER_ROUNDS; round++) {
      if (this.#state === "CLOSED") return;
      const kind = this.#timers.expired(now);
      if (kind === undefined) return;
      this.#timers.clear(kind);
      this.#probe?.fired(kind);
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
        case "keepalive": {
          const detail = this.#keepalive.onTimeout(now, this.#keepaliveState(), this.#snd.idle);
          if (detail !== undefined) {
            this.#queueRst(this.#snd.sndMax, this.#rcv.rcvNxt);
            this.#fail(now, "timed_out", detail);
          }
          break;
        }
        case "timeWait":
          this.#setState(now, "CLOSED", "2MSL timeout");
          break;
        case "finWait2":
          if (this.#state === "FIN_WAIT_2") this.#setState(now, "CLOSED", "FIN_WAIT_2 timeout");
          break;
        case "pacing":
          break; // tokens are refilled by the next pollTransmit
        case "lossProbe":
          this.#snd.onProbeTimeout(now);
          break;
        case "reorder":
          this.#snd.onReorderTimeout(now);
          break;
        case "idle":
          this.#onIdleTimeout(now);
          break;
      }
      this.#probe?.check(`timer:${kind}`);
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
    const n = this.#snd.write(data);
    this.#snd.synHold = false; // RFC 7413: the first write goes into the SYN
    return n;
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
    const n = rcv.read(into, this.#snd.rtt.srtt); // SRTT: receive auto-tuning
    if (rcv.finReceived && rcv.readable === 0) {
      // Everything up to the peer's FIN was read: no byte can arrive any more (RFC 9293
      // §3.10.7.4), so the ring's memory goes back now, not when the TCB is deleted.
      rcv.compact();
    }
    if (n > 0) return n;
    if (rcv.finReceived || this.#state === "CLOSED") return -1;
    return 0;
  }

  /**
   * Half-close: send a FIN after all queued data; reading goes on.
   *
   * @param now Current time (the state change may arm timers).
   */
  closeWrite(now: Instant): void {
    this.#shutWrite(now, "closeWrite()");
  }

  /** Queues the FIN (RFC 9293 §3.10.4 CLOSE); `cause` names the app call for the state event. */
  #shutWrite(now: Instant, cause: string): void {
    const snd = this.#snd;
    snd.synHold = false;
    if (snd.finQueued) return;
    const st = this.#state;
    if (st === "SYN_SENT") snd.queueFin(); // sent once established (queued until then)
    if (st !== "SYN_RCVD" && st !== "ESTABLISHED" && st !== "CLOSE_WAIT") return;
    snd.queueFin();
    this.#setState(now, st === "CLOSE_WAIT" ? "LAST_ACK" : "FIN_WAIT_1", cause);
  }

  /** Stops reading: buffered and later data is discarded (and still ACKed); read() returns -1. */
  shutdownRead(): void {
    this.#rcv.shutdownRead();
    this.#rcv.compact(); // what arrives later is discarded: the ring is not needed
  }

  /**
   * Closes both directions; the connection becomes orphaned and finishes on
   * its own. With unread received data it is reset instead (RFC 1122 4.2.2.13).
   *
   * @param now Current time: the FIN_WAIT_2 deadline counts from it.
   */
  close(now: Instant): void {
    const st = this.#state;
    if (st === "CLOSED" || this.#orphaned) return;
    if (this.#rcv.readable > 0 && !this.#rcv.readShut && this.#canReset()) {
      this.#queueRst(this.#snd.sndMax, this.#rcv.rcvNxt);
      this.#fail(now, "aborted", "close() with unread data: connection reset (RFC 1122 4.2.2.13)");
      return;
    }
    this.#orphaned = true;
    this.#snd.retryLimit = orphanRetryLimit(this.#config); // Linux tcp_orphan_retries
    this.#rcv.shutdownRead();
    this.#rcv.compact();
    if (st === "SYN_SENT") {
      this.#setState(now, "CLOSED", "close()"); // RFC 9293 §3.10.4: delete the TCB
      return;
    }
    this.#shutWrite(now, "close()");
    if (this.#state === "FIN_WAIT_2") {
      this.#timers.set("finWait2", now + this.#config.finWait2Timeout);
    }
  }

  /**
   * Resets the connection (SO_LINGER 0): RST, no TIME_WAIT, CLOSED.
   *
   * @param now Current time.
   */
  abort(now: Instant): void {
    if (this.#state === "CLOSED") return;
    if (this.#canReset()) this.#queueRst(this.#snd.sndMax, this.#rcv.rcvNxt);
    this.#fail(now, "aborted", "connection aborted by the application");
  }

  /**
   * Deletes the TCB without a word: no RST, no error event, straight to
   * CLOSED. For an embryonic (SYN_RCVD) connection whose listener closes,
   * as Linux and gVisor drop their request sockets; a later segment of the
   * peer then finds no connection and draws a RST (RFC 9293 §3.10.7.1).
   *
   * @param now Current time.
   * @param cause Why, for the state event.
   */
  discard(now: Instant, cause: string): void {
    this.#setState(now, "CLOSED", cause);
  }

  /** TCP_NODELAY: turn Nagle's algorithm off (true) or on. */
  setNoDelay(on: boolean): void {
    this.#snd.setNoDelay(on);
  }

  /**
   * SO_KEEPALIVE with optional idle/interval/count (RFC 1122 4.2.3.6).
   *
   * @param now Current time: the first probe is due an idle time after it.
   * @param on Whether keepalive is on.
   * @param opts Idle time, probe interval and count (defaults from the config).
   */
  setKeepAlive(now: Instant, on: boolean, opts: KeepAliveOptions = {}): void {
    this.#keepalive.configure(on, opts, now, this.#keepaliveState());
  }

  /**
   * Bounds the receive and send buffers (a memory budget shared by many
   * connections, the stack's `memoryBudget`): the window offered and the
   * bytes `write()` takes stay within them; bytes already held stay.
   *
   * @param recv Receive-buffer bound in bytes (at most `recvBufferSize`).
   * @param send Send-buffer bound in bytes (at most `sendBufferSize`).
   */
  setMemoryLimits(recv: number, send: number): void {
    this.#rcv.setMemoryLimit(recv);
    this.#snd.setMemoryLimit(send);
  }

  /** Bytes of memory held by the receive and send buffers. */
  get bufferBytes(): number {
    return this.#rcv.allocated + this.#snd.allocated;
  }

  /** What this connection dropped or held back, by cause (drop_counters.ts). */
  dropCounters(): TcpDropCounters {
    return this.#rcv.dropCounters();
  }

  /**
   * Adds {@linkcode TcpConnection.dropCounters} into `sum`, allocating nothing.
   *
   * @param sum The totals to add to.
   */
  addDropCountersTo(sum: TcpDropCounters): void {
    this.#rcv.addDropCountersTo(sum);
  }

  /** Whether the connection was reset by its idle timeout (`idleTimeout`). */
  get idleExpired(): boolean {
    return this.#idleExpired;
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** The "idle" timer: reset the connection when no data went either way for `idleTimeout`. */
  #onIdleTimeout(now: Instant): void {
    const limit = this.#config.idleTimeout;
    const st = this.#state;
    if (limit <= 0 || st === "TIME_WAIT" || st === "CLOSED" || st === "SYN_SENT") return;
    const due = this.#lastData + limit;
    if (now < due) {
      this.#timers.set("idle", due);
      return;
    }
    this.#idleExpired = true;
    if (this.#canReset()) this.#queueRst(this.#snd.sndMax, this.#rcv.rcvNxt);
    this.#fail(now, "timed_out", `idle timeout: no data either way for ${limit / 1000} s`);
  }

  /** RTT from the echoed timestamp of an ACK (RFC 7323 §4.1), or -1. */
  #tsRtt(now: Instant, seg: TcpSegment): number {
    const ts = seg.options.timestamps;
    if (!this.#rcv.timestamps || ts === undefined || !(seg.flags & ACK)) return -1;
    const rtt = (this.#core.tsClock(now) - ts.tsEcr) >>> 0;
    return rtt <= this.#config.rtoMax ? rtt : -1;
  }

  #keepaliveState(): boolean {
    const st = this.#state;
    return st === "ESTABLISHED" || st === "CLOSE_WAIT" || st === "FIN_WAIT_1" ||
      st === "FIN_WAIT_2";
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
    this.#emit({ type: "error", kind, detail });
    this.#setState(now, "CLOSED", detail);
  }

  #setState(now: Instant, to: TcpState, cause: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#emit({ type: "state", from, to, cause });
    switch (to) {
      case "ESTABLISHED":
        this.#emit({ type: "connected" });
        this.#core.touch(now);
        if (this.#config.idleTimeout > 0) {
          this.#lastData = Math.max(this.#lastData, now);
          this.#timers.set("idle", this.#lastData + this.#config.idleTimeout);
        }
        break;
      case "FIN_WAIT_2":
        // Our FIN was acknowledged, so was every byte before it: nothing is left to send.
        this.#snd.compact();
        if (this.#orphaned) this.#timers.set("finWait2", now + this.#config.finWait2Timeout);
        break;
      case "TIME_WAIT":
        // RFC 9293 §3.10.7.4: turn off the other timers, start the 2MSL timer
        this.#timers.clearAll();
        this.#timers.set("timeWait", now + 2 * this.#config.msl);
        // Nothing more is sent, and only bytes the application has not read yet are kept: a
        // short connection's TIME_WAIT (2·MSL) holds no buffer memory.
        this.#snd.compact();
        this.#rcv.compact();
        break;
      case "CLOSED":
        this.#timers.clearAll();
        // The handle may outlive the TCB (the app still holds it): keep only unread bytes.
        this.#snd.compact();
        this.#rcv.compact();
        this.#emit({ type: "closed" });
        break;
      default:
        break;
    }
  }

  #emit(ev: TcpEvent): void {
    if (ev.type === "readable") {
      if (this.#readablePending) return;
      this.#readablePending = true;
    }
    this.#events.push(ev);
  }

  #queueRst(seqNo: Seq, ack: Seq | undefined): void {
    if (this.#control.length < MAX_CONTROL_QUEUE) {
      this.#control.push(resetSegment(this.#localPort, this.#remotePort, seqNo, ack));
    }
  }
}
