/**
 * `Endpoint.subscribe`: any number of subscribers watch what the endpoint's
 * connections do: segments in and out, state changes with their cause, and
 * trace events (timers, retransmissions, window changes). The hub installs
 * one tracer on the stack while someone listens and removes it when the
 * last one leaves, with only the hooks some subscriber wants, so an endpoint
 * nobody watches pays nothing.
 *
 * @module
 */

import type { Stack } from "../stack/stack.ts";
import { formatSegment, type StackTracer } from "../stack/trace.ts";
import type { TcpState } from "../tcp/state.ts";
import type { TcpTraceEvent } from "../tcp/trace_events.ts";
import { formatFlags } from "../wire/tcp_flags.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import type { TouTuple } from "./addr.ts";

/**
 * A segment as {@linkcode TraceSubscriber.onSegment} sees it.
 *
 * @example
 * ```ts
 * import type { TraceSegment } from "./trace_hub.ts";
 * const syn: TraceSegment = {
 *   seq: 100, ack: 0, flags: "S", window: 65535, length: 0,
 *   text: "40000 > 22: Flags [S], seq 100, win 65535, length 0",
 * };
 * ```
 */
export interface TraceSegment {
  /** Sequence number. */
  readonly seq: number;
  /** Acknowledgment number (meaningful when `flags` has "."). */
  readonly ack: number;
  /** Flags as tcpdump prints them: "S", "S.", ".", "P.", "F.", "R", ... */
  readonly flags: string;
  /** Window field as sent (not scaled). */
  readonly window: number;
  /** Payload bytes. */
  readonly length: number;
  /** The whole segment in one tcpdump-like line, options included. */
  readonly text: string;
}

/**
 * A state change (RFC 9293 §3.3.2) and what caused it, e.g. "SYN received".
 *
 * @example
 * ```ts
 * import type { TraceState } from "./trace_hub.ts";
 * const ev: TraceState = { from: "SYN_SENT", to: "ESTABLISHED", cause: "SYN-ACK received" };
 * ```
 */
export interface TraceState {
  /** The state left. */
  readonly from: TcpState;
  /** The state entered. */
  readonly to: TcpState;
  /** What caused it. */
  readonly cause: string;
}

function traceSegment(seg: TcpSegment): TraceSegment {
  return {
    seq: seg.seq,
    ack: seg.ack,
    flags: formatFlags(seg.flags),
    window: seg.window,
    length: seg.payload.length,
    text: formatSegment(seg),
  };
}

/**
 * Watches an endpoint's connections; every hook is optional. `time` is the
 * endpoint's clock in ms. Hooks run synchronously inside the stack: keep
 * them short.
 *
 * @example
 * ```ts
 * import type { TraceSubscriber } from "./trace_hub.ts";
 * const sub: TraceSubscriber = {
 *   onState: (_t, tuple, ev) => console.log(tuple.remote.tcpPort, ev.from, "→", ev.to, ev.cause),
 * };
 * ```
 */
export interface TraceSubscriber {
  /** A segment sent ("out") or received ("in"), connection or not. */
  onSegment?(time: number, dir: "in" | "out", tuple: TouTuple, seg: TraceSegment): void;
  /** A connection's state change (RFC 9293 §3.3.2) and its cause. */
  onState?(time: number, tuple: TouTuple, event: TraceState): void;
  /** A connection's trace event: timer armed/stopped/fired, retransmission, cwnd or window change. */
  onTrace?(time: number, tuple: TouTuple, event: TcpTraceEvent): void;
}

/** The subscribers of one endpoint and the tracer that serves them. */
export class TraceHub {
  readonly #stack: Stack;
  readonly #local: () => { hostname: string; port: number };
  readonly #subs = new Set<TraceSubscriber>();

  /**
   * @param stack The endpoint's stack (the hub owns its `tracer`).
   * @param local The endpoint's UDP address.
   */
  constructor(stack: Stack, local: () => { hostname: string; port: number }) {
    this.#stack = stack;
    this.#local = local;
  }

  /** How many subscribers there are. */
  get size(): number {
    return this.#subs.size;
  }

  /**
   * Adds a subscriber.
   *
   * @returns A function that removes it (idempotent).
   */
  add(sub: TraceSubscriber): () => void {
    this.#subs.add(sub);
    this.#install();
    return () => {
      if (this.#subs.delete(sub)) this.#install();
    };
  }

  #tuple(localPort: number, peer: { hostname: string; port: number }, remotePort: number) {
    return {
      local: { ...this.#local(), tcpPort: localPort },
      remote: { hostname: peer.hostname, port: peer.port, tcpPort: remotePort },
    };
  }

  /** Installs a tracer with the hooks some subscriber has, or none. */
  #install(): void {
    const subs = [...this.#subs];
    const want = (k: keyof TraceSubscriber) => subs.some((s) => s[k] !== undefined);
    if (subs.length === 0) {
      this.#stack.tracer = undefined;
      return;
    }
    const t: StackTracer = {};
    if (want("onSegment")) {
      t.onSegment = (now, dir, peer, seg) => {
        const tuple = dir === "in"
          ? this.#tuple(seg.dstPort, peer, seg.srcPort)
          : this.#tuple(seg.srcPort, peer, seg.dstPort);
        const summary = traceSegment(seg);
        for (const s of subs) s.onSegment?.(now, dir, tuple, summary);
      };
    }
    if (want("onState")) {
      t.onEvent = (now, c, ev) => {
        if (ev.type !== "state") return;
        const tuple = this.#tuple(c.localPort, c.remote, c.remotePort);
        const state = { from: ev.from, to: ev.to, cause: ev.cause };
        for (const s of subs) s.onState?.(now, tuple, state);
      };
    }
    if (want("onTrace")) {
      t.onTrace = (now, c, ev) => {
        const tuple = this.#tuple(c.localPort, c.remote, c.remotePort);
        for (const s of subs) s.onTrace?.(now, tuple, ev);
      };
    }
    this.#stack.tracer = t;
  }
}
