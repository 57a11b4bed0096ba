/**
 * The internal interface a `TcpConnection` lends its parts
 * (`arrival.ts`, `output.ts`): its two halves, its timers and the
 * state-machine actions. It lives in its own file so that the parts depend
 * on this interface, not on `connection.ts`: src/tcp has no import cycle.
 * Internal: not exported by `mod.ts`.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import type { Seq } from "../wire/seq.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import type { TcpConfig } from "./config.ts";
import type { TcpErrorKind, TcpEvent } from "./events.ts";
import type { Negotiated } from "./handshake.ts";
import type { Receiver } from "./receiver.ts";
import type { Sender } from "./sender.ts";
import type { TcpState } from "./state.ts";
import type { TimerTable } from "./timers.ts";

/** What a connection lends its parts: its two halves and the state-machine actions. */
export interface ConnectionCore {
  /** Tunables. */
  readonly config: TcpConfig;
  /** Our port. */
  readonly localPort: number;
  /** The peer's port. */
  readonly remotePort: number;
  /** The sending half. */
  readonly snd: Sender;
  /** The receiving half. */
  readonly rcv: Receiver;
  /** The timer table. */
  readonly timers: TimerTable;
  /** Opened by accept() (a reset in SYN_RCVD is then no "refused"). */
  readonly passive: boolean;
  /** What both SYNs allow, once the peer's SYN was applied. */
  negotiated: Negotiated | undefined;
  /** Current state. */
  state(): TcpState;
  /** Whether close() was called. */
  orphaned(): boolean;
  /** Moves along an RFC 9293 edge and emits the state event. */
  setState(now: Instant, to: TcpState, cause: string): void;
  /** Emits an error and goes to CLOSED. */
  fail(now: Instant, kind: TcpErrorKind, detail: string): void;
  /** Queues a RST (`ack` undefined: no ACK bit). */
  queueRst(seqNo: Seq, ack: Seq | undefined): void;
  /** Emits an event (readable events are coalesced until polled). */
  emit(ev: TcpEvent): void;
  /** Peer activity (restarts keepalive). */
  touch(now: Instant): void;
  /** TSval for `now` (RFC 7323 §5.4). */
  tsClock(now: Instant): number;
  /** RTT from the echoed timestamp of an ACK, or -1 (RFC 7323 §4.1). */
  tsRtt(now: Instant, seg: TcpSegment): number;
}
