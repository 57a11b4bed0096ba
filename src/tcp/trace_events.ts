/**
 * Trace events: what a connection does inside, for people learning TCP and
 * for finding out why a transfer is slow. Timers armed, moved, stopped and
 * fired; retransmissions; congestion window, slow-start threshold and
 * receive window changes. (Segments in and out and state changes with
 * their cause are reported by the stack and `pollEvent()` already.)
 *
 * Free when nobody listens: a connection only makes these when its
 * `traced` flag is on (the stack turns it on when a tracer subscribes to
 * them), and then the {@linkcode TraceProbe} finds the changes by comparing
 * a few numbers after each input, so the protocol code has no trace calls
 * in its hot paths. Sans-I/O like the rest of src/tcp: the events wait in a
 * queue that the driver drains with `pollTrace()`.
 *
 * @module
 */

import { NEVER } from "../time.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import type { ConnectionCore } from "./_core.ts";
import { TIMER_KINDS, type TimerKind } from "./timers.ts";

/**
 * What caused a change: the input the connection was handling.
 *
 * @example
 * ```ts
 * import type { TraceCause } from "./trace_events.ts";
 * const cause: TraceCause = "timer:retransmit";
 * ```
 */
export type TraceCause =
  /** A segment from the peer. */
  | "segment"
  /** A timer that fired, e.g. "timer:retransmit". */
  | `timer:${TimerKind}`
  /** Output: building segments to send. */
  | "send"
  /** An application call (write, read, close, ...). */
  | "app";

/**
 * One trace event of a connection. Times are on the connection's clock
 * (ms), sequence numbers are mod 2^32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TcpTraceEvent } from "./trace_events.ts";
 * const ev: TcpTraceEvent = { type: "timer", action: "fired", kind: "retransmit" };
 * assert.equal(ev.type, "timer");
 * ```
 */
export type TcpTraceEvent =
  /** A timer was armed (or moved to a new deadline: `at`, on the connection's clock). */
  | {
    readonly type: "timer";
    readonly action: "armed";
    readonly kind: TimerKind;
    readonly at: number;
    readonly cause: TraceCause;
  }
  /** A timer was stopped before it fired. */
  | {
    readonly type: "timer";
    readonly action: "stopped";
    readonly kind: TimerKind;
    readonly cause: TraceCause;
  }
  /** A timer fired. */
  | { readonly type: "timer"; readonly action: "fired"; readonly kind: TimerKind }
  /** A segment was sent again: SYN, data or FIN; `len` payload bytes from `seq`. */
  | {
    readonly type: "retransmit";
    readonly seq: number;
    readonly len: number;
    readonly flags: number;
    readonly cause: TraceCause;
  }
  /** The congestion window or slow-start threshold changed (bytes; ssthresh Infinity before a loss). */
  | {
    readonly type: "cwnd";
    readonly cwnd: number;
    readonly ssthresh: number;
    readonly cause: TraceCause;
  }
  /** The peer's window (`sndWnd`, scaled) or the one we advertise (`rcvWnd`) changed. */
  | {
    readonly type: "rwnd";
    readonly sndWnd: number;
    readonly rcvWnd: number;
    readonly cause: TraceCause;
  };

/**
 * Finds what changed in a connection since the last look and queues the
 * trace events for it. One per traced connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TcpConnection } from "./connection.ts";
 * import { tcpConfig } from "./config.ts";
 * import { seq } from "../wire/seq.ts";
 * const c = TcpConnection.connect(0, {
 *   localPort: 1, remotePort: 2, iss: seq(100), config: tcpConfig(),
 * });
 * c.traced = true;
 * while (c.pollTransmit(0) !== undefined); // the SYN: its retransmission timer is armed
 * const ev = c.pollTrace();
 * assert.deepEqual(ev, { type: "timer", action: "armed", kind: "retransmit", at: 1000, cause: "send" });
 * ```
 */
export class TraceProbe {
  readonly #core: ConnectionCore;
  readonly #events: TcpTraceEvent[] = [];
  #head = 0;
  readonly #timers = new Float64Array(TIMER_KINDS.length).fill(NEVER);
  #cwnd: number;
  #ssthresh: number;
  #sndWnd: number;
  #rcvWnd: number;
  #retransmits: number;

  /**
   * Starts watching; the current figures are the baseline (no events for them).
   *
   * @param core The connection's parts.
   */
  constructor(core: ConnectionCore) {
    this.#core = core;
    const { snd, rcv, timers } = core;
    for (let i = 0; i < TIMER_KINDS.length; i++) this.#timers[i] = timers.get(TIMER_KINDS[i]);
    this.#cwnd = snd.cc.cwnd;
    this.#ssthresh = snd.cc.ssthresh;
    this.#sndWnd = snd.sndWnd;
    this.#rcvWnd = rcv.rcvWnd;
    this.#retransmits = snd.retransmits;
  }

  /** The next queued event, or undefined. */
  poll(): TcpTraceEvent | undefined {
    if (this.#head < this.#events.length) return this.#events[this.#head++];
    if (this.#head > 0) {
      this.#events.length = 0;
      this.#head = 0;
    }
    return undefined;
  }

  /** A timer fired (before it is handled). */
  fired(kind: TimerKind): void {
    this.#timers[TIMER_KINDS.indexOf(kind)] = NEVER;
    this.#events.push({ type: "timer", action: "fired", kind });
  }

  /** A segment is about to be sent: a retransmission when the sender's count went up. */
  sent(seg: TcpSegment): void {
    const n = this.#core.snd.retransmits;
    if (n === this.#retransmits) return;
    this.#retransmits = n;
    this.#events.push({
      type: "retransmit",
      seq: seg.seq,
      len: seg.payload.length,
      flags: seg.flags,
      cause: "send",
    });
  }

  /** Compares timers and windows with the last look and queues what changed. */
  check(cause: TraceCause): void {
    const { snd, rcv, timers } = this.#core;
    for (let i = 0; i < TIMER_KINDS.length; i++) {
      const kind = TIMER_KINDS[i];
      const at = timers.get(kind);
      if (at === this.#timers[i]) continue;
      this.#timers[i] = at;
      this.#events.push(
        at === NEVER
          ? { type: "timer", action: "stopped", kind, cause }
          : { type: "timer", action: "armed", kind, at, cause },
      );
    }
    const cc = snd.cc;
    if (cc.cwnd !== this.#cwnd || cc.ssthresh !== this.#ssthresh) {
      this.#cwnd = cc.cwnd;
      this.#ssthresh = cc.ssthresh;
      this.#events.push({ type: "cwnd", cwnd: cc.cwnd, ssthresh: cc.ssthresh, cause });
    }
    if (snd.sndWnd !== this.#sndWnd || rcv.rcvWnd !== this.#rcvWnd) {
      this.#sndWnd = snd.sndWnd;
      this.#rcvWnd = rcv.rcvWnd;
      this.#events.push({ type: "rwnd", sndWnd: snd.sndWnd, rcvWnd: rcv.rcvWnd, cause });
    }
  }
}

/**
 * Renders a trace event as one line, e.g. `timer retransmit armed at 1000 (send)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTraceEvent } from "./trace_events.ts";
 * assert.equal(
 *   formatTraceEvent({ type: "cwnd", cwnd: 14160, ssthresh: Infinity, cause: "segment" }),
 *   "cwnd 14160 ssthresh inf (segment)",
 * );
 * ```
 */
export function formatTraceEvent(ev: TcpTraceEvent): string {
  switch (ev.type) {
    case "timer":
      return ev.action === "armed"
        ? `timer ${ev.kind} armed at ${ev.at} (${ev.cause})`
        : ev.action === "stopped"
        ? `timer ${ev.kind} stopped (${ev.cause})`
        : `timer ${ev.kind} fired`;
    case "retransmit":
      return `retransmit seq ${ev.seq} length ${ev.len}`;
    case "cwnd":
      return `cwnd ${ev.cwnd} ssthresh ${
        Number.isFinite(ev.ssthresh) ? ev.ssthresh : "inf"
      } (${ev.cause})`;
    case "rwnd":
      return `rwnd snd_wnd ${ev.sndWnd} rcv_wnd ${ev.rcvWnd} (${ev.cause})`;
  }
}
