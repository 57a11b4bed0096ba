/**
 * The connection's timers as data: one deadline per {@linkcode TimerKind}
 * (quinn's `TimerTable`). Nothing here fires by itself: the driver reads
 * {@linkcode TimerTable.earliest} and calls `handleTimeout(now)`.
 *
 * @module
 */

import { type Instant, NEVER } from "../time.ts";

/** The timers of one TCP connection. */
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
  | "finWait2";

/** Every timer kind, in the order {@linkcode TimerTable} checks them. */
export const TIMER_KINDS: readonly TimerKind[] = [
  "retransmit",
  "persist",
  "delayedAck",
  "keepalive",
  "timeWait",
  "finWait2",
];

const INDEX: Readonly<Record<TimerKind, number>> = {
  retransmit: 0,
  persist: 1,
  delayedAck: 2,
  keepalive: 3,
  timeWait: 4,
  finWait2: 5,
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
  readonly #at = new Float64Array(TIMER_KINDS.length).fill(NEVER);

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
