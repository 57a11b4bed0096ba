/**
 * The decision engine of bench/impair.ts: two {@linkcode Link}s (the
 * simulator's link model, one per direction, each with its own random
 * stream) and one deadline heap of datagrams waiting to be forwarded. It has
 * no sockets and no clock: the proxy passes `now` (a real clock there, any
 * number in tests), offers each received datagram, and asks what is due.
 *
 * - `offer(now, dir, data, to)`: the link decides drop or delivery time(s);
 *   deliveries go into the heap (the engine owns `data` from then on);
 * - `popDue(now, send)`: hands every datagram due at or before `now` to
 *   `send`, in (time, offer order) order;
 * - `nextDeadline()`: when the proxy's one timer should fire next.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImpairEngine } from "./_impair_engine.ts";
 * const e = new ImpairEngine<string>({ up: { delay: 20 }, down: { delay: 5 } }, 1);
 * e.offer(0, "up", new Uint8Array(10), "server");
 * e.offer(1, "down", new Uint8Array(10), "client");
 * assert.equal(e.nextDeadline(), 6);
 * const sent: string[] = [];
 * e.popDue(20, (_d, to) => sent.push(to));
 * assert.deepEqual(sent, ["client", "server"]);
 * ```
 *
 * @module
 */

import { Link, type LinkConfig, type LinkDropReason, type LinkSink } from "../src/sim/link.ts";
import { deriveSeed, Prng } from "../src/sim/prng.ts";
import { EventQueue } from "../src/sim/event_queue.ts";

/** `up`: client → upstream; `down`: upstream → client. */
export type Direction = "up" | "down";

/** Both directions' impairments. */
export interface EngineConfig {
  /** Client → upstream. */
  readonly up: LinkConfig;
  /** Upstream → client. */
  readonly down: LinkConfig;
}

/** Counters of one direction. */
export interface DirectionStats {
  /** Datagrams offered. */
  received: number;
  /** Bytes offered. */
  receivedBytes: number;
  /** Copies handed to `send` (duplicates included). */
  forwarded: number;
  /** Bytes handed to `send`. */
  forwardedBytes: number;
  /** Drops by reason. */
  drops: Record<LinkDropReason, number>;
  /** Extra copies made by duplication. */
  duplicated: number;
  /** Copies held back for reordering. */
  reordered: number;
  /** Copies with a flipped bit. */
  corrupted: number;
  /** Sum of the bottleneck queueing delay (ms) seen by accepted datagrams. */
  queueDelaySum: number;
  /** Largest bottleneck queueing delay (ms) seen by an accepted datagram. */
  queueDelayMax: number;
  /** Datagrams whose queueing delay was measured (accepted by the bottleneck). */
  queueDelayCount: number;
}

/** A fresh, zeroed {@linkcode DirectionStats}. */
export function emptyStats(): DirectionStats {
  return {
    received: 0,
    receivedBytes: 0,
    forwarded: 0,
    forwardedBytes: 0,
    drops: { partition: 0, mtu: 0, queue: 0, burst: 0, loss: 0 },
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    queueDelaySum: 0,
    queueDelayMax: 0,
    queueDelayCount: 0,
  };
}

interface Pending<A> {
  readonly data: Uint8Array;
  readonly to: A;
  readonly dir: Direction;
}

/** Receives a due datagram. */
export type SendFn<A> = (data: Uint8Array, to: A, dir: Direction) => void;

/** A direction's link, its counters and the sink that records its decisions. */
class Side<A> implements LinkSink {
  readonly link: Link;
  readonly stats: DirectionStats = emptyStats();
  /** Where the datagram being offered goes (set before each transmit: no allocation per call). */
  to: A | undefined;
  #heap: EventQueue<Pending<A>>;
  #dir: Direction;

  constructor(dir: Direction, cfg: LinkConfig, seed: number, heap: EventQueue<Pending<A>>) {
    this.#dir = dir;
    this.#heap = heap;
    this.link = new Link(cfg, new Prng(deriveSeed(seed, dir)));
  }

  drop(reason: LinkDropReason): void {
    this.stats.drops[reason]++;
  }

  deliver(
    at: number,
    data: Uint8Array,
    duplicate: boolean,
    flippedBit: number,
    heldBack: number,
  ): void {
    if (duplicate) this.stats.duplicated++;
    if (heldBack > 0) this.stats.reordered++;
    if (flippedBit >= 0) this.stats.corrupted++;
    this.#heap.push(at, { data, to: this.to as A, dir: this.#dir });
  }
}

/**
 * Two impaired directions and the deadline heap between a UDP proxy's
 * receive and send. `A` is whatever the proxy uses as a destination.
 */
export class ImpairEngine<A> {
  #heap = new EventQueue<Pending<A>>();
  #up: Side<A>;
  #down: Side<A>;

  /**
   * @param config Impairments of each direction (validated by {@linkcode Link}).
   * @param seed Seed; each direction derives its own stream from it.
   */
  constructor(config: EngineConfig, seed: number) {
    this.#up = new Side("up", config.up, seed, this.#heap);
    this.#down = new Side("down", config.down, seed, this.#heap);
  }

  /** Counters of a direction (live object). */
  stats(dir: Direction): DirectionStats {
    return (dir === "up" ? this.#up : this.#down).stats;
  }

  /** Datagrams waiting to be forwarded. */
  get pending(): number {
    return this.#heap.size;
  }

  /**
   * Offers a datagram received at `now` for direction `dir`, to be sent to
   * `to`. The engine owns `data` from now on (it may flip a bit in it).
   */
  offer(now: number, dir: Direction, data: Uint8Array, to: A): void {
    const side = dir === "up" ? this.#up : this.#down;
    const s = side.stats;
    s.received++;
    s.receivedBytes += data.length;
    const cfg = side.link.config;
    if (cfg.bandwidth !== undefined) {
      // Queueing delay this datagram will see (before its own serialization), if accepted.
      const wait = side.link.backlog(now) * 1000 / cfg.bandwidth;
      const before = s.drops.queue;
      side.to = to;
      side.link.transmit(now, data, side);
      if (s.drops.queue === before) {
        s.queueDelaySum += wait;
        s.queueDelayCount++;
        if (wait > s.queueDelayMax) s.queueDelayMax = wait;
      }
    } else {
      side.to = to;
      side.link.transmit(now, data, side);
    }
    side.to = undefined;
  }

  /** When the earliest waiting datagram is due (Infinity when none waits). */
  nextDeadline(): number {
    return this.#heap.size === 0 ? Infinity : this.#heap.peekTime();
  }

  /**
   * Hands every datagram due at or before `now` to `send`, earliest first
   * (ties in offer order). Returns how many were sent.
   */
  popDue(now: number, send: SendFn<A>): number {
    let n = 0;
    const heap = this.#heap;
    while (heap.size > 0 && heap.peekTime() <= now) {
      const e = heap.pop();
      if (e === undefined) break;
      const p = e.value;
      const s = p.dir === "up" ? this.#up.stats : this.#down.stats;
      s.forwarded++;
      s.forwardedBytes += p.data.length;
      send(p.data, p.to, p.dir);
      n++;
    }
    return n;
  }

  /** Forgets every waiting datagram (returns how many). */
  clear(): number {
    const n = this.#heap.size;
    this.#heap.clear();
    return n;
  }
}

/** Total drops of a direction. */
export function totalDrops(s: DirectionStats): number {
  let n = 0;
  for (const v of Object.values(s.drops)) n += v;
  return n;
}

/**
 * One line of counters for a direction, e.g.
 * `up: received 1000 forwarded 990 (1.39 MB) dropped 10 (loss 10) dup 0 reordered 0 queue delay avg 1.2 max 9.8 ms`.
 */
export function formatStats(dir: Direction, s: DirectionStats): string {
  const reasons = Object.entries(s.drops).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
  const drops = totalDrops(s);
  const parts = [
    `${dir}:`,
    `received ${s.received}`,
    `forwarded ${s.forwarded} (${(s.forwardedBytes / 1e6).toFixed(2)} MB)`,
    `dropped ${drops}${reasons.length > 0 ? ` (${reasons.join(", ")})` : ""}`,
    `dup ${s.duplicated}`,
    `reordered ${s.reordered}`,
  ];
  if (s.corrupted > 0) parts.push(`corrupted ${s.corrupted}`);
  if (s.queueDelayCount > 0) {
    parts.push(
      `queue delay avg ${(s.queueDelaySum / s.queueDelayCount).toFixed(1)} max ${
        s.queueDelayMax.toFixed(1)
      } ms`,
    );
  }
  return parts.join(" ");
}
