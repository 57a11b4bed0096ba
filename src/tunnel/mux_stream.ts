/**
 * One stream of a multiplexed tunnel session (`mux_session.ts`): a
 * `Deno.Conn`-shaped duplex byte stream that the relay pipes like a tunnel
 * connection of its own. Its bytes travel as DATA frames of the session's
 * one tou connection; half-close is a FIN frame, reset an RST frame.
 *
 * Flow control (docs/wire-format.md §"Multiplexed sessions"): each side may
 * send at most {@linkcode MUX_WINDOW} bytes the other has not yet read; the
 * reader gives credit back with WINDOW frames once its application has read
 * a quarter of it. So a stream whose reader stalls holds at most one window
 * in the far session's memory and never blocks the other streams.
 *
 * @module
 */

import {
  BrokenPipeError,
  ClosedError,
  type ConnCloseInfo,
  ConnectionRefusedError,
  ConnectionResetError,
  InterruptedError,
} from "../net/mod.ts";
import { MuxResetCode } from "./mux_frame.ts";
import type { TunnelConn } from "./transport.ts";

/**
 * Bytes a side may send on a stream before the reader's credit (WINDOW
 * frames). It covers every byte between the two applications (the session's
 * staging, both TCP buffers, the path), so it must exceed what one tou
 * connection keeps in flight: with 1 MiB, one stream over a 40 ms path at 1 %
 * loss moved 58 Mbit/s against 83 for a connection of its own, and BBR kept a
 * 32 ms queue on the clean path (credit arriving in bursts); 4 and 16 MiB
 * both moved 85 (`bench:lossy --mux`). 4 MiB is what one tou connection's
 * buffers hold at most (the tunnel's default), so a stream is not held back
 * more than a connection of its own would be.
 */
export const MUX_WINDOW = 4 << 20;
/** Credit is returned once the application has read this much. */
const WINDOW_UPDATE_AT = MUX_WINDOW >>> 2;

/** What a stream needs from its session. */
export interface MuxLink {
  /** The tunnel connection the session's streams share. */
  readonly conn: TunnelConn;
  /** The session connection's addresses. */
  readonly localAddr: Deno.NetAddr;
  /** The session connection's peer. */
  readonly remoteAddr: Deno.NetAddr;
  /** Queues up to `max` bytes of `p` as DATA; returns how many (0: the session's output is full). */
  sendData(id: number, p: Uint8Array, max: number): number;
  /** Queues a FIN frame. */
  sendFin(id: number): void;
  /** Queues an RST frame. */
  sendRst(id: number, code: MuxResetCode): void;
  /** Queues a WINDOW frame. */
  sendWindow(id: number, n: number): void;
  /** Calls `wake` once the session's output has room again. */
  waitOutput(wake: () => void): void;
  /** The stream is finished: frames for its id are no longer its. */
  forget(id: number): void;
  /** Bytes received and not yet read changed by `delta` (the session bounds their sum). */
  buffered(delta: number): void;
}

interface ReadWaiter {
  readonly p: Uint8Array;
  readonly resolve: (n: number | null) => void;
  readonly reject: (e: Error) => void;
}

/**
 * A stream of a {@linkcode MuxSession}; made by the session (`open` on the
 * client, OPEN frames on the server).
 */
export class MuxStream implements TunnelConn {
  /** The stream id (odd: opened by the client). */
  readonly id: number;
  /** The service port it was opened to. */
  readonly tunnelPort: number;
  readonly #link: MuxLink;
  /** Received bytes not yet read (each chunk a copy; `#head` bytes of the first are read). */
  readonly #queue: Uint8Array[] = [];
  #head = 0;
  #queued = 0;
  #reader: ReadWaiter | undefined;
  /** Bytes the peer may still send before our next WINDOW frame. */
  #rcvAllowed = MUX_WINDOW;
  /** Bytes read since the last WINDOW frame. */
  #consumed = 0;
  /** Bytes we may still send. */
  #credit = MUX_WINDOW;
  #writer: (() => void) | undefined;
  readonly #wakeWriter = (): void => {
    const w = this.#writer;
    this.#writer = undefined;
    w?.();
  };
  #peerFin = false;
  #finSent = false;
  #appClosed = false;
  #error: Error | undefined;
  #done = false;
  readonly #closed = Promise.withResolvers<ConnCloseInfo>();
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array<ArrayBufferLike>> | undefined;

  /**
   * @param id Stream id.
   * @param tunnelPort The service port.
   * @param link The session.
   */
  constructor(id: number, tunnelPort: number, link: MuxLink) {
    this.id = id;
    this.tunnelPort = tunnelPort;
    this.#link = link;
  }

  /** The tunnel connection that carries this stream (its session's): `tou stat` lists the stream under it. */
  get carrier(): TunnelConn {
    return this.#link.conn;
  }

  /** The session connection's local address. */
  get localAddr(): Deno.NetAddr {
    return this.#link.localAddr;
  }

  /** The session connection's remote address. */
  get remoteAddr(): Deno.NetAddr {
    return this.#link.remoteAddr;
  }

  /**
   * Resolves once the stream is finished: FIN both ways ("closed"), reset
   * by the peer ("reset", or "refused" when no service listens on its
   * port), aborted here ("aborted"), or its session ended. Never rejects.
   */
  get closed(): Promise<ConnCloseInfo> {
    return this.#closed.promise;
  }

  /**
   * Reads into `p`: the count, or `null` at the peer's FIN.
   *
   * @throws {ConnectionResetError} When the peer reset the stream (after buffered bytes).
   * @throws {ClosedError} After `close()`.
   */
  read(p: Uint8Array): Promise<number | null> {
    if (this.#queued > 0) return Promise.resolve(this.#take(p));
    if (this.#appClosed) return Promise.reject(new ClosedError("stream closed"));
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#peerFin || p.byteLength === 0) return Promise.resolve(this.#peerFin ? null : 0);
    if (this.#reader !== undefined) {
      return Promise.reject(new Deno.errors.Busy("a read is already pending"));
    }
    return new Promise((resolve, reject) => {
      this.#reader = { p, resolve, reject };
    });
  }

  /**
   * Writes some of `p` (at least one byte), once credit and the session's
   * output allow.
   *
   * @throws {BrokenPipeError} After `closeWrite()`.
   * @throws {ConnectionResetError} When the stream was reset.
   */
  write(p: Uint8Array): Promise<number> {
    const refused = this.#writeRefusal();
    if (refused !== undefined) return Promise.reject(refused);
    if (p.byteLength === 0) return Promise.resolve(0);
    const n = this.#credit > 0 ? this.#link.sendData(this.id, p, this.#credit) : 0;
    if (n > 0) {
      this.#credit -= n;
      return Promise.resolve(n);
    }
    return this.#writeSlow(p);
  }

  async #writeSlow(p: Uint8Array): Promise<number> {
    for (;;) {
      await new Promise<void>((resolve) => {
        this.#writer = resolve;
        if (this.#credit > 0) this.#link.waitOutput(this.#wakeWriter);
      });
      const refused = this.#writeRefusal();
      if (refused !== undefined) throw refused;
      const n = this.#credit > 0 ? this.#link.sendData(this.id, p, this.#credit) : 0;
      if (n > 0) {
        this.#credit -= n;
        return n;
      }
    }
  }

  #writeRefusal(): Error | undefined {
    if (this.#error !== undefined) return this.#error;
    if (this.#appClosed) return new ClosedError("stream closed");
    if (this.#finSent) return new BrokenPipeError("stream shut down for writing");
    return undefined;
  }

  /** Sends a FIN: the peer reads EOF; this side can still read. */
  closeWrite(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (!this.#finSent && !this.#done) {
      this.#finSent = true;
      this.#link.sendFin(this.id);
      this.#maybeDone();
    }
    return Promise.resolve();
  }

  /**
   * Closes the stream: a FIN, or an RST when received bytes were never read
   * (as TCP does, RFC 2525 §2.17). Pending reads fail.
   */
  close(): void {
    if (this.#appClosed) return;
    if (this.#queued > 0 && !this.#done) {
      this.abort();
      return;
    }
    this.#appClosed = true;
    this.#dropQueue();
    if (this.#reader !== undefined) {
      this.#rejectReader(new InterruptedError("stream closed while reading"));
    }
    if (!this.#finSent && !this.#done) {
      this.#finSent = true;
      this.#link.sendFin(this.id);
    }
    this.#wakeWriter();
    this.#maybeDone();
  }

  /** Resets the stream: an RST to the peer; pending reads and writes fail. */
  abort(_reason?: unknown): void {
    this.#dropQueue();
    if (this.#done) {
      this.#appClosed = true;
      return;
    }
    this.#link.sendRst(this.id, MuxResetCode.RESET);
    this.#appClosed = true;
    this.#fail(new InterruptedError("stream aborted"), "aborted");
  }

  /** Refuses a stream the server has no service for: an RST "refused" to the client. */
  refuse(): void {
    if (this.#done) return;
    this.#link.sendRst(this.id, MuxResetCode.REFUSED);
    this.#appClosed = true;
    this.#fail(
      new ConnectionRefusedError(`no service on tunnel port ${this.tunnelPort}`),
      "refused",
    );
  }

  /** Keeps the process alive while the stream is open (a no-op: the session holds it). */
  ref(): void {}

  /** A no-op, as {@linkcode MuxStream.ref}. */
  unref(): void {}

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The received bytes as a stream. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (ctl) => {
        const buf = new Uint8Array(16 * 1024);
        const n = await this.read(buf);
        if (n === null) ctl.close();
        else ctl.enqueue(buf.subarray(0, n));
      },
      cancel: () => this.close(),
    });
    return this.#readable;
  }

  /** Bytes to send, as a stream; closing it sends the FIN. */
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    this.#writable ??= new WritableStream<Uint8Array<ArrayBufferLike>>({
      write: async (chunk) => {
        let off = 0;
        while (off < chunk.byteLength) off += await this.write(chunk.subarray(off));
      },
      close: () => this.closeWrite(),
      abort: () => this.abort(),
    });
    return this.#writable;
  }

  // ---- from the session ----

  /** A DATA frame's payload (a view of the session's buffer: copied if kept). */
  onData(payload: Uint8Array): void {
    const len = payload.byteLength;
    if (len > this.#rcvAllowed || this.#peerFin) {
      // more than the credit we gave, or data after FIN: the peer broke the protocol
      this.#link.sendRst(this.id, MuxResetCode.PROTOCOL);
      this.#fail(new ConnectionResetError("stream reset: protocol violation by the peer"), "reset");
      return;
    }
    this.#rcvAllowed -= len;
    if (this.#appClosed) {
      // data after close(): TCP answers it with a RST
      this.abort();
      return;
    }
    const r = this.#reader;
    if (r !== undefined) {
      this.#reader = undefined;
      const n = Math.min(len, r.p.byteLength);
      r.p.set(n === len ? payload : payload.subarray(0, n));
      this.#credited(n);
      if (n < len) this.#push(payload.subarray(n));
      r.resolve(n);
      return;
    }
    this.#push(payload);
  }

  /** The peer's FIN. */
  onFin(): void {
    if (this.#peerFin) return;
    this.#peerFin = true;
    const r = this.#reader;
    if (r !== undefined) {
      this.#reader = undefined;
      r.resolve(null);
    }
    this.#maybeDone();
  }

  /** The peer's RST. */
  onReset(code: number): void {
    const e = code === MuxResetCode.REFUSED
      ? new ConnectionRefusedError(`no service on tunnel port ${this.tunnelPort}`)
      : new ConnectionResetError(
        code === MuxResetCode.PROTOCOL
          ? "stream reset by the peer: protocol violation"
          : "stream reset by the peer",
      );
    this.#fail(e, code === MuxResetCode.REFUSED ? "refused" : "reset");
  }

  /** The peer's credit. */
  onWindow(n: number): void {
    this.#credit += n;
    this.#wakeWriter();
  }

  /** The session ended before the stream did. */
  onSessionEnd(error: Error): void {
    const reason = error.name === "TimedOut"
      ? "timed_out"
      : error.name === "ConnectionRefused"
      ? "refused"
      : "reset";
    this.#fail(error, reason);
  }

  // ---- internals ----

  #push(payload: Uint8Array): void {
    this.#queue.push(payload.slice());
    this.#queued += payload.byteLength;
    this.#link.buffered(payload.byteLength);
  }

  #take(p: Uint8Array): number {
    let n = 0;
    while (n < p.byteLength && this.#queue.length > 0) {
      const c = this.#queue[0];
      const k = Math.min(c.byteLength - this.#head, p.byteLength - n);
      p.set(c.subarray(this.#head, this.#head + k), n);
      n += k;
      this.#head += k;
      if (this.#head === c.byteLength) {
        this.#queue.shift();
        this.#head = 0;
      }
    }
    this.#queued -= n;
    this.#link.buffered(-n);
    this.#credited(n);
    return n;
  }

  /** `n` bytes reached the application: give credit back once a quarter window was read. */
  #credited(n: number): void {
    this.#consumed += n;
    if (this.#consumed >= WINDOW_UPDATE_AT && !this.#peerFin && !this.#done) {
      this.#rcvAllowed += this.#consumed;
      this.#link.sendWindow(this.id, this.#consumed);
      this.#consumed = 0;
    }
  }

  /** Unread bytes nobody will read: give them up (and the session's count of them). */
  #dropQueue(): void {
    if (this.#queued === 0) return;
    this.#link.buffered(-this.#queued);
    this.#queued = 0;
    this.#queue.length = 0;
    this.#head = 0;
  }

  #rejectReader(e: Error): void {
    const r = this.#reader;
    if (r !== undefined) {
      this.#reader = undefined;
      r.reject(e);
    }
  }

  /** FIN both ways: finished normally. */
  #maybeDone(): void {
    if (this.#done || !this.#finSent || !this.#peerFin) return;
    this.#done = true;
    this.#link.forget(this.id);
    this.#closed.resolve({ reason: "closed", state: "CLOSED" });
  }

  #fail(e: Error, reason: ConnCloseInfo["reason"]): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = e;
    this.#link.forget(this.id);
    this.#rejectReader(e);
    this.#wakeWriter();
    this.#closed.resolve({ reason, error: e, state: "CLOSED" });
  }
}
