/**
 * The stack's handle on one connection: the application-facing side of a
 * {@linkcode TcpConnection} whose segments and timers the stack drives.
 *
 * @module
 */

import type { TcpConnection } from "../tcp/connection.ts";
import type { TcpEvent } from "../tcp/events.ts";
import type { TcpInfo } from "../tcp/info.ts";
import type { TcpState } from "../tcp/state.ts";
import type { DatagramAddr } from "../udp/datagram_socket.ts";

// What a handle's user sees of the TCP core: its events, info and states
// (src/net reaches TCP through this handle only).
export type { TcpEvent, TcpInfo, TcpState };

/** What a handle needs from its stack: run the connection after an app call. */
export interface ConnectionDriver {
  /** Drains transmit/events and re-arms timers for `conn`. */
  process(conn: StackConnection): void;
  /**
   * As `process`, at the end of the current I/O batch when the runtime can
   * defer (else now): for writes, so that what one task writes leaves
   * together and a half-close in that task puts the FIN on the last data
   * segment.
   */
  processSoon(conn: StackConnection): void;
  /** The runtime's current time, passed to app calls that can arm timers. */
  now(): number;
}

/** Identifies a connection: remote datagram address and both TCP ports. */
export interface FourTuple {
  /** The peer's UDP address. */
  readonly remote: DatagramAddr;
  /** Our TCP port. */
  readonly localPort: number;
  /** The peer's TCP port. */
  readonly remotePort: number;
}

/** Key of a remote datagram address in demux tables. */
export function addrKey(addr: DatagramAddr): string {
  return `${addr.hostname}|${addr.port}`;
}

/** Key of a 4-tuple in demux tables. */
export function tupleKey(remote: DatagramAddr, localPort: number, remotePort: number): string {
  return `${remote.hostname}|${remote.port}|${localPort}|${remotePort}`;
}

/**
 * The numeric demux key of a 4-tuple within one remote IP address: the
 * remote UDP port, our TCP port and the peer's TCP port packed into one
 * integer below 2^48 (exact in a double). The stack looks a connection up
 * by the remote hostname, then by this number: no key string is built per
 * datagram.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { portsKey } from "./stack_connection.ts";
 * assert.equal(portsKey(1, 2, 3), 2 ** 32 + 2 * 65536 + 3);
 * assert.notEqual(portsKey(7000, 22, 40000), portsKey(7000, 40000, 22));
 * ```
 */
export function portsKey(udpPort: number, localPort: number, remotePort: number): number {
  return udpPort * 0x1_0000_0000 + localPort * 0x1_0000 + remotePort;
}

/** Formats a 4-tuple for messages, e.g. `127.0.0.1:7000 tcp 40000→22`. */
export function formatTuple(t: FourTuple): string {
  const host = t.remote.hostname.includes(":") ? `[${t.remote.hostname}]` : t.remote.hostname;
  return `${host}:${t.remote.port} tcp ${t.localPort}→${t.remotePort}`;
}

/**
 * A connection owned by a {@linkcode Stack}. App calls go through here so
 * that the stack can send what they produce right away.
 */
export class StackConnection implements FourTuple {
  /** The state machine. */
  readonly tcp: TcpConnection;
  /** The peer's UDP address. */
  readonly remote: DatagramAddr;
  /** Our TCP port. */
  readonly localPort: number;
  /** The peer's TCP port. */
  readonly remotePort: number;
  /** Demux key within the remote hostname ({@linkcode portsKey}). */
  readonly key: number;
  /** Listener port this connection came from, for passive opens. */
  readonly listenerPort: number | undefined;
  /** Called for every event of the connection, after the stack's own handling. */
  onEvent: ((event: TcpEvent) => void) | undefined;
  /** The last error event, if any. */
  error: { kind: string; detail: string } | undefined;
  /** True once the connection reached CLOSED and left the stack. */
  released = false;
  /** Waiting in the stack's end-of-batch list for its output to be drained. */
  deferred = false;
  /** True while still in a listener's SYN queue. */
  embryonic: boolean;
  /** Took a Fast Open SYN's data and has not completed its handshake: counts in its listener's `fastOpenPending`. */
  fastOpenPending = false;
  /** @internal counted by the stack's connection caps (a passive one, not yet in TIME_WAIT). */
  capped = false;
  /** @internal the buffer share last applied by the stack's memory budget. */
  memoryShare = Number.POSITIVE_INFINITY;
  /** @internal earliest deadline this connection has in the stack's timer queue. */
  queuedDeadline = Number.POSITIVE_INFINITY;
  #driver: ConnectionDriver;

  /** Wraps `tcp`; used by the stack only. */
  constructor(
    driver: ConnectionDriver,
    tcp: TcpConnection,
    remote: DatagramAddr,
    listenerPort: number | undefined,
  ) {
    this.#driver = driver;
    this.tcp = tcp;
    this.remote = remote;
    this.localPort = tcp.localPort;
    this.remotePort = tcp.remotePort;
    this.key = portsKey(remote.port, tcp.localPort, tcp.remotePort);
    this.listenerPort = listenerPort;
    this.embryonic = listenerPort !== undefined;
  }

  /** The RFC 9293 state. */
  get state(): TcpState {
    return this.tcp.state;
  }

  /** Bytes ready to read. */
  get readable(): number {
    return this.tcp.readable;
  }

  /** Free send-buffer space. */
  get writable(): number {
    return this.tcp.writable;
  }

  /** Queues bytes; returns how many were taken (0 when the send buffer is full). */
  write(data: Uint8Array): number {
    const n = this.tcp.write(data);
    if (n > 0) this.#driver.processSoon(this);
    else this.#driver.process(this);
    return n;
  }

  /**
   * Copies received bytes into `into`: count, 0 when nothing yet, -1 at EOF.
   * Works after release too (bytes a finished connection still holds stay
   * readable). A live connection is driven only when the read made output
   * due at once: a window update (RFC 1122 4.2.3.3; the core asks for it
   * with an urgent ACK). A read that opened the window by less, the usual
   * small request or response, changes nothing a drain would send, arm or
   * report, and skips it (one drain fewer per request and side).
   */
  read(into: Uint8Array): number {
    const n = this.tcp.read(into);
    if (n > 0 && !this.released && this.tcp.outputUrgent) this.#driver.process(this);
    return n;
  }

  /** Whether the SYN waits for Fast Open data (`connect` with `fastOpen.holdSyn` and a cookie). */
  get synHeld(): boolean {
    return this.tcp.synHeld;
  }

  /** Sends a SYN held for Fast Open data (nothing was written in time). */
  releaseSyn(): void {
    this.tcp.releaseSyn();
    if (!this.released) this.#driver.process(this);
  }

  /** Half-close (SHUT_WR): FIN after the queued data. */
  closeWrite(): void {
    this.tcp.closeWrite(this.#driver.now());
    this.#driver.process(this);
  }

  /** SHUT_RD: stop reading; further data is discarded. Works after release too. */
  shutdownRead(): void {
    this.tcp.shutdownRead();
    if (!this.released) this.#driver.process(this);
  }

  /** Full close; the stack finishes the close (FIN_WAIT, TIME_WAIT) on its own. */
  close(): void {
    this.tcp.close(this.#driver.now());
    this.#driver.process(this);
  }

  /** Abortive close: RST now, no TIME_WAIT. */
  abort(): void {
    this.tcp.abort(this.#driver.now());
    this.#driver.process(this);
  }

  /** TCP_NODELAY. */
  setNoDelay(on: boolean): void {
    this.tcp.setNoDelay(on);
    this.#driver.process(this);
  }

  /** SO_KEEPALIVE with optional idle/interval/count. */
  setKeepAlive(
    on: boolean,
    opts?: { idle?: number; interval?: number; count?: number },
  ): void {
    this.tcp.setKeepAlive(this.#driver.now(), on, opts);
    this.#driver.process(this);
  }

  /** TCP_INFO-like figures, with the armed timers and the ms they have left. */
  info(): TcpInfo {
    return this.tcp.info(this.#driver.now());
  }
}
