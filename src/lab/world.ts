/**
 * The lab's world: named hosts running tou stacks on a simulated network
 * with a virtual clock, every segment and state change written to one
 * timeline, and segments dropped on purpose where a scenario says so.
 *
 * @module
 */

import { VirtualClock } from "../sim/virtual_clock.ts";
import { SimNetwork } from "../sim/sim_network.ts";
import type { SimUdpSocket } from "../sim/sim_udp_socket.ts";
import { Stack, type StackOptions } from "../stack/stack.ts";
import type { StackConnection } from "../stack/stack_connection.ts";
import { formatSegment } from "../stack/trace.ts";
import type { TcpConfig } from "../tcp/config.ts";
import type { TcpEvent } from "../tcp/events.ts";
import type { DatagramAddr } from "../udp/datagram_socket.ts";
import { ForwardingSocket } from "../udp/forwarding_socket.ts";
import { decodeDatagram } from "../wire/datagram.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";

/** What a timeline line is about. */
export type LabLineKind = "app" | "state" | "segment" | "lost" | "event" | "note";

/** One line of the timeline. */
export interface LabLine {
  /** Virtual time in ms since the scenario started. */
  readonly time: number;
  /** The host it happened on ("" for a narrator's note). */
  readonly who: string;
  /** What kind of line. */
  readonly kind: LabLineKind;
  /** The text, without time and host. */
  readonly text: string;
}

/** Options of {@linkcode LabWorld}. */
export interface LabWorldOptions {
  /** Seed of the clock and network. Default 1. */
  readonly seed?: number;
  /** One-way delay of every link in ms. Default 10 (RTT 20 ms). */
  readonly delay?: number;
}

/** Options of {@linkcode LabWorld.host}. */
export interface LabHostOptions extends Omit<StackOptions, "tcp"> {
  /** TCP tunables. Default: tou's defaults without timestamps (shorter lines). */
  readonly tcp?: Partial<TcpConfig>;
  /** The ISN of this host's next connection (active or passive open). */
  readonly isn?: number;
  /** UDP port. Default 7000. */
  readonly port?: number;
}

interface PendingDrop {
  readonly match: (seg: TcpSegment) => boolean;
  readonly why: string;
  count: number;
}

/** A datagram socket that drops chosen outgoing segments and says so on the timeline. */
class DroppingSocket extends ForwardingSocket {
  readonly #world: LabWorld;
  readonly #who: string;
  readonly drops: PendingDrop[] = [];

  constructor(inner: SimUdpSocket, world: LabWorld, who: string) {
    super(inner);
    this.#world = world;
    this.#who = who;
  }

  override send(data: Uint8Array, addr?: DatagramAddr): void {
    const i = this.#dropIndex(data);
    if (i >= 0) {
      const d = this.drops[i];
      if (--d.count === 0) this.drops.splice(i, 1);
      this.#world.line(this.#who, "lost", `✗ lost on the way (${d.why})`);
      return;
    }
    this.inner.send(data, addr);
  }

  #dropIndex(data: Uint8Array): number {
    if (this.drops.length === 0) return -1;
    const d = decodeDatagram(data, { verifyChecksum: false });
    if (!d.ok || d.value.kind !== "segment") return -1;
    const seg = d.value.segment;
    return this.drops.findIndex((drop) => drop.match(seg));
  }
}

/**
 * Hosts, stacks and a timeline on one virtual clock.
 *
 * @example Two hosts, a handshake, and its timeline
 * ```ts
 * import assert from "node:assert/strict";
 * import { LabWorld } from "./world.ts";
 * const w = new LabWorld();
 * const server = w.host("server", "127.0.0.1", { isn: 5000 });
 * const client = w.host("client", "127.0.0.2", { isn: 1000 });
 * server.listen(80);
 * w.app("client", "connect(server:80)");
 * const c = client.connect(server.localAddr, 80, { localPort: 40000 });
 * w.run(100);
 * assert.equal(c.state, "ESTABLISHED");
 * assert.ok(w.render().some((l) => l.includes("SYN_SENT → ESTABLISHED")));
 * ```
 */
export class LabWorld {
  /** The virtual clock. */
  readonly clock: VirtualClock;
  /** The simulated network. */
  readonly network: SimNetwork;
  /** One-way link delay in ms. */
  readonly delay: number;
  readonly #lines: LabLine[] = [];
  readonly #names = new Map<string, string>(); // "host|port" -> name
  readonly #sockets = new Map<string, DroppingSocket>();
  readonly #stacks: Stack[] = [];
  readonly #muted = new Set<string>();
  #mutedSegments = 0;

  /** Creates an empty world. */
  constructor(opts: LabWorldOptions = {}) {
    const seed = opts.seed ?? 1;
    this.delay = opts.delay ?? 10;
    this.clock = new VirtualClock({ seed });
    this.network = new SimNetwork(this.clock, { seed });
    this.network.setLink("*", "*", { delay: this.delay });
  }

  /** Virtual time now, in ms. */
  get now(): number {
    return this.clock.now();
  }

  /** Starts a named host running a tou stack on `hostname`. */
  host(name: string, hostname: string, opts: LabHostOptions = {}): Stack {
    const { tcp, isn, port, ...rest } = opts;
    const inner = this.network.bind({ hostname, port: port ?? 7000 });
    const socket = new DroppingSocket(inner, this, name);
    const stack = new Stack(socket, this.clock, {
      ...rest,
      tcp: { timestamps: false, ...tcp },
    });
    if (isn !== undefined) stack.setNextIsn(isn);
    stack.tracer = {
      onSegment: (_now, dir, peer, seg) => {
        if (dir !== "out") return;
        const to = this.nameOf(peer);
        if (this.#muted.has(name) || this.#muted.has(to)) {
          this.#mutedSegments++;
          return;
        }
        this.line(name, "segment", `──► ${to}  ${formatSegment(seg)}`);
      },
      onEvent: (_now, conn, ev) => this.#onEvent(name, conn, ev),
    };
    this.#names.set(`${hostname}|${inner.localAddr.port}`, name);
    this.#sockets.set(name, socket);
    this.#stacks.push(stack);
    return stack;
  }

  /** Leaves segments from or to host `name` off the timeline (they are only counted). */
  mute(name: string): void {
    this.#muted.add(name);
  }

  /** Segments left off the timeline by {@linkcode LabWorld.mute}. */
  get mutedSegments(): number {
    return this.#mutedSegments;
  }

  /** Names a bound address (for raw sockets that are not stacks). */
  nameAddr(addr: DatagramAddr, name: string): void {
    this.#names.set(`${addr.hostname}|${addr.port}`, name);
  }

  /** The host name of a UDP address, or the address itself. */
  nameOf(addr: DatagramAddr): string {
    return this.#names.get(`${addr.hostname}|${addr.port}`) ?? `${addr.hostname}:${addr.port}`;
  }

  /**
   * Drops the next `count` segments that host `who` sends and `match`
   * accepts, writing "✗ lost" on the timeline instead of delivering them.
   */
  dropNext(who: string, match: (seg: TcpSegment) => boolean, why: string, count = 1): void {
    const s = this.#sockets.get(who);
    if (!s) throw new RangeError(`no host named ${who}`);
    s.drops.push({ match, why, count });
  }

  /** Writes what an application on `who` does. */
  app(who: string, text: string): void {
    this.line(who, "app", `app: ${text}`);
  }

  /** Writes a narrator's note. */
  note(text: string): void {
    this.line("", "note", text);
  }

  /** Appends a line at the current virtual time. */
  line(who: string, kind: LabLineKind, text: string): void {
    this.#lines.push({ time: this.clock.now(), who, kind, text });
  }

  /** Adds a line for an earlier moment (e.g. read back from the network's trace). */
  lineAt(time: number, who: string, kind: LabLineKind, text: string): void {
    this.#lines.push({ time, who, kind, text });
  }

  /** Runs everything due in the next `ms` of virtual time. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Runs until nothing is scheduled (bounded: throws rather than spin). */
  runUntilIdle(limitMs = 10 * 60_000): void {
    this.clock.runUntilIdle({ until: this.clock.now() + limitMs, maxEvents: 1_000_000 });
  }

  /**
   * When host `who` first entered `state` (ms since the start), or
   * undefined if it never did.
   */
  stateTime(who: string, state: string): number | undefined {
    const suffix = ` → ${state}  (`;
    return this.#lines.find((l) => l.who === who && l.kind === "state" && l.text.includes(suffix))
      ?.time;
  }

  /** How many segments host `who` sent whose text matches `re`. */
  countSent(who: string, re: RegExp): number {
    return this.#lines.filter((l) => l.who === who && l.kind === "segment" && re.test(l.text))
      .length;
  }

  /** The raw timeline. */
  get lines(): readonly LabLine[] {
    return this.#lines;
  }

  /**
   * The timeline as text, one line per entry. Within one instant on one
   * host, what the application did comes first, then state changes, then
   * the segments they caused.
   */
  render(): string[] {
    const order: Record<LabLineKind, number> = {
      note: 0,
      app: 1,
      state: 2,
      event: 3,
      segment: 4,
      lost: 4,
    };
    const out: LabLine[] = [];
    let group: LabLine[] = [];
    const flush = () => {
      out.push(
        ...group.map((l, i) => ({ l, i })).sort((a, b) =>
          order[a.l.kind] - order[b.l.kind] || a.i - b.i
        ).map((x) => x.l),
      );
      group = [];
    };
    const byTime = this.#lines.map((l, i) => ({ l, i })).sort((a, b) =>
      a.l.time - b.l.time || a.i - b.i
    ).map((x) => x.l);
    for (const l of byTime) {
      const g = group[0];
      if (g && (g.time !== l.time || g.who !== l.who)) flush();
      group.push(l);
    }
    flush();
    const width = Math.max(6, ...out.map((l) => l.who.length));
    return out.map((l) => {
      const t = `${(l.time / 1000).toFixed(3).padStart(8)} s`;
      if (l.kind === "note") return `${t}  ${"".padEnd(width)}  # ${l.text}`;
      return `${t}  ${l.who.padEnd(width)}  ${l.text}`;
    });
  }

  /** Closes every stack. */
  close(): void {
    for (const s of this.#stacks) if (!s.closed) s.close();
  }

  #onEvent(who: string, conn: StackConnection, ev: TcpEvent): void {
    if (this.#muted.has(this.nameOf(conn.remote))) return;
    const port = `:${conn.localPort}↔${this.nameOf(conn.remote)}:${conn.remotePort}`;
    switch (ev.type) {
      case "state":
        this.line(who, "state", `${port} ${ev.from} → ${ev.to}  (${ev.cause})`);
        break;
      case "eof":
        this.line(who, "event", `${port} reads EOF: the peer's FIN, after all its data`);
        break;
      case "error":
        this.line(who, "event", `${port} error ${ev.kind}: ${ev.detail}`);
        break;
      case "connected":
      case "readable":
      case "writable":
      case "closed":
        break;
    }
  }
}
