/**
 * The connection's timers as data: one deadline per {@linkcode TimerKind}
 * (quinn's `TimerTable`). Nothing here fires by itself: the driver reads
 * {@linkcode TimerTable.earliest} and calls `handleTimeout(now)`.
 *
 * @module
 */

import { type Duration, type Instant, NEVER } from "../time.ts";

/**
 * The timers of one TCP connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TimerKind } from "./timers.ts";
 * const running: TimerKind[] = ["retransmit", "delayedAck"];
 * assert.ok(running.includes("retransmit"));
 * ```
 */
export type TimerKind =
  /** Retransmission timeout (RFC 6298), also for SYN and FIN. */
  | "retransmit"
  /** Zero-window probe / sender SWS override (RFC 9293 §3.8.6.1, RFC 1122 4.2.3.4). */
  | "persist"
  /** Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 §4.2). */
  | "delayedAck"
  /** Keepalive idle / probe interval (RFC 1122 4.2.3.6). */
  | "keepalive"
  /** 2·MSL in TIME_WAIT (RFC 9293 §3.10.7.4). */
  | "timeWait"
  /** FIN_WAIT_2 timeout of an orphaned connection (Linux tcp_fin_timeout). */
  | "finWait2"
  /** Pacing: the token bucket holds enough for the next segment (`pacer.ts`). */
  | "pacing"
  /** Tail loss probe timeout, PTO (RFC 8985 §7.2). */
  | "lossProbe"
  /** RACK reordering timer (RFC 8985 §6.2 step 6). */
  | "reorder"
  /** Idle expiry: no data either way for `idleTimeout` (tunnel sessions). */
  | "idle";

/** Every timer kind, in the order {@linkcode TimerTable} checks them. */
export const TIMER_KINDS: readonly TimerKind[] = [
  "retransmit",
  "persist",
  "delayedAck",
  "keepalive",
  "timeWait",
  "finWait2",
  "pacing",
  "lossProbe",
  "reorder",
  "idle",
];

const INDEX: Readonly<Record<TimerKind, number>> = {
  retransmit: 0,
  persist: 1,
  delayedAck: 2,
  keepalive: 3,
  timeWait: 4,
  finWait2: 5,
  pacing: 6,
  lossProbe: 7,
  reorder: 8,
  idle: 9,
};

/**
 * A deadline per timer kind; {@linkcode NEVER} means disarmed.
 *
 * @example Arm, query, expire
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimerTable } from "./timers.ts";
 * import { NEVER } from "../time.ts";
 *
 * const t = new TimerTable();
 * assert.equal(t.earliest(), NEVER);
 * t.set("retransmit", 1000);
 * t.set("delayedAck", 40);
 * assert.equal(t.earliest(), 40);
 * assert.equal(t.expired(50), "delayedAck");
 * t.clear("delayedAck");
 * assert.equal(t.expired(50), undefined);
 * assert.ok(t.isArmed("retransmit"));
 * ```
 */
export class TimerTable {
  // A plain array of doubles: a Float64Array of 10 (80 bytes) would get a backing store of its
  // own outside V8's heap, a measurable part of a short connection's setup (issue 15).
  readonly #at: number[] = TIMER_KINDS.map(() => NEVER);

  /** Arms `kind` at `at` (replacing any earlier deadline). */
  set(kind: TimerKind, at: Instant): void {
    this.#at[INDEX[kind]] = at;
  }

  /** Disarms `kind`. */
  clear(kind: TimerKind): void {
    this.#at[INDEX[kind]] = NEVER;
  }

  /** Disarms every timer. */
  clearAll(): void {
    this.#at.fill(NEVER);
  }

  /** The deadline of `kind` ({@linkcode NEVER} when disarmed). */
  get(kind: TimerKind): Instant {
    return this.#at[INDEX[kind]];
  }

  /** Whether `kind` is armed. */
  isArmed(kind: TimerKind): boolean {
    return this.#at[INDEX[kind]] !== NEVER;
  }

  /** The earliest deadline ({@linkcode NEVER} when none is armed). */
  earliest(): Instant {
    const at = this.#at;
    let min = NEVER;
    for (let i = 0; i < at.length; i++) if (at[i] < min) min = at[i];
    return min;
  }

  /**
   * The first kind (in {@linkcode TIMER_KINDS} order) whose deadline is at or
   * before `now`, or `undefined`. The caller clears it before handling it.
   */
  expired(now: Instant): TimerKind | undefined {
    const at = this.#at;
    for (let i = 0; i < at.length; i++) if (at[i] <= now) return TIMER_KINDS[i];
    return undefined;
  }
}

/** Keepalive settings of `TcpConnection.setKeepAlive` (defaults from the config). */
export interface KeepAliveOptions {
  /** Idle time before the first probe (ms). */
  readonly idle?: Duration;
  /** Interval between probes (ms). */
  readonly interval?: Duration;
  /** Unanswered probes before the peer is declared dead. */
  readonly count?: number;
}

/**
 * Keepalive (RFC 1122 4.2.3.6, Linux `tcp_keepalive_timer`) on the
 * "keepalive" timer: after `idle` without a segment from the peer, probe
 * every `interval`; after `count` unanswered probes the peer is dead. The
 * connection says whether its state allows probing (`active`) and whether
 * nothing is outstanding (`idle`), and sends the probe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Keepalive, TimerTable } from "./timers.ts";
 * import { tcpConfig } from "./config.ts";
 * const timers = new TimerTable();
 * const ka = new Keepalive(tcpConfig(), timers, 0);
 * ka.configure(true, { idle: 100, interval: 10, count: 1 }, 0, true);
 * assert.equal(timers.get("keepalive"), 100);
 * assert.equal(ka.onTimeout(100, true, true), undefined);
 * assert.ok(ka.takeProbe());
 * assert.equal(ka.onTimeout(110, true, true), "keepalive: peer dead after 1 probe");
 * ```
 */
export class Keepalive {
  readonly #timers: TimerTable;
  #on: boolean;
  #idle: Duration;
  #interval: Duration;
  #count: number;
  #probes = 0;
  #pending = false;
  #lastRecv: Instant;

  /**
   * Makes the keepalive state with the config's settings.
   *
   * @param config Supplies the defaults (keepAlive, keepAliveIdle, ...).
   * @param timers The connection's timer table.
   * @param now Creation time (counts as the last peer activity).
   */
  constructor(
    config: {
      keepAlive: boolean;
      keepAliveIdle: Duration;
      keepAliveInterval: Duration;
      keepAliveCount: number;
    },
    timers: TimerTable,
    now: Instant,
  ) {
    this.#timers = timers;
    this.#on = config.keepAlive;
    this.#idle = config.keepAliveIdle;
    this.#interval = config.keepAliveInterval;
    this.#count = config.keepAliveCount;
    this.#lastRecv = now;
  }

  /** Turns keepalive on or off and applies `opts`; `active`: the state allows probes. */
  configure(on: boolean, opts: KeepAliveOptions, now: Instant, active: boolean): void {
    this.#on = on;
    if (opts.idle !== undefined) this.#idle = opts.idle;
    if (opts.interval !== undefined) this.#interval = opts.interval;
    if (opts.count !== undefined) this.#count = opts.count;
    this.#probes = 0;
    if (on && active) {
      // As Linux (tcp_set_keepalive): the first check comes a full idle time after enabling.
      this.#timers.set("keepalive", now + Math.max(1, this.#idle));
    } else {
      this.#timers.clear("keepalive");
    }
  }

  /** A segment came from the peer: restart the idle time. */
  touch(now: Instant, active: boolean): void {
    this.#lastRecv = now;
    this.#probes = 0;
    if (this.#on && active) this.#timers.set("keepalive", now + Math.max(1, this.#idle));
  }

  /** Whether a probe should be sent now (and clears the request). */
  takeProbe(): boolean {
    const p = this.#pending;
    this.#pending = false;
    return p;
  }

  /**
   * The keepalive timer expired.
   *
   * @param active The state allows probes.
   * @param idle Nothing is outstanding (else the retransmission timer watches the peer).
   * @returns An error detail when the peer is declared dead.
   */
  onTimeout(now: Instant, active: boolean, idle: boolean): string | undefined {
    if (!this.#on || !active) return undefined;
    if (!idle) {
      this.#timers.set("keepalive", now + Math.max(1, this.#idle));
      return undefined;
    }
    if (this.#probes >= this.#count) {
      return `keepalive: peer dead after ${this.#probes} probe${this.#probes === 1 ? "" : "s"}`;
    }
    this.#probes++;
    this.#pending = true;
    this.#timers.set("keepalive", now + Math.max(1, this.#interval));
    return undefined;
  }
}
