/**
 * {@linkcode toNodeSocket}: a tou connection (or any `Deno.Conn`) as a Node
 * `Duplex` with the `net.Socket` members Node libraries call, so
 * `node:http`, `ws` and friends run over tou.
 *
 * About 600 lines, half of them docs and examples: one `Duplex` subclass
 * whose read, write, timeout and destroy paths share its state, as
 * `net.Socket` is one class.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import process from "node:process";
import { Duplex } from "node:stream";

/**
 * Options of {@linkcode toNodeSocket}.
 *
 * @example A socket that stays writable after the peer's EOF
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NodeSocketOptions } from "./node_socket.ts";
 * const opts: NodeSocketOptions = { allowHalfOpen: true };
 * assert.equal(opts.allowHalfOpen, true);
 * ```
 */
export interface NodeSocketOptions {
  /**
   * Keep the writable side open after the peer's EOF, as `net.Socket`'s
   * option of that name (default false: end our side too).
   */
  readonly allowHalfOpen?: boolean;
}

/** What the adapter uses of a connection: `Deno.Conn`, plus the TCP calls when present. */
type AnyConn = Deno.Conn & {
  setNoDelay?(noDelay?: boolean): void;
  setKeepAlive?(keepAlive?: boolean, idle?: number): void;
  abort?(): void;
};

/** `net.Socket`-style error codes for Deno's error classes. */
const CODES: Readonly<Record<string, string>> = {
  ConnectionReset: "ECONNRESET",
  BrokenPipe: "EPIPE",
  TimedOut: "ETIMEDOUT",
  ConnectionAborted: "ECONNABORTED",
  ConnectionRefused: "ECONNREFUSED",
  NotConnected: "ENOTCONN",
  AddrInUse: "EADDRINUSE",
};

/** Gives a Deno error the `code` a Node program looks for (`err.code === "ECONNRESET"`). */
function withCode(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = CODES[e.name];
  if (code !== undefined && (e as { code?: unknown }).code === undefined) {
    Object.defineProperty(e, "code", { value: code, enumerable: true, configurable: true });
  }
  return e;
}

const READ_CHUNK = 64 * 1024;

/**
 * What `Deno.refTimer`/`unrefTimer` take for a `setTimeout` result: in Deno
 * 2.9 that is a Node-style `Timeout` object, which they accept as it is
 * (`Number(timeout)` names no timer they know).
 */
function timerId(t: ReturnType<typeof setTimeout>): number {
  return t as unknown as number;
}

/**
 * A connection as a Node `Duplex` with `net.Socket`'s members. Made by
 * {@linkcode toNodeSocket}.
 *
 * - `end()` half-closes (`closeWrite()`, a FIN); with `allowHalfOpen`
 *   false (the default) the socket also ends once the peer's EOF arrives.
 * - `destroy()` closes the connection (FIN after the queued bytes; a RST if
 *   received bytes were never read); `resetAndDestroy()` sends a RST
 *   (`abort()`) where the connection has one.
 * - Errors carry Node's codes (`ECONNRESET`, `EPIPE`, `ETIMEDOUT`, …).
 * - `setTimeout(ms)` emits "timeout" after `ms` of inactivity and does not
 *   close anything, as `net.Socket`'s.
 *
 * @example Half-close with end(), read the answer, see the byte counts
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect, listen, toNodeSocket } from "./mod.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const echo = (async () => {
 *   const conn = await listener.accept();
 *   await conn.readable.pipeTo(conn.writable); // echo until our FIN
 * })();
 * const sock = toNodeSocket(await connect({ hostname: "127.0.0.1", port: listener.touAddr.port }));
 * assert.equal(sock.remoteAddress, "127.0.0.1");
 * sock.end("ping"); // write, then FIN
 * let text = "";
 * for await (const chunk of sock) text += chunk;
 * assert.equal(text, "ping");
 * assert.deepEqual([sock.bytesWritten, sock.bytesRead], [4, 4]);
 * await echo;
 * listener.close();
 * ```
 */
export class NodeSocket extends Duplex {
  #conn: AnyConn | undefined;
  #connecting: boolean;
  #reading = false;
  #bytesRead = 0;
  #bytesWritten = 0;
  #timeoutMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastActive = 0;
  #unref = false;
  #whenConnected: Promise<AnyConn>;

  /**
   * Wraps `conn`; use {@linkcode toNodeSocket}.
   *
   * @param conn The connection, or a promise of one (the socket is "connecting" until it settles).
   * @param options `allowHalfOpen`.
   */
  constructor(conn: Deno.Conn | Promise<Deno.Conn>, options: NodeSocketOptions = {}) {
    // As net.Socket: "close" is emitted by _destroy, with its hadError argument.
    super({ allowHalfOpen: options.allowHalfOpen ?? false, emitClose: false, autoDestroy: true });
    if (conn instanceof Promise) {
      this.#connecting = true;
      this.#whenConnected = conn.then((c) => {
        this.#conn = c as AnyConn;
        this.#connecting = false;
        if (this.destroyed) {
          this.#closeConn();
        } else {
          this.emit("connect");
          this.emit("ready");
        }
        return c as AnyConn;
      });
      this.#whenConnected.catch((err) => this.destroy(withCode(err)));
    } else {
      this.#conn = conn as AnyConn;
      this.#connecting = false;
      this.#whenConnected = Promise.resolve(this.#conn);
    }
  }

  /** The wrapped connection (undefined while connecting). */
  get conn(): Deno.Conn | undefined {
    return this.#conn;
  }

  /** True until the connection promise resolved, as `net.Socket#connecting`. */
  get connecting(): boolean {
    return this.#connecting;
  }

  /** Same as `connecting`, as `net.Socket#pending`. */
  get pending(): boolean {
    return this.#connecting;
  }

  /** "opening", "open", "readOnly", "writeOnly" or "closed", as `net.Socket#readyState`. */
  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.#connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }

  /** Bytes received so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes handed to the connection so far. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** The peer's IP. */
  get remoteAddress(): string | undefined {
    return this.#net("remoteAddr")?.hostname;
  }

  /** The peer's port (for tou: the TCP port inside the tunnel). */
  get remotePort(): number | undefined {
    return this.#net("remoteAddr")?.port;
  }

  /** "IPv4" or "IPv6". */
  get remoteFamily(): string | undefined {
    const h = this.remoteAddress;
    return h === undefined ? undefined : h.includes(":") ? "IPv6" : "IPv4";
  }

  /** Our IP. */
  get localAddress(): string | undefined {
    return this.#net("localAddr")?.hostname;
  }

  /** Our port (for tou: the TCP port inside the tunnel). */
  get localPort(): number | undefined {
    return this.#net("localAddr")?.port;
  }

  /** "IPv4" or "IPv6". */
  get localFamily(): string | undefined {
    const h = this.localAddress;
    return h === undefined ? undefined : h.includes(":") ? "IPv6" : "IPv4";
  }

  /** The idle timeout set by `setTimeout`, in ms (0: none). */
  get timeout(): number {
    return this.#timeoutMs;
  }

  /**
   * Our address, as `net.Socket#address()`.
   *
   * @returns `{ address, family, port }`, or `{}` while connecting.
   */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    const a = this.#net("localAddr");
    if (a === undefined) return {};
    return {
      address: a.hostname,
      family: a.hostname.includes(":") ? "IPv6" : "IPv4",
      port: a.port,
    };
  }

  /**
   * TCP_NODELAY (default true: Nagle off).
   *
   * @param noDelay Whether to send small writes at once.
   * @returns This socket.
   */
  setNoDelay(noDelay = true): this {
    this.#withConn((c) => c.setNoDelay?.(noDelay));
    return this;
  }

  /**
   * SO_KEEPALIVE, as `net.Socket#setKeepAlive`: `initialDelay` (ms, in whole
   * seconds as Node passes it on; under 1 s leaves it unchanged) becomes the
   * idle time before the first probe (TCP_KEEPIDLE) of a tou connection. A
   * `Deno.TcpConn` has no such setting and keeps the system's.
   *
   * @param enable Whether to send keepalive probes.
   * @param initialDelay Idle time before the first probe, in ms.
   * @returns This socket.
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const seconds = Math.min(Math.floor(initialDelay / 1000), 32_767);
    const idle = seconds >= 1 ? seconds * 1000 : undefined;
    this.#withConn((c) =>
      idle === undefined ? c.setKeepAlive?.(enable) : c.setKeepAlive?.(enable, idle)
    );
    return this;
  }

  /**
   * Emits "timeout" after `ms` without reads or writes (0 disables it); the
   * socket stays open, as `net.Socket#setTimeout`.
   *
   * @param ms Idle time in ms.
   * @param callback Added as a one-time "timeout" listener.
   * @returns This socket.
   */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeoutMs = ms;
    if (callback !== undefined) {
      if (ms === 0) this.removeListener("timeout", callback);
      else this.once("timeout", callback);
    }
    this.#clearTimer();
    if (ms > 0 && !this.destroyed) {
      this.#lastActive = performance.now();
      this.#armTimer(ms);
    }
    return this;
  }

  /**
   * Lets the process exit while the socket is open (its idle timer and, on
   * Deno connections, pending reads stop keeping it alive).
   *
   * @returns This socket.
   */
  unref(): this {
    this.#unref = true;
    if (this.#timer !== undefined) Deno.unrefTimer(timerId(this.#timer));
    this.#withConn((c) => c.unref());
    return this;
  }

  /**
   * Undoes {@linkcode NodeSocket.unref}.
   *
   * @returns This socket.
   */
  ref(): this {
    this.#unref = false;
    if (this.#timer !== undefined) Deno.refTimer(timerId(this.#timer));
    this.#withConn((c) => c.ref());
    return this;
  }

  /**
   * Closes with a RST where the connection can send one (a tou
   * connection's `abort()`), else as `destroy()`.
   *
   * @returns This socket.
   */
  resetAndDestroy(): this {
    const c = this.#conn;
    if (c?.abort !== undefined) {
      try {
        c.abort();
      } catch {
        // already closed
      }
    }
    return this.destroy();
  }

  /**
   * Ends the writable side, then destroys once it is flushed, as
   * `net.Socket#destroySoon()`.
   */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  // ---- Duplex implementation ----

  /** Duplex hook: starts the read loop (pull-driven: it stops while Node's buffer is full). */
  override _read(_size: number): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#pump();
  }

  async #pump(): Promise<void> {
    let conn: AnyConn;
    try {
      conn = await this.#whenConnected;
    } catch {
      return; // destroyed with the connect error already
    }
    try {
      for (;;) {
        if (this.destroyed) return;
        const buf = new Uint8Array(READ_CHUNK);
        const n = await conn.read(buf);
        if (this.destroyed) return;
        this.#touch();
        if (n === null) {
          this.#reading = false;
          this.push(null);
          return;
        }
        this.#bytesRead += n;
        if (!this.push(Buffer.from(buf.buffer, 0, n))) {
          this.#reading = false;
          return;
        }
      }
    } catch (err) {
      this.#reading = false;
      if (!this.destroyed) this.destroy(withCode(err));
    }
  }

  /** Duplex hook: writes all of `chunk`, waiting for room. */
  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#writeAll(chunk).then(() => callback(), (err) => callback(withCode(err)));
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    const conn = await this.#whenConnected;
    let off = 0;
    while (off < chunk.byteLength) {
      const n = await conn.write(off === 0 ? chunk : chunk.subarray(off));
      off += n;
      this.#bytesWritten += n;
      this.#touch();
    }
  }

  /** Duplex hook: `end()` half-closes (`closeWrite()`, a FIN). */
  override _final(callback: (error?: Error | null) => void): void {
    this.#whenConnected
      .then((c) => c.closeWrite())
      // A peer that already went away: nothing left to half-close.
      .then(() => callback(), () => callback());
  }

  /**
   * Duplex hook: `destroy()` closes the connection, then emits "close" with
   * `hadError` (after "error", if any), as `net.Socket` does.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimer();
    this.#timeoutMs = 0;
    if (this.#conn !== undefined) this.#closeConn();
    callback(error);
    // The stream queued "error" on the tick queue in callback(): "close" goes after it.
    process.nextTick(() => this.emit("close", error != null));
  }

  // ---- internals ----

  /** Runs `fn` on the connection now, or once connected; a closed connection is left alone. */
  #withConn(fn: (c: AnyConn) => void): void {
    const run = (c: AnyConn) => {
      try {
        fn(c);
      } catch {
        // closed already (Deno throws BadResource): nothing to set
      }
    };
    if (this.#conn !== undefined) run(this.#conn);
    else this.#whenConnected.then(run, () => {});
  }

  #closeConn(): void {
    try {
      this.#conn?.close();
    } catch {
      // Deno throws BadResource when the connection is already closed
    }
  }

  #net(which: "localAddr" | "remoteAddr"): Deno.NetAddr | undefined {
    const a = this.#conn?.[which] as Partial<Deno.NetAddr> | undefined;
    return a?.hostname !== undefined && a.port !== undefined
      ? { transport: "tcp", hostname: a.hostname, port: a.port }
      : undefined;
  }

  #touch(): void {
    if (this.#timeoutMs > 0) this.#lastActive = performance.now();
  }

  #armTimer(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#timeoutMs === 0 || this.destroyed) return;
      const idle = performance.now() - this.#lastActive;
      if (idle + 1 >= this.#timeoutMs) {
        this.#lastActive = performance.now();
        this.emit("timeout");
        if (this.#timeoutMs > 0 && !this.destroyed) this.#armTimer(this.#timeoutMs);
      } else {
        this.#armTimer(this.#timeoutMs - idle);
      }
    }, ms);
    if (this.#unref) Deno.unrefTimer(timerId(this.#timer));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Wraps a tou connection (or any `Deno.Conn`, e.g. one from
 * `Deno.connect`) as a Node `Duplex` with the `net.Socket` members that
 * Node libraries call: `setKeepAlive`, `setNoDelay`, `setTimeout`,
 * `ref`/`unref`, `remoteAddress`/`remotePort`/`localAddress`/`localPort`,
 * `address()`, `bytesRead`/`bytesWritten`, `end()` (half-close),
 * `destroy()`, `resetAndDestroy()`, `destroySoon()`, and errors with Node's
 * codes. Give it a promise of a connection to get a socket that is
 * "connecting" at once, as `net.connect()` returns one (what an HTTP
 * agent's `createConnection` must return).
 *
 * @param conn The connection, or a promise of one.
 * @param options `allowHalfOpen` (default false, as `net.Socket`).
 * @returns The socket.
 *
 * @example Serve node:http over tou and fetch through it with a node:http client
 * ```ts
 * import assert from "node:assert/strict";
 * import http from "node:http";
 * import { connect, listen, toNodeSocket } from "./mod.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const server = http.createServer((_req, res) => res.end("hello over tou"));
 * const serving = (async () => {
 *   for await (const conn of listener) server.emit("connection", toNodeSocket(conn));
 * })();
 *
 * const body = await new Promise<string>((resolve, reject) => {
 *   const req = http.get({
 *     path: "/",
 *     createConnection: () =>
 *       toNodeSocket(connect({ hostname: "127.0.0.1", port: listener.touAddr.port })),
 *   }, (res) => {
 *     let text = "";
 *     res.setEncoding("utf8");
 *     res.on("data", (s: string) => text += s);
 *     res.on("end", () => resolve(text));
 *   });
 *   req.on("error", reject);
 * });
 * assert.equal(body, "hello over tou");
 * listener.close();
 * server.close();
 * await serving;
 * ```
 */
export function toNodeSocket(
  conn: Deno.Conn | Promise<Deno.Conn>,
  options: NodeSocketOptions = {},
): NodeSocket {
  return new NodeSocket(conn, options);
}

/**
 * Anything that takes sockets through a "connection" event, e.g. a `node:http` server.
 *
 * @example A node:http server is one
 * ```ts
 * import http from "node:http";
 * import type { NodeConnectionSink } from "./node_socket.ts";
 * const sink: NodeConnectionSink = http.createServer();
 * void sink;
 * ```
 */
export interface NodeConnectionSink {
  /** Hands over one socket. */
  emit(event: "connection", socket: NodeSocket): boolean;
}

/**
 * Feeds every connection of `listener` to a Node server (`node:http`,
 * `node:https`, `net.Server`, …) as a {@linkcode NodeSocket}, until the
 * listener closes. Each socket gets `setNoDelay(true)`, as `node:http`'s
 * server does by default. While it runs the server reports `listening` (Deno's
 * `node:http` closes a keep-alive connection after each response when its
 * server does not listen itself).
 *
 * @param listener A tou listener (or any `Deno.Listener`).
 * @param server The server.
 * @param options Socket options (`allowHalfOpen`).
 * @returns Resolves when the listener is closed.
 *
 * @example Serve node:http over tou with keep-alive
 * ```ts
 * import assert from "node:assert/strict";
 * import http from "node:http";
 * import { connect, listen, serveNodeServer, toNodeSocket } from "./mod.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const server = http.createServer((req, res) => res.end(req.url));
 * const serving = serveNodeServer(listener, server);
 *
 * const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
 * let opened = 0;
 * agent.createConnection = () => {
 *   opened++;
 *   return toNodeSocket(connect({ hostname: "127.0.0.1", port: listener.touAddr.port }));
 * };
 * const get = (path: string) =>
 *   new Promise<string>((resolve, reject) => {
 *     http.get({ agent, path }, (res) => {
 *       let text = "";
 *       res.on("data", (d) => text += d);
 *       res.on("end", () => resolve(text));
 *     }).on("error", reject);
 *   });
 * assert.equal(await get("/a"), "/a");
 * assert.equal(await get("/b"), "/b");
 * assert.equal(opened, 1); // one connection carried both requests
 * agent.destroy();
 * listener.close();
 * await serving;
 * ```
 */
export async function serveNodeServer(
  listener: AsyncIterable<Deno.Conn>,
  server: NodeConnectionSink,
  options: NodeSocketOptions = {},
): Promise<void> {
  const own = Object.getOwnPropertyDescriptor(server, "listening");
  Object.defineProperty(server, "listening", { configurable: true, get: () => true });
  try {
    for await (const conn of listener) {
      const sock = toNodeSocket(conn, options);
      // As node:http's server does for the sockets it accepts (its noDelay option, default true).
      sock.setNoDelay(true);
      server.emit("connection", sock);
    }
  } finally {
    if (own !== undefined) Object.defineProperty(server, "listening", own);
    else Reflect.deleteProperty(server, "listening");
  }
}
