/**
 * A multiplexed tunnel session (`tou client --mux`): many application
 * streams ({@linkcode MuxStream}) carried over one tou connection to the
 * reserved tunnel port {@linkcode MUX_PORT}, as kcptun's smux carries them
 * over one KCP session. A new stream costs one OPEN frame, not a TCP
 * handshake, and leaves no TIME_WAIT; frames of many streams written in one
 * event-loop turn share segments (the stack coalesces a turn's writes).
 *
 * The price is TCP's in-order delivery across streams: one lost segment
 * stalls every stream of the session until it is repaired. The default
 * tunnel (a tou connection per stream) has no such coupling.
 *
 * Frames are in `mux_frame.ts`; flow control and stream states in
 * `mux_stream.ts`; the protocol in docs/wire-format.md §"Multiplexed sessions".
 *
 * @module
 */

import {
  isMuxPreface,
  MUX_HEADER,
  MUX_MAX_PAYLOAD,
  MUX_PREFACE,
  muxLength,
  MuxResetCode,
  muxStreamId,
  MuxType,
  writeMuxHeader,
} from "./mux_frame.ts";
import { type MuxLink, MuxStream } from "./mux_stream.ts";
import type { TunnelConn } from "./transport.ts";
import { ConnectionResetError } from "../net/mod.ts";

/** Queued output above which stream writes wait (control frames never do). */
const OUTPUT_HIGH = 512 * 1024;
/**
 * Received stream bytes not yet read, summed over a session's streams, above
 * which the session stops reading its connection until they fall to half:
 * each stream may hold a whole window (4 MiB), and many stalled streams of
 * one client would otherwise hold that many MiB. TCP's window then stalls
 * the client (every stream of the session: the price of the bound).
 */
export const MUX_SESSION_BUFFER = 64 * 1024 * 1024;
/** Receive buffer: a whole largest frame always fits after the unparsed tail. */
const READ_BUFFER = 256 * 1024;

/** Which end of the session this is. */
export type MuxRole = "client" | "server";

/**
 * One multiplexed session over a tunnel connection.
 *
 * @example A client and a server session over a pair of connected tunnel connections
 * ```ts ignore
 * const client = new MuxSession(clientConn, "client");
 * new MuxSession(serverConn, "server", (stream) => echo(stream));
 * const s = client.open(7);
 * await s.write(new TextEncoder().encode("hi"));
 * ```
 */
export class MuxSession implements MuxLink {
  /** The tunnel connection the streams share. */
  readonly conn: TunnelConn;
  /** Client (opens streams) or server (accepts them). */
  readonly role: MuxRole;
  readonly #onStream: ((s: MuxStream) => void) | undefined;
  readonly #streams = new Map<number, MuxStream>();
  #nextId = 1;
  /** Output frames not yet taken by the connection: `#out[#outHead, #outTail)`. */
  #out = new Uint8Array(64 * 1024);
  #outHead = 0;
  #outTail = 0;
  #writing = false;
  #flushQueued = false;
  #outputWaiters: (() => void)[] = [];
  #ended = false;
  #error: Error | undefined;
  /** Received bytes the streams hold unread. */
  #buffered = 0;
  /** The read loop's wait while `#buffered` is over {@linkcode MUX_SESSION_BUFFER}. */
  #resume: (() => void) | undefined;
  readonly #done = Promise.withResolvers<Error | undefined>();
  readonly #flush = (): void => {
    this.#flushQueued = false;
    if (this.#writing || this.#outTail <= this.#outHead || this.#ended) return;
    // the usual case: the connection's send buffer takes it all now, no async write
    const n = this.#tryWrite?.(this.#out.subarray(this.#outHead, this.#outTail)) ?? 0;
    this.#outHead += n;
    if (this.#outHead === this.#outTail) {
      this.#outHead = this.#outTail = 0;
      this.#wakeOutputWaiters();
      if (this.#closing && this.#streams.size === 0) this.#finish();
    } else void this.#writeLoop();
  };
  /** The connection's `tryWrite` (a tou connection's), bound; undefined: only `write`. */
  readonly #tryWrite: ((p: Uint8Array) => number) | undefined;
  /** Streams opened, for counters. */
  streamsOpened = 0;

  /**
   * Starts the session: the client sends the preface, both read frames.
   *
   * @param conn The tunnel connection (to or from {@linkcode MUX_PORT}).
   * @param role Client or server.
   * @param onStream Server: called with each stream the client opens.
   */
  constructor(conn: TunnelConn, role: MuxRole, onStream?: (s: MuxStream) => void) {
    this.conn = conn;
    this.role = role;
    this.#onStream = onStream;
    const tw = (conn as { tryWrite?: (p: Uint8Array) => number }).tryWrite;
    this.#tryWrite = typeof tw === "function" ? tw.bind(conn) : undefined;
    if (role === "client") {
      this.#out.set(MUX_PREFACE, 0);
      this.#outTail = MUX_PREFACE.length;
      this.#queueFlush();
    }
    void this.#readLoop();
  }

  /** The connection's local address. */
  get localAddr(): Deno.NetAddr {
    return this.conn.localAddr as Deno.NetAddr;
  }

  /** The connection's remote address. */
  get remoteAddr(): Deno.NetAddr {
    return this.conn.remoteAddr as Deno.NetAddr;
  }

  /** Streams not yet finished. */
  get streams(): number {
    return this.#streams.size;
  }

  /**
   * The id the next {@linkcode MuxSession.open} tries first (it skips ids in
   * use; ids wrap mod 2^32). A seam for tests: keep it odd on a client.
   */
  set nextStreamId(id: number) {
    this.#nextId = id >>> 0;
  }

  /** False once the connection ended: open no more streams on it. */
  get alive(): boolean {
    return !this.#ended && !this.#peerClosed;
  }

  /** Resolves when the session ended, with its error (`undefined`: closed normally). */
  get done(): Promise<Error | undefined> {
    return this.#done.promise;
  }

  /**
   * Opens a stream to service port `port` (client). Its first bytes may
   * follow at once: they go out behind the OPEN frame.
   *
   * @throws {ConnectionResetError} When the session has ended.
   */
  open(port: number): MuxStream {
    if (this.#ended) throw this.#error ?? new ConnectionResetError("mux session closed");
    let id = this.#nextId;
    while (this.#streams.has(id)) id = (id + 2) >>> 0;
    this.#nextId = (id + 2) >>> 0;
    const s = new MuxStream(id, port, this);
    this.#streams.set(id, s);
    this.streamsOpened++;
    const at = this.#reserve(MUX_HEADER + 2);
    writeMuxHeader(this.#out, at, MuxType.OPEN, 2, id);
    this.#out[at + 8] = port >>> 8;
    this.#out[at + 9] = port & 0xff;
    this.#queueFlush();
    return s;
  }

  /** Ends the session gracefully: the connection is closed once every stream finished. */
  close(): void {
    if (this.#ended) return;
    this.#end(undefined);
  }

  /** Resets the connection and every stream. */
  abort(): void {
    if (this.#ended) return;
    this.#end(new ConnectionResetError("mux session aborted"));
  }

  // ---- MuxLink ----

  /** @inheritdoc */
  sendData(id: number, p: Uint8Array, max: number): number {
    if (this.#ended) return 0;
    const queued = this.#outTail - this.#outHead;
    if (queued >= OUTPUT_HIGH) return 0;
    const n = Math.min(p.byteLength, max, MUX_MAX_PAYLOAD, OUTPUT_HIGH - queued);
    const at = this.#reserve(MUX_HEADER + n);
    writeMuxHeader(this.#out, at, MuxType.DATA, n, id);
    this.#out.set(n === p.byteLength ? p : p.subarray(0, n), at + MUX_HEADER);
    this.#queueFlush();
    return n;
  }

  /** @inheritdoc */
  sendFin(id: number): void {
    this.#control(MuxType.FIN, id);
  }

  /** @inheritdoc */
  sendRst(id: number, code: MuxResetCode): void {
    if (this.#ended) return;
    const at = this.#reserve(MUX_HEADER + 1);
    writeMuxHeader(this.#out, at, MuxType.RST, 1, id);
    this.#out[at + 8] = code;
    this.#queueFlush();
  }

  /** @inheritdoc */
  sendWindow(id: number, n: number): void {
    if (this.#ended) return;
    const at = this.#reserve(MUX_HEADER + 4);
    writeMuxHeader(this.#out, at, MuxType.WINDOW, 4, id);
    new DataView(this.#out.buffer).setUint32(at + 8, n);
    this.#queueFlush();
  }

  /** @inheritdoc */
  waitOutput(wake: () => void): void {
    if (this.#ended || this.#outTail - this.#outHead < OUTPUT_HIGH) wake();
    else this.#outputWaiters.push(wake);
  }

  /** @inheritdoc */
  forget(id: number): void {
    this.#streams.delete(id);
    // not before the stream's last frames (its FIN) went out: #writeLoop finishes then
    if (this.#closing && this.#streams.size === 0 && this.#flushed) this.#finish();
  }

  /** @inheritdoc */
  buffered(delta: number): void {
    this.#buffered += delta;
    if (this.#resume !== undefined && this.#buffered <= MUX_SESSION_BUFFER / 2) {
      const r = this.#resume;
      this.#resume = undefined;
      r();
    }
  }

  /** Frames queued for the connection and not yet taken by it, in bytes. */
  get outputBytes(): number {
    return this.#outTail - this.#outHead;
  }

  /** Bytes the streams hold received and unread. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  // ---- output ----

  #control(type: MuxType, id: number): void {
    if (this.#ended) return;
    const at = this.#reserve(MUX_HEADER);
    writeMuxHeader(this.#out, at, type, 0, id);
    this.#queueFlush();
  }

  /** Room for `n` more bytes at the tail; returns where they go. */
  #reserve(n: number): number {
    if (this.#outTail + n > this.#out.length) {
      const used = this.#outTail - this.#outHead;
      if (!this.#writing && used + n <= this.#out.length) {
        // nothing of the buffer is lent to a pending write: move the queued bytes down
        this.#out.copyWithin(0, this.#outHead, this.#outTail);
      } else {
        // a write may still read the old buffer: move to a new one and leave that one alone
        const next = new Uint8Array(Math.max(this.#out.length * 2, used + n));
        next.set(this.#out.subarray(this.#outHead, this.#outTail));
        this.#out = next;
      }
      this.#outHead = 0;
      this.#outTail = used;
    }
    const at = this.#outTail;
    this.#outTail += n;
    return at;
  }

  /** Stream writes waiting for room go on once the output is down to half. */
  #wakeOutputWaiters(): void {
    if (this.#outputWaiters.length > 0 && this.#outTail - this.#outHead < OUTPUT_HIGH / 2) {
      const ws = this.#outputWaiters;
      this.#outputWaiters = [];
      for (const w of ws) w();
    }
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#writing) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flush);
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#outTail > this.#outHead && !this.#ended) {
        const n = await this.conn.write(this.#out.subarray(this.#outHead, this.#outTail));
        this.#outHead += n;
        if (this.#outHead === this.#outTail) this.#outHead = this.#outTail = 0;
        this.#wakeOutputWaiters();
      }
    } catch (e) {
      this.#end(e instanceof Error ? e : new ConnectionResetError(String(e)));
    } finally {
      this.#writing = false;
    }
    if (this.#closing && this.#streams.size === 0) this.#finish();
  }

  // ---- input ----

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(READ_BUFFER);
    let pos = 0;
    let end = 0;
    let prefaced = this.role === "client";
    try {
      for (;;) {
        if (this.#buffered > MUX_SESSION_BUFFER) {
          await new Promise<void>((resolve) => this.#resume = resolve);
          if (this.#ended && !this.#halfClosed) return;
        }
        const n = await this.conn.read(buf.subarray(end));
        if (n === null) {
          this.#peerClosed = true;
          if (this.#halfClosed) this.#closeConn(undefined); // both FINs: closed
          // the peer's FIN: a graceful end when no stream is left, a reset of those that are
          else if (this.#streams.size === 0) this.#end(undefined);
          else this.#end(new ConnectionResetError("mux session closed by the peer"));
          return;
        }
        if (this.#halfClosed) continue; // after our FIN: the peer's last frames are dropped
        end += n;
        if (!prefaced) {
          if (end < MUX_PREFACE.length) continue;
          if (!isMuxPreface(buf)) throw new ConnectionResetError("not a tou mux session");
          prefaced = true;
          pos = MUX_PREFACE.length;
        }
        while (end - pos >= MUX_HEADER) {
          const len = muxLength(buf, pos);
          if (end - pos < MUX_HEADER + len) break;
          this.#dispatch(buf, pos, len);
          if (this.#ended) {
            if (this.#halfClosed) break; // read on until the peer's FIN
            return;
          }
          pos += MUX_HEADER + len;
        }
        if (pos === end || this.#halfClosed) pos = end = 0;
        else if (buf.length - end < MUX_HEADER + MUX_MAX_PAYLOAD) {
          buf.copyWithin(0, pos, end);
          end -= pos;
          pos = 0;
        }
      }
    } catch (e) {
      this.#end(e instanceof Error ? e : new ConnectionResetError(String(e)));
    }
  }

  #dispatch(buf: Uint8Array, at: number, len: number): void {
    const id = muxStreamId(buf, at);
    const type = buf[at];
    const s = this.#streams.get(id);
    switch (type) {
      case MuxType.DATA:
        if (s !== undefined) s.onData(buf.subarray(at + MUX_HEADER, at + MUX_HEADER + len));
        // a stream this side no longer has: answered with a RST, unless the output is backed
        // up (a peer that floods such frames and never reads must not grow it without bound;
        // the RST is advisory, the peer's stream is gone here either way)
        else if (this.#outTail - this.#outHead < OUTPUT_HIGH) this.sendRst(id, MuxResetCode.RESET);
        return;
      case MuxType.WINDOW:
        if (s !== undefined && len >= 4) {
          s.onWindow(new DataView(buf.buffer, buf.byteOffset).getUint32(at + MUX_HEADER));
        }
        return;
      case MuxType.FIN:
        s?.onFin();
        return;
      case MuxType.RST:
        s?.onReset(len >= 1 ? buf[at + MUX_HEADER] : MuxResetCode.RESET);
        return;
      case MuxType.OPEN: {
        if (this.role !== "server" || len < 2 || s !== undefined) {
          // bounded as the RST to unknown DATA above
          if (this.#outTail - this.#outHead < OUTPUT_HIGH) this.sendRst(id, MuxResetCode.PROTOCOL);
          return;
        }
        const port = (buf[at + MUX_HEADER] << 8) | buf[at + MUX_HEADER + 1];
        const stream = new MuxStream(id, port, this);
        this.#streams.set(id, stream);
        this.streamsOpened++;
        if (this.#onStream === undefined) stream.refuse();
        else this.#onStream(stream);
        return;
      }
      default:
        throw new ConnectionResetError(`mux frame of unknown type ${type}`);
    }
  }

  // ---- ending ----

  #closing = false;

  /** No output queued or being written (else #writeLoop finishes a closing session). */
  get #flushed(): boolean {
    return !this.#writing && this.#outTail === this.#outHead;
  }

  /** The peer's FIN arrived. */
  #peerClosed = false;
  /** Our FIN was sent after close(); the read loop waits for the peer's. */
  #halfClosed = false;

  /** Every stream finished after close() and the output went out: our FIN. */
  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#peerClosed) {
      this.#closeConn(undefined);
      return;
    }
    // A half-close, not a close: the peer may still send (WINDOW credit for the bytes it is
    // still reading), and segments reaching a closed TCP get a RST, which would discard what
    // the peer has not read yet. The read loop drops its frames until its FIN.
    this.#halfClosed = true;
    this.conn.closeWrite().catch((e) => this.#closeConn(e));
  }

  /** Closes the connection at the end of a graceful close (`error`: it failed meanwhile). */
  #closeConn(error: Error | undefined): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    this.#done.resolve(error);
  }

  #end(error: Error | undefined): void {
    if (error === undefined) {
      // graceful: wait for the streams, then close
      this.#closing = true;
      if (this.#streams.size === 0 && this.#flushed) this.#finish();
      return;
    }
    if (this.#ended) {
      if (this.#halfClosed) this.#closeConn(error); // failed while waiting for the peer's FIN
      return;
    }
    this.#ended = true;
    this.#error = error;
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const s of streams) s.onSessionEnd(error);
    const ws = this.#outputWaiters;
    this.#outputWaiters = [];
    for (const w of ws) w();
    this.#resume?.();
    try {
      this.conn.abort(error);
    } catch {
      // already closed
    }
    this.#done.resolve(error);
  }
}

/**
 * Closes multiplexed sessions at shutdown, after the relay drained their
 * streams: each closes its connection once its queued frames went out (a
 * stream's last DATA and FIN may still wait in its output when the relay
 * sees the stream finished). Waits for that at most `timeoutMs`.
 *
 * @param sessions The sessions.
 * @param timeoutMs Longest wait.
 */
export async function closeMuxSessions(
  sessions: Iterable<MuxSession>,
  timeoutMs: number,
): Promise<void> {
  const done = [...sessions].map((s) => {
    s.close();
    return s.done;
  });
  if (done.length === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(done),
    new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
  ]);
  clearTimeout(timer);
}
