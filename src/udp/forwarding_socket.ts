/**
 * A {@linkcode DatagramSocket} decorator that forwards every call to an
 * inner socket: the base for wrappers that watch, log or drop datagrams and
 * override only the calls they care about.
 *
 * @module
 */

import type {
  Datagram,
  DatagramAddr,
  DatagramBatchOutput,
  DatagramErrorHandler,
  DatagramHandler,
  DatagramSocket,
  UnspecAddr,
} from "./datagram_socket.ts";

/**
 * Forwards everything to `inner`. Subclasses override `send`, `receive` or
 * `setHandler` and call `super` (or `this.inner`) to pass a datagram on.
 *
 * @example Count the datagrams sent
 * ```ts
 * import assert from "node:assert/strict";
 * import { ForwardingSocket } from "./forwarding_socket.ts";
 * import type { DatagramAddr, DatagramSocket } from "./datagram_socket.ts";
 * class Counting extends ForwardingSocket {
 *   sent = 0;
 *   override send(data: Uint8Array, addr?: DatagramAddr): void {
 *     this.sent++;
 *     super.send(data, addr);
 *   }
 * }
 * const inner = { send() {} } as unknown as DatagramSocket;
 * const s = new Counting(inner);
 * s.send(new Uint8Array(1), { hostname: "127.0.0.1", port: 9 });
 * assert.equal(s.sent, 1);
 * ```
 */
export class ForwardingSocket implements DatagramSocket {
  /** The wrapped socket. */
  protected readonly inner: DatagramSocket;

  /**
   * Wraps `inner`.
   *
   * @param inner The socket every call goes to.
   */
  constructor(inner: DatagramSocket) {
    this.inner = inner;
  }

  /** The inner socket's local address. */
  get localAddr(): DatagramAddr {
    return this.inner.localAddr;
  }

  /** The inner socket's connected peer. */
  get remoteAddr(): DatagramAddr | undefined {
    return this.inner.remoteAddr;
  }

  /**
   * The inner socket's: a decorator passes the seal's promise on (see
   * {@linkcode DatagramSocket.authenticated}); one that alters bytes between
   * the seal and the stack must override this with `false`.
   */
  get authenticated(): boolean | undefined {
    return this.inner.authenticated;
  }

  /**
   * The inner socket's batched output, when this class's `send` is the one
   * in use: a subclass that overrides `send` (to watch, log or drop what
   * goes out) gets no batch, so that every datagram still passes its `send`.
   */
  get batch(): DatagramBatchOutput | undefined {
    return this.send === ForwardingSocket.prototype.send ? this.inner.batch : undefined;
  }

  /** Forwarded. */
  send(data: Uint8Array, addr?: DatagramAddr): void {
    this.inner.send(data, addr);
  }

  /** Forwarded. */
  receive(): Promise<Datagram> {
    return this.inner.receive();
  }

  /** Forwarded. */
  setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.inner.setHandler(onDatagram, onError);
  }

  /** Forwarded. */
  connect(addr: DatagramAddr | UnspecAddr): void {
    this.inner.connect(addr);
  }

  /** Forwarded. */
  disconnect(): void {
    this.inner.disconnect();
  }

  /** Forwarded. */
  close(): void {
    this.inner.close();
  }
}
