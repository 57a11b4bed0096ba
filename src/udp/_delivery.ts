/**
 * The `DatagramSocket` receive contract both real backends share
 * (kernel_udp_socket.ts, deno_udp_socket.ts): push handler or pull waiters,
 * one pending asynchronous error for the next `receive()`, `Busy` when the
 * modes mix, `SocketClosedError` for waiters at close. The sockets keep their
 * own leftover store (what arrived while nobody waited) and their own wake-up.
 *
 * @module
 */

import type {
  Datagram,
  DatagramAddr,
  DatagramErrorHandler,
  DatagramHandler,
} from "./datagram_socket.ts";
import { SocketClosedError } from "./errors.ts";

interface Waiter {
  resolve(d: Datagram): void;
  reject(e: Error): void;
}

/** Handler, waiters and pending error of one socket; `localText` names it in errors. */
export class DatagramDelivery {
  onDatagram: DatagramHandler | undefined;
  onError: DatagramErrorHandler | undefined;
  readonly waiters: Waiter[] = [];
  #pendingError: Error | undefined;
  readonly #localText: string;

  constructor(localText: string) {
    this.#localText = localText;
  }

  /** Pull mode with nobody waiting: no datagram is wanted now. */
  get idle(): boolean {
    return this.onDatagram === undefined && this.waiters.length === 0;
  }

  /**
   * What `receive()` answers at once without a datagram: closed, push mode
   * set (`Busy`), or the pending error (handed over once); else `undefined`.
   */
  refusal(closed: boolean): Promise<Datagram> | undefined {
    if (closed) {
      return Promise.reject(
        new SocketClosedError(`Cannot receive on ${this.#localText}: socket closed`),
      );
    }
    if (this.onDatagram !== undefined) return Promise.reject(this.#busyError());
    if (this.#pendingError !== undefined) {
      const err = this.#pendingError;
      this.#pendingError = undefined;
      return Promise.reject(err);
    }
    return undefined;
  }

  /** A `receive()` that waits for the next datagram. */
  wait(): Promise<Datagram> {
    return new Promise<Datagram>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Push mode: rejects the waiters with `Busy` and hands the pending error to `onError`. */
  setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.onDatagram = onDatagram;
    this.onError = onError;
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w.reject(this.#busyError());
    if (onError !== undefined && this.#pendingError !== undefined) {
      const err = this.#pendingError;
      this.#pendingError = undefined;
      onError(err);
    }
  }

  /** Routes an asynchronous error: the push error handler, else the next `receive()` (once). */
  report(err: Error): void {
    const onError = this.onError;
    if (onError !== undefined) {
      try {
        onError(err);
      } catch (bug) {
        reportError(bug);
      }
      return;
    }
    const w = this.waiters.shift();
    if (w !== undefined) w.reject(err);
    else this.#pendingError = err;
  }

  /** At close: every waiting `receive()` rejects with {@linkcode SocketClosedError}. */
  rejectWaiters(): void {
    const waiters = this.waiters.splice(0);
    for (const w of waiters) {
      w.reject(new SocketClosedError(`Cannot receive on ${this.#localText}: socket closed`));
    }
  }

  /**
   * One accepted datagram: to the push handler (a view valid during the
   * call), else a copy to the oldest waiter. Returns the copy when nobody
   * waits, for the socket to keep.
   */
  deliver(data: Uint8Array, from: DatagramAddr): Datagram | undefined {
    const onDatagram = this.onDatagram;
    if (onDatagram !== undefined) {
      try {
        onDatagram(data, from);
      } catch (err) {
        reportError(err); // a throwing handler is a bug above us: surface it, keep receiving
      }
      return undefined;
    }
    const d: Datagram = { data: data.slice(), from: { hostname: from.hostname, port: from.port } };
    const w = this.waiters.shift();
    if (w === undefined) return d;
    w.resolve(d);
    return undefined;
  }

  #busyError(): Error {
    return new Deno.errors.Busy(
      `Cannot receive on ${this.#localText}: a push handler is set (use one mode per socket)`,
    );
  }
}
