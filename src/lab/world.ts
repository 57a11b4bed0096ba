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
import { formatTraceEvent, type TcpTraceEvent } from "../tcp/trace_events.ts";
import type { DatagramAddr } from "../udp/datagram_socket.ts";
import { ForwardingSocket } from "../udp/forwarding_socket.ts";
import { PcapSocket, type PcapWriter } from "../udp/pcap_socket.ts";
import type { LinkConfig } from "../sim/link.ts";
import { decodeDatagram } from "../wire/datagram.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";

/** What a timeline line is about. */
export type LabLineKind = "app" | "state" | "segment" | "lost" | "event" | "note" | "trace";

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

/** One segment a host sent, for diagrams (times in ms since the start). */
export interface LabSegment {
  /** When it was sent. */
  readonly time: number;
  /** Sending host's name. */
  readonly from: string;
  /** Receiving host's name (or its address). */
  readonly to: string;
  /** TCP header fields. */
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** TCP flag bits. */
  readonly flags: number;
  readonly window: number;
  /** Payload bytes. */
  readonly len: number;
  /** tcpdump-style text. */
  readonly text: string;
  /** Why it was lost, when it was (a scripted drop or the network's loss). */
  lost?: string;
  /** When it arrived (first copy), if it did. */
  arrived?: number;
}

/** One state change of a connection (or listener), for diagrams. */
export interface LabStateChange {
  /** When. */
  readonly time: number;
  /** Host name. */
  readonly who: string;
  /** The connection, e.g. ":40000↔server:80". */
  readonly conn: string;
  /** Old state. */
  readonly from: string;
  /** New state. */
  readonly to: string;
  /** Why (RFC 9293 event). */
  readonly cause: string;
}

/** Options of {@linkcode LabWorld}. */
export interface LabWorldOptions {
  /** Seed of the clock and network. Default 1. */
  readonly seed?: number;
  /** One-way delay of every link in ms. Default 10 (RTT 20 ms). */
  readonly delay?: number;
  /** Probability that the network loses a datagram, 0..1. Default 0. */
  readonly loss?: number;
  /** Probability that the network holds a datagram back (by 2·delay) so later ones overtake it. Default 0. */
  readonly reorder?: number;
  /**
   * Captures segments in virtual time as tcpdump on one host would see
   * them: sent (lost ones too) and received, at host `pcapAt`.
   */
  readonly pcap?: PcapWriter;
  /** The host the capture is taken on. Default "client", or the first host when there is none. */
  readonly pcapAt?: string;
  /**
   * Also puts each connection's trace events on the timeline (kind "trace"):
   * timers armed, stopped and fired, retransmissions, cwnd and window changes.
   */
  readonly trace?: boolean;
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
  /** Hold the datagram back this long instead of dropping it (a delayed duplicate in the making). */
  readonly holdMs?: number;
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
      if (d.holdMs === undefined) {
        this.#world.lost(this.#who, d.why);
        return;
      }
      const copy = data.slice(), to = addr ?? this.inner.remoteAddr;
      const release = this.#world.held(this.#who, d.why, d.holdMs);
      this.#world.clock.schedule(this.#world.now + d.holdMs, () => {
        release();
        if (to) this.inner.send(copy, to);
      });
      return;
    }
    if (!this.#world.lossy) return this.inner.send(data, addr);
    const before = this.#world.network.stats().dropped;
    this.inner.send(data, addr);
    if (this.#world.network.stats().dropped > before) this.#world.lost(this.#who, "network loss");
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
  /** The link every pair of hosts has: delay, loss, reordering. */
  readonly link: LinkConfig;
  /** Whether the network may lose datagrams on its own. */
  readonly lossy: boolean;
  /** Every segment sent, in order. */
  readonly segments: LabSegment[] = [];
  /** Every state change, in order. */
  readonly states: LabStateChange[] = [];
  readonly #pcap: PcapWriter | undefined;
  readonly #pcapAt: string | undefined;
  /** Segments sent and not yet arrived, by content key. */
  readonly #inFlight = new Map<string, LabSegment[]>();
  /** The last segment each host sent (what a drop right after refers to). */
  readonly #lastSent = new Map<string, LabSegment>();
  readonly #lines: LabLine[] = [];
  readonly #names = new Map<string, string>(); // "host|port" -> name
  readonly #sockets = new Map<string, DroppingSocket>();
  readonly #stacks: Stack[] = [];
  readonly #muted = new Set<string>();
  #mutedSegments = 0;
  readonly #trace: boolean;

  /** Creates an empty world. */
  constructor(opts: LabWorldOptions = {}) {
    const seed = opts.seed ?? 1;
    this.delay = opts.delay ?? 10;
    this.clock = new VirtualClock({ seed });
    this.network = new SimNetwork(this.clock, { seed });
    const loss = opts.loss ?? 0, reorder = opts.reorder ?? 0;
    this.link = {
      delay: this.delay,
      ...(loss > 0 ? { loss } : {}),
      ...(reorder > 0 ? { reorder, reorderDelay: Math.max(1, 2 * this.delay) } : {}),
    };
    this.lossy = loss > 0;
    this.#pcap = opts.pcap;
    this.#pcapAt = opts.pcapAt;
    this.#trace = opts.trace === true;
    this.network.setLink("*", "*", this.link);
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
    const captured = this.#pcap === undefined ? socket : new PcapSocket(socket, this.#pcap, {
      now: () => this.clock.now(),
      ownsWriter: false,
      when: () => this.#captureHost() === name,
    });
    const stack = new Stack(captured, this.clock, {
      ...rest,
      tcp: { timestamps: false, ...tcp },
    });
    if (isn !== undefined) stack.setNextIsn(isn);
    stack.tracer = {
      onSegment: (_now, dir, peer, seg) => {
        const other = this.nameOf(peer);
        if (this.#muted.has(name) || this.#muted.has(other)) {
          if (dir === "out") this.#mutedSegments++;
          return;
        }
        if (dir === "in") return this.#arrived(other, name, seg);
        const text = formatSegment(seg);
        this.line(name, "segment", `──► ${other}  ${text}`);
        this.#sent(name, other, seg, text);
      },
      onEvent: (_now, conn, ev) => this.#onEvent(name, conn, ev),
      ...(this.#trace
        ? {
          onTrace: (now: number, conn: StackConnection, ev: TcpTraceEvent) =>
            this.#onTrace(name, now, conn, ev),
        }
        : {}),
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

  /** Marks the segment `who` sent last as lost, on the timeline too. */
  lost(who: string, why: string): void {
    this.line(who, "lost", `✗ lost on the way (${why})`);
    const s = this.#lastSent.get(who);
    if (s === undefined || s.lost !== undefined) return;
    s.lost = why;
    const q = this.#inFlight.get(segmentKey(s.from, s.to, s));
    const i = q?.lastIndexOf(s) ?? -1;
    if (i >= 0) q!.splice(i, 1);
  }

  /**
   * Holds the next segment `who` sends that `match` accepts in the network
   * for `ms` before it travels on: its sender will retransmit it, so this
   * copy becomes a delayed duplicate.
   */
  holdNext(who: string, match: (seg: TcpSegment) => boolean, why: string, ms: number): void {
    const s = this.#sockets.get(who);
    if (!s) throw new RangeError(`no host named ${who}`);
    s.drops.push({ match, why, count: 1, holdMs: ms });
  }

  /** Marks the segment `who` sent last as held back; the returned function releases it. */
  held(who: string, why: string, ms: number): () => void {
    this.line(who, "lost", `⏸ held back in the network for ${ms} ms (${why})`);
    const s = this.#lastSent.get(who);
    if (s === undefined) return () => {};
    const key = segmentKey(s.from, s.to, s);
    const q = this.#inFlight.get(key);
    const i = q?.lastIndexOf(s) ?? -1;
    if (i >= 0) q!.splice(i, 1);
    return () => {
      this.line(who, "lost", `▶ the held-back copy travels on: ${s.text}`);
      const q2 = this.#inFlight.get(key);
      if (q2) q2.push(s);
      else this.#inFlight.set(key, [s]);
    };
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

  /**
   * Runs everything due in the next `ms` of virtual time. Scenarios are
   * scripted for the default 10 ms delay: with a longer `delay` every wait
   * stretches in proportion, so that the same steps still fit in.
   */
  run(ms: number): void {
    this.clock.advance(ms * Math.max(1, this.delay / 10));
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
      trace: 2, // in the order they happened, with the state changes
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

  #captureHost(): string | undefined {
    if (this.#pcapAt !== undefined) return this.#pcapAt;
    return this.#sockets.has("client") ? "client" : this.#sockets.keys().next().value;
  }

  #sent(from: string, to: string, seg: TcpSegment, text: string): void {
    const s: LabSegment = {
      time: this.clock.now(),
      from,
      to,
      srcPort: seg.srcPort,
      dstPort: seg.dstPort,
      seq: seg.seq,
      ack: seg.ack,
      flags: seg.flags,
      window: seg.window,
      len: seg.payload.length,
      text,
    };
    this.segments.push(s);
    this.#lastSent.set(from, s);
    const key = segmentKey(from, to, s);
    const q = this.#inFlight.get(key);
    if (q) q.push(s);
    else this.#inFlight.set(key, [s]);
  }

  #arrived(from: string, to: string, seg: TcpSegment): void {
    const key = segmentKey(from, to, {
      srcPort: seg.srcPort,
      seq: seg.seq,
      ack: seg.ack,
      flags: seg.flags,
      len: seg.payload.length,
    });
    const q = this.#inFlight.get(key);
    const s = q?.shift();
    if (s !== undefined) s.arrived = this.clock.now();
    if (q?.length === 0) this.#inFlight.delete(key);
  }

  #onTrace(who: string, now: number, conn: StackConnection, ev: TcpTraceEvent): void {
    if (this.#muted.has(who) || this.#muted.has(this.nameOf(conn.remote))) return;
    const port = `:${conn.localPort}↔${this.nameOf(conn.remote)}:${conn.remotePort}`;
    const text = ev.type === "timer" && ev.action === "armed"
      ? `timer ${ev.kind} armed: fires in ${+(ev.at - now).toFixed(3)} ms (${ev.cause})`
      : formatTraceEvent(ev);
    this.line(who, "trace", `${port} ${text}`);
  }

  #onEvent(who: string, conn: StackConnection, ev: TcpEvent): void {
    if (this.#muted.has(this.nameOf(conn.remote))) return;
    const port = `:${conn.localPort}↔${this.nameOf(conn.remote)}:${conn.remotePort}`;
    switch (ev.type) {
      case "state":
        this.line(who, "state", `${port} ${ev.from} → ${ev.to}  (${ev.cause})`);
        this.states.push({
          time: this.clock.now(),
          who,
          conn: port,
          from: ev.from,
          to: ev.to,
          cause: ev.cause,
        });
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

function segmentKey(
  from: string,
  to: string,
  s: Pick<LabSegment, "srcPort" | "seq" | "ack" | "flags" | "len">,
): string {
  return `${from}>${to}|${s.srcPort}|${s.seq}|${s.ack}|${s.flags}|${s.len}`;
}
