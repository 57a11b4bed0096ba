/**
 * {@linkcode Endpoint}: one UDP socket and the tou stack on it. An endpoint
 * listens on any number of TCP ports and opens any number of connections,
 * all multiplexed over its one UDP port.
 *
 * Slightly over 600 lines (about 680): the `Endpoint` class is one object
 * whose listen, connect, close and metrics paths share its private stack,
 * socket and connection tables; the opening helpers around it are short.
 *
 * @module
 */

import { Stack, type StackCounters, type TcpDropCounters } from "../stack/stack.ts";
import type { StackConnection } from "../stack/stack_connection.ts";
import type { StackListener } from "../stack/stack_listener.ts";
import type { Runtime, TimerId } from "../stack/runtime.ts";
import { RealRuntime } from "../stack/real_runtime.ts";
import type { DatagramAddr, DatagramSocket } from "../udp/datagram_socket.ts";
import type { DenoUdpSocketStats } from "../udp/deno_udp_socket.ts";
import { openDatagramSocket, type UdpBackend } from "../udp/open_datagram_socket.ts";
import { familyOf, formatTouAddr, isLoopbackIp, resolveHostname } from "./addr.ts";
import {
  connAppClosed,
  connEndpointClosed,
  connHandshake,
  type ConnHooks,
  TouConn,
  wrapConnection,
} from "./conn.ts";
import { AddrInUseError, ClosedError } from "./errors.ts";
import { type ListenerHooks, TouListener, wrapListener } from "./listener.ts";
import {
  type ConnectionStats,
  type DatagramSocketDecorator,
  type EndpointConnectOptions,
  endpointConnectSchema,
  type EndpointListenOptions,
  endpointListenSchema,
  type EndpointOptions,
  endpointSchema,
} from "./endpoint_options.ts";
import { parseOptions, toStackOptions } from "./options.ts";
import { type ResolvedTouOptions, type TouOptions } from "./option_specs.ts";
import { TraceHub, type TraceSubscriber } from "./trace_hub.ts";

let create: (
  socket: DatagramSocket,
  udp: DatagramSocket,
  runtime: Runtime,
  options: ResolvedTouOptions,
  autoClose: boolean,
) => Endpoint;

/**
 * Opens a UDP socket and starts a tou stack on it (through `decorate`'s
 * socket when one is given: sealing, tracing).
 *
 * @param options Local address (default "0.0.0.0", ephemeral port), tunables and `decorate`.
 * @returns The endpoint.
 * @throws {InvalidOptionError} When an option is out of range.
 * @throws {AddrInUseError} When the UDP address is already bound.
 *
 * @example Open, listen, connect
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 *
 * await using ep = await openEndpoint({ hostname: "127.0.0.1", msl: 1000 });
 * const listener = ep.listen({ tcpPort: 22 });
 * const conn = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port, tcpPort: 22 });
 * const server = await listener.accept();
 * assert.equal(ep.connections().length, 2);
 * conn.close();
 * server.close();
 * ```
 */
export async function openEndpoint(options: EndpointOptions = {}): Promise<Endpoint> {
  const o = parseOptions(endpointSchema, options);
  const { hostname, port, decorate, udpBackend, udpReusePort, ...tunables } = o;
  if (options?.segmentBudget === undefined && isLoopbackIp(hostname ?? "0.0.0.0")) {
    tunables.segmentBudget = LOOPBACK_SEGMENT_BUDGET;
  }
  const udp = await openSocket(
    hostname ?? "0.0.0.0",
    port ?? 0,
    udpBackend,
    udpReusePort ?? false,
    tunables,
  );
  return start(udp, decorate, new RealRuntime(), tunables, false);
}

/**
 * Opens the UDP socket of an endpoint: the one place that chooses the
 * socket implementation ({@linkcode openDatagramSocket}: the kernel
 * backend where FFI is allowed on Linux, else Deno's `listenDatagram`).
 */
function openSocket(
  hostname: string,
  port: number,
  backend: UdpBackend | undefined,
  reusePort: boolean,
  tunables: ResolvedTouOptions,
): Promise<DatagramSocket> {
  return openDatagramSocket({
    hostname,
    port,
    backend: backend ?? "auto",
    reusePort,
    // The kernel doubles the request; asking twice the window leaves room for several connections.
    receiveBufferBytes: 2 * tunables.recvBufferSize,
  });
}

/**
 * Keeps the advertised receive window within what the UDP socket's receive
 * buffer absorbs (when the socket says: the kernel backend reads its real
 * SO_RCVBUF back), so a clean path never drops datagrams in the receiver's
 * kernel buffer while the window invites more.
 */
export function fitWindowToSocket(
  socket: DatagramSocket,
  tunables: ResolvedTouOptions,
): ResolvedTouOptions {
  const cap = socket.receiveCapacity;
  if (cap === undefined || tunables.recvBufferSize <= cap) return tunables;
  return { ...tunables, recvBufferSize: Math.max(1024, cap) };
}

/**
 * Wraps `udp` with the decorator, if any, and starts an endpoint on the
 * result (its window fitted to `udp`'s receive buffer); closes the socket
 * when either step throws.
 */
function start(
  udp: DatagramSocket,
  decorate: DatagramSocketDecorator | undefined,
  runtime: Runtime,
  options: ResolvedTouOptions,
  autoClose: boolean,
): Endpoint {
  let socket = udp;
  try {
    if (decorate !== undefined) socket = decorate(udp);
    return create(socket, udp, runtime, fitWindowToSocket(udp, options), autoClose);
  } catch (err) {
    socket.close();
    if (socket !== udp) udp.close();
    throw err;
  }
}

/**
 * Internal (tests, simulator): an endpoint over any datagram socket and
 * runtime. `autoClose` closes it once no listener is open and every
 * connection has finished.
 */
export function createEndpoint(
  socket: DatagramSocket,
  runtime: Runtime,
  options: TouOptions & Pick<EndpointOptions, "decorate"> = {},
  autoClose = false,
): Endpoint {
  const o = parseOptions(endpointSchema, options);
  const { hostname: _h, port: _p, udpBackend: _b, udpReusePort: _r, decorate, ...tunables } = o;
  return start(socket, decorate, runtime, tunables, autoClose);
}

/** Internal: marks an endpoint to close itself once idle (used by `listen`/`connect`). */
export function setAutoClose(ep: Endpoint): void {
  autoCloseOf(ep);
}

let autoCloseOf: (ep: Endpoint) => void;

/**
 * `segmentBudget` of an endpoint bound to a loopback address (or of
 * `connect()` to a loopback peer) when none is given. Loopback's MTU is
 * 65536, so Linux's own TCP uses 64 KiB segments there; 16 KiB is the
 * largest size measured to stay fast given Deno's fixed ~208 KiB UDP
 * receive buffer (docs/api.md "Performance notes").
 */
export const LOOPBACK_SEGMENT_BUDGET = 16_384;

const HOLD_SYN = Object.freeze({ holdSyn: true });

/** How long an idle auto-closing endpoint waits for FIN_WAIT_2 connections to finish. */
const FIN_WAIT_2_GRACE_MS = 2_000;

/**
 * One UDP socket carrying many TCP connections. Create it with
 * {@linkcode openEndpoint}.
 *
 * Closing: {@linkcode Endpoint.close} is immediate, like a process exit:
 * listeners stop and live connections get a FIN (a RST when data they
 * received was never read); {@linkcode Endpoint.abort} resets them. `await using` (or
 * {@linkcode Endpoint.closeGracefully}) first closes every connection
 * normally and waits (bounded) for the FIN exchanges to finish.
 *
 * @example Two endpoints, echo
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 *
 * await using server = await openEndpoint({ hostname: "127.0.0.1" });
 * await using client = await openEndpoint({ hostname: "127.0.0.1" });
 * const listener = server.listen(); // TCP port = the UDP port number
 * const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const peer = await listener.accept();
 * await peer.write(new Uint8Array([1, 2, 3]));
 * const buf = new Uint8Array(8);
 * assert.equal(await conn.read(buf), 3);
 * ```
 */
export class Endpoint implements AsyncDisposable {
  static {
    create = (socket, udp, runtime, options, autoClose) =>
      new Endpoint(socket, udp, runtime, options, autoClose);
    autoCloseOf = (ep) => {
      ep.#autoClose = true;
      ep.#scheduleCheck();
    };
  }

  /** The socket the stack uses (the UDP socket, or the decorator's wrapping of it). */
  readonly #socket: DatagramSocket;
  /** The UDP socket itself, below any decorator. */
  readonly #udp: DatagramSocket;
  readonly #runtime: Runtime;
  readonly #stack: Stack;
  #traceHub: TraceHub | undefined;
  readonly #options: ResolvedTouOptions;
  readonly #addr: Deno.NetAddr;
  readonly #family: 4 | 6;
  readonly #listeners = new Set<TouListener>();
  /** Connections handed to the app that have not finished (TIME_WAIT/CLOSED), by stack connection. */
  readonly #handles = new Map<StackConnection, TouConn>();
  readonly #stackConnOf = new Map<TouConn, StackConnection>();
  readonly #done = Promise.withResolvers<void>();
  #autoClose: boolean;
  #closed = false;
  #checkQueued = false;
  #graceTimer: TimerId | undefined;
  readonly #connHooks: ConnHooks;
  readonly #listenerHooks: ListenerHooks;
  /** The last peer address connected to: one object for its connections (see `#remoteOf`). */
  #lastRemote: DatagramAddr | undefined;
  /** Connections whose SYN waits for Fast Open data, until the end of this turn of the loop. */
  #heldSyns: StackConnection[] = [];
  /** Those still waiting at the end of the turn: until the shared timer fires. */
  #lateSyns: StackConnection[] = [];
  // Most callers (the tunnel client) write in the same task: their SYNs left with the data by the
  // end of the turn, which a deferred check (setImmediate, ≈ 1.5 µs) sees without a timer (a
  // setTimeout per connect was ≈ 6 µs of the client's CPU per connection, issue 15).
  readonly #checkHeldSyns = (): void => {
    const list = this.#heldSyns;
    this.#heldSyns = [];
    for (const sc of list) {
      if (sc.synHeld && this.#lateSyns.push(sc) === 1) {
        this.#runtime.schedule(this.#runtime.now(), this.#releaseLateSyns);
      }
    }
  };
  readonly #releaseLateSyns = (): void => {
    const list = this.#lateSyns;
    this.#lateSyns = [];
    for (const sc of list) if (sc.synHeld) sc.releaseSyn();
  };

  private constructor(
    socket: DatagramSocket,
    udp: DatagramSocket,
    runtime: Runtime,
    options: ResolvedTouOptions,
    autoClose: boolean,
  ) {
    this.#socket = socket;
    this.#udp = udp;
    this.#runtime = runtime;
    this.#options = options;
    this.#autoClose = autoClose;
    this.#stack = new Stack(socket, runtime, toStackOptions(options));
    const a = socket.localAddr;
    this.#addr = { transport: "udp", hostname: a.hostname, port: a.port };
    this.#family = familyOf(a.hostname);
    this.#connHooks = {
      onChange: () => {
        if (this.#autoClose) this.#scheduleCheck();
      },
      lateEvents: () => {
        if (this.#autoClose) this.#scheduleCheck();
      },
      afterSettle: (c) => {
        // The handle goes once its `closed` is settled, not when CLOSED is first seen: the
        // "closed" event may still be queued (end-of-batch drain) when an auto-close runs, and
        // close() must then settle it.
        const sc = this.#stackConnOf.get(c);
        if (sc !== undefined) this.#handles.delete(sc);
        this.#stackConnOf.delete(c);
        if (!this.#autoClose || this.#closed) return Promise.resolve();
        // An auto-closing endpoint that became idle closes now; let the
        // connection's `closed` wait for the UDP socket to be released.
        return new Promise<void>((resolve) =>
          queueMicrotask(() => {
            this.#checkIdle();
            if (this.#closed) this.#done.promise.then(resolve);
            else resolve();
          })
        );
      },
    };
    this.#listenerHooks = {
      wrap: (sc) => this.#wrap(sc),
      onClose: (l) => {
        this.#listeners.delete(l);
        if (this.#autoClose) this.#scheduleCheck();
      },
    };
  }

  /** The local UDP address (transport "udp"; the real port when bound to 0). */
  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  /** The validated options in force, defaults filled in. */
  get options(): Readonly<ResolvedTouOptions> {
    return this.#options;
  }

  /** Stack counters (datagrams, segments, RSTs, opens, …), like `netstat -s`. */
  get counters(): Readonly<StackCounters> {
    return this.#stack.counters;
  }

  /**
   * The counters of every listener, open or closed, summed (like `netstat -s`,
   * they never go down): SYN queue and accept queue drops (`synQueueDrops`,
   * `listenDrops`, `listenOverflows`), SYN cookies (`synCookiesSent`,
   * `synCookiesRecv`, `synCookiesFailed`), Fast Open pending-queue overflows
   * (`fastOpenListenOverflow`) and `accepted`.
   */
  listenerCounters(): Readonly<Record<string, number>> {
    const sum: Record<string, number> = { ...this.#stack.closedListenerCounters() };
    for (const l of this.#stack.listeners()) {
      for (const [k, v] of Object.entries(l.counters)) {
        if (typeof v === "number") sum[k] = (sum[k] ?? 0) + v;
      }
    }
    return sum;
  }

  /**
   * Per-connection drops summed over every connection, live and gone (RFC
   * 5961 challenge ACKs sent and rate-limited, rate-limited invalid-segment
   * ACKs, PAWS and out-of-window drops, unacceptable ACKs, reassembly drops).
   */
  dropCounters(): Readonly<TcpDropCounters> {
    return this.#stack.dropCounters();
  }

  /**
   * Levels of the stack's limits: buffer memory held now (`bufferBytes`),
   * each connection's per-direction share of `memoryBudget` (`bufferShare`,
   * 0 without a budget) and the connections the caps count
   * (`cappedConnections`).
   */
  limitGauges(): { bufferBytes: number; bufferShare: number; cappedConnections: number } {
    const share = this.#stack.bufferShare;
    return {
      bufferBytes: this.#stack.bufferBytes(),
      bufferShare: Number.isFinite(share) ? share : 0,
      cappedConnections: this.#stack.cappedConnections,
    };
  }

  /** UDP socket counters (sent, dropped, received, …), when the socket keeps them. */
  udpStats(): DenoUdpSocketStats | undefined {
    const s = this.#udp as Partial<{ stats(): DenoUdpSocketStats }>;
    return typeof s.stats === "function" ? s.stats() : undefined;
  }

  /** True once the endpoint is closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves once the endpoint is closed and its UDP socket released. */
  get closed(): Promise<void> {
    return this.#done.promise;
  }

  /**
   * Listens on a TCP port of this endpoint.
   *
   * @param options TCP port (default: the UDP port number), backlog, reuseAddress, reusePort.
   * @returns The listener.
   * @throws {AddrInUseError} When a listener has the port (unless both set
   *   `reusePort`), or connections (TIME_WAIT included) use it and
   *   `reuseAddress` is not set.
   * @throws {InvalidOptionError} On a bad option.
   * @throws {ClosedError} When the endpoint is closed.
   */
  listen(options: EndpointListenOptions = {}): TouListener {
    const o = parseOptions(endpointListenSchema, options);
    this.#assertOpen("listen on");
    const tcpPort = o.tcpPort ?? this.#addr.port;
    let sl: StackListener;
    try {
      sl = this.#stack.listen(tcpPort, {
        backlog: o.backlog ?? this.#options.backlog,
        reuseAddress: o.reuseAddress ?? false,
        reusePort: o.reusePort ?? false,
      });
    } catch (err) {
      throw this.#qualify(err);
    }
    const l = wrapListener(sl, { ...this.#localUdp(), tcpPort }, this.#listenerHooks);
    this.#listeners.add(l);
    return l;
  }

  /**
   * Opens a connection and resolves once the handshake is done.
   *
   * @param options The peer (hostname, UDP port, TCP port) and per-connection settings.
   * @returns The established connection.
   * @throws {TimedOutError} When the SYN retries run out (e.g. nothing at that UDP address).
   * @throws {ConnectionRefusedError} When the peer endpoint has no listener on the TCP port.
   * @throws {AddrInUseError} When the 4-tuple (e.g. in TIME_WAIT) or the local port is taken.
   * @throws {InvalidOptionError} On a bad option.
   */
  async connect(options: EndpointConnectOptions): Promise<TouConn> {
    const o = parseOptions(endpointConnectSchema, options);
    this.#assertOpen("connect from");
    o.signal?.throwIfAborted();
    const ip = await resolveHostname(o.hostname, this.#family);
    o.signal?.throwIfAborted();
    this.#assertOpen("connect from");
    let sc: StackConnection;
    try {
      sc = this.#stack.connect(this.#remoteOf(ip, o.port), o.tcpPort ?? o.port, {
        localPort: o.localTcpPort,
        reuseAddress: o.reuseAddress ?? false,
        fastOpen: o.fastOpen === true ? HOLD_SYN : undefined,
      });
    } catch (err) {
      throw this.#qualify(err);
    }
    const conn = this.#wrap(sc);
    if (o.noDelay !== undefined) conn.setNoDelay(o.noDelay);
    if (o.keepAlive !== undefined) conn.setKeepAlive(o.keepAlive);
    if (sc.synHeld) {
      // RFC 7413 with a cached cookie (TCP_FASTOPEN_CONNECT): the first write goes into the
      // SYN; without one by the next macrotask, the SYN goes alone. (A timer, not only
      // runtime.defer: setImmediate comes within the same turn of the event loop, and a first
      // read that completes a moment late would then lose Fast Open; but the timer is set
      // only for SYNs still held at the end of the turn, one for all of them.)
      if (this.#heldSyns.push(sc) === 1) {
        if (this.#runtime.defer !== undefined) this.#runtime.defer(this.#checkHeldSyns);
        else this.#runtime.schedule(this.#runtime.now(), this.#checkHeldSyns);
      }
      return conn;
    }
    await connHandshake(conn, o.signal);
    return conn;
  }

  /**
   * Watches every connection of this endpoint: segments in and out, state
   * changes with their cause and trace events (timers armed, stopped and
   * fired, retransmissions, cwnd/ssthresh and window changes). Costs nothing
   * while nobody subscribes (see {@linkcode TraceSubscriber}).
   *
   * @returns A function that unsubscribes.
   */
  subscribe(subscriber: TraceSubscriber): () => void {
    this.#traceHub ??= new TraceHub(this.#stack, () => this.#localUdp());
    return this.#traceHub.add(subscriber);
  }

  /** Every connection, with its tuple, state and TCP_INFO (TIME_WAIT and embryonic ones too). */
  connections(): ConnectionStats[] {
    const local = this.#localUdp();
    return this.#stack.connections().map((c) => ({
      tuple: {
        local: { ...local, tcpPort: c.localPort },
        remote: { hostname: c.remote.hostname, port: c.remote.port, tcpPort: c.remotePort },
      },
      state: c.state,
      passive: c.listenerPort !== undefined,
      info: c.info(),
    }));
  }

  /**
   * Closes at once, as a process exit closes its sockets on Linux:
   * listeners stop, every live connection is closed with a FIN when nothing
   * unread is pending and reset when received data was never read (RFC 2525
   * §2.17), sent once; TIME_WAIT state is dropped and the UDP port is
   * released. {@linkcode Endpoint.abort} resets every connection instead.
   * Idempotent.
   */
  close(): void {
    this.#close(false);
  }

  /**
   * Closes at once abortively: as {@linkcode Endpoint.close}, but every live
   * connection is reset (SO_LINGER with a zero timeout). Idempotent.
   *
   * @example
   * ```ts
   * import { openEndpoint } from "./endpoint.ts";
   * const ep = await openEndpoint({ hostname: "127.0.0.1" });
   * ep.abort();
   * await ep.closed;
   * ```
   */
  abort(): void {
    this.#close(true);
  }

  #close(abortive: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#graceTimer !== undefined) this.#runtime.cancel(this.#graceTimer);
    this.#graceTimer = undefined;
    for (const l of [...this.#listeners]) l.close();
    // Tell the handles first, so their error says why they were reset.
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    this.#stackConnOf.clear();
    for (const c of handles) connEndpointClosed(c, "before");
    if (abortive) this.#stack.abort();
    else this.#stack.close();
    for (const c of handles) connEndpointClosed(c, "after");
    // Released once the socket the stack used and the UDP socket below it have closed.
    const closedOf = (s: DatagramSocket) => {
      const c = (s as Partial<{ closed: Promise<void> }>).closed;
      return c instanceof Promise ? c : Promise.resolve();
    };
    Promise.allSettled([closedOf(this.#socket), closedOf(this.#udp)]).then(() =>
      this.#done.resolve()
    );
  }

  /**
   * Closes listeners, closes every open connection normally (FIN), waits
   * until the closes finished (or `timeout` ms passed), then
   * {@linkcode Endpoint.close}s.
   *
   * @param options `timeout` in ms, default 2000.
   */
  async closeGracefully(options: { timeout?: number } = {}): Promise<void> {
    if (this.#closed) return await this.#done.promise;
    const timeout = options.timeout ?? 2_000;
    for (const l of [...this.#listeners]) l.close();
    for (const c of [...this.#handles.values()]) c.close();
    this.#autoClose = true;
    this.#scheduleCheck();
    let timer: TimerId | undefined;
    await Promise.race([
      this.#done.promise,
      new Promise<void>((r) => {
        timer = this.#runtime.schedule(this.#runtime.now() + timeout, r);
      }),
    ]);
    if (timer !== undefined) this.#runtime.cancel(timer);
    this.close();
    await this.#done.promise;
  }

  /** Same as {@linkcode Endpoint.closeGracefully} with the default timeout. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeGracefully();
  }

  // ---- internals ----

  #localUdp(): { hostname: string; port: number } {
    return { hostname: this.#addr.hostname, port: this.#addr.port };
  }

  /**
   * The peer address `{ hostname: ip, port }`, the same object as the last
   * connect's when it is the same peer: the UDP socket caches the encoded
   * sockaddr by address object, so a tunnel client's connections to its one
   * server share one entry instead of parsing and encoding it per connection.
   */
  #remoteOf(ip: string, port: number): DatagramAddr {
    const last = this.#lastRemote;
    if (last !== undefined && last.hostname === ip && last.port === port) return last;
    return this.#lastRemote = Object.freeze({ hostname: ip, port });
  }

  #wrap(sc: StackConnection): TouConn {
    const c = wrapConnection(sc, { ...this.#localUdp(), tcpPort: sc.localPort }, this.#connHooks);
    const st = c.state;
    if (st !== "CLOSED" && st !== "TIME_WAIT") {
      this.#handles.set(sc, c);
      this.#stackConnOf.set(c, sc);
    }
    return c;
  }

  /**
   * The stack names only the TCP port ("Cannot listen on tcp port 22: …");
   * name this endpoint's UDP address too ("… on 127.0.0.1:9000 tcp 22: …").
   */
  #qualify(err: unknown): unknown {
    if (!(err instanceof AddrInUseError)) return err;
    const msg = err.message.replace(
      /\btcp port (\d+)/,
      (_, port: string) => formatTouAddr({ ...this.#localUdp(), tcpPort: Number(port) }),
    );
    return msg === err.message ? err : new AddrInUseError(msg);
  }

  #assertOpen(what: string): void {
    if (this.#closed) {
      throw new ClosedError(
        `Cannot ${what} ${this.#addr.hostname}:${this.#addr.port}: endpoint closed`,
      );
    }
  }

  /** Runs the idle check outside the stack's event dispatch. */
  #scheduleCheck(): void {
    if (this.#checkQueued || this.#closed) return;
    this.#checkQueued = true;
    queueMicrotask(() => {
      this.#checkQueued = false;
      this.#checkIdle();
    });
  }

  /**
   * Whether `sc` keeps an auto-closing endpoint open: every state but
   * TIME_WAIT and CLOSED does, except an orphaned FIN_WAIT_2 (the app closed
   * it; our FIN is acknowledged and only the peer's is missing), which gets
   * a grace period. A FIN_WAIT_2 the app still holds is a half-closed
   * connection that may go on receiving for as long as the peer sends.
   */
  #busy(sc: StackConnection): "busy" | "finWait2" | "done" {
    const st = sc.state;
    if (st === "TIME_WAIT" || st === "CLOSED") return "done";
    if (st !== "FIN_WAIT_2") return "busy";
    const h = this.#handles.get(sc);
    return h !== undefined && !connAppClosed(h) ? "busy" : "finWait2";
  }

  /**
   * Auto-close rule: no open listener and every connection finished
   * (TIME_WAIT or gone), orphaned FIN_WAIT_2 connections after a short
   * grace period. Bytes a finished connection still holds stay readable
   * after the endpoint closed.
   */
  #checkIdle(): void {
    if (!this.#autoClose || this.#closed || this.#listeners.size > 0) return;
    let finWait2 = false;
    for (const c of this.#stack.connections()) {
      const b = this.#busy(c);
      if (b === "busy") return;
      if (b === "finWait2") finWait2 = true;
    }
    if (!finWait2) {
      this.close();
      return;
    }
    if (this.#graceTimer === undefined) {
      const grace = Math.min(FIN_WAIT_2_GRACE_MS, this.#options.finWait2Timeout);
      this.#graceTimer = this.#runtime.schedule(this.#runtime.now() + grace, () => {
        this.#graceTimer = undefined;
        if (this.#closed) return;
        const busy = this.#stack.connections().some((c) => this.#busy(c) === "busy");
        if (!busy && this.#listeners.size === 0) this.close();
      });
    }
  }
}
