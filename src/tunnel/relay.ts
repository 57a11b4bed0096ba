/**
 * The sessions of a tunnel server or client: each pairs one kernel TCP
 * connection with one tunnel connection through a {@linkcode Pipe}. The
 * relay counts them, logs how each ended, and drains them at shutdown.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import { connSide, Pipe, type PipeResult, withFirstRead } from "./pipe.ts";
import type { TunnelConn } from "./transport.ts";

/** Which side of the tunnel a relay runs on. */
export type RelayRole = "server" | "client";

/** Counters of a relay (monotonic unless noted). */
export interface RelayCounters {
  /** Sessions started (a kernel TCP connection paired with a tunnel connection). */
  sessionsOpened: number;
  /** Sessions that ended with both directions closed normally. */
  sessionsClosed: number;
  /** Sessions that ended with a reset (either side, or the drain timeout). */
  sessionsReset: number;
  /** Connections refused before a session started (target or tunnel unreachable). */
  connectFailures: number;
  /** Bytes carried from kernel TCP into the tunnel. */
  bytesIntoTunnel: number;
  /** Bytes carried from the tunnel out to kernel TCP. */
  bytesOutOfTunnel: number;
}

/** One running session. */
export interface Session {
  /** Sequential id, for logs and `tou stat`. */
  readonly id: number;
  /** The service port inside the tunnel. */
  readonly tunnelPort: number;
  /** The kernel TCP side: the forward target (server) or the local application (client). */
  readonly tcpPeer: string;
  /** Wall-clock start, ms since the epoch. */
  readonly startedAt: number;
  /** The tunnel connection. */
  readonly conn: TunnelConn;
  /** The copy between them; `aToB` is into the tunnel. */
  readonly pipe: Pipe;
}

/** What happened to the sessions when draining. */
export interface DrainResult {
  /** Sessions that finished on their own within the timeout. */
  readonly finished: number;
  /** Sessions reset when the timeout expired. */
  readonly reset: number;
}

function errorName(e: unknown): string {
  if (e instanceof Error) return e.name;
  return String(e);
}

/**
 * Tracks sessions and their counters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Relay } from "./relay.ts";
 * import { Logger } from "./log.ts";
 * const relay = new Relay("server", new Logger({ sink: () => {} }));
 * assert.equal(relay.sessions().length, 0);
 * assert.deepEqual(await relay.drain(10), { finished: 0, reset: 0 });
 * ```
 */
export class Relay {
  /** Which side this relay runs on. */
  readonly role: RelayRole;
  /** Its counters. */
  readonly counters: RelayCounters = {
    sessionsOpened: 0,
    sessionsClosed: 0,
    sessionsReset: 0,
    connectFailures: 0,
    bytesIntoTunnel: 0,
    bytesOutOfTunnel: 0,
  };
  #log: Logger;
  #nextId = 1;
  #sessions = new Map<number, Session>();

  /**
   * Creates an empty relay.
   *
   * @param role Server or client.
   * @param log Where session events go.
   */
  constructor(role: RelayRole, log: Logger) {
    this.role = role;
    this.#log = log;
  }

  /** How many sessions are running. */
  get size(): number {
    return this.#sessions.size;
  }

  /** The running sessions, oldest first. */
  sessions(): Session[] {
    return [...this.#sessions.values()];
  }

  /**
   * Starts a session piping `tcp` and `tunnel` both ways.
   *
   * @param tcp The kernel TCP connection.
   * @param tunnel The tunnel connection.
   * @param meta The service port and a description of the TCP peer.
   * @returns The session; it removes itself when its pipe ends.
   */
  start(
    tcp: Deno.Conn,
    tunnel: TunnelConn,
    meta: {
      readonly tunnelPort: number;
      readonly tcpPeer: string;
      /** A read of `tcp` already started (Fast Open), with its buffer. */
      readonly firstRead?: { readonly result: Promise<number | null>; readonly buf: Uint8Array };
    },
  ): Session {
    const id = this.#nextId++;
    let tcpSide = connSide(tcp, `tcp ${meta.tcpPeer}`);
    const first = meta.firstRead;
    if (first !== undefined) tcpSide = withFirstRead(tcpSide, first.result, first.buf);
    const pipe = new Pipe(tcpSide, connSide(tunnel, "tunnel"));
    const session: Session = {
      id,
      tunnelPort: meta.tunnelPort,
      tcpPeer: meta.tcpPeer,
      startedAt: Date.now(),
      conn: tunnel,
      pipe,
    };
    this.#sessions.set(id, session);
    this.counters.sessionsOpened++;
    if (this.#log.enabled("info")) {
      this.#log.info("session opened", { id, port: meta.tunnelPort, tcp: meta.tcpPeer });
    }
    pipe.done.then((r) => this.#ended(session, r));
    // A tunnel connection that dies (dead peer, reset) resets the kernel side at once, even
    // when neither copy is reading from the tunnel (e.g. the application stopped reading).
    const closed = (tunnel as { closed?: Promise<{ reason: string; error?: unknown }> }).closed;
    closed?.then((info) => {
      if (info.reason !== "closed") pipe.fail("b", info.error ?? new Error(info.reason));
    }, () => {});
    return session;
  }

  /** Counts a connection that could not be paired (its reason is logged by the caller). */
  countConnectFailure(): void {
    this.counters.connectFailures++;
  }

  /**
   * Waits up to `timeoutMs` for every session to finish, then resets the
   * rest.
   *
   * @param timeoutMs How long open streams may keep flowing.
   * @returns How many finished and how many were reset.
   */
  async drain(timeoutMs: number): Promise<DrainResult> {
    const pending = this.sessions();
    if (pending.length === 0) return { finished: 0, reset: 0 };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    await Promise.race([Promise.all(pending.map((s) => s.pipe.done)), expired]);
    clearTimeout(timer);
    let reset = 0;
    for (const s of pending) {
      if (!s.pipe.ended) {
        reset++;
        s.pipe.reset("drain timeout");
      }
    }
    await Promise.all(pending.map((s) => s.pipe.done));
    return { finished: pending.length - reset, reset };
  }

  /** Resets every session at once. */
  resetAll(reason: string): void {
    for (const s of this.#sessions.values()) s.pipe.reset(reason);
  }

  #ended(s: Session, r: PipeResult): void {
    this.#sessions.delete(s.id);
    this.counters.bytesIntoTunnel += r.aToB;
    this.counters.bytesOutOfTunnel += r.bToA;
    if (r.outcome === "closed") {
      this.counters.sessionsClosed++;
      if (this.#log.enabled("info")) this.#log.info("session closed", sessionFields(s, r));
      return;
    }
    const fields = sessionFields(s, r);
    this.counters.sessionsReset++;
    const by = r.resetBy === "a" ? "tcp side" : r.resetBy === "b" ? "tunnel side" : "local";
    this.#log.info(`session reset by ${by}`, {
      ...fields,
      error: r.resetBy === "local" ? String(r.error) : errorName(r.error),
    });
  }
}

function sessionFields(s: Session, r: PipeResult) {
  return {
    id: s.id,
    port: s.tunnelPort,
    tcp: s.tcpPeer,
    in: r.aToB,
    out: r.bToA,
    ms: Date.now() - s.startedAt,
  };
}
