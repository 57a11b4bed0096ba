/**
 * {@linkcode TouConn}: one tou connection, usable wherever a `Deno.Conn`
 * (indeed a `Deno.TcpConn`) is.
 *
 * Flow control is the TCP's own: `readable` is pull-driven, so bytes leave
 * the TCP receive buffer only when the reader asks for them and a slow
 * reader shrinks the window the peer sees; `write` and the `writable`
 * stream resolve once the send buffer has taken the bytes, waiting for
 * "writable" events while it is full.
 *
 * About 700 lines (a third of them docs and examples), kept in one file:
 * it is one class, the `Deno.TcpConn` surface, whose read, write, close and
 * handshake paths share its private wait lists and error state; the stream
 * adapters already live in `_conn_streams.ts`.
 *
 * @module
 */

import type { StackConnection, TcpEvent, TcpInfo, TcpState } from "../stack/stack_connection.ts";
import { makeReadable, makeWritable } from "./_conn_streams.ts";
import { formatTouAddr, type TouAddr, type TouTuple } from "./addr.ts";
import {
  BrokenPipeError,
  ClosedError,
  ConnectionAbortedError,
  connectionError,
  ConnectionResetError,
  InterruptedError,
  NotConnectedError,
} from "./errors.ts";

/**
 * Why a connection ended, as carried by {@linkcode TouConn.closed}.
 *
 * @example Telling a clean end from a failure
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ConnCloseReason } from "./conn.ts";
 * const failed = (r: ConnCloseReason) => r !== "closed";
 * assert.equal(failed("reset"), true);
 * assert.equal(failed("closed"), false);
 * ```
 */
export type ConnCloseReason =
  /** Both directions finished normally (FIN both ways), or the app closed it. */
  | "closed"
  /** The peer answered the SYN with a RST. */
  | "refused"
  /** The peer reset the connection. */
  | "reset"
  /** Retransmissions, SYN retries or keepalive probes ran out. */
  | "timed_out"
  /** Aborted locally: `abort()`, or the endpoint was closed. */
  | "aborted";

/**
 * What {@linkcode TouConn.closed} resolves to.
 *
 * @example The active closer ends in TIME_WAIT
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 *
 * await using ep = await openEndpoint({ hostname: "127.0.0.1" });
 * const listener = ep.listen();
 * const conn = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port });
 * const peer = await listener.accept();
 * conn.close(); // we send the first FIN
 * assert.equal(await peer.read(new Uint8Array(1)), null);
 * peer.close();
 * const info = await conn.closed;
 * assert.deepEqual([info.reason, info.state, info.error], ["closed", "TIME_WAIT", undefined]);
 * ```
 */
export interface ConnCloseInfo {
  /** Why it ended. */
  readonly reason: ConnCloseReason;
  /** The typed error for every reason but "closed". */
  readonly error?: Error;
  /** The TCP state when the promise resolved (TIME_WAIT for an active closer, else CLOSED). */
  readonly state: TcpState;
}

/** Internal: hooks an endpoint passes to the connections it creates. */
export interface ConnHooks {
  /** The connection's state may have changed (for endpoint auto-close). */
  onChange(conn: TouConn): void;
  /** Called when the connection finished; `closed` resolves after the returned promise. */
  afterSettle(conn: TouConn): Promise<void>;
  /**
   * Takes the events of a connection that settled in TIME_WAIT: the handle
   * lets go of its stack connection's events then, so that the 2·MSL wait
   * does not keep the handle, its promises and buffers alive (≈ 1 KiB each,
   * tens of thousands on a busy tunnel server). One function per endpoint.
   */
  readonly lateEvents: (ev: TcpEvent) => void;
}

let create: (sc: StackConnection, local: TouAddr, hooks: ConnHooks) => TouConn;
let handshakeOf: (c: TouConn, signal?: AbortSignal) => Promise<void>;
let endpointClosedOf: (c: TouConn, phase: "before" | "after") => void;
let appClosedOf: (c: TouConn) => boolean;

/**
 * A tou connection. Satisfies `Deno.TcpConn` (and so `Deno.Conn`), so it can
 * be passed to code written for `Deno.connect`.
 *
 * Addresses: `localAddr`/`remoteAddr` are `Deno.NetAddr`s with transport
 * "tcp" whose `hostname` is the UDP socket's IP and whose `port` is the TCP
 * port inside the tunnel; {@linkcode TouConn.tuple} has the UDP ports too.
 *
 * `ref()`/`unref()` exist for `Deno.Conn` compatibility and do nothing: a
 * connection lives on its endpoint's UDP socket, whose pending receive keeps
 * the process alive until the endpoint is closed.
 *
 * @example Echo over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 *
 * await using server = await openEndpoint({ hostname: "127.0.0.1" });
 * const listener = server.listen({ tcpPort: 7 });
 * await using client = await openEndpoint({ hostname: "127.0.0.1" });
 * const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 7 });
 * const peer = await listener.accept();
 * await conn.write(new TextEncoder().encode("ping"));
 * const buf = new Uint8Array(4);
 * assert.equal(await peer.read(buf), 4);
 * assert.equal(new TextDecoder().decode(buf), "ping");
 * assert.equal(conn.remoteAddr.port, 7);
 * conn.close();
 * peer.close();
 * ```
 */
export class TouConn implements Deno.TcpConn {
  static {
    create = (sc, local, hooks) => new TouConn(sc, local, hooks);
  }

  readonly #sc: StackConnection;
  readonly #hooks: ConnHooks;
  readonly #tuple: TouTuple;
  readonly #text: string;
  readonly #localAddr: Deno.NetAddr;
  readonly #remoteAddr: Deno.NetAddr;
  #readWaiters: (() => void)[] = [];
  #writeWaiters: (() => void)[] = [];
  #connectWaiter: { resolve(): void; reject(e: Error): void } | undefined;
  #established: boolean;
  #error: Error | undefined;
  #appClosed = false;
  #writeShut = false;
  #readShut = false;
  #eofSeen = false;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array<ArrayBufferLike>> | undefined;
  #closed = Promise.withResolvers<ConnCloseInfo>();
  #settled = false;

  private constructor(sc: StackConnection, local: TouAddr, hooks: ConnHooks) {
    this.#sc = sc;
    this.#hooks = hooks;
    const remote: TouAddr = {
      hostname: sc.remote.hostname,
      port: sc.remote.port,
      tcpPort: sc.remotePort,
    };
    this.#tuple = { local, remote };
    this.#text = formatTouAddr(remote);
    this.#localAddr = { transport: "tcp", hostname: local.hostname, port: local.tcpPort };
    this.#remoteAddr = { transport: "tcp", hostname: remote.hostname, port: remote.tcpPort };
    const st = sc.state;
    this.#established = st !== "SYN_SENT" && st !== "SYN_RCVD" && st !== "CLOSED";
    if (sc.error !== undefined) this.#setError(sc.error.kind, sc.error.detail);
    sc.onEvent = (ev) => this.#onEvent(ev);
    if (sc.released || st === "CLOSED" || st === "TIME_WAIT") this.#settle();
    if (st === "TIME_WAIT") sc.onEvent = hooks.lateEvents;
  }

  /** Our side as a `Deno.NetAddr` (transport "tcp"; UDP IP, TCP port). */
  get localAddr(): Deno.NetAddr {
    return this.#localAddr;
  }

  /** The peer as a `Deno.NetAddr` (transport "tcp"; UDP IP, TCP port). */
  get remoteAddr(): Deno.NetAddr {
    return this.#remoteAddr;
  }

  /** Both sides with their UDP and TCP ports. */
  get tuple(): TouTuple {
    return this.#tuple;
  }

  /** The RFC 9293 state, e.g. "ESTABLISHED". */
  get state(): TcpState {
    return this.#sc.state;
  }

  /**
   * Resolves once the connection is finished: TIME_WAIT or CLOSED reached,
   * or failed. Never rejects; a failure is in `error`.
   */
  get closed(): Promise<ConnCloseInfo> {
    return this.#closed.promise;
  }

  /** TCP_INFO-like figures: state, RTT, RTO, cwnd, MSS, byte and loss counters. */
  info(): TcpInfo {
    return this.#sc.info();
  }

  /**
   * Reads into `p`. Resolves to the number of bytes read, or `null` at end
   * of stream (the peer's FIN, or after `shutdownRead()`).
   *
   * @throws {ClosedError} After `close()`.
   * @throws {InterruptedError} When the connection is closed while the read waits.
   * @throws {ConnectionResetError} When the peer reset the connection (after buffered bytes).
   */
  async read(p: Uint8Array): Promise<number | null> {
    let waited = false;
    for (;;) {
      const n = this.#tryRead(p, waited, false);
      if (n !== 0 || p.byteLength === 0) return n < 0 ? null : n;
      await this.#waitReadable();
      waited = true;
    }
  }

  /**
   * Writes from `p`. Waits while the send buffer is full, then resolves to
   * how many bytes it took (at least one; possibly fewer than `p.length`).
   *
   * @throws {ClosedError} After `close()`.
   * @throws {InterruptedError} When the connection is closed while the write waits.
   * @throws {BrokenPipeError} After `closeWrite()`.
   * @throws {ConnectionResetError} When the peer reset the connection.
   */
  write(p: Uint8Array): Promise<number> {
    // Fast path, the usual case of a relay: nothing to refuse and the send buffer takes
    // some bytes now. One settled promise instead of an async call's frame (a keep-alive
    // request costs one write per side). Everything else takes #write, which checks again
    // and turns a refusal into the typed error.
    const n = this.tryWrite(p);
    return n > 0 ? Promise.resolve(n) : this.#write(p, false, false);
  }

  /**
   * Writes what the send buffer takes now, without waiting or throwing:
   * the count, 0 when it takes nothing (full, or the connection cannot be
   * written: `write` then waits or throws the typed error). For writers that
   * batch (the tunnel's multiplexed sessions): no promise per write.
   *
   * @example
   * ```ts ignore
   * const n = conn.tryWrite(bytes);
   * if (n < bytes.length) await conn.write(bytes.subarray(n));
   * ```
   */
  tryWrite(p: Uint8Array): number {
    if (
      p.byteLength === 0 || this.#appClosed || this.#error !== undefined || this.#writeShut ||
      this.#sc.released || this.#sc.state === "CLOSED"
    ) return 0;
    try {
      return this.#sc.write(p);
    } catch {
      return 0;
    }
  }

  /** `write`, for the writable too: `inFlight` (part of the chunk went) and the stream's errors. */
  async #write(p: Uint8Array, inFlight: boolean, forStream: boolean): Promise<number> {
    let waited = inFlight;
    for (;;) {
      if (this.#resetPending()) {
        // as #readable does: the core is CLOSED by a RST whose "error" event still waits for
        // the end-of-batch drain; wait for it so the write fails as the reset, not NotConnected
        await this.#waitWritable();
        waited = true;
        continue;
      }
      this.#checkWrite(waited, forStream);
      if (p.byteLength === 0) return 0;
      let n: number;
      try {
        n = this.#sc.write(p);
      } catch (err) {
        // The core refuses writes in states where #checkWrite should already have thrown.
        throw new NotConnectedError(
          `Cannot write to ${this.#text}: not connected (${this.state})`,
          {
            cause: err,
          },
        );
      }
      if (n > 0) return n;
      await this.#waitWritable();
      waited = true;
    }
  }

  /**
   * Half-close (`shutdown(SHUT_WR)`): a FIN follows the queued bytes; the
   * connection can still read. Idempotent, and a no-op on a connection that
   * already failed (as on a `Deno.TcpConn` the peer reset).
   *
   * @throws {ClosedError} After `close()`.
   * @throws {NotConnectedError} When the connection already ended normally.
   */
  closeWrite(): Promise<void> {
    try {
      this.#closeWrite();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * `shutdown(SHUT_RD)`: reads return end of stream from now on and bytes
   * that arrive later are discarded.
   */
  shutdownRead(): void {
    if (this.#appClosed || this.#readShut) return;
    this.#readShut = true;
    if (this.#sc.released || this.#sc.state !== "CLOSED") this.#sc.shutdownRead();
    this.#wake(this.#readWaiters);
  }

  /**
   * Closes the connection (FIN after queued bytes; RST instead if received
   * bytes were never read, RFC 1122 §4.2.2.13). The endpoint finishes the
   * close on its own. Pending reads and writes (the streams' too) reject
   * with {@linkcode InterruptedError}, later calls with
   * {@linkcode ClosedError}, as on a `Deno.TcpConn`. Idempotent (a
   * `Deno.TcpConn` throws `BadResource` the second time).
   */
  close(): void {
    if (this.#appClosed) return;
    this.#appClosed = true;
    if (!this.#sc.released && this.#sc.state !== "CLOSED") this.#sc.close();
    this.#wakeAll();
    this.#hooks.onChange(this);
  }

  /**
   * Abortive close (SO_LINGER 0): sends RST at once, discards both buffers,
   * no TIME_WAIT. Pending reads and writes reject with
   * {@linkcode InterruptedError}. The streams never do this: closing,
   * aborting or cancelling them closes gracefully, as Deno's do.
   */
  abort(): void {
    if (!this.#sc.released && this.#sc.state !== "CLOSED") {
      this.#error ??= new ConnectionAbortedError(`Connection to ${this.#text} aborted`);
      this.#sc.abort();
    }
    this.#appClosed = true;
    this.#wakeAll();
    this.#settle();
    this.#hooks.onChange(this);
  }

  /** TCP_NODELAY: `true` (the default argument) disables Nagle's algorithm. */
  setNoDelay(noDelay = true): void {
    if (this.#sc.released || this.#sc.state === "CLOSED") return;
    this.#sc.setNoDelay(noDelay);
  }

  /**
   * SO_KEEPALIVE with the endpoint's idle/interval/count settings.
   *
   * @param keepAlive Whether to send keepalive probes on an idle connection.
   * @param idle Idle time before the first probe in ms (TCP_KEEPIDLE), kept
   *   for later calls; omitted: unchanged (the `keepAliveIdle` option at first).
   */
  setKeepAlive(keepAlive = true, idle?: number): void {
    if (this.#sc.released || this.#sc.state === "CLOSED") return;
    if (idle !== undefined && !(Number.isInteger(idle) && idle >= 1 && idle <= 32_767_000)) {
      throw new RangeError(`setKeepAlive: idle must be an integer from 1 to 32767000 ms`);
    }
    this.#sc.setKeepAlive(keepAlive, idle === undefined ? undefined : { idle });
  }

  /** No effect (see the class doc); kept for `Deno.Conn` compatibility. */
  ref(): void {}

  /** No effect (see the class doc); kept for `Deno.Conn` compatibility. */
  unref(): void {}

  /** Same as {@linkcode TouConn.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The received bytes as a byte stream, built on first use. Pull-driven: a
   * chunk is taken from the TCP receive buffer only when the reader asks,
   * so an idle reader closes the peer's window. BYOB readers get the bytes
   * copied straight into their buffer.
   *
   * As a `Deno.TcpConn`'s readable, it owns the connection: reaching the
   * end, failing or `cancel()` closes the whole connection
   * ({@linkcode TouConn.close}), and a reset from the peer ends it like EOF
   * (the reset is in {@linkcode TouConn.closed}).
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= makeReadable({
      tryRead: (p, waited) => this.#tryRead(p, waited, true),
      available: () => this.#readShut ? 0 : this.#sc.readable,
      waitReadable: () => this.#waitReadable(),
      close: () => this.close(),
    });
    return this.#readable;
  }

  /**
   * A byte sink, built on first use. `write` resolves once the send buffer
   * has taken the whole chunk.
   *
   * As a `Deno.TcpConn`'s writable, it owns the connection: `close()`,
   * `abort()` and a failed write all close the whole connection gracefully
   * (queued bytes, then FIN; `abort()` waits for a write in flight, as the
   * Streams standard has it). A write after the peer's reset fails with
   * {@linkcode BrokenPipeError}. For a half-close use
   * {@linkcode TouConn.closeWrite}; for a RST, {@linkcode TouConn.abort}.
   */
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    this.#writable ??= makeWritable({
      write: (p, inFlight) => this.#write(p, inFlight, true),
      close: () => this.close(),
    });
    return this.#writable;
  }

  // ---- internals ----

  /** Resolves when the handshake completes; rejects with the typed error. */
  #handshake(signal?: AbortSignal): Promise<void> {
    if (this.#established) return Promise.resolve();
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      onAbort = () => {
        this.#connectWaiter = undefined;
        reject(signal.reason ?? new DOMException("The connect was aborted", "AbortError"));
        this.abort();
      };
      signal.addEventListener("abort", onAbort, { once: true });
    }
    this.#connectWaiter = {
      resolve: () => {
        if (onAbort) signal!.removeEventListener("abort", onAbort);
        resolve();
      },
      reject: (e) => {
        if (onAbort) signal!.removeEventListener("abort", onAbort);
        reject(e);
      },
    };
    return promise;
  }

  #onEvent(ev: TcpEvent): void {
    switch (ev.type) {
      case "readable":
        this.#wake(this.#readWaiters);
        return;
      case "eof":
        this.#eofSeen = true;
        this.#wake(this.#readWaiters);
        return;
      case "writable":
        this.#wake(this.#writeWaiters);
        return;
      case "connected": {
        this.#established = true;
        const w = this.#connectWaiter;
        this.#connectWaiter = undefined;
        w?.resolve();
        this.#hooks.onChange(this);
        return;
      }
      case "error":
        this.#setError(ev.kind, ev.detail);
        this.#wakeAll();
        return;
      case "state":
        if (ev.to === "TIME_WAIT") {
          this.#settle();
          this.#sc.onEvent = this.#hooks.lateEvents; // nothing more for this handle
        }
        this.#hooks.onChange(this);
        return;
      case "closed":
        this.#wakeAll();
        this.#settle();
        this.#hooks.onChange(this);
        return;
    }
  }

  #setError(kind: string, detail: string): void {
    if (this.#error !== undefined) return;
    const err = connectionError(
      kind,
      detail,
      this.#text,
      this.#established ? "established" : "connect",
    );
    this.#error = err;
    const w = this.#connectWaiter;
    this.#connectWaiter = undefined;
    w?.reject(err);
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    const err = this.#error;
    let reason: ConnCloseReason = "closed";
    if (err !== undefined) {
      switch (err.name) {
        case "ConnectionRefused":
          reason = "refused";
          break;
        case "ConnectionReset":
          reason = "reset";
          break;
        case "TimedOut":
          reason = "timed_out";
          break;
        default:
          reason = "aborted";
      }
    }
    const w = this.#connectWaiter;
    this.#connectWaiter = undefined;
    w?.reject(err ?? new NotConnectedError(`Cannot connect to ${this.#text}: connection closed`));
    const info: ConnCloseInfo = err === undefined
      ? { reason, state: this.#sc.state }
      : { reason, error: err, state: this.#sc.state };
    const done = () => this.#closed.resolve(info);
    this.#hooks.afterSettle(this).then(done, done);
  }

  /**
   * The endpoint is closing: "before" the stack resets the connection (so
   * the error names the cause), "after" it did (wake and settle).
   */
  #endpointClosed(phase: "before" | "after"): void {
    if (phase === "before") {
      if (!this.#sc.released && this.#sc.state !== "CLOSED" && this.#sc.state !== "TIME_WAIT") {
        this.#error ??= new ConnectionAbortedError(
          `Connection to ${this.#text} aborted: its endpoint was closed`,
        );
        const w = this.#connectWaiter;
        this.#connectWaiter = undefined;
        w?.reject(this.#error);
      }
      return;
    }
    this.#wakeAll();
    this.#settle();
  }

  /**
   * One non-blocking read: bytes, 0 (nothing yet) or -1 (EOF). Throws the
   * typed error; `waited`: the read already waited (a close since then
   * interrupted it); `forStream`: the readable's view, where a reset is EOF.
   */
  #tryRead(p: Uint8Array, waited: boolean, forStream: boolean): number {
    if (this.#appClosed) {
      throw waited
        ? new InterruptedError(`Read from ${this.#text} interrupted: connection closed`)
        : new ClosedError(`Cannot read from ${this.#text}: connection closed`);
    }
    if (this.#readShut) return -1;
    if (p.byteLength === 0) return 0;
    const n = this.#sc.read(p);
    if (n > 0) return n;
    // After a RST the core reports EOF; the error wins unless the peer's
    // FIN came first (as Linux: a FIN'd stream reads EOF even if reset later).
    // A Deno.TcpConn's readable ends at a reset (Deno 2.9 on Linux), and so does ours.
    if (this.#error !== undefined && !this.#eofSeen) {
      if (forStream && this.#error instanceof ConnectionResetError) return -1;
      throw this.#error;
    }
    if (n < 0) {
      // A RST closed the core but its events ("error", "closed") still wait
      // for the end-of-batch drain: wait for them, so it reads as the reset, not EOF.
      if (!this.#eofSeen && this.#sc.deferred && this.#sc.state === "CLOSED") return 0;
      return n;
    }
    const st = this.#sc.state;
    if (this.#sc.released || st === "CLOSED" || st === "TIME_WAIT") return -1;
    return 0;
  }

  /** The core is CLOSED but its events (a reset's "error", "closed") are not delivered yet. */
  #resetPending(): boolean {
    return !this.#appClosed && this.#error === undefined && this.#sc.deferred &&
      this.#sc.state === "CLOSED";
  }

  #checkWrite(waited: boolean, forStream: boolean): void {
    if (this.#appClosed) {
      throw waited
        ? new InterruptedError(`Write to ${this.#text} interrupted: connection closed`)
        : new ClosedError(`Cannot write to ${this.#text}: connection closed`);
    }
    if (this.#error !== undefined) {
      // A Deno.TcpConn's writable fails with BrokenPipe after the peer's reset.
      if (forStream && this.#error instanceof ConnectionResetError) {
        throw new BrokenPipeError(`Cannot write to ${this.#text}: connection reset by peer`, {
          cause: this.#error,
        });
      }
      throw this.#error;
    }
    if (this.#writeShut) {
      throw new BrokenPipeError(`Cannot write to ${this.#text}: the write side is shut down`);
    }
    const st = this.#sc.state;
    if (this.#sc.released || st === "CLOSED") {
      throw new NotConnectedError(`Cannot write to ${this.#text}: not connected (${st})`);
    }
  }

  #closeWrite(): void {
    if (this.#appClosed) {
      throw new ClosedError(`Cannot shut down ${this.#text}: connection closed`);
    }
    if (this.#writeShut) return;
    const st = this.#sc.state;
    if (this.#sc.released || st === "CLOSED") {
      if (this.#error !== undefined) return; // as shutdown() on a reset Deno.TcpConn
      throw new NotConnectedError(`Cannot shut down ${this.#text}: not connected`);
    }
    this.#writeShut = true;
    this.#sc.closeWrite();
    this.#wake(this.#writeWaiters);
  }

  #waitReadable(): Promise<void> {
    return new Promise<void>((r) => this.#readWaiters.push(r));
  }

  #waitWritable(): Promise<void> {
    return new Promise<void>((r) => this.#writeWaiters.push(r));
  }

  #wake(list: (() => void)[]): void {
    const n = list.length;
    if (n === 0) return;
    if (n === 1) {
      // the usual case (one read or one write waits): no copy of the list per wake-up
      const w = list.pop()!;
      w();
      return;
    }
    const ws = list.splice(0);
    for (const w of ws) w();
  }

  #wakeAll(): void {
    this.#wake(this.#readWaiters);
    this.#wake(this.#writeWaiters);
  }

  static {
    handshakeOf = (c, signal) => c.#handshake(signal);
    endpointClosedOf = (c, phase) => c.#endpointClosed(phase);
    appClosedOf = (c) => c.#appClosed;
  }
}

/**
 * Internal: wraps a stack connection. Used by the endpoint; not part of the
 * public API.
 */
export function wrapConnection(
  sc: StackConnection,
  local: TouAddr,
  hooks: ConnHooks,
): TouConn {
  return create(sc, local, hooks);
}

/** Internal: resolves when `conn`'s handshake completes (rejects with the typed error). */
export function connHandshake(conn: TouConn, signal?: AbortSignal): Promise<void> {
  return handshakeOf(conn, signal);
}

/** Internal: tells `conn` its endpoint is closing ("before"/"after" the stack resets it). */
export function connEndpointClosed(conn: TouConn, phase: "before" | "after"): void {
  endpointClosedOf(conn, phase);
}

/** Internal: whether the application closed or aborted `conn` (it is orphaned). */
export function connAppClosed(conn: TouConn): boolean {
  return appClosedOf(conn);
}
