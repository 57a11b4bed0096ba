/**
 * Segment arrival (RFC 9293 §3.10.7), in the RFC's order: SYN_SENT
 * (§3.10.7.3), then the synchronized states (§3.10.7.4): first the
 * sequence number check (with PAWS, RFC 7323 §5), second RST, third
 * security, fourth SYN, fifth ACK, sixth URG, seventh text, eighth FIN.
 * Every TIME_WAIT rule is in {@linkcode arriveTimeWait} (as gVisor's
 * `handleTimeWaitSegment`), which returns the verdict the stack acts on.
 *
 * The receive half (`receiver.ts`) and the send half (`sender.ts`) keep
 * their sequence variables; this file decides what a segment means for the
 * connection and moves it along the state diagram.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seqAdd, seqGt, seqLe } from "../wire/seq.ts";
import { ACK, FIN, RST, SYN } from "../wire/tcp_flags.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import type { ConnectionCore } from "./_core.ts";
import type { TcpEvent } from "./events.ts";
import { fastOpenSynAcked } from "./fast_open.ts";
import { effectiveSendMss, negotiate } from "./handshake.ts";
import { ACK_FIN_ACKED, ACK_SYN_ACKED, ACK_UNACCEPTABLE, ACK_WRITABLE } from "./sender_plan.ts";

/**
 * What the driver does after a segment: `"done"`, or `"reopen"` when a new
 * SYN with a sequence number above RCV.NXT reached a connection in
 * TIME_WAIT (RFC 9293 §3.6.1 note, RFC 6191; Linux `TCP_TW_SYN`): a
 * listener on the port may take it, closing this incarnation. Without one,
 * the connection's answer (an ACK) stands.
 */
export type ArrivalVerdict = "done" | "reopen";

const READABLE: TcpEvent = Object.freeze({ type: "readable" });
const EOF: TcpEvent = Object.freeze({ type: "eof" });

/**
 * Processes a segment from the peer (RFC 9293 §3.10.7).
 *
 * @param core The connection.
 * @param now Current time.
 * @param seg The segment.
 * @returns What the driver must do next (see {@linkcode ArrivalVerdict}).
 */
export function arrive(core: ConnectionCore, now: Instant, seg: TcpSegment): ArrivalVerdict {
  switch (core.state()) {
    case "CLOSED":
    case "LISTEN": // the stack's listener handles LISTEN (§3.10.7.2)
      return "done";
    case "SYN_SENT":
      arriveSynSent(core, now, seg);
      break;
    case "TIME_WAIT":
      return arriveTimeWait(core, now, seg);
    default:
      arriveSynchronized(core, now, seg);
  }
  // FIN_WAIT_1 → FIN_WAIT_2 waits for the end of the segment, so that a
  // FIN+ACK goes straight to TIME_WAIT.
  if (core.state() === "FIN_WAIT_1" && core.snd.finAcked) {
    core.setState(now, "FIN_WAIT_2", "ACK of FIN received");
  }
  return "done";
}

/**
 * Applies the options of the peer's SYN to both halves (RFC 9293 §3.7.1,
 * RFC 7323, RFC 2018) and takes SND.WND from it, unscaled.
 *
 * @param core The connection.
 * @param now Current time.
 * @param syn The peer's SYN or SYN-ACK.
 */
export function applyPeerSyn(core: ConnectionCore, now: Instant, syn: TcpSegment): void {
  const n = negotiate(core.config, syn.options);
  core.negotiated = n;
  core.rcv.onSyn(syn, now, n);
  core.snd.configure(effectiveSendMss(core.config, n.peerMss, n.timestamps), n);
  core.snd.windowFromSyn(syn);
}

// ---- SYN_SENT (RFC 9293 §3.10.7.3) ---------------------------------------------------

/** Segment arrival in SYN_SENT (RFC 9293 §3.10.7.3). */
function arriveSynSent(core: ConnectionCore, now: Instant, seg: TcpSegment): void {
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
  // third: security (none in tou); fourth: SYN
  if (!(f & SYN)) return;
  applyPeerSyn(core, now, seg);
  core.touch(now);
  if (f & ACK) {
    const r = snd.processAck(now, seg, core.tsRtt(now, seg));
    if (core.tfo !== undefined) fastOpenSynAcked(snd, core.tfo, seg); // RFC 7413 §4.2.2
    snd.established();
    core.setState(now, "ESTABLISHED", "SYN-ACK received");
    // A SYN-ACK that acknowledges Fast Open data frees send-buffer space: a writer
    // that filled the buffer in SYN_SENT waits for this event (the sender clears its
    // "blocked" mark with it, so no later ACK would wake the writer again).
    if (r & ACK_WRITABLE) core.emit({ type: "writable" });
    // lazyAcks: when the SYN-ACK took all our Fast Open data and nothing more waits, its
    // ACK may ride on our next segment (the close, or the next request)
    if (core.tfo?.dataAcked === true && snd.idle && seg.payload.length === 0) {
      core.rcv.requestLazyAck(now);
    } else {
      core.rcv.requestAck();
    }
    // "continue processing at the sixth step": data or FIN riding on the SYN-ACK
    const dataSeq = seqAdd(seg.seq, 1);
    arriveText(core, now, seg, dataSeq);
    arriveFin(core, now, seg);
    if (snd.finQueued && core.state() === "ESTABLISHED") {
      core.setState(now, "FIN_WAIT_1", "closeWrite() before connected");
    }
  } else {
    // simultaneous open (RFC 9293 §3.5 figure 8): answer the SYN with a SYN-ACK
    snd.resendSyn();
    core.setState(now, "SYN_RCVD", "SYN received (simultaneous open)");
  }
}

// ---- synchronized states (RFC 9293 §3.10.7.4) ----------------------------------------

/**
 * Segment arrival in SYN_RCVD and the synchronized states other than
 * TIME_WAIT (RFC 9293 §3.10.7.4), step by step.
 */
function arriveSynchronized(core: ConnectionCore, now: Instant, seg: TcpSegment): void {
  const rcv = core.rcv;
  // first: sequence number (PAWS, the SYN_RCVD repeats, acceptability)
  const s = checkSequence(core, now, seg);
  if (s === undefined) return;
  core.touch(now);
  // second: RST
  if (s.flags & RST) {
    arriveRst(core, now, s);
    return;
  }
  // RFC 7323 §4.3: TS.Recent from an acceptable segment
  rcv.updateTsRecent(s, now);
  // third: security and precedence: tou carries no IP security option (RFC 9293 §3.10.7.4)
  // fourth: SYN in a synchronized state (RFC 5961 §4.2): a challenge ACK
  if (s.flags & SYN) {
    rcv.challengeAck(now, core.config.challengeAckLimit);
    return;
  }
  // fifth: ACK
  if (!(s.flags & ACK)) return;
  if (!arriveAck(core, now, s)) return;
  // sixth: URG is not supported (RFC 6093: new applications SHOULD NOT use it); ignored
  // seventh: segment text
  arriveText(core, now, s, s.seq);
  // eighth: FIN
  arriveFin(core, now, s);
}

/**
 * The first step (RFC 9293 §3.10.7.4 "first check sequence number"), with
 * PAWS (RFC 7323 §5.3 R1) before it. Returns the segment to go on with
 * (a simultaneous open's SYN-ACK loses its SYN), or undefined when it is
 * dropped (an ACK is then requested where the RFC says so).
 */
function checkSequence(
  core: ConnectionCore,
  now: Instant,
  seg: TcpSegment,
): TcpSegment | undefined {
  const rcv = core.rcv;
  let s = seg;
  // RFC 7323 §5.3 R1: PAWS
  if (!(s.flags & RST) && rcv.pawsRejects(s, now)) {
    rcv.drops.pawsRejected++;
    rcv.invalidSegmentAck(now, s);
    return undefined;
  }
  // Our SYN-ACK may still be missing at the peer: in SYN_RCVD, or in a later state a Fast
  // Open connection reached before the handshake completed (its application answered and
  // closed); Linux's tcp_check_req answers in both while it holds the request.
  const synAckPending = core.state() === "SYN_RCVD" || (core.snd.earlyData && !core.snd.synAcked);
  if (synAckPending && (s.flags & (SYN | RST)) === SYN && s.seq === rcv.irs) {
    if (!(s.flags & ACK)) {
      core.snd.resendSyn(); // the peer's SYN again: our SYN-ACK was lost
      return undefined;
    }
    // Simultaneous open: the peer's SYN-ACK repeats a SYN we have (SEG.SEQ = IRS
    // < RCV.NXT); keep its ACK, and answer it with an ACK as Linux does
    // (RFC 9293 §3.10.7.4 "unacceptable: send an ACK", RFC 5961 §4.2).
    rcv.requestAck();
    s = { ...s, seq: seqAdd(s.seq, 1), flags: s.flags & ~SYN };
  }
  if (!rcv.acceptable(s)) {
    rcv.drops.outOfWindow++;
    if (!(s.flags & RST)) {
      rcv.updateTsRecentFromDuplicate(s, now);
      rcv.noteOldDuplicate(s);
      // RFC 5961 §4.2: a SYN draws a challenge ACK whatever its sequence number, so
      // out-of-window SYN guesses share the challenge ACK rate limit (as Linux)
      if (s.flags & SYN) rcv.challengeAck(now, core.config.challengeAckLimit);
      else rcv.invalidSegmentAck(now, s); // RFC 9293 §3.10.7.4: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    }
    return undefined;
  }
  return s;
}

/** The second step: RST (RFC 5961 §3.2: only an exact match resets, else a challenge ACK). */
function arriveRst(core: ConnectionCore, now: Instant, s: TcpSegment): void {
  const rcv = core.rcv;
  if (s.seq !== rcv.rcvNxt) {
    rcv.challengeAck(now, core.config.challengeAckLimit);
    return;
  }
  switch (core.state()) {
    case "SYN_RCVD":
      if (core.passive) {
        // RFC 9293 §3.10.7.4: a passive open returns to LISTEN; the user need not be
        // informed. The stack's listener goes on listening, so this TCB is deleted.
        core.setState(now, "LISTEN", "RST received (passive open)");
        core.setState(now, "CLOSED", "embryonic connection deleted; the listener goes on");
      } else {
        core.fail(now, "refused", "connection refused");
      }
      break;
    case "CLOSING":
    case "LAST_ACK":
    case "TIME_WAIT":
      core.setState(now, "CLOSED", "RST received");
      break;
    default:
      core.fail(now, "reset", "connection reset by peer");
  }
}

/** The fifth step: ACK; returns whether to go on with the segment. */
function arriveAck(core: ConnectionCore, now: Instant, s: TcpSegment): boolean {
  const snd = core.snd;
  const r = snd.processAck(now, s, core.tsRtt(now, s));
  const limit = core.config.challengeAckLimit;
  if (core.state() === "SYN_RCVD") {
    if ((r & ACK_UNACCEPTABLE) || !(r & ACK_SYN_ACKED)) {
      core.queueRst(s.ack, undefined); // RFC 9293 §3.10.7.4: <SEQ=SEG.ACK><CTL=RST>
      return false;
    }
    snd.established();
    core.setState(now, "ESTABLISHED", "ACK of SYN-ACK received");
  } else if (r & ACK_UNACCEPTABLE) {
    core.rcv.drops.unacceptableAcks++;
    core.rcv.challengeAck(now, limit); // RFC 5961 §5.2
    return false;
  } else if (r & ACK_SYN_ACKED) {
    snd.established(); // closeWrite() in SYN_RCVD moved us on already
    core.emit({ type: "connected" });
  }
  if (r & ACK_WRITABLE) core.emit({ type: "writable" });
  if (r & ACK_FIN_ACKED) {
    if (core.state() === "CLOSING") {
      core.setState(now, "TIME_WAIT", "ACK of FIN received");
    } else if (core.state() === "LAST_ACK") {
      core.setState(now, "CLOSED", "ACK of FIN received");
      return false;
    }
  }
  return true;
}

/**
 * The seventh step: segment text. Notes where a FIN is first (nothing after
 * it is data); text counts only in ESTABLISHED, FIN_WAIT_1 and FIN_WAIT_2.
 *
 * @param dataSeq Sequence number of the first data byte (after a SYN).
 */
function arriveText(core: ConnectionCore, now: Instant, s: TcpSegment, dataSeq: Seq): void {
  const rcv = core.rcv;
  if (s.flags & FIN) rcv.noteFin(dataSeq, s);
  const st = core.state();
  // CLOSE_WAIT, CLOSING, LAST_ACK: the peer's FIN came; ignore text
  if (st !== "ESTABLISHED" && st !== "FIN_WAIT_1" && st !== "FIN_WAIT_2") return;
  if (s.payload.length === 0) return;
  if (core.orphaned() && rcv.hasNewData(dataSeq, s)) {
    // RFC 1122 4.2.2.13 / Linux: nobody will read this data
    core.queueRst(core.snd.sndMax, rcv.rcvNxt);
    core.fail(now, "aborted", "data received after close(): connection reset");
    return;
  }
  const advanced = rcv.onText(now, dataSeq, s.payload);
  if (advanced > 0 && !rcv.readShut) core.emit(READABLE);
}

/**
 * The eighth step: FIN, once RCV.NXT reached it (a FIN beyond a gap waits
 * in the receiver and draws a duplicate ACK).
 */
function arriveFin(core: ConnectionCore, now: Instant, s: TcpSegment): void {
  const st = core.state();
  if (st !== "ESTABLISHED" && st !== "FIN_WAIT_1" && st !== "FIN_WAIT_2") return;
  const rcv = core.rcv;
  // In ESTABLISHED the ACK may wait for the application's own FIN (Linux pingpong mode)
  if (!rcv.reachFin(now, st === "ESTABLISHED")) {
    // RFC 5681 §4.2, RFC 9293 §3.10.7.4: a FIN beyond a gap is out of order: duplicate ACK now
    if ((s.flags & FIN) !== 0 && !rcv.finReceived) rcv.requestAck();
    return;
  }
  core.emit(EOF);
  if (st === "ESTABLISHED") core.setState(now, "CLOSE_WAIT", "FIN received");
  else if (st === "FIN_WAIT_2") core.setState(now, "TIME_WAIT", "FIN received");
  else if (core.snd.finAcked) core.setState(now, "TIME_WAIT", "FIN+ACK received");
  else core.setState(now, "CLOSING", "FIN received (simultaneous close)");
}

// ---- TIME_WAIT: every rule in one place -------------------------------------------------

/**
 * Segment arrival in TIME_WAIT (RFC 9293 §3.10.7.4, the TIME-WAIT rule of
 * each step; gVisor keeps them in one `handleTimeWaitSegment`):
 * - a new SYN above RCV.NXT: verdict `"reopen"` (RFC 9293 §3.6.1 note,
 *   RFC 6191); the stack hands it to a listener if there is one;
 * - PAWS or sequence check failed: ACK; the peer's FIN again (our last ACK
 *   was lost): ACK it and restart the 2MSL timeout;
 * - RST: ignored with `rfc1337` (RFC 1337 TIME-WAIT assassination hazard,
 *   not even a challenge ACK), else an exact one closes (RFC 9293, Linux
 *   `tcp_rfc1337=0`);
 * - SYN (acceptable): a challenge ACK (RFC 5961 §4.2);
 * - ACK: processed (an unacceptable one draws a challenge ACK, RFC 5961
 *   §5.2); text and FIN: the peer's FIN was consumed, nothing is left.
 *
 * @param core The connection (in TIME_WAIT).
 * @param now Current time.
 * @param seg The segment.
 * @returns `"reopen"` for a SYN that may start a new incarnation, else `"done"`.
 */
export function arriveTimeWait(
  core: ConnectionCore,
  now: Instant,
  seg: TcpSegment,
): ArrivalVerdict {
  const rcv = core.rcv;
  const f = seg.flags;
  const verdict: ArrivalVerdict = (f & (SYN | ACK | RST)) === SYN && seqGt(seg.seq, rcv.rcvNxt)
    ? "reopen"
    : "done";
  // first: PAWS and the sequence check
  if (!(f & RST) && rcv.pawsRejects(seg, now)) {
    rcv.invalidSegmentAck(now, seg);
    return verdict;
  }
  if (!rcv.acceptable(seg)) {
    if (f & RST) return verdict;
    rcv.updateTsRecentFromDuplicate(seg, now);
    rcv.noteOldDuplicate(seg);
    if (rcv.isDuplicateFin(seg)) {
      core.timers.set("timeWait", now + 2 * core.config.msl); // ACK it, restart 2MSL
    }
    rcv.invalidSegmentAck(now, seg);
    return verdict;
  }
  core.touch(now);
  // second: RST
  if (f & RST) {
    if (!core.config.rfc1337) arriveRst(core, now, seg);
    return verdict;
  }
  rcv.updateTsRecent(seg, now);
  // fourth: SYN
  if (f & SYN) {
    rcv.challengeAck(now, core.config.challengeAckLimit);
    return verdict;
  }
  // fifth: ACK
  if (!(f & ACK) || !arriveAck(core, now, seg)) return verdict;
  // seventh and eighth: no text is taken; the peer's FIN was consumed (a repeat is ACKed)
  if (f & FIN) rcv.noteFin(seg.seq, seg);
  return verdict;
}

/** How old TS.Recent of a TIME_WAIT connection must be before its 4-tuple is reused (Linux: 1 s). */
export const TIME_WAIT_REUSE_DELAY = 1_000;

/**
 * tcp_tw_reuse (Linux `tcp_twsk_unique`): whether a new outgoing connection
 * may take the 4-tuple of this TIME_WAIT connection now, and with which ISS.
 * Only when timestamps are in use (RFC 7323 §5: PAWS then tells the new
 * incarnation's segments from old duplicates, so the 2·MSL wait is not
 * needed) and TS.Recent is at least {@linkcode TIME_WAIT_REUSE_DELAY} old;
 * the new ISS is SND.NXT + 65535 + 2, above anything the old incarnation
 * sent (as Linux; the caller keeps the old timestamp offset so that the new
 * TSvals are newer than the old ones).
 *
 * @param core The connection (anything but TIME_WAIT gives undefined).
 * @param now Current time.
 * @returns The ISS for the new connection, or undefined when the 4-tuple may not be reused yet.
 */
export function timeWaitReuseIss(core: ConnectionCore, now: Instant): Seq | undefined {
  if (core.state() !== "TIME_WAIT" || !core.rcv.timestamps) return undefined;
  if (now - core.rcv.tsRecentAt < TIME_WAIT_REUSE_DELAY) return undefined;
  const iss = seqAdd(core.snd.sndNxt, 65_535 + 2);
  return iss === 0 ? seqAdd(iss, 1) : iss;
}
