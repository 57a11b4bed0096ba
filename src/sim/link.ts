/**
 * One direction of a simulated path and its impairments: partitions, MTU,
 * a bandwidth bottleneck with a drop-tail queue, uniform and
 * Gilbert–Elliott burst loss, corruption, duplication, delay with jitter,
 * and explicit reordering. Every random choice comes from the link's own
 * seeded {@linkcode Prng}, so a run is reproducible.
 *
 * A datagram goes through the stages in this order:
 * 1. partition (dropped when sent inside an interval, reason "partition");
 * 2. MTU (larger payloads dropped, reason "mtu");
 * 3. bottleneck: serialization at `bandwidth` behind the datagrams already
 *    queued; dropped when the queue would exceed `queueLimit` bytes or
 *    `queuePackets` datagrams (reason "queue");
 * 4. loss: the Gilbert–Elliott chain steps once per datagram (reason
 *    "burst"), then uniform loss (reason "loss");
 * 5. duplication: an extra, clean copy is made with probability `duplicate`;
 * 6. per copy: corruption (one random bit flipped), propagation delay plus
 *    jitter, order preservation, and reordering (held back by `reorderDelay`).
 *
 * @module
 */

import type { Duration, Instant } from "../time.ts";
import type { Prng } from "./prng.ts";

/**
 * Gilbert–Elliott two-state loss model. The chain is in a good or a bad
 * state; each datagram is lost with the state's loss probability, then the
 * chain moves good→bad with probability `p` and bad→good with probability
 * `r`. Average loss is `(r·goodLoss + p·badLoss) / (p + r)` and, with
 * `goodLoss = 0, badLoss = 1`, the mean loss burst is `1/r` datagrams.
 *
 * Note on names: the classic model (and netem's `loss gemodel p r 1-h 1-k`)
 * uses `h`, `k` for the probability of *successful* transmission in the
 * bad and good states; here the loss probabilities are given directly:
 * `badLoss = 1 - h`, `goodLoss = 1 - k`.
 */
export interface GilbertElliott {
  /** Probability of moving good → bad after a datagram. */
  readonly p: number;
  /** Probability of moving bad → good after a datagram. */
  readonly r: number;
  /** Loss probability in the good state (1 - k). Default 0. */
  readonly goodLoss?: number;
  /** Loss probability in the bad state (1 - h). Default 1. */
  readonly badLoss?: number;
}

/** A time interval `[from, to)` (ms) during which a link drops everything sent. */
export interface Partition {
  /** Start, inclusive. */
  readonly from: Instant;
  /** End, exclusive. */
  readonly to: Instant;
}

/** How jitter is drawn around `delay`. */
export type JitterDistribution = "uniform" | "normal";

/** Impairments of one link direction. Every field is optional; `{}` is a perfect zero-delay link. */
export interface LinkConfig {
  /** Uniform loss probability in [0, 1]. */
  readonly loss?: number;
  /** Burst loss (applied before `loss`). */
  readonly burstLoss?: GilbertElliott;
  /** One-way propagation delay in ms. Default 0. */
  readonly delay?: Duration;
  /**
   * Delay variation in ms. "uniform" (default): `delay ± jitter`; "normal":
   * `delay + N(0, jitter²)`. Clamped at 0. Jitter reorders datagrams
   * naturally unless `preserveOrder` is set.
   */
  readonly jitter?: Duration;
  /** Distribution of `jitter`. Default "uniform". */
  readonly jitterDistribution?: JitterDistribution;
  /** Never deliver a datagram before one sent earlier on this link (except explicit `reorder`). */
  readonly preserveOrder?: boolean;
  /** Probability that a datagram is held back by an extra `reorderDelay`, letting later ones overtake it. */
  readonly reorder?: number;
  /** Extra delay of a reordered datagram in ms. Default 10. */
  readonly reorderDelay?: Duration;
  /** Probability that a datagram is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a delivered copy has exactly one random bit flipped. */
  readonly corrupt?: number;
  /** Largest datagram payload in bytes; larger ones are dropped ("mtu"). Default unlimited. */
  readonly mtu?: number;
  /** Bottleneck rate in bytes per second (serialization delay). Default unlimited. */
  readonly bandwidth?: number;
  /** Bottleneck queue size in bytes, including the datagram being serialized (drop-tail). Default unlimited. */
  readonly queueLimit?: number;
  /**
   * Bottleneck queue size in datagrams, including the one being serialized
   * (drop-tail, like a router's or netem's packet limit). Applies with
   * `bandwidth`, together with `queueLimit` if both are set. Default unlimited.
   */
  readonly queuePackets?: number;
  /** Intervals during which everything sent is dropped ("partition"). */
  readonly partitions?: readonly Partition[];
}

/** Default {@linkcode LinkConfig.reorderDelay}. */
export const DEFAULT_REORDER_DELAY: Duration = 10;

/** Reasons a {@linkcode Link} drops a datagram. */
export type LinkDropReason = "partition" | "mtu" | "queue" | "burst" | "loss";

/** Receives the outcome of {@linkcode Link.transmit}. */
export interface LinkSink {
  /** The datagram was dropped (called at most once, and then nothing else). */
  drop(reason: LinkDropReason): void;
  /**
   * A copy will arrive at `at`.
   *
   * @param at Arrival time.
   * @param data The copy's bytes (owned by the receiver of this call).
   * @param duplicate `true` for the extra copy made by duplication.
   * @param flippedBit Index of the flipped bit (bit `i % 8` of byte `i >> 3`), or -1.
   * @param heldBack Extra reordering delay applied, or 0.
   */
  deliver(
    at: Instant,
    data: Uint8Array,
    duplicate: boolean,
    flippedBit: number,
    heldBack: Duration,
  ): void;
}

/**
 * The average loss rate of a Gilbert–Elliott model (stationary distribution).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gilbertElliottLossRate } from "./link.ts";
 * assert.equal(gilbertElliottLossRate({ p: 0.25, r: 0.75 }), 0.25);
 * assert.equal(gilbertElliottLossRate({ p: 0.5, r: 0.5, goodLoss: 0.5, badLoss: 1 }), 0.75);
 * ```
 */
export function gilbertElliottLossRate(ge: GilbertElliott): number {
  const good = ge.goodLoss ?? 0;
  const bad = ge.badLoss ?? 1;
  const sum = ge.p + ge.r;
  if (sum === 0) return good; // never leaves the initial (good) state
  return (ge.r * good + ge.p * bad) / sum;
}

function checkProbability(name: string, v: number | undefined): void {
  if (v === undefined) return;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`LinkConfig.${name} must be in [0, 1], got ${v}`);
}

function checkNonNegative(name: string, v: number | undefined, allowInfinity = false): void {
  if (v === undefined) return;
  if (!(v >= 0) || (!allowInfinity && !Number.isFinite(v))) {
    throw new RangeError(`LinkConfig.${name} must be a finite number >= 0, got ${v}`);
  }
}

/**
 * Checks a {@linkcode LinkConfig}; throws a RangeError naming the first bad field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateLinkConfig } from "./link.ts";
 * validateLinkConfig({ loss: 0.1, delay: 20 });
 * assert.throws(() => validateLinkConfig({ loss: 1.5 }), RangeError);
 * ```
 */
export function validateLinkConfig(cfg: LinkConfig): void {
  checkProbability("loss", cfg.loss);
  checkProbability("reorder", cfg.reorder);
  checkProbability("duplicate", cfg.duplicate);
  checkProbability("corrupt", cfg.corrupt);
  if (cfg.burstLoss !== undefined) {
    checkProbability("burstLoss.p", cfg.burstLoss.p);
    checkProbability("burstLoss.r", cfg.burstLoss.r);
    checkProbability("burstLoss.goodLoss", cfg.burstLoss.goodLoss);
    checkProbability("burstLoss.badLoss", cfg.burstLoss.badLoss);
  }
  checkNonNegative("delay", cfg.delay);
  checkNonNegative("jitter", cfg.jitter);
  checkNonNegative("reorderDelay", cfg.reorderDelay);
  checkNonNegative("mtu", cfg.mtu, true);
  checkNonNegative("queueLimit", cfg.queueLimit, true);
  checkNonNegative("queuePackets", cfg.queuePackets, true);
  if (cfg.bandwidth !== undefined && !(cfg.bandwidth > 0)) {
    throw new RangeError(`LinkConfig.bandwidth must be > 0 bytes/s, got ${cfg.bandwidth}`);
  }
  if (
    cfg.jitterDistribution !== undefined && cfg.jitterDistribution !== "uniform" &&
    cfg.jitterDistribution !== "normal"
  ) {
    throw new RangeError(
      `LinkConfig.jitterDistribution must be "uniform" or "normal", got ${cfg.jitterDistribution}`,
    );
  }
  for (const p of cfg.partitions ?? []) {
    if (Number.isNaN(p.from) || Number.isNaN(p.to) || p.from > p.to) {
      throw new RangeError(`LinkConfig.partitions: bad interval [${p.from}, ${p.to})`);
    }
  }
}

/**
 * The dynamic state of one link direction: Gilbert–Elliott state,
 * bottleneck occupancy, last in-order arrival, and its random stream.
 *
 * @example A lossless 10 ms link
 * ```ts
 * import assert from "node:assert/strict";
 * import { Link } from "./link.ts";
 * import { Prng } from "./prng.ts";
 * const link = new Link({ delay: 10 }, new Prng(1));
 * const arrivals: number[] = [];
 * link.transmit(5, new Uint8Array(100), {
 *   drop: () => assert.fail("dropped"),
 *   deliver: (at) => arrivals.push(at),
 * });
 * assert.deepEqual(arrivals, [15]);
 * ```
 */
export class Link {
  #cfg: LinkConfig;
  #prng: Prng;
  #bad = false;
  #busyUntil = Number.NEGATIVE_INFINITY;
  #lastInOrder = Number.NEGATIVE_INFINITY;
  /** Departure times of the datagrams in the bottleneck (FIFO from #depHead); kept only with queuePackets. */
  #departures: number[] = [];
  #depHead = 0;

  /**
   * Creates a link in the good state with an empty queue.
   *
   * @param config Impairments (validated).
   * @param prng This link's own random stream.
   */
  constructor(config: LinkConfig, prng: Prng) {
    validateLinkConfig(config);
    this.#cfg = config;
    this.#prng = prng;
  }

  /** Current impairments. Replacing them keeps the dynamic state (queue, burst state). */
  get config(): LinkConfig {
    return this.#cfg;
  }

  /** Replaces the impairments (validated). */
  set config(cfg: LinkConfig) {
    validateLinkConfig(cfg);
    this.#cfg = cfg;
  }

  /** Whether the Gilbert–Elliott chain is in its bad state. */
  get inBadState(): boolean {
    return this.#bad;
  }

  /** Bytes waiting in (or being serialized by) the bottleneck at time `now`. */
  backlog(now: Instant): number {
    const bw = this.#cfg.bandwidth;
    if (bw === undefined || this.#busyUntil <= now) return 0;
    return ((this.#busyUntil - now) * bw) / 1000;
  }

  /**
   * Datagrams waiting in (or being serialized by) the bottleneck at time
   * `now`; counted only when `queuePackets` is set (0 otherwise).
   */
  queuedPackets(now: Instant): number {
    const deps = this.#departures;
    let head = this.#depHead;
    while (head < deps.length && deps[head] <= now) head++;
    if (head > 1024 && head * 2 > deps.length) {
      deps.splice(0, head);
      head = 0;
    }
    this.#depHead = head;
    return deps.length - head;
  }

  /** Whether `t` falls inside a partition interval. */
  isPartitioned(t: Instant): boolean {
    const parts = this.#cfg.partitions;
    if (parts === undefined) return false;
    for (const p of parts) if (t >= p.from && t < p.to) return true;
    return false;
  }

  /**
   * Sends `data` (a copy owned by the link from now on) at `now`; reports a
   * drop or one or two deliveries to `sink`, synchronously.
   */
  transmit(now: Instant, data: Uint8Array, sink: LinkSink): void {
    const cfg = this.#cfg;
    const prng = this.#prng;
    if (this.isPartitioned(now)) return sink.drop("partition");
    if (cfg.mtu !== undefined && data.length > cfg.mtu) return sink.drop("mtu");

    let departure = now;
    const bw = cfg.bandwidth;
    if (bw !== undefined) {
      const backlog = this.backlog(now);
      const limit = cfg.queueLimit ?? Infinity;
      if (backlog > 0 && backlog + data.length > limit) return sink.drop("queue");
      const packets = cfg.queuePackets;
      if (packets !== undefined && this.queuedPackets(now) + 1 > packets) {
        return sink.drop("queue");
      }
      const start = this.#busyUntil > now ? this.#busyUntil : now;
      this.#busyUntil = start + (data.length * 1000) / bw;
      departure = this.#busyUntil;
      if (packets !== undefined) this.#departures.push(departure);
    }

    const ge = cfg.burstLoss;
    if (ge !== undefined) {
      const lost = prng.chance(this.#bad ? (ge.badLoss ?? 1) : (ge.goodLoss ?? 0));
      this.#bad = this.#bad ? !prng.chance(ge.r) : prng.chance(ge.p);
      if (lost) return sink.drop("burst");
    }
    if (cfg.loss !== undefined && prng.chance(cfg.loss)) return sink.drop("loss");

    const dup = cfg.duplicate !== undefined && prng.chance(cfg.duplicate);
    const extra = dup ? data.slice() : undefined;
    this.#emit(departure, data, false, sink);
    if (extra !== undefined) this.#emit(departure, extra, true, sink);
  }

  #emit(departure: Instant, data: Uint8Array, duplicate: boolean, sink: LinkSink): void {
    const cfg = this.#cfg;
    const prng = this.#prng;
    let flipped = -1;
    if (cfg.corrupt !== undefined && data.length > 0 && prng.chance(cfg.corrupt)) {
      flipped = prng.nextInt(data.length * 8);
      data[flipped >>> 3] ^= 1 << (flipped & 7);
    }
    let at = departure + (cfg.delay ?? 0);
    const jitter = cfg.jitter ?? 0;
    if (jitter > 0) {
      at += cfg.jitterDistribution === "normal"
        ? prng.normal(0, jitter)
        : prng.uniform(-jitter, jitter);
      if (at < departure) at = departure;
    }
    if (cfg.preserveOrder === true) {
      if (at < this.#lastInOrder) at = this.#lastInOrder;
    }
    let heldBack = 0;
    if (cfg.reorder !== undefined && prng.chance(cfg.reorder)) {
      heldBack = cfg.reorderDelay ?? DEFAULT_REORDER_DELAY;
      at += heldBack;
    } else if (cfg.preserveOrder === true) {
      this.#lastInOrder = at;
    }
    sink.deliver(at, data, duplicate, flipped, heldBack);
  }
}
