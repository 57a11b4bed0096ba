/**
 * A testbed connection with the application calls of `TouConn`, non-blocking,
 * and the same typed errors (`ConnectionResetError`, `ConnectionRefusedError`,
 * `TimedOutError`, `ConnectionAbortedError`, ...), so that tests assert on
 * errors instead of on kind strings.
 *
 * @module
 */

import { formatTouAddr } from "../net/addr.ts";
import {
  BrokenPipeError,
  ClosedError,
  type ConnectionError,
  connectionError,
  NotConnectedError,
} from "../net/errors.ts";
import type { StackConnection } from "../stack/stack_connection.ts";
import type { TcpEvent } from "../tcp/events.ts";
import type { TcpInfo } from "../tcp/info.ts";
import type { TcpState } from "../tcp/state.ts";

const encoder = new TextEncoder();

/**
 * The application's side of a stack connection, as `TouConn` offers it but
 * without waiting: `write` takes what fits, `read` returns what is there.
 * A failed connection throws the error `TouConn` would throw.
 *
 * @example A peer's RST surfaces as ConnectionResetError
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestbed } from "./testbed.ts";
 * import { ConnectionResetError } from "../net/errors.ts";
 * const tb = createTestbed({ tcp: { timestamps: false } });
 * const l = tb.stack.listen(80);
 * const peer = tb.rawPeer({ targetPort: 80 });
 * tb.setNextIsn(1000);
 * peer.send({ flags: "S", seq: 0 });
 * peer.next();
 * peer.send({ flags: ".", seq: 1, ack: 1001 });
 * const conn = tb.conn(l.accept()!);
 * peer.send({ flags: "R", seq: 1 });
 * assert.throws(() => conn.write("x"), ConnectionResetError);
 * assert.ok(conn.error instanceof ConnectionResetError);
 * tb.close();
 * ```
 */
export class TestConn {
  /** The stack's handle. */
  readonly sc: StackConnection;
  readonly #text: string;
  #established: boolean;
  #eofSeen = false;
  #writeShut = false;
  #appClosed = false;
  #error: ConnectionError | undefined;

  /**
   * Wraps `sc` (use `Testbed.conn`); events still reach a callback set before.
   *
   * @param sc The stack connection.
   */
  constructor(sc: StackConnection) {
    this.sc = sc;
    this.#text = formatTouAddr({
      hostname: sc.remote.hostname,
      port: sc.remote.port,
      tcpPort: sc.remotePort,
    });
    const st = sc.state;
    this.#established = st !== "SYN_SENT" && st !== "SYN_RCVD" && st !== "CLOSED";
    const before = sc.onEvent;
    sc.onEvent = (ev: TcpEvent) => {
      if (ev.type === "connected") this.#established = true;
      if (ev.type === "eof") this.#eofSeen = true;
      before?.(ev);
    };
  }

  /** The RFC 9293 state. */
  get state(): TcpState {
    return this.sc.state;
  }

  /** The typed error of a failed connection (as `TouConn` would throw it), else undefined. */
  get error(): ConnectionError | undefined {
    const e = this.sc.error;
    if (e === undefined) return this.#error;
    this.#error ??= connectionError(
      e.kind,
      e.detail,
      this.#text,
      this.#established ? "established" : "connect",
    );
    return this.#error;
  }

  /**
   * Queues bytes (text is UTF-8 encoded); returns how many the send buffer took.
   *
   * @throws {ClosedError} After `close()`.
   * @throws {ConnectionResetError} (and the other connection errors) When the connection failed.
   * @throws {BrokenPipeError} After `closeWrite()`.
   * @throws {NotConnectedError} When the connection ended without an error.
   */
  write(data: Uint8Array | string): number {
    if (this.#appClosed) throw new ClosedError(`Cannot write to ${this.#text}: connection closed`);
    const err = this.error;
    if (err !== undefined) throw err;
    if (this.#writeShut) {
      throw new BrokenPipeError(`Cannot write to ${this.#text}: the write side is shut down`);
    }
    const st = this.sc.state;
    if (this.sc.released || st === "CLOSED") {
      throw new NotConnectedError(`Cannot write to ${this.#text}: not connected (${st})`);
    }
    return this.sc.write(typeof data === "string" ? encoder.encode(data) : data);
  }

  /**
   * Reads what is there: bytes (empty when nothing yet), or null at end of
   * stream. After a RST the error wins unless the peer's FIN came first.
   *
   * @throws {ClosedError} After `close()`.
   * @throws {ConnectionResetError} (and the other connection errors) When the connection failed.
   */
  read(max = 65_536): Uint8Array | null {
    if (this.#appClosed) throw new ClosedError(`Cannot read from ${this.#text}: connection closed`);
    const buf = new Uint8Array(max);
    const n = this.sc.released ? this.sc.tcp.read(buf) : this.sc.read(buf);
    if (n > 0) return buf.slice(0, n);
    const err = this.error;
    if (err !== undefined && !this.#eofSeen) throw err;
    if (n < 0) return null;
    const st = this.sc.state;
    if (this.sc.released || st === "CLOSED" || st === "TIME_WAIT") return null;
    return new Uint8Array(0);
  }

  /**
   * Half-close: FIN after the queued bytes. Idempotent.
   *
   * @throws {ClosedError} After `close()`.
   * @throws {ConnectionResetError} (and the other connection errors) When the connection failed.
   * @throws {NotConnectedError} When the connection ended without an error.
   */
  closeWrite(): void {
    if (this.#appClosed) {
      throw new ClosedError(`Cannot shut down ${this.#text}: connection closed`);
    }
    if (this.#writeShut) return;
    const st = this.sc.state;
    if (this.sc.released || st === "CLOSED") {
      throw this.error ?? new NotConnectedError(`Cannot shut down ${this.#text}: not connected`);
    }
    this.#writeShut = true;
    this.sc.closeWrite();
  }

  /** Full close; the stack finishes it. Idempotent; never throws. */
  close(): void {
    if (this.#appClosed) return;
    this.#appClosed = true;
    if (!this.sc.released && this.sc.state !== "CLOSED") this.sc.close();
  }

  /** RST now, no TIME_WAIT. Never throws. */
  abort(): void {
    this.#appClosed = true;
    if (!this.sc.released && this.sc.state !== "CLOSED") this.sc.abort();
  }

  /** TCP_INFO-like figures. */
  info(): TcpInfo {
    return this.sc.info();
  }
}
