/**
 * The real datagram socket: {@linkcode DatagramSocket} over
 * `Deno.listenDatagram` (the fastest UDP path measured in Deno; see
 * docs/udp.md).
 *
 * Deno's `DatagramConn` has no `connect()`, so the connected-UDP
 * association is kept here, in userspace: `connect` records the peer, `send`
 * without an address goes there, and datagrams from any other source are
 * dropped (and counted in {@linkcode DenoUdpSocketStats.filtered}) as the
 * kernel would drop them on a connected socket. Because the kernel socket
 * is never connected, Linux never reports ICMP port-unreachable to it: a
 * {@linkcode ConnectionRefusedError} cannot surface from this backend (the
 * simulator in src/sim shows that path).
 *
 * @module
 */

import type {
  Datagram,
  DatagramAddr,
  DatagramErrorHandler,
  DatagramHandler,
  DatagramSocket,
  UnspecAddr,
} from "./datagram_socket.ts";
import { DatagramDelivery } from "./_delivery.ts";
import { OrderedSender } from "./_ordered_sender.ts";
import { formatAddr, sameAddr, validateAddr } from "./addr.ts";
import {
  AddrInUseError,
  DestinationAddressRequiredError,
  InvalidAddrError,
  SocketClosedError,
} from "./errors.ts";

/** Largest datagram the socket can receive without truncation (IPv4/IPv6 UDP payload limit). */
const RECEIVE_BUFFER_SIZE = 65536;
/** Consecutive receive failures after which the socket closes itself. */
const MAX_RECEIVE_FAILURES = 16;
/**
 * Default bound on sends handed to Deno at once (see docs/udp.md "Send
 * path": the fastest measured, and far below the ~256 per turn that Deno
 * sends in order).
 */
export const DEFAULT_SEND_CONCURRENCY = 64;

/**
 * Options for {@linkcode openUdpSocket}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openUdpSocket, type OpenUdpSocketOptions } from "./deno_udp_socket.ts";
 * const opts: OpenUdpSocketOptions = { hostname: "127.0.0.1", port: 0, maxInFlight: 256 };
 * const s = await openUdpSocket(opts);
 * assert.ok(s.localAddr.port > 0);
 * s.close();
 * await s.closed;
 * ```
 */
export interface OpenUdpSocketOptions {
  /** Local IP literal to bind; default "0.0.0.0" (as `Deno.listenDatagram`). */
  hostname?: string;
  /** Local port; 0 (the default) picks an ephemeral port. */
  port?: number;
  /**
   * Most sends accepted and not yet completed. A `send` beyond this is
   * dropped and counted in `stats().sendDropped`, as a full interface queue
   * drops a datagram; TCP above recovers it. Default 1024.
   */
  maxInFlight?: number;
  /**
   * Most sends handed to Deno at once; further accepted sends wait in a FIFO
   * queue here. Deno sends at most about 256 datagrams per event-loop turn
   * in call order and defers the rest in reverse order, so this stays well
   * below that. Default {@linkcode DEFAULT_SEND_CONCURRENCY}.
   */
  sendConcurrency?: number;
}

/**
 * Counters of one {@linkcode DenoUdpSocket}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DenoUdpSocketStats, openUdpSocket } from "./deno_udp_socket.ts";
 * const s = await openUdpSocket({ hostname: "127.0.0.1" });
 * const stats: DenoUdpSocketStats = s.stats();
 * assert.deepEqual([stats.sent, stats.received, stats.filtered], [0, 0, 0]);
 * s.close();
 * await s.closed;
 * ```
 */
export interface DenoUdpSocketStats {
  /** Datagrams whose send completed. */
  sent: number;
  /** Sends that failed asynchronously (reported to the error handler). */
  sendErrors: number;
  /** Sends dropped because `maxInFlight` sends were outstanding. */
  sendDropped: number;
  /** Sends accepted and not yet completed (queued here or handed to Deno). */
  inFlight: number;
  /** Datagrams delivered to the handler or to `receive()`. */
  received: number;
  /** Datagrams dropped because they came from a source other than the connected peer. */
  filtered: number;
}

/**
 * Opens a UDP socket bound to `hostname:port`.
 *
 * @param opts Local address (default "0.0.0.0", ephemeral port) and send bound.
 * @returns The bound socket.
 * @throws {AddrInUseError} When the address is already bound.
 * @throws {InvalidAddrError} When the hostname is not an IP literal or the port is out of range.
 *
 * @example Echo over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { openUdpSocket } from "./deno_udp_socket.ts";
 *
 * const a = await openUdpSocket({ hostname: "127.0.0.1" });
 * const b = await openUdpSocket({ hostname: "127.0.0.1" });
 * a.connect(b.localAddr);
 * a.send(new Uint8Array([1, 2, 3]));
 * const got = await b.receive();
 * assert.deepEqual(got.data, new Uint8Array([1, 2, 3]));
 * assert.equal(got.from.port, a.localAddr.port);
 * a.close();
 * b.close();
 * await Promise.all([a.closed, b.closed]);
 * ```
 */
export function openUdpSocket(opts: OpenUdpSocketOptions = {}): Promise<DenoUdpSocket> {
  try {
    return Promise.resolve(DenoUdpSocket.bind(opts));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * A UDP socket over `Deno.listenDatagram` with Linux connected-UDP rules
 * (see {@linkcode DatagramSocket}). Create it with {@linkcode openUdpSocket}.
 *
 * Push mode ({@linkcode DenoUdpSocket.setHandler}) runs one receive loop
 * with one reusable 64 KiB buffer and calls the handler synchronously per
 * datagram; pull mode ({@linkcode DenoUdpSocket.receive}) reads only while
 * someone waits and returns copies. `send` copies the payload into a pooled
 * buffer (Deno may read it only after `send` returns), hands it to Deno
 * without awaiting, and tracks completion; datagrams leave in `send` order
 * (src/udp/_ordered_sender.ts, docs/udp.md §3).
 *
 * @example Push mode, connected
 * ```ts
 * import assert from "node:assert/strict";
 * import { openUdpSocket } from "./deno_udp_socket.ts";
 *
 * const a = await openUdpSocket({ hostname: "127.0.0.1" });
 * const b = await openUdpSocket({ hostname: "127.0.0.1" });
 * const got = new Promise<string>((resolve) =>
 *   b.setHandler((data) => resolve(new TextDecoder().decode(data)))
 * );
 * a.connect(b.localAddr);
 * a.send(new TextEncoder().encode("ping"));
 * assert.equal(await got, "ping");
 * assert.equal(a.stats().sent, 1);
 * a.close();
 * b.close();
 * await Promise.all([a.closed, b.closed]);
 * ```
 */
export class DenoUdpSocket implements DatagramSocket {
  readonly #conn: Deno.DatagramConn;
  readonly #local: DatagramAddr;
  readonly #localText: string;
  readonly #recvBuf = new Uint8Array(RECEIVE_BUFFER_SIZE);
  readonly #sender: OrderedSender;
  readonly #delivery: DatagramDelivery;

  #peer: DatagramAddr | undefined;
  #peerNet: Deno.NetAddr | undefined;
  #lastAddr: DatagramAddr | undefined;
  #lastNet: Deno.NetAddr | undefined;
  #closed = false;
  /** The Deno conn has been closed (after `close()` and a drained queue). */
  #released = false;
  #loopRunning = false;
  #loopDone: Promise<void> = Promise.resolve();
  #resume: (() => void) | undefined;
  #sendsSettled: (() => void) | undefined;
  readonly #closedDone = Promise.withResolvers<void>();
  /** A datagram read for a waiter that was rejected meanwhile; served first. */
  #stash: Datagram | undefined;

  #received = 0;
  #filtered = 0;

  private constructor(conn: Deno.DatagramConn, maxInFlight: number, concurrency: number) {
    this.#conn = conn;
    const a = conn.addr as Deno.NetAddr;
    this.#local = { hostname: a.hostname, port: a.port };
    this.#localText = formatAddr(this.#local);
    this.#delivery = new DatagramDelivery(this.#localText);
    this.#sender = new OrderedSender(conn, maxInFlight, concurrency, {
      onError: (err, dest) => this.#sendFailed(err, dest),
      onProgress: () => this.#sendProgress(),
    });
  }

  /**
   * Binds synchronously (what {@linkcode openUdpSocket} wraps).
   *
   * @param opts Local address and send bound.
   * @returns The bound socket.
   * @throws {AddrInUseError} When the address is already bound.
   * @throws {InvalidAddrError} On a malformed address or option.
   */
  static bind(opts: OpenUdpSocketOptions = {}): DenoUdpSocket {
    const local = validateAddr(
      { hostname: opts.hostname ?? "0.0.0.0", port: opts.port ?? 0 },
      { allowPortZero: true },
    );
    const maxInFlight = opts.maxInFlight ?? 1024;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new InvalidAddrError(`Invalid maxInFlight ${maxInFlight}: must be an integer >= 1`);
    }
    const concurrency = opts.sendConcurrency ?? DEFAULT_SEND_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
      throw new InvalidAddrError(
        `Invalid sendConcurrency ${concurrency}: must be an integer in 1..256`,
      );
    }
    let conn: Deno.DatagramConn;
    try {
      conn = Deno.listenDatagram({ transport: "udp", hostname: local.hostname, port: local.port });
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse) {
        throw new AddrInUseError(`Cannot bind ${formatAddr(local)}: address already in use`);
      }
      throw err;
    }
    return new DenoUdpSocket(conn, maxInFlight, concurrency);
  }

  /** The bound local address (the real port when bound to port 0). */
  get localAddr(): DatagramAddr {
    return this.#local;
  }

  /** The connected peer, or `undefined` when not connected. */
  get remoteAddr(): DatagramAddr | undefined {
    return this.#peer;
  }

  /**
   * Resolves once the socket is closed and its receive loop and in-flight
   * sends have settled (so no Deno op is left pending).
   */
  get closed(): Promise<void> {
    return this.#closedDone.promise;
  }

  /** A snapshot of the socket's counters. */
  stats(): DenoUdpSocketStats {
    return {
      sent: this.#sender.sent,
      sendErrors: this.#sender.sendErrors,
      sendDropped: this.#sender.sendDropped,
      inFlight: this.#sender.inFlight,
      received: this.#received,
      filtered: this.#filtered,
    };
  }

  /**
   * Sends one datagram to `addr`, or to the connected peer when omitted.
   * Copies `data` before returning (the caller may reuse it) and never
   * blocks; an asynchronous failure goes to the error handler, or, without
   * one, rejects the next `receive()` once.
   *
   * @param data The payload.
   * @param addr The destination; defaults to the connected peer. Treated as
   *   immutable: the last one's validation is cached by identity.
   * @throws {SocketClosedError} After `close()`.
   * @throws {DestinationAddressRequiredError} Without `addr` on an unconnected socket.
   * @throws {InvalidAddrError} When `addr` is not an IP literal with a port 1..65535.
   */
  send(data: Uint8Array, addr?: DatagramAddr): void {
    if (this.#closed) {
      throw new SocketClosedError(`Cannot send from ${this.#localText}: socket closed`);
    }
    let dest: Deno.NetAddr;
    if (addr === undefined) {
      if (this.#peerNet === undefined) {
        throw new DestinationAddressRequiredError(
          `Cannot send from ${this.#localText}: destination address required (socket not connected)`,
        );
      }
      dest = this.#peerNet;
    } else if (addr === this.#lastAddr) {
      dest = this.#lastNet!;
    } else {
      const v = validateAddr(addr);
      dest = { transport: "udp", hostname: v.hostname, port: v.port };
      this.#lastAddr = addr;
      this.#lastNet = dest;
    }
    this.#sender.send(data, dest);
  }

  /**
   * Pull mode: the next datagram (a copy) from the connected peer, or from
   * anyone when unconnected.
   *
   * @returns The datagram and its sender.
   * @throws {SocketClosedError} After (or at) `close()`.
   * @throws {Deno.errors.Busy} When a push handler is set.
   */
  receive(): Promise<Datagram> {
    const refused = this.#delivery.refusal(this.#closed);
    if (refused !== undefined) return refused;
    if (this.#stash !== undefined) {
      const d = this.#stash;
      this.#stash = undefined;
      return Promise.resolve(d);
    }
    const p = this.#delivery.wait();
    this.#wake();
    return p;
  }

  /**
   * Push mode: from now on every accepted datagram goes to `onDatagram`
   * (synchronously, with a view into the socket's receive buffer that is
   * valid only during the call), and asynchronous errors to `onError`.
   * Pending `receive()` calls are rejected with `Deno.errors.Busy`.
   *
   * @param onDatagram Called per datagram.
   * @param onError Called per asynchronous error (e.g. a failed send).
   */
  setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.#stash = undefined; // pull-mode leftover; UDP may drop it
    this.#delivery.setHandler(onDatagram, onError);
    this.#wake();
  }

  /**
   * Records `addr` as the peer (nothing is sent), or dissolves the
   * association with `{ family: "unspec" }`. Connecting again re-targets.
   *
   * @param addr The peer, or the AF_UNSPEC address.
   * @throws {InvalidAddrError} When `addr` is not an IP literal with a port 1..65535.
   * @throws {SocketClosedError} After `close()`.
   */
  connect(addr: DatagramAddr | UnspecAddr): void {
    if (this.#closed) {
      throw new SocketClosedError(`Cannot connect ${this.#localText}: socket closed`);
    }
    if ("family" in addr && addr.family === "unspec") {
      this.#peer = undefined;
      this.#peerNet = undefined;
      return;
    }
    const v = validateAddr(addr as DatagramAddr);
    this.#peer = { hostname: v.hostname, port: v.port };
    this.#peerNet = { transport: "udp", hostname: v.hostname, port: v.port };
  }

  /** Dissolves the association (same as `connect({ family: "unspec" })`). */
  disconnect(): void {
    if (this.#closed) return;
    this.#peer = undefined;
    this.#peerNet = undefined;
  }

  /**
   * Closes the socket: from now on `send` throws, pending and later
   * `receive()` calls reject with {@linkcode SocketClosedError}, and no
   * handler is called. Like a kernel socket, sends already accepted still
   * go out (in order); the port is released once they have been handed to
   * Deno, and {@linkcode DenoUdpSocket.closed} resolves after that.
   * Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#delivery.rejectWaiters();
    this.#wake();
    this.#releaseIfDrained();
    this.#finishClose();
  }

  // ---- internals ----

  /** After `close()`: releases the Deno conn once no accepted send waits in the queue. */
  #releaseIfDrained(): void {
    if (!this.#closed || this.#released || this.#sender.queued) return;
    this.#released = true;
    try {
      this.#conn.close(); // Deno still completes sends issued before this.
    } catch {
      // Already closed underneath: nothing to release.
    }
  }

  async #finishClose(): Promise<void> {
    await this.#loopDone;
    if (this.#sender.inFlight > 0) await new Promise<void>((r) => this.#sendsSettled = r);
    this.#closedDone.resolve();
  }

  /** A send completed: release the port after close once nothing waits; settle `closed`. */
  #sendProgress(): void {
    this.#releaseIfDrained();
    if (this.#sender.inFlight === 0 && this.#sendsSettled !== undefined) {
      const f = this.#sendsSettled;
      this.#sendsSettled = undefined;
      f();
    }
  }

  #sendFailed(err: unknown, dest: Deno.NetAddr): void {
    if (this.#closed) return;
    const cause = err instanceof Error ? err : new Error(String(err));
    const wrapped = new Error(`Cannot send to ${formatAddr(dest)}: ${cause.message}`, { cause });
    wrapped.name = cause.name;
    this.#delivery.report(wrapped);
  }

  #wake(): void {
    if (!this.#loopRunning && !this.#closed) {
      this.#loopRunning = true;
      this.#loopDone = this.#loop();
    }
    const r = this.#resume;
    if (r !== undefined) {
      this.#resume = undefined;
      r();
    }
  }

  /** The one receive loop: one buffer, one outstanding `receive` at a time. */
  async #loop(): Promise<void> {
    const conn = this.#conn;
    const buf = this.#recvBuf;
    let failures = 0;
    while (!this.#closed) {
      if (this.#delivery.idle) {
        // Pull mode with nobody waiting: leave datagrams queued in the kernel.
        await new Promise<void>((r) => this.#resume = r);
        continue;
      }
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const got = await conn.receive(buf);
        data = got[0];
        from = got[1] as Deno.NetAddr;
      } catch (err) {
        if (this.#closed) break;
        this.#delivery.report(err instanceof Error ? err : new Error(String(err)));
        // Linux reports nothing on an unconnected UDP socket's receive, so
        // failures here mean the resource is gone: stop instead of spinning.
        if (err instanceof Deno.errors.BadResource || ++failures >= MAX_RECEIVE_FAILURES) {
          this.close();
          break;
        }
        continue;
      }
      failures = 0;
      if (this.#closed) break;
      const peer = this.#peer;
      // Connected UDP: the kernel would drop datagrams from other sources.
      if (peer !== undefined && !sameAddr(from, peer)) {
        this.#filtered++;
        continue;
      }
      this.#received++;
      const left = this.#delivery.deliver(data, from);
      if (left !== undefined) this.#stash = left;
    }
    this.#loopRunning = false;
  }
}
