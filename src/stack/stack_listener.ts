/**
 * A listening TCP port: the SYN queue of embryonic connections and the
 * accept queue of established ones waiting for `accept()` (the seeds'
 * "半连接队列" and "全连接队列").
 *
 * Overflow (documented in docs/stack.md, as Linux with
 * `tcp_abort_on_overflow = 0`):
 * - SYN queue full: with SYN cookies (`synCookies` 1, the default) the SYN is
 *   answered by a cookie SYN-ACK and leaves no state (`synCookiesSent`), the
 *   final ACK creates the connection (src/tcp/syn_cookie.ts); without, the
 *   SYN is dropped silently (`synQueueDrops`) and the client's SYN
 *   retransmission may succeed later.
 * - accept queue full (backlog + 1 connections waiting, as Linux): a new SYN is dropped
 *   (`listenDrops`), and the final ACK of a handshake already in progress is
 *   dropped (`listenOverflows`), leaving that connection in SYN_RCVD so its
 *   SYN-ACK is retransmitted; with `abortOnOverflow` a RST is sent instead.
 * - Fast Open pending queue full (`fastOpenQueueLimit` connections took a SYN's
 *   data and have not completed their handshake; RFC 7413 §5.1, Linux
 *   `max_qlen`): a new SYN's data is ignored and its handshake proceeds as
 *   usual (`fastOpenListenOverflow`); the client sends the data again after it.
 *
 * @module
 */

import type { StackConnection } from "./stack_connection.ts";

/**
 * Counters of one listener.
 *
 * @example A SYN dropped because the SYN queue is full
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestbed } from "../testing/mod.ts";
 * const tb = createTestbed({ stack: { synQueueLimit: 1, synCookies: 0 } });
 * const l = tb.stack.listen(80);
 * tb.rawPeer({ tcpPort: 40000 }).send({ flags: "S", seq: 1 });
 * tb.rawPeer({ tcpPort: 40001 }).send({ flags: "S", seq: 1 });
 * assert.equal(l.counters.synQueueDrops, 1);
 * tb.close();
 * ```
 */
export interface ListenerCounters {
  /** SYNs dropped because the SYN queue was full. */
  synQueueDrops: number;
  /** SYNs dropped because the accept queue was full. */
  listenDrops: number;
  /** Handshake-completing ACKs dropped because the accept queue was full. */
  listenOverflows: number;
  /** Connections handed to the application. */
  accepted: number;
  /** SYN-ACKs sent as SYN cookies, without state (Linux SyncookiesSent). */
  synCookiesSent: number;
  /** Connections created from a valid cookie ACK (Linux SyncookiesRecv). */
  synCookiesRecv: number;
  /** ACKs whose cookie did not check while cookies were in use (Linux SyncookiesFailed). */
  synCookiesFailed: number;
  /**
   * SYNs with data and a valid Fast Open cookie whose data was ignored because
   * `fastOpenQueueLimit` Fast Open handshakes were pending (Linux
   * TCPFastOpenListenOverflow).
   */
  fastOpenListenOverflow: number;
}

/** A listening port owned by a stack. */
export class StackListener {
  /** The TCP port. */
  readonly port: number;
  /** Accept-queue bound (listen(2) backlog). */
  readonly backlog: number;
  /** SYN-queue bound. */
  readonly synQueueLimit: number;
  /**
   * Fast Open pending-queue bound (RFC 7413 §5.1, Linux `max_qlen`): connections
   * that took a SYN's data and have not completed their handshake, at most.
   */
  readonly fastOpenQueueLimit: number;
  /** Fast Open connections of this listener whose handshake has not completed (Linux `qlen`). */
  fastOpenPending = 0;
  /** Embryonic connections (SYN_RCVD). */
  readonly synQueue: Set<StackConnection> = new Set();
  /** Established connections not yet accepted. */
  readonly acceptQueue: StackConnection[] = [];
  /** Counters. */
  readonly counters: ListenerCounters = {
    synQueueDrops: 0,
    listenDrops: 0,
    listenOverflows: 0,
    accepted: 0,
    synCookiesSent: 0,
    synCookiesRecv: 0,
    synCookiesFailed: 0,
    fastOpenListenOverflow: 0,
  };
  /** When this listener last sent a SYN cookie (cookie ACKs are checked only soon after). */
  lastCookieAt = Number.NEGATIVE_INFINITY;
  /** SO_REUSEPORT: may share its port with other such listeners. */
  readonly reusePort: boolean;
  /** Called when a connection joins the accept queue. */
  onAcceptable: (() => void) | undefined;
  /** True after close(). */
  closed = false;

  /** The RFC 9293 state of the listening TCB: LISTEN until close(), then CLOSED. */
  get state(): "LISTEN" | "CLOSED" {
    return this.closed ? "CLOSED" : "LISTEN";
  }
  #onClose: (l: StackListener) => void;

  /** Used by the stack only. */
  constructor(
    port: number,
    backlog: number,
    synQueueLimit: number,
    onClose: (l: StackListener) => void,
    reusePort = false,
    fastOpenQueueLimit = 256,
  ) {
    this.port = port;
    this.reusePort = reusePort;
    this.backlog = backlog;
    this.synQueueLimit = synQueueLimit;
    this.fastOpenQueueLimit = fastOpenQueueLimit;
    this.#onClose = onClose;
  }

  /**
   * Whether the accept queue is full. As Linux's `sk_acceptq_is_full`
   * (`len > backlog`), so up to backlog + 1 connections wait.
   */
  get acceptQueueFull(): boolean {
    return this.acceptQueue.length > this.backlog;
  }

  /** Takes the oldest established connection, if any. */
  accept(): StackConnection | undefined {
    const c = this.acceptQueue.shift();
    if (c) this.counters.accepted++;
    return c;
  }

  /** Stops listening; queued connections are reset by the stack. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#onClose(this);
  }
}
