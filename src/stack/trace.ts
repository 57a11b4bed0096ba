/**
 * Hooks for watching a stack: every segment in and out, every connection
 * event (state changes with their cause) and, with `onTrace`, each
 * connection's trace events (timers armed, stopped and fired,
 * retransmissions, cwnd/ssthresh and window changes), for people learning
 * TCP and for debugging.
 *
 * Nothing is built for a hook nobody set: the stack checks the hook before
 * it calls it, and connections make trace events only while a tracer with
 * `onTrace` is set (`TcpConnection.traced`); `bench/trace_cost.ts` measures
 * what is left.
 *
 * @module
 */

import type { TcpEvent } from "../tcp/events.ts";
import type { TcpTraceEvent } from "../tcp/trace_events.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import { formatFlags } from "../wire/tcp_flags.ts";
import { decodeDatagram } from "../wire/datagram.ts";
import type { DatagramAddr } from "../udp/datagram_socket.ts";
import type { StackConnection } from "./stack_connection.ts";
import type { StackListener } from "./stack_listener.ts";

/** A state change event (RFC 9293 §3.3.2), as connections and listeners report it. */
export type StateEvent = Extract<TcpEvent, { type: "state" }>;

/** Receives what a stack does. Every hook is optional. */
export interface StackTracer {
  /**
   * A segment sent ("out") to or received ("in") from `peer`. Its payload
   * is a view of the sender's buffer or of the received datagram, valid
   * only during the call: copy it (`seg.payload.slice()`) to keep the bytes.
   */
  onSegment?(
    now: number,
    dir: "in" | "out",
    peer: DatagramAddr,
    seg: TcpSegment,
    conn: StackConnection | undefined,
  ): void;
  /** An event of a connection. */
  onEvent?(now: number, conn: StackConnection, event: TcpEvent): void;
  /**
   * A trace event of a connection: a timer armed, stopped or fired, a
   * retransmission, a cwnd/ssthresh or window change. Setting this hook is
   * what turns trace events on; read when the tracer is assigned.
   */
  onTrace?(now: number, conn: StackConnection, event: TcpTraceEvent): void;
  /**
   * A listener's state change: CLOSED → LISTEN on `listen()` (RFC 9293
   * passive OPEN) and LISTEN → CLOSED on its `close()` (delete TCB).
   */
  onListenerEvent?(now: number, listener: StackListener, event: StateEvent): void;
}

/**
 * Renders a segment like tcpdump: `40000 > 22: Flags [S.], seq 1, ack 2, win 512, length 0`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSegment } from "./trace.ts";
 * import { seq } from "../wire/seq.ts";
 * const s = formatSegment({ srcPort: 1, dstPort: 2, seq: seq(5), ack: seq(0), flags: 0x02,
 *   window: 100, urgentPointer: 0, options: { mss: 1400 }, payload: new Uint8Array(0) });
 * assert.equal(s, "1 > 2: Flags [S], seq 5, win 100, options [mss 1400], length 0");
 * ```
 */
export function formatSegment(seg: TcpSegment): string {
  let s = `${seg.srcPort} > ${seg.dstPort}: Flags [${formatFlags(seg.flags)}], seq ${seg.seq}`;
  if (seg.payload.length > 0) s += `:${(seg.seq + seg.payload.length) >>> 0}`;
  if (seg.flags & 0x10) s += `, ack ${seg.ack}`;
  s += `, win ${seg.window}`;
  const o = seg.options;
  const opts: string[] = [];
  if (o.mss !== undefined) opts.push(`mss ${o.mss}`);
  if (o.sackPermitted) opts.push("sackOK");
  if (o.timestamps) opts.push(`TS val ${o.timestamps.tsVal} ecr ${o.timestamps.tsEcr}`);
  if (o.windowScale !== undefined) opts.push(`wscale ${o.windowScale}`);
  if (o.sackBlocks?.length) {
    opts.push(`sack ${o.sackBlocks.map((b) => `{${b.left}:${b.right}}`).join("")}`);
  }
  if (opts.length) s += `, options [${opts.join(",")}]`;
  return `${s}, length ${seg.payload.length}`;
}

/**
 * Describes a tou datagram (envelope + TCP segment) in one line, for the
 * simulator's trace (`new SimNetwork(clock, { describe: describeDatagram })`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeDatagram } from "./trace.ts";
 * assert.equal(describeDatagram(new Uint8Array([1, 2])), "malformed envelope (truncated-envelope)");
 * ```
 */
export function describeDatagram(data: Uint8Array): string {
  const d = decodeDatagram(data, { verifyChecksum: false });
  if (!d.ok) return `malformed ${d.layer} (${d.error.reason})`;
  if (d.value.kind !== "segment") return `envelope type 0x${d.value.envelope.type.toString(16)}`;
  return formatSegment(d.value.segment);
}
