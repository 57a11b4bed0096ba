/**
 * Sender pacing: a token bucket that spreads a window of segments over the
 * round trip instead of sending it back to back (Linux `sch_fq`/internal
 * TCP pacing, RFC 9002 §7.7's pacer for QUIC).
 *
 * The rate is `gain · cwnd / SRTT` with Linux's gains: 2 in slow start
 * (`tcp_pacing_ss_ratio` 200 %) and 1.2 in congestion avoidance
 * (`tcp_pacing_ca_ratio` 120 %). Tokens (bytes) refill by the time elapsed
 * since the last refill, so a timer that fires late only lets a burst out
 * that is as large as the time it lost, never more than `burst` bytes or
 * `horizon` ms of data at the rate, whichever is more (`TcpConfig.pacingHorizon`:
 * timers of a real runtime fire 1–2 ms late, and a bucket smaller than that would
 * cap the rate at one burst per wake-up — 32 × 1448 bytes per 1–2 ms is
 * 23–46 MB/s; Linux's `tcp_tso_autosize` likewise sends ≈ 1 ms per burst). That
 * bound is what matters on a path whose bottleneck is a receiver's socket
 * buffer: no more than that ever leaves back to back.
 *
 * Pure: time comes in as `now`; the sender arms its "pacing" timer at
 * {@linkcode Pacer.sendTime}.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import type { TcpConfig } from "./config.ts";
import type { CongestionController } from "./congestion/congestion_controller.ts";
import type { RttEstimator } from "./rtt.ts";

/** Pacing gain in slow start (Linux `tcp_pacing_ss_ratio` = 200). */
export const PACING_GAIN_SLOW_START = 2;
/** Pacing gain in congestion avoidance (Linux `tcp_pacing_ca_ratio` = 120). */
export const PACING_GAIN_AVOIDANCE = 1.2;

/** Shortest pacing wait (ms): keeps deadlines strictly after `now` despite rounding. */
export const PACING_MIN_STEP = 0.01;

/**
 * A token bucket in bytes, refilled at a rate given with each call.
 *
 * @example Ten 1000-byte segments at 1 byte/ms with a 3-segment burst
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pacer } from "./pacer.ts";
 *
 * const p = new Pacer(3000);
 * let now = 0;
 * const sentAt: number[] = [];
 * for (let i = 0; i < 10; i++) {
 *   p.refill(now, 1);
 *   while (!p.canSend(1000)) {
 *     now = p.sendTime(now, 1000, 1);
 *     p.refill(now, 1);
 *   }
 *   p.consume(1000);
 *   sentAt.push(now);
 * }
 * assert.deepEqual(sentAt.slice(0, 3), [0, 0, 0]); // the burst
 * assert.equal(sentAt[9] - sentAt[3], 6000); // then one per 1000 ms
 * ```
 */
export class Pacer {
  #burst: number;
  #horizon: number;
  #tokens: number;
  #last: Instant = -Infinity;

  /**
   * @param burst Bucket size in bytes: the most that may leave back to back.
   * @param horizon The bucket also holds this many ms of data at the rate when that is more.
   */
  constructor(burst: number, horizon = 0) {
    this.#burst = burst;
    this.#horizon = horizon;
    this.#tokens = burst;
  }

  /** Bytes that may be sent now. */
  get tokens(): number {
    return this.#tokens;
  }

  /** Bucket size in bytes. */
  get burst(): number {
    return this.#burst;
  }

  /** Changes the bucket size (after the MSS is known); keeps the tokens within it. */
  setBurst(burst: number): void {
    this.#burst = burst;
    if (this.#tokens > burst) this.#tokens = burst;
  }

  /**
   * Adds the tokens earned since the last refill at `rate` bytes per ms
   * (Infinity: fills the bucket).
   */
  refill(now: Instant, rate: number): void {
    const elapsed = now - this.#last;
    this.#last = now;
    if (rate === Infinity) {
      this.#tokens = this.#burst;
      return;
    }
    if (elapsed <= 0) return;
    const horizon = rate * this.#horizon;
    const cap = horizon > this.#burst ? horizon : this.#burst;
    const t = this.#tokens + elapsed * rate;
    this.#tokens = t < cap ? t : cap;
  }

  /** Whether `len` bytes may leave now. */
  canSend(len: number): boolean {
    return this.#tokens >= len;
  }

  /** Takes `len` bytes of tokens (may go negative for an unpaced send such as a retransmission). */
  consume(len: number): void {
    this.#tokens -= len;
  }

  /**
   * When `len` bytes of tokens will have accumulated at `rate` bytes per ms;
   * at least {@linkcode PACING_MIN_STEP} after `now` when tokens are missing,
   * so that a wake-up always earns something.
   */
  sendTime(now: Instant, len: number, rate: number): Instant {
    const missing = len - this.#tokens;
    if (missing <= 0) return now;
    return now + Math.max(PACING_MIN_STEP, missing / rate);
  }
}

/**
 * The bucket size in bytes for `config.pacingBurst` segments of `mss` bytes
 * (at least two segments).
 */
export function pacingBurst(config: TcpConfig, mss: number): number {
  return Math.max(2, config.pacingBurst) * mss;
}

/**
 * Pacing rate in bytes per ms: the controller's own (`cc.pacingRate(srtt)`,
 * e.g. BBR's) when it gives one (>= 0), else gain·cwnd/SRTT (Linux
 * `tcp_update_pacing_rate`), never below `mss` per SRTT; Infinity before the
 * first RTT sample.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pacingRate } from "./pacer.ts";
 * import { RttEstimator } from "./rtt.ts";
 * import { createController } from "./congestion/registry.ts";
 * const cc = createController("newreno", { mss: 1000, initialCwnd: 10 });
 * const rtt = new RttEstimator({ initial: 1000, min: 200, max: 60_000 });
 * assert.equal(pacingRate(cc, rtt), Infinity);
 * rtt.sample(10);
 * assert.equal(pacingRate(cc, rtt), 2000); // slow start: 2 · 10 000 B / 10 ms
 * ```
 */
export function pacingRate(cc: CongestionController, rtt: RttEstimator, mss = 0): number {
  if (!rtt.hasSample || !(rtt.srtt > 0)) return Infinity;
  // At least one segment per SRTT: no controller's window is smaller, and a rate far below
  // it (a bad bandwidth sample) armed a pacing timer 15 minutes out, re-armed by nothing
  // while no ACK was due (bench:soak finding)
  const floor = mss / rtt.srtt;
  const own = cc.pacingRate(rtt.srtt);
  if (own >= 0) return own > 0 ? Math.max(own, floor) : Infinity;
  const gain = cc.cwnd < cc.ssthresh ? PACING_GAIN_SLOW_START : PACING_GAIN_AVOIDANCE;
  return Math.max(gain * cc.cwnd / rtt.srtt, floor);
}
