/**
 * A simulated UDP socket with Linux connected-UDP semantics, bound on a
 * {@linkcode SimNetwork}. Get one from `SimNetwork.bind`.
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
} from "../udp/datagram_socket.ts";
import {
  ConnectionRefusedError,
  DestinationAddressRequiredError,
  SocketClosedError,
} from "../udp/errors.ts";
import { checkDestination, freezeAddr, sameAddr } from "./_addr.ts";
import { formatAddr } from "./trace.ts";

/**
 * What a {@linkcode SimUdpSocket} needs from the network it is bound on
 * (implemented by `SimNetwork`; not for applications).
 */
export interface SimSocketHost {
  /** Carries a datagram from `socket` to `to`; must copy `data` before returning. */
  transmit(socket: SimUdpSocket, data: Uint8Array, to: DatagramAddr): void;
  /** Releases the socket's address. */
  release(socket: SimUdpSocket): void;
}

/** Options of a {@linkcode SimUdpSocket}. */
export interface SimUdpSocketOptions {
  /** Most datagrams held for `receive()`; more are dropped ("rcvbuf"). Default 4096. */
  readonly recvQueueLimit?: number;
}

/** Default {@linkcode SimUdpSocketOptions.recvQueueLimit}. */
export const DEFAULT_RECV_QUEUE_LIMIT = 4096;

/** Outcome of offering a datagram to a socket: accepted, or the drop reason. */
export type SimAdmission = "ok" | "filtered" | "rcvbuf";

interface Waiter {
  resolve(d: Datagram): void;
  reject(e: Error): void;
}

/**
 * A simulated UDP socket implementing {@linkcode DatagramSocket}.
 *
 * Linux choices (documented because BSD differs):
 * - `connect(addr)` sends nothing; it records the peer, makes `send(data)`
 *   go there, and drops datagrams from any other address (counted as
 *   "filtered" drops).
 * - `send(data, addr)` with an explicit address on a connected socket is
 *   allowed and goes to `addr` (Linux; BSD fails with EISCONN).
 * - A port-unreachable notice is reported as {@linkcode ConnectionRefusedError}
 *   only when the socket is connected to the address that was unreachable;
 *   otherwise it is ignored (and counted). A reported error is pending until
 *   the next `receive()` takes it, ahead of any queued datagram (as
 *   `sock_error` is checked first in Linux's datagram receive path), and is
 *   reported once. In push mode it goes to the error handler at once.
 * - `connect` again re-targets; `connect({ family: "unspec" })` or
 *   `disconnect()` dissolves the association, after which `send(data)`
 *   without an address throws {@linkcode DestinationAddressRequiredError}.
 * - `send` after `close()` throws {@linkcode SocketClosedError}; pending and
 *   later `receive()` calls reject with it.
 * - Sent bytes are copied at send time, so the sender may reuse its buffer.
 *   Each received datagram is a fresh buffer (the simulator never reuses it,
 *   though the interface allows that).
 * - Addresses compare by exact hostname string and port; there is no
 *   wildcard (0.0.0.0) binding.
 *
 * Delivery happens inside clock events: in push mode the handler runs
 * synchronously in the event; in pull mode `receive()` promises resolve
 * from it (their continuations run as microtasks, after the event).
 *
 * @example Echo over a simulated network
 * ```ts
 * import assert from "node:assert/strict";
 * import { SimNetwork } from "./sim_network.ts";
 * import { VirtualClock } from "./virtual_clock.ts";
 * const clock = new VirtualClock();
 * const net = new SimNetwork(clock, { seed: 1 });
 * net.setLink("*", "*", { delay: 5 });
 * const a = net.bind({ hostname: "10.0.0.1", port: 0 });
 * const b = net.bind({ hostname: "10.0.0.2", port: 7 });
 * b.setHandler((data, from) => b.send(data, from));
 * a.connect(b.localAddr);
 * a.send(new Uint8Array([1, 2, 3]));
 * const reply = a.receive();
 * clock.runUntilIdle();
 * const got = await reply;
 * assert.deepEqual([...got.data], [1, 2, 3]);
 * assert.equal(clock.now(), 10);
 * ```
 */
export class SimUdpSocket implements DatagramSocket {
  #host: SimSocketHost;
  #local: DatagramAddr;
  #remote: DatagramAddr | undefined = undefined;
  #closed = false;
  #recvLimit: number;
  #queue: Datagram[] = [];
  #queueHead = 0;
  #waiters: Waiter[] = [];
  #waitersHead = 0;
  #pendingError: Error | undefined = undefined;
  #onDatagram: DatagramHandler | undefined = undefined;
  #onError: DatagramErrorHandler | undefined = undefined;

  /**
   * Used by `SimNetwork.bind`; applications call that instead.
   *
   * @param host The network carrying this socket's datagrams.
   * @param localAddr The bound address (port already chosen).
   * @param opts Receive queue limit.
   */
  constructor(host: SimSocketHost, localAddr: DatagramAddr, opts: SimUdpSocketOptions = {}) {
    this.#host = host;
    this.#local = freezeAddr(localAddr);
    this.#recvLimit = opts.recvQueueLimit ?? DEFAULT_RECV_QUEUE_LIMIT;
  }

  /** The bound local address. */
  get localAddr(): DatagramAddr {
    return this.#local;
  }

  /** The connected peer, or `undefined`. */
  get remoteAddr(): DatagramAddr | undefined {
    return this.#remote;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Datagrams queued for `receive()`. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /**
   * Sends one datagram to `addr` or, when omitted, to the connected peer.
   * The bytes are copied before this returns.
   *
   * @throws {SocketClosedError} after `close()`.
   * @throws {DestinationAddressRequiredError} without `addr` on an unconnected socket.
   * @throws {RangeError} for a malformed address.
   */
  send(data: Uint8Array, addr?: DatagramAddr): void {
    if (this.#closed) {
      throw new SocketClosedError(`Cannot send from ${formatAddr(this.#local)}: socket closed`);
    }
    const to = addr ?? this.#remote;
    if (to === undefined) {
      throw new DestinationAddressRequiredError(
        `Cannot send from ${
          formatAddr(this.#local)
        }: destination address required (socket not connected)`,
      );
    }
    if (addr !== undefined) checkDestination(addr, "SimUdpSocket.send");
    this.#host.transmit(this, data, to);
  }

  /**
   * Pull mode: the next datagram. Rejects with a pending
   * {@linkcode ConnectionRefusedError} first, and with
   * {@linkcode SocketClosedError} after `close()`.
   */
  receive(): Promise<Datagram> {
    if (this.#closed) {
      return Promise.reject(
        new SocketClosedError(`Cannot receive on ${formatAddr(this.#local)}: socket closed`),
      );
    }
    const err = this.#pendingError;
    if (err !== undefined) {
      this.#pendingError = undefined;
      return Promise.reject(err);
    }
    if (this.#queueHead < this.#queue.length) return Promise.resolve(this.#shiftQueue());
    return new Promise<Datagram>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  /**
   * Push mode from now on: datagrams go to `onDatagram`, refused errors to
   * `onError` (dropped when absent), synchronously inside clock events.
   * Datagrams already queued are handed over right away; `receive()` calls
   * still pending stay pending until `close()`. Calling it again replaces
   * the handlers.
   */
  setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.#onDatagram = onDatagram;
    this.#onError = onError;
    const err = this.#pendingError;
    this.#pendingError = undefined;
    if (err !== undefined) onError?.(err);
    while (this.#queueHead < this.#queue.length && this.#onDatagram === onDatagram) {
      const d = this.#shiftQueue();
      onDatagram(d.data, d.from);
    }
  }

  /**
   * Records `addr` as the peer (nothing is sent), or dissolves the
   * association with `{ family: "unspec" }`.
   *
   * @throws {SocketClosedError} after `close()`.
   * @throws {RangeError} for a malformed address.
   */
  connect(addr: DatagramAddr | UnspecAddr): void {
    if (this.#closed) {
      throw new SocketClosedError(`Cannot connect ${formatAddr(this.#local)}: socket closed`);
    }
    if ("family" in addr) {
      if (addr.family !== "unspec") {
        throw new RangeError(`SimUdpSocket.connect: unknown family ${String(addr.family)}`);
      }
      this.#remote = undefined;
      return;
    }
    checkDestination(addr, "SimUdpSocket.connect");
    this.#remote = freezeAddr(addr);
  }

  /** Dissolves the association (same as `connect({ family: "unspec" })`). */
  disconnect(): void {
    this.connect({ family: "unspec" });
  }

  /** Releases the port, drops queued datagrams and rejects pending `receive()` calls. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#remote = undefined;
    this.#queue = [];
    this.#queueHead = 0;
    this.#pendingError = undefined;
    this.#onDatagram = undefined;
    this.#onError = undefined;
    this.#host.release(this);
    const waiters = this.#waiters.slice(this.#waitersHead);
    this.#waiters = [];
    this.#waitersHead = 0;
    for (const w of waiters) {
      w.reject(
        new SocketClosedError(`Cannot receive on ${formatAddr(this.#local)}: socket closed`),
      );
    }
  }

  /**
   * Network side: whether a datagram from `from` would be accepted now.
   * Does not change any state.
   */
  admit(from: DatagramAddr): SimAdmission {
    const r = this.#remote;
    if (r !== undefined && !sameAddr(r, from)) return "filtered";
    if (
      this.#onDatagram === undefined && this.#waitersHead === this.#waiters.length &&
      this.queued >= this.#recvLimit
    ) {
      return "rcvbuf";
    }
    return "ok";
  }

  /**
   * Network side: hands over a datagram already admitted by
   * {@linkcode SimUdpSocket.admit}. `data` becomes the receiver's.
   */
  deliver(data: Uint8Array, from: DatagramAddr): void {
    const onDatagram = this.#onDatagram;
    if (onDatagram !== undefined) {
      onDatagram(data, from);
      return;
    }
    if (this.#waitersHead < this.#waiters.length) {
      this.#shiftWaiter().resolve({ data, from });
      return;
    }
    this.#queue.push({ data, from });
  }

  /**
   * Network side: a port-unreachable notice for a datagram this socket sent
   * to `unreachable`.
   *
   * @returns `true` when reported as a {@linkcode ConnectionRefusedError}
   *   (connected to that address), `false` when ignored.
   */
  notifyUnreachable(unreachable: DatagramAddr): boolean {
    const r = this.#remote;
    if (this.#closed || r === undefined || !sameAddr(r, unreachable)) return false;
    const err = new ConnectionRefusedError(
      `Cannot send to ${formatAddr(unreachable)}: connection refused (port unreachable)`,
    );
    if (this.#onDatagram !== undefined) {
      if (this.#onError === undefined) return false;
      this.#onError(err);
      return true;
    }
    if (this.#waitersHead < this.#waiters.length) {
      this.#shiftWaiter().reject(err);
      return true;
    }
    this.#pendingError = err;
    return true;
  }

  #shiftQueue(): Datagram {
    const d = this.#queue[this.#queueHead];
    this.#queue[this.#queueHead++] = undefined as unknown as Datagram;
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead >= 1024 && this.#queueHead * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    return d;
  }

  #shiftWaiter(): Waiter {
    const w = this.#waiters[this.#waitersHead++];
    if (this.#waitersHead === this.#waiters.length) {
      this.#waiters = [];
      this.#waitersHead = 0;
    }
    return w;
  }
}
