/**
 * A simulated IP network of UDP sockets on a {@linkcode VirtualClock}:
 * addresses, per-direction impaired links, ICMP-like port-unreachable
 * notices, a trace of every datagram and counters.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import type { DatagramAddr } from "../udp/datagram_socket.ts";
import { AddrInUseError } from "../udp/errors.ts";
import { freezeAddr } from "./_addr.ts";
import {
  Link,
  type LinkConfig,
  type LinkDropReason,
  type LinkSink,
  validateLinkConfig,
} from "./link.ts";
import { deriveSeed, Prng } from "./prng.ts";
import { type SimSocketHost, SimUdpSocket } from "./sim_udp_socket.ts";
import {
  DROP_REASONS,
  type DropReason,
  formatAddr,
  Trace,
  type TraceKind,
  type TraceOptions,
} from "./trace.ts";
import type { VirtualClock } from "./virtual_clock.ts";

/** Options of {@linkcode SimNetwork}. */
export interface SimNetworkOptions {
  /** Seed of every link's random stream. Default 1. */
  readonly seed?: number;
  /** Trace ring size (`{ capacity: 0 }` disables tracing). */
  readonly trace?: TraceOptions;
  /** Describes a payload for `send` trace records (e.g. decoded TCP flags and sequence numbers). */
  readonly describe?: (data: Uint8Array) => string;
  /** Per-socket pull-mode queue limit in datagrams. Default 4096. */
  readonly recvQueueLimit?: number;
}

/** Counters of a {@linkcode SimNetwork} (or of one link direction). */
export interface SimStats {
  /** Datagrams sent by sockets. */
  sent: number;
  /** Bytes sent by sockets. */
  bytesSent: number;
  /** Copies handed to a bound socket (including duplicates). */
  delivered: number;
  /** Bytes handed to bound sockets. */
  bytesDelivered: number;
  /** Datagrams and copies dropped, all reasons. */
  dropped: number;
  /** Drops by reason. */
  drops: Record<DropReason, number>;
  /** Extra copies made by duplication. */
  duplicated: number;
  /** Copies with one bit flipped. */
  corrupted: number;
  /** Copies held back by explicit reordering. */
  reordered: number;
  /** Copies that arrived where nothing was bound. */
  unreachable: number;
  /** Port-unreachable notices reported as ConnectionRefusedError (connected senders). */
  refused: number;
  /** Notices ignored (sender unconnected, connected elsewhere, gone, or without error handler). */
  refusedIgnored: number;
  /** Notices lost because the reverse link was partitioned. */
  noticesLost: number;
}

/** A zeroed {@linkcode SimStats}. */
export function emptyStats(): SimStats {
  const drops = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) drops[r] = 0;
  return {
    sent: 0,
    bytesSent: 0,
    delivered: 0,
    bytesDelivered: 0,
    dropped: 0,
    drops,
    duplicated: 0,
    corrupted: 0,
    reordered: 0,
    unreachable: 0,
    refused: 0,
    refusedIgnored: 0,
    noticesLost: 0,
  };
}

/** The plain counters of {@linkcode SimStats}. */
type Counter = Exclude<keyof SimStats, "drops">;

function copyStats(s: SimStats): SimStats {
  return { ...s, drops: { ...s.drops } };
}

interface LinkEntry {
  readonly fromHost: string;
  readonly toHost: string;
  readonly link: Link;
  readonly stats: SimStats;
}

const FIRST_EPHEMERAL = 49152;
const LAST_EPHEMERAL = 65535;

/**
 * A simulated network. Hosts are hostnames (IP literals by convention);
 * each direction between two hosts is a {@linkcode Link} whose impairments
 * come from the most specific `setLink` pattern: exact `(from, to)`, then
 * `(from, "*")`, then `("*", to)`, then `("*", "*")`, else a perfect
 * zero-delay link.
 *
 * A datagram arriving at an address where nothing is bound produces a
 * port-unreachable notice that travels back along the reverse link's
 * `delay` (lost if the reverse link is partitioned at that moment) and is
 * reported to the sender socket by its connected-UDP rules.
 *
 * Same seed and same inputs give the same trace, byte for byte.
 *
 * @example Loss on one direction
 * ```ts
 * import assert from "node:assert/strict";
 * import { SimNetwork } from "./sim_network.ts";
 * import { VirtualClock } from "./virtual_clock.ts";
 * const clock = new VirtualClock();
 * const net = new SimNetwork(clock, { seed: 7 });
 * net.setLink("10.0.0.1", "10.0.0.2", { loss: 1, delay: 3 });
 * const a = net.bind({ hostname: "10.0.0.1", port: 1000 });
 * const b = net.bind({ hostname: "10.0.0.2", port: 2000 });
 * a.send(new Uint8Array(10), b.localAddr);
 * clock.runUntilIdle();
 * assert.equal(net.stats().drops.loss, 1);
 * assert.equal(b.queued, 0);
 * ```
 */
export class SimNetwork {
  #clock: VirtualClock;
  #seed: number;
  #trace: Trace;
  #describe: ((data: Uint8Array) => string) | undefined;
  #recvQueueLimit: number | undefined;
  #sockets = new Map<string, Map<number, SimUdpSocket>>();
  #nextEphemeral = new Map<string, number>();
  #configs = new Map<string, Map<string, LinkConfig>>();
  #links = new Map<string, Map<string, LinkEntry>>();
  #stats = emptyStats();
  #nextId = 1;
  #host: SimSocketHost;
  // Per-transmit context for the shared sink (transmit reports synchronously).
  #cur: { id: number; from: DatagramAddr; to: DatagramAddr; size: number; entry: LinkEntry };
  #sink: LinkSink;

  /**
   * Creates an empty network (no sockets, perfect links).
   *
   * @param clock The virtual clock that carries every datagram.
   * @param opts Seed, trace capacity, payload describer, queue limit.
   */
  constructor(clock: VirtualClock, opts: SimNetworkOptions = {}) {
    this.#clock = clock;
    this.#seed = opts.seed ?? 1;
    this.#trace = new Trace(opts.trace);
    this.#describe = opts.describe;
    this.#recvQueueLimit = opts.recvQueueLimit;
    this.#host = {
      transmit: (socket, data, to) => this.#transmit(socket, data, to),
      release: (socket) => this.#release(socket),
    };
    const none = { hostname: "", port: 0 };
    this.#cur = { id: 0, from: none, to: none, size: 0, entry: undefined as unknown as LinkEntry };
    this.#sink = {
      drop: (reason) => this.#onLinkDrop(reason),
      deliver: (at, data, duplicate, flippedBit, heldBack) =>
        this.#onLinkDeliver(at, data, duplicate, flippedBit, heldBack),
    };
  }

  /** The clock this network runs on. */
  get clock(): VirtualClock {
    return this.#clock;
  }

  /** The seed (print it to replay a run). */
  get seed(): number {
    return this.#seed;
  }

  /** The datagram log. */
  get trace(): Trace {
    return this.#trace;
  }

  /**
   * Binds a socket. Port 0 picks the next free ephemeral port of that host,
   * from 49152 up (wrapping).
   *
   * @throws {AddrInUseError} when the address (or every ephemeral port) is taken.
   * @throws {RangeError} for a malformed address.
   */
  bind(addr: DatagramAddr): SimUdpSocket {
    const { hostname, port } = addr;
    if (typeof hostname !== "string" || hostname.length === 0) {
      throw new RangeError("SimNetwork.bind: hostname must be a non-empty string");
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`SimNetwork.bind: port must be an integer in 0..65535, got ${port}`);
    }
    let ports = this.#sockets.get(hostname);
    if (ports === undefined) {
      ports = new Map();
      this.#sockets.set(hostname, ports);
    }
    let chosen = port;
    if (port === 0) {
      chosen = this.#ephemeral(hostname, ports);
    } else if (ports.has(port)) {
      throw new AddrInUseError(
        `Cannot bind ${formatAddr({ hostname, port })}: address already in use`,
      );
    }
    const socket = new SimUdpSocket(
      this.#host,
      { hostname, port: chosen },
      { recvQueueLimit: this.#recvQueueLimit },
    );
    ports.set(chosen, socket);
    return socket;
  }

  /** Whether a socket is bound at `addr`. */
  isBound(addr: DatagramAddr): boolean {
    return this.#sockets.get(addr.hostname)?.has(addr.port) ?? false;
  }

  /**
   * Sets the impairments of the direction `fromHost → toHost` ("*" matches
   * any host). Links already in use keep their dynamic state (queue, burst
   * state, random stream) and take the new settings at once.
   *
   * @throws {RangeError} for an invalid configuration.
   */
  setLink(fromHost: string, toHost: string, cfg: LinkConfig): void {
    validateLinkConfig(cfg);
    let m = this.#configs.get(fromHost);
    if (m === undefined) {
      m = new Map();
      this.#configs.set(fromHost, m);
    }
    m.set(toHost, cfg);
    for (const row of this.#links.values()) {
      for (const e of row.values()) e.link.config = this.linkConfig(e.fromHost, e.toHost);
    }
  }

  /** Sets the same impairments on both directions between `hostA` and `hostB`. */
  setPath(hostA: string, hostB: string, cfg: LinkConfig): void {
    this.setLink(hostA, hostB, cfg);
    this.setLink(hostB, hostA, cfg);
  }

  /** The configuration in force for `fromHost → toHost` (most specific pattern). */
  linkConfig(fromHost: string, toHost: string): LinkConfig {
    const exact = this.#configs.get(fromHost);
    const any = this.#configs.get("*");
    return exact?.get(toHost) ?? exact?.get("*") ?? any?.get(toHost) ?? any?.get("*") ?? {};
  }

  /** A snapshot of the network-wide counters. */
  stats(): SimStats {
    return copyStats(this.#stats);
  }

  /** A snapshot of the counters of the direction `fromHost → toHost` (zeros if unused). */
  linkStats(fromHost: string, toHost: string): SimStats {
    const e = this.#links.get(fromHost)?.get(toHost);
    return e === undefined ? emptyStats() : copyStats(e.stats);
  }

  #ephemeral(hostname: string, ports: Map<number, SimUdpSocket>): number {
    let p = this.#nextEphemeral.get(hostname) ?? FIRST_EPHEMERAL;
    for (let tries = 0; tries <= LAST_EPHEMERAL - FIRST_EPHEMERAL; tries++) {
      const candidate = p;
      p = p === LAST_EPHEMERAL ? FIRST_EPHEMERAL : p + 1;
      if (!ports.has(candidate)) {
        this.#nextEphemeral.set(hostname, p);
        return candidate;
      }
    }
    throw new AddrInUseError(
      `Cannot bind ${formatAddr({ hostname, port: 0 })}: no free ephemeral port`,
    );
  }

  #lookup(addr: DatagramAddr): SimUdpSocket | undefined {
    return this.#sockets.get(addr.hostname)?.get(addr.port);
  }

  #release(socket: SimUdpSocket): void {
    const { hostname, port } = socket.localAddr;
    const ports = this.#sockets.get(hostname);
    if (ports?.get(port) === socket) ports.delete(port);
  }

  #entry(fromHost: string, toHost: string): LinkEntry {
    let row = this.#links.get(fromHost);
    if (row === undefined) {
      row = new Map();
      this.#links.set(fromHost, row);
    }
    let e = row.get(toHost);
    if (e === undefined) {
      const prng = new Prng(deriveSeed(this.#seed, `${fromHost}>${toHost}`));
      e = {
        fromHost,
        toHost,
        link: new Link(this.linkConfig(fromHost, toHost), prng),
        stats: emptyStats(),
      };
      row.set(toHost, e);
    }
    return e;
  }

  #record(
    time: Instant,
    kind: TraceKind,
    id: number,
    from: DatagramAddr,
    to: DatagramAddr,
    size: number,
    reason?: string,
    info?: string,
  ): void {
    this.#trace.add(time, kind, id, from, to, size, reason, info);
  }

  #count(entry: LinkEntry, key: Counter, n = 1): void {
    this.#stats[key] += n;
    entry.stats[key] += n;
  }

  #drop(entry: LinkEntry, reason: DropReason): void {
    this.#stats.dropped++;
    this.#stats.drops[reason]++;
    entry.stats.dropped++;
    entry.stats.drops[reason]++;
  }

  #transmit(socket: SimUdpSocket, data: Uint8Array, dest: DatagramAddr): void {
    const now = this.#clock.now();
    const from = socket.localAddr;
    // Addresses handed out by the simulator (localAddr, remoteAddr, `from`) are frozen: reuse them.
    const to = Object.isFrozen(dest) ? dest : freezeAddr(dest);
    const id = this.#nextId++;
    const size = data.length;
    const entry = this.#entry(from.hostname, to.hostname);
    this.#count(entry, "sent");
    this.#count(entry, "bytesSent", size);
    if (this.#trace.enabled) {
      const info = this.#describe?.(data);
      this.#trace.add(now, "send", id, from, to, size, undefined, info);
    }
    const cur = this.#cur;
    cur.id = id;
    cur.from = from;
    cur.to = to;
    cur.size = size;
    cur.entry = entry;
    entry.link.transmit(now, data.slice(), this.#sink);
  }

  #onLinkDrop(reason: LinkDropReason): void {
    const { id, from, to, size, entry } = this.#cur;
    this.#drop(entry, reason);
    this.#record(this.#clock.now(), "drop", id, from, to, size, reason);
  }

  #onLinkDeliver(
    at: Instant,
    data: Uint8Array,
    duplicate: boolean,
    flippedBit: number,
    heldBack: number,
  ): void {
    const { id, from, to, size, entry } = this.#cur;
    const now = this.#clock.now();
    if (duplicate) {
      this.#count(entry, "duplicated");
      this.#record(now, "dup", id, from, to, size);
    }
    if (flippedBit >= 0) {
      this.#count(entry, "corrupted");
      this.#record(now, "corrupt", id, from, to, size, `bit ${flippedBit}`);
    }
    if (heldBack > 0) {
      this.#count(entry, "reordered");
      this.#record(now, "reorder", id, from, to, size, `+${heldBack} ms`);
    }
    this.#clock.schedule(at, () => this.#arrive(id, from, to, data, entry));
  }

  #arrive(
    id: number,
    from: DatagramAddr,
    to: DatagramAddr,
    data: Uint8Array,
    entry: LinkEntry,
  ): void {
    const now = this.#clock.now();
    const size = data.length;
    const socket = this.#lookup(to);
    if (socket === undefined) {
      this.#count(entry, "unreachable");
      this.#record(now, "unreachable", id, from, to, size);
      this.#sendNotice(id, from, to, size);
      return;
    }
    const admission = socket.admit(from);
    if (admission !== "ok") {
      this.#drop(entry, admission);
      this.#record(now, "drop", id, from, to, size, admission);
      return;
    }
    this.#count(entry, "delivered");
    this.#count(entry, "bytesDelivered", size);
    this.#record(now, "deliver", id, from, to, size);
    socket.deliver(data, from);
  }

  /** ICMP port unreachable back to `sender` for a datagram it sent to `dead`. */
  #sendNotice(id: number, sender: DatagramAddr, dead: DatagramAddr, size: number): void {
    const now = this.#clock.now();
    const back = this.#entry(dead.hostname, sender.hostname);
    if (back.link.isPartitioned(now)) {
      this.#count(back, "noticesLost");
      this.#record(now, "notice", id, dead, sender, size, "lost");
      return;
    }
    const at = now + (back.link.config.delay ?? 0);
    this.#clock.schedule(at, () => {
      const socket = this.#lookup(sender);
      const reported = socket !== undefined && socket.notifyUnreachable(dead);
      if (reported) this.#count(back, "refused");
      else this.#count(back, "refusedIgnored");
      this.#record(
        this.#clock.now(),
        "notice",
        id,
        dead,
        sender,
        size,
        reported ? "refused" : "ignored",
      );
    });
  }
}
