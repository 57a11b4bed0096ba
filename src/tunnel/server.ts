/**
 * The tunnel server: listens on UDP, accepts tunnel connections on each
 * configured service port and connects each to that service's one TCP
 * target. Nothing else is reachable: a tunnel port without a forward has no
 * listener, so a SYN to it is answered with a RST by the stack (never an
 * open relay).
 *
 * @module
 */

import { LimitReporter, type SessionLimitOptions } from "./session_limits.ts";
import { type CipherChoice, sendingAead } from "../seal/cipher_choice.ts";
import type { TouOptions } from "../net/mod.ts";
import { formatHostPort, type ForwardSpec, type HostPort } from "./address.ts";
import { describeError } from "./errors.ts";
import { Logger } from "./log.ts";
import { type DrainResult, Relay } from "./relay.ts";
import type {
  EndpointFactory,
  TunnelAddr,
  TunnelConn,
  TunnelEndpoint,
  TunnelListener,
} from "./transport.ts";
import { openTouEndpoint } from "./tou_endpoint.ts";
import { tunnelTcp } from "./dead_peer.ts";
import { SharedTimeoutSignals } from "./timeout_signals.ts";
import { ConnectGate } from "./connect_gate.ts";
import { MUX_PORT } from "./mux_frame.ts";
import { closeMuxSessions, MuxSession } from "./mux_session.ts";
import type { MuxStream } from "./mux_stream.ts";

export { describeError } from "./errors.ts";

/** Longest wait for the last FIN exchanges when closing (ms). */
const GRACE_MAX_MS = 2_000;
/** Shortest wait for them, even when the drain used up its time (ms). */
const GRACE_MIN_MS = 200;

/** Options of {@linkcode TunnelServer.start}. */
export interface TunnelServerOptions extends SessionLimitOptions {
  /** UDP address to listen on (port 0 picks one). */
  readonly listen: HostPort;
  /** The services: tunnel port → TCP target. */
  readonly forwards: readonly ForwardSpec[];
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
  /** Logger; default: text at info level on stderr. */
  readonly logger?: Logger;
  /** Opens the endpoint; default the real tou endpoint. */
  readonly openEndpoint?: EndpointFactory;
  /** How long connecting to a target may take before the tunnel connection is reset. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /**
   * Log "server listening" at once (default true). False: the caller calls
   * {@linkcode TunnelServer.announce} once everything else it needs is up.
   */
  readonly announce?: boolean;
  /**
   * Share the UDP port with other server processes (SO_REUSEPORT, kernel UDP
   * backend only): one worker of `tou server --workers`. Default false.
   */
  readonly udpReusePort?: boolean;
}

const targetTimeouts = new SharedTimeoutSignals((ms) =>
  new Deno.errors.TimedOut(`timed out after ${ms} ms`)
);

/**
 * Connects to a TCP target, rejecting after `timeoutMs` (plus at most a
 * tenth, ≤ 100 ms): the connects of one such window share one abort signal
 * and its timer (`timeout_signals.ts`), not a timer and a race each.
 */
export function connectWithTimeout(target: HostPort, timeoutMs: number): Promise<Deno.TcpConn> {
  return Deno.connect({
    hostname: target.hostname,
    port: target.port,
    signal: targetTimeouts.get(timeoutMs),
  });
}

/** A forward as the server serves it. */
interface Service {
  readonly f: ForwardSpec;
  /** `f.target` formatted once, not per connection. */
  readonly target: string;
  /** Paces the connects to the target (`connect_gate.ts`). */
  readonly gate: ConnectGate;
}

/**
 * A running tunnel server.
 *
 * @example Serve one service (see tests/tunnel for full round trips)
 * ```ts ignore
 * const server = await TunnelServer.start({
 *   listen: { hostname: "0.0.0.0", port: 7000 },
 *   forwards: [{ tunnelPort: 22, target: { hostname: "127.0.0.1", port: 22 } }],
 * });
 * await server.close({ drainTimeoutMs: 10_000 });
 * ```
 */
export class TunnelServer {
  /** The tou endpoint. */
  readonly endpoint: TunnelEndpoint;
  /** Sessions and counters. */
  readonly relay: Relay;
  /** The services. */
  readonly forwards: readonly ForwardSpec[];
  #log: Logger;
  #listeners: TunnelListener[] = [];
  #loops: Promise<void>[] = [];
  #pendingConnects = new Set<TunnelConn>();
  #connectTimeoutMs: number;
  #closing = false;
  #encrypted = false;
  #cipherName = "none";
  #reporter: LimitReporter | undefined;
  /** Service port → forward, for streams of multiplexed sessions. */
  #byPort = new Map<number, Service>();
  /** Open multiplexed sessions. */
  #muxSessions = new Set<MuxSession>();
  /** Sessions (streams included) at most, as `--max-sessions`; 0 none. */
  #maxSessions = 0;
  /** Streams of one multiplexed session at most, as `--max-sessions-per-client`; 0 none. */
  #maxStreamsPerMux = 0;
  /** When a stream refused by a limit was last logged (ms). */
  #limitLoggedAt = -Infinity;

  private constructor(
    endpoint: TunnelEndpoint,
    forwards: readonly ForwardSpec[],
    log: Logger,
    connectTimeoutMs: number,
  ) {
    this.endpoint = endpoint;
    this.forwards = forwards;
    this.#log = log;
    this.relay = new Relay("server", log);
    this.#connectTimeoutMs = connectTimeoutMs;
    for (const f of forwards) {
      this.#byPort.set(f.tunnelPort, {
        f,
        target: formatHostPort(f.target),
        gate: new ConnectGate(),
      });
    }
  }

  /**
   * Opens the endpoint and starts listening on every service port.
   *
   * @param opts Address, services, key, tunables.
   * @returns The running server.
   */
  static async start(opts: TunnelServerOptions): Promise<TunnelServer> {
    const log = opts.logger ?? new Logger();
    if (opts.forwards.some((f) => f.tunnelPort === MUX_PORT)) {
      throw new RangeError(
        `tunnel port ${MUX_PORT} is reserved for multiplexed sessions (tou client --mux)`,
      );
    }
    const open = opts.openEndpoint ?? openTouEndpoint;
    const tcp = tunnelTcp(opts.tcp, opts);
    const endpoint = await open({
      hostname: opts.listen.hostname,
      port: opts.listen.port,
      key: opts.key,
      cipher: opts.cipher,
      tcp,
      logger: log,
      role: "responder",
      hold: true, // no datagram is read before the listeners below exist (startup race)
      ...(opts.udpReusePort ? { udpReusePort: true } : {}),
    });
    const server = new TunnelServer(endpoint, opts.forwards, log, opts.connectTimeoutMs ?? 10_000);
    server.#maxSessions = tcp.maxConnections ?? 0;
    server.#maxStreamsPerMux = tcp.maxConnectionsPerAddr ?? 0;
    const metrics = (endpoint as { metrics?: () => Record<string, number> }).metrics;
    if (typeof metrics === "function") {
      // refusals by the session caps and the memory budget, rate-limited (session_limits.ts)
      server.#reporter = new LimitReporter(() => metrics.call(endpoint), (m) => log.warn(m), {
        maxSessions: tcp.maxConnections ?? 0,
        maxSessionsPerClient: tcp.maxConnectionsPerAddr ?? 0,
        memoryBudgetBytes: tcp.memoryBudget ?? 0,
      }).start();
    }
    try {
      for (const f of opts.forwards) {
        const listener = endpoint.listen({ tcpPort: f.tunnelPort });
        server.#listeners.push(listener);
        server.#loops.push(server.#acceptLoop(listener, f));
      }
      // Multiplexed sessions (tou client --mux) on the reserved port: their streams reach
      // the same services, and only those.
      const mux = endpoint.listen({ tcpPort: MUX_PORT });
      server.#listeners.push(mux);
      server.#loops.push(server.#muxLoop(mux));
    } catch (e) {
      server.#reporter?.close();
      for (const l of server.#listeners) l.close();
      await endpoint.close();
      throw e;
    }
    // Now the service ports have listeners: SYNs that arrived while starting get SYN-ACKs.
    endpoint.serve?.();
    server.#encrypted = opts.key !== undefined;
    server.#cipherName = sendingAead(opts.cipher).name;
    if (opts.announce ?? true) server.announce();
    return server;
  }

  /** Logs "server listening" with the address, the services and the cipher. */
  announce(): void {
    this.#log.info("server listening", {
      udp: formatHostPort(this.endpoint.addr),
      forward: this.forwards.map((f) => `${f.tunnelPort}=${formatHostPort(f.target)}`).join(","),
      encrypted: this.#encrypted,
      cipher: this.#encrypted ? this.#cipherName : "none",
    });
  }

  /** The bound UDP address. */
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
    this.#reporter?.close();
    for (const l of this.#listeners) l.close();
    for (const c of this.#pendingConnects) c.abort();
    await Promise.all(this.#loops);
    // The drain timeout bounds the whole shutdown: the FIN exchanges of the
    // last sessions get what is left of it (at most 2 s), not 2 s more.
    const deadline = performance.now() + (opts.drainTimeoutMs ?? 0);
    const result = await this.relay.drain(opts.drainTimeoutMs ?? 0);
    const left = () => Math.max(GRACE_MIN_MS, Math.min(GRACE_MAX_MS, deadline - performance.now()));
    // A multiplexed session may still hold its streams' last frames: they go out first.
    await closeMuxSessions(this.#muxSessions, left());
    await this.endpoint.close({ graceMs: left() });
    return result;
  }

  async #acceptLoop(listener: TunnelListener, f: ForwardSpec): Promise<void> {
    const svc = this.#byPort.get(f.tunnelPort)!;
    try {
      for await (const conn of listener) {
        if (this.#closing) {
          conn.abort();
          continue;
        }
        this.#handle(conn, svc);
      }
    } catch (e) {
      if (!this.#closing) {
        this.#log.error("accept failed", { port: f.tunnelPort, error: describeError(e) });
      }
    }
  }

  /** Open multiplexed sessions (each carries streams of one `tou client --mux`). */
  get muxSessions(): number {
    return this.#muxSessions.size;
  }

  async #muxLoop(listener: TunnelListener): Promise<void> {
    try {
      for await (const conn of listener) {
        if (this.#closing) {
          conn.abort();
          continue;
        }
        const session = new MuxSession(conn, "server", (s) => this.#onMuxStream(s, session));
        this.#muxSessions.add(session);
        session.done.then(() => this.#muxSessions.delete(session));
      }
    } catch (e) {
      if (!this.#closing) {
        this.#log.error("accept failed", { port: MUX_PORT, error: describeError(e) });
      }
    }
  }

  #onMuxStream(s: MuxStream, session: MuxSession): void {
    const svc = this.#byPort.get(s.tunnelPort);
    if (svc === undefined) {
      // as a SYN to a port without a listener: refused, never an open relay
      s.refuse();
      return;
    }
    if (this.#closing) {
      s.abort();
      return;
    }
    // The session limits hold for streams as for tunnel connections: a reset at once.
    const over =
      this.#maxSessions > 0 && this.relay.size + this.#pendingConnects.size >= this.#maxSessions
        ? `the server holds --max-sessions (${this.#maxSessions})`
        : this.#maxStreamsPerMux > 0 && session.streams > this.#maxStreamsPerMux
        ? `a multiplexed session holds --max-sessions-per-client (${this.#maxStreamsPerMux}) streams`
        : undefined;
    if (over !== undefined) {
      this.relay.countConnectFailure();
      const now = performance.now();
      if (now - this.#limitLoggedAt >= 1000) {
        this.#limitLoggedAt = now;
        this.#log.warn(`refusing new streams: ${over}`, { peer: describePeer(session.conn) });
      }
      s.abort();
      return;
    }
    this.#handle(s, svc);
  }

  async #handle(conn: TunnelConn, svc: Service): Promise<void> {
    const { f, target } = svc;
    this.#pendingConnects.add(conn);
    let tcp: Deno.TcpConn;
    const gate = svc.gate;
    let ticket = gate.enter();
    if (ticket instanceof Promise) ticket = await ticket;
    try {
      tcp = await connectWithTimeout(f.target, this.#connectTimeoutMs);
    } catch (e) {
      this.#pendingConnects.delete(conn);
      this.relay.countConnectFailure();
      // The one log line about this failure; the client only sees the reset.
      this.#log.warn(`cannot reach forward target ${target}: ${describeError(e)}`, {
        port: f.tunnelPort,
        peer: describePeer(conn),
      });
      conn.abort();
      return;
    } finally {
      gate.leave(ticket);
    }
    this.#pendingConnects.delete(conn);
    if (this.#closing) {
      tcp.close();
      conn.abort();
      return;
    }
    tcp.setNoDelay(true);
    this.relay.start(tcp, conn, { tunnelPort: f.tunnelPort, tcpPeer: target });
  }
}

function describePeer(conn: TunnelConn): string {
  const t = (conn as { tuple?: { remote: { hostname: string; port: number; tcpPort: number } } })
    .tuple;
  if (t) return `${formatHostPort(t.remote)}/${t.remote.tcpPort}`;
  const r = conn.remoteAddr as Deno.NetAddr;
  return `${r.hostname}:${r.port}`;
}
