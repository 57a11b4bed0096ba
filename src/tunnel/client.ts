/**
 * The tunnel client: accepts kernel TCP connections on local addresses and
 * carries each over its own tunnel connection to a service port of the
 * server. When the tunnel connection cannot be opened (nothing listens on
 * that service port, the server is unreachable, the key is wrong) the TCP
 * connection is reset.
 *
 * @module
 */

import type { SessionLimitOptions } from "./session_limits.ts";
import { type CipherChoice, sendingAead } from "../seal/cipher_choice.ts";
import type { TouOptions } from "../net/mod.ts";
import { formatHostPort, type HostPort, isIpv6, type LocalSpec } from "./address.ts";
import { Logger } from "./log.ts";
import { type DrainResult, Relay } from "./relay.ts";
import { describeConnectError, describeError, withContext } from "./errors.ts";
import { resetTcpConn } from "./kernel_reset.ts";
import type { EndpointFactory, TunnelAddr, TunnelEndpoint } from "./transport.ts";
import { openTouEndpoint } from "./tou_endpoint.ts";
import { connectTimeoutSignal, DEFAULT_CONNECT_TIMEOUT_S, tunnelTcp } from "./dead_peer.ts";
import { FirstBytesWait } from "./first_bytes_wait.ts";
import { MUX_PORT } from "./mux_frame.ts";
import { setListenerNoDelay } from "./listener_nodelay.ts";
import { closeMuxSessions, MuxSession } from "./mux_session.ts";

/** Longest wait for the last FIN exchanges when closing (ms). */
const GRACE_MAX_MS = 2_000;
/** Shortest wait for them, even when the drain used up its time (ms). */
const GRACE_MIN_MS = 200;

/** Options of {@linkcode TunnelClient.start}. */
export interface TunnelClientOptions extends SessionLimitOptions {
  /** The server's UDP address. */
  readonly server: HostPort;
  /** Local TCP listeners and their service ports. */
  readonly locals: readonly LocalSpec[];
  /** Pre-shared key; omitted means plaintext. */
  readonly key?: Uint8Array;
  /** AEAD this side seals with when keyed (it opens both). Default "auto". */
  readonly cipher?: CipherChoice;
  /** TCP tunables for the endpoint (they override the dead-peer defaults). */
  readonly tcp?: TouOptions;
  /** Keepalive idle time in ms, 0 off; see `dead_peer.ts`. Default 10 s. */
  readonly keepAliveMs?: number;
  /** User timeout in ms, 0 off; see `dead_peer.ts`. Default 20 s. */
  readonly userTimeoutMs?: number;
  /** How long opening a tunnel connection may take before the local connection is reset. Default 8 s. */
  readonly connectTimeoutMs?: number;
  /**
   * How long a new local connection waits for the application's first bytes so that they
   * ride on the tunnel's SYN (TCP Fast Open), in ms. Default {@linkcode FIRST_BYTES_WAIT_MS};
   * 0 opens the tunnel connection at once.
   */
  readonly firstBytesWaitMs?: number;
  /**
   * Carry every local connection as a stream of one multiplexed tunnel
   * connection (`mux_session.ts`) instead of a tunnel connection of its own:
   * no handshake, no TIME_WAIT and no per-connection TCP state per stream,
   * as kcptun's smux does. Streams then share one TCP's loss recovery (a
   * loss stalls all of them). Default false.
   */
  readonly mux?: boolean;
  /** Logger; default: text at info level on stderr. */
  readonly logger?: Logger;
  /** Opens the endpoint; default the real tou endpoint. */
  readonly openEndpoint?: EndpointFactory;
  /** Local UDP address to bind. Default 0.0.0.0:0 (or [::]:0 for an IPv6 server). */
  readonly bind?: HostPort;
  /**
   * Log "client listening" at once (default true). False: the caller calls
   * {@linkcode TunnelClient.announce} once everything else it needs is up.
   */
  readonly announce?: boolean;
}

/** One local listener of a running client. */
export interface LocalListener {
  /** The spec it was started from. */
  readonly spec: LocalSpec;
  /** The bound address (the real port when 0 was asked). */
  readonly addr: HostPort;
}

/**
 * A running tunnel client.
 *
 * @example Carry local port 2222 to the server's service 22
 * ```ts ignore
 * const client = await TunnelClient.start({
 *   server: { hostname: "203.0.113.5", port: 7000 },
 *   locals: [{ listen: { hostname: "127.0.0.1", port: 2222 }, tunnelPort: 22 }],
 * });
 * await client.close({ drainTimeoutMs: 10_000 });
 * ```
 */
export class TunnelClient {
  /** The tou endpoint. */
  readonly endpoint: TunnelEndpoint;
  /** Sessions and counters. */
  readonly relay: Relay;
  /** The server's address. */
  readonly server: HostPort;
  #log: Logger;
  #listeners: { ln: Deno.TcpListener; local: LocalListener; noDelay: boolean }[] = [];
  #loops: Promise<void>[] = [];
  #pending = new Set<Deno.TcpConn>();
  #closing = false;
  #encrypted = false;
  #cipherName = "none";
  #connectTimeoutMs: number;
  /** The wait for an application's first bytes (undefined: no wait). */
  #firstBytes: FirstBytesWait | undefined;
  /** Connect options per tunnel port, rebuilt when the shared timeout signal changes. */
  #connectOpts = new Map<number, Parameters<TunnelEndpoint["connect"]>[0]>();
  /** Multiplexing: "on" (`mux`), "off", or "refused" (the server has no mux: one connection per stream). */
  #muxMode: "on" | "off" | "refused" = "off";
  /** The live multiplexed session. */
  #mux: MuxSession | undefined;
  /** The multiplexed session being opened. */
  #muxOpening: Promise<MuxSession | undefined> | undefined;

  private constructor(
    endpoint: TunnelEndpoint,
    server: HostPort,
    log: Logger,
    connectTimeoutMs: number,
    firstBytesWaitMs: number,
  ) {
    this.endpoint = endpoint;
    this.server = server;
    this.#log = log;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#firstBytes = firstBytesWaitMs > 0 ? new FirstBytesWait(firstBytesWaitMs) : undefined;
    this.relay = new Relay("client", log);
  }

  /**
   * Opens the endpoint and the local TCP listeners.
   *
   * @param opts Server, local listeners, key, tunables.
   * @returns The running client.
   * @throws {Deno.errors.AddrInUse} When a local address is taken (the message names it).
   */
  static async start(opts: TunnelClientOptions): Promise<TunnelClient> {
    const log = opts.logger ?? new Logger();
    const open = opts.openEndpoint ?? openTouEndpoint;
    const bind = opts.bind ??
      { hostname: isIpv6(opts.server.hostname) ? "::" : "0.0.0.0", port: 0 };
    const endpoint = await open({
      hostname: bind.hostname,
      port: bind.port,
      key: opts.key,
      cipher: opts.cipher,
      tcp: tunnelTcp(opts.tcp, opts),
      logger: log,
      role: "initiator",
    });
    const client = new TunnelClient(
      endpoint,
      opts.server,
      log,
      opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_S * 1000,
      opts.firstBytesWaitMs ?? FIRST_BYTES_WAIT_MS,
    );
    try {
      for (const spec of opts.locals) {
        let ln: Deno.TcpListener;
        try {
          ln = Deno.listen({ hostname: spec.listen.hostname, port: spec.listen.port });
        } catch (e) {
          throw withContext(e, `cannot listen on tcp ${formatHostPort(spec.listen)}`);
        }
        const local: LocalListener = {
          spec,
          addr: { hostname: ln.addr.hostname, port: ln.addr.port },
        };
        // accepted connections inherit TCP_NODELAY from it: no setNoDelay per connection
        client.#listeners.push({ ln, local, noDelay: setListenerNoDelay(ln) });
      }
    } catch (e) {
      for (const { ln } of client.#listeners) ln.close();
      await endpoint.close();
      throw e;
    }
    for (const l of client.#listeners) {
      client.#loops.push(client.#acceptLoop(l.ln, l.local, l.noDelay));
    }
    if (opts.mux) client.#muxMode = "on";
    client.#encrypted = opts.key !== undefined;
    client.#cipherName = sendingAead(opts.cipher).name;
    if (opts.announce ?? true) client.announce();
    return client;
  }

  /** Logs "client listening" for each local listener. */
  announce(): void {
    for (const { local } of this.#listeners) {
      this.#log.info("client listening", {
        tcp: formatHostPort(local.addr),
        port: local.spec.tunnelPort,
        server: formatHostPort(this.server),
        encrypted: this.#encrypted,
        cipher: this.#encrypted ? this.#cipherName : "none",
        ...(this.#muxMode === "on" ? { mux: true } : {}),
      });
    }
  }

  /** The bound local listeners. */
  get listeners(): LocalListener[] {
    return this.#listeners.map((l) => l.local);
  }

  /** The endpoint's UDP address. */
  get addr(): TunnelAddr {
    return this.endpoint.addr;
  }

  /**
   * Graceful shutdown: stops accepting, lets open sessions finish for up to
   * `drainTimeoutMs`, resets the rest, closes the endpoint.
   *
   * @param opts Drain timeout (default 0: reset at once).
   * @returns What happened to the open sessions.
   */
  async close(opts: { readonly drainTimeoutMs?: number } = {}): Promise<DrainResult> {
    if (this.#closing) return { finished: 0, reset: 0 };
    this.#closing = true;
    for (const { ln } of this.#listeners) {
      try {
        ln.close();
      } catch {
        // already closed
      }
    }
    await Promise.all(this.#loops);
    // Connections still waiting for their tunnel never started a session: reset them.
    for (const c of this.#pending) resetTcpConn(c);
    this.#pending.clear();
    // The drain timeout bounds the whole shutdown: the FIN exchanges of the
    // last sessions get what is left of it (at most 2 s), not 2 s more.
    const deadline = performance.now() + (opts.drainTimeoutMs ?? 0);
    const result = await this.relay.drain(opts.drainTimeoutMs ?? 0);
    const left = () => Math.max(GRACE_MIN_MS, Math.min(GRACE_MAX_MS, deadline - performance.now()));
    // A multiplexed session may still hold its streams' last frames: they go out first.
    await closeMuxSessions(this.#mux === undefined ? [] : [this.#mux], left());
    await this.endpoint.close({ graceMs: left() });
    return result;
  }

  async #acceptLoop(ln: Deno.TcpListener, local: LocalListener, noDelay: boolean): Promise<void> {
    try {
      for await (const tcp of ln) {
        if (this.#closing) {
          resetTcpConn(tcp);
          continue;
        }
        this.#handle(tcp, local, noDelay);
      }
    } catch (e) {
      if (!this.#closing) {
        this.#log.error("accept failed", {
          tcp: formatHostPort(local.addr),
          error: describeError(e),
        });
      }
    }
  }

  /**
   * The options of a connect to tunnel port `port`: one frozen object per
   * window of the shared timeout signal, so the endpoint validates them once
   * per window (`parseOptions`), not on every connection.
   */
  #connectOptions(port: number): Parameters<TunnelEndpoint["connect"]>[0] {
    const signal = connectTimeoutSignal(this.#connectTimeoutMs);
    let o = this.#connectOpts.get(port);
    if (o === undefined || o.signal !== signal) {
      o = Object.freeze({
        hostname: this.server.hostname,
        port: this.server.port,
        tcpPort: port,
        fastOpen: true,
        signal,
      });
      this.#connectOpts.set(port, o);
    }
    return o;
  }

  /** The multiplexed session, opened (once) when needed; `undefined` when the server refused it. */
  #muxSession(): Promise<MuxSession | undefined> {
    const live = this.#mux;
    if (live !== undefined && live.alive) return Promise.resolve(live);
    this.#muxOpening ??= this.#openMux().finally(() => this.#muxOpening = undefined);
    return this.#muxOpening;
  }

  async #openMux(): Promise<MuxSession | undefined> {
    let conn;
    try {
      conn = await this.endpoint.connect(this.#connectOptions(MUX_PORT));
    } catch (e) {
      if (e instanceof Deno.errors.ConnectionRefused) {
        this.#muxRefused();
        return undefined;
      }
      throw e;
    }
    const session = new MuxSession(conn, "client");
    this.#mux = session;
    session.done.then((e) => {
      if (this.#mux === session) this.#mux = undefined;
      // with a Fast Open cookie connect resolves before the handshake: a refusal comes here
      if (e instanceof Deno.errors.ConnectionRefused) this.#muxRefused();
    });
    if (this.#closing) session.close();
    return session;
  }

  #muxRefused(): void {
    if (this.#muxMode !== "on") return;
    this.#muxMode = "refused";
    this.#log.warn(
      `server ${formatHostPort(this.server)} refused the multiplexed session (tunnel port ` +
        `${MUX_PORT}; an older tou server?): carrying each connection over its own tunnel connection`,
    );
  }

  /** `#handle` for a multiplexed client: the connection becomes a stream of the session. */
  async #handleMux(tcp: Deno.TcpConn, port: number, app: string): Promise<boolean> {
    this.#pending.add(tcp);
    let session: MuxSession | undefined;
    try {
      session = await this.#muxSession();
      // it may have ended since it opened (its connection failed, the server closed it): a
      // stream opened on it would throw or never finish; ask once more
      if (session !== undefined && !session.alive) session = await this.#muxSession();
      if (session !== undefined && !session.alive) {
        throw new Deno.errors.ConnectionReset("the multiplexed session ended at once");
      }
    } catch (e) {
      if (!this.#pending.delete(tcp)) return true; // close() has reset it already
      this.#tunnelFailed(e, port, app);
      resetTcpConn(tcp);
      return true;
    }
    if (!this.#pending.delete(tcp)) return true;
    if (session === undefined) return false; // refused: one connection per stream
    this.#startStream(session, tcp, port, app);
    return true;
  }

  /** Carries `tcp` as a new stream of `session`. */
  #startStream(session: MuxSession, tcp: Deno.TcpConn, port: number, app: string): void {
    const stream = session.open(port);
    stream.closed.then((info) => {
      if (info.reason === "refused") this.#tunnelFailed(info.error, port, app);
    });
    this.relay.start(tcp, stream, { tunnelPort: port, tcpPeer: app });
  }

  #handle(tcp: Deno.TcpConn, local: LocalListener, noDelay: boolean): void {
    const port = local.spec.tunnelPort;
    const app = formatHostPort(tcp.remoteAddr);
    if (!noDelay) tcp.setNoDelay(true);
    if (this.#muxMode !== "on") {
      void this.#handleTunnel(tcp, port, app);
      return;
    }
    const live = this.#mux;
    // the usual case: the session is up, and the stream starts without an async step
    if (live !== undefined && live.alive) this.#startStream(live, tcp, port, app);
    else {
      void this.#handleMux(tcp, port, app).then((done) =>
        done ? undefined : this.#handleTunnel(tcp, port, app)
      );
    }
  }

  /** `#handle` without multiplexing: the connection gets a tunnel connection of its own. */
  async #handleTunnel(tcp: Deno.TcpConn, port: number, app: string): Promise<void> {
    this.#pending.add(tcp);
    // TCP Fast Open: wait a moment (FIRST_BYTES_WAIT_MS at most) for the application's first
    // bytes, so that they ride on the tunnel's SYN; a server-speaks-first protocol loses only
    // that moment. The read stays pending otherwise and the relay takes its bytes later.
    const buf = new Uint8Array(FIRST_READ_SIZE);
    const result = tcp.read(buf);
    result.catch(() => {}); // its error reaches the relay's first read
    if (this.#firstBytes !== undefined) await this.#firstBytes.wait(result);
    let tunnel;
    try {
      tunnel = await this.endpoint.connect(this.#connectOptions(port));
    } catch (e) {
      if (!this.#pending.delete(tcp)) return; // close() has reset it already
      this.#tunnelFailed(e, port, app);
      resetTcpConn(tcp);
      return;
    }
    if (!this.#pending.delete(tcp)) {
      tunnel.abort(); // close() has reset the TCP side meanwhile
      return;
    }
    this.relay.start(tcp, tunnel, { tunnelPort: port, tcpPeer: app, firstRead: { result, buf } });
    // With a Fast Open cookie, connect resolved before the handshake: a refusal or a handshake
    // timeout shows up later, and gets the same diagnosis as a failed connect.
    const closed = (tunnel as { closed?: Promise<{ reason: string; error?: unknown }> }).closed;
    closed?.then((info) => {
      const handshakeFailed = info.reason === "refused" ||
        (info.reason === "timed_out" && /SYN/.test(String(info.error))); // "... SYN retransmissions"
      if (handshakeFailed) this.#tunnelFailed(info.error, port, app);
    }, () => {});
  }

  /** Counts and logs (once) a local connection whose tunnel to `port` could not be opened. */
  #tunnelFailed(error: unknown, port: number, app: string): void {
    this.relay.countConnectFailure();
    this.#log.warn(
      `cannot open tunnel to ${formatHostPort(this.server)} port ${port}: ${
        describeConnectError(error, port)
      }`,
      { tcp: app },
    );
  }
}

/** Bytes of the application's first read (what fits a SYN beside its options). */
const FIRST_READ_SIZE = 1500;
/** How long the client waits for the application's first bytes before opening the tunnel. */
export const FIRST_BYTES_WAIT_MS = 1;
