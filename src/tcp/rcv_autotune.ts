/**
 * Receive-buffer auto-tuning (dynamic right-sizing, as Linux's
 * `tcp_rcv_space_adjust`): once per RTT, the bytes the application consumed
 * in that RTT set how much the receiver may offer — twice that (to ride out a
 * loss), more while the rate is still rising (the sender's slow start), a
 * cushion of 16 segments — growing up to the configured receive buffer and
 * never shrinking. A fast reader on a long fat path soon gets a window above
 * the path's BDP; a slow reader never gets more than it can absorb in about
 * two RTTs.
 *
 * Pure: time and the RTT are passed in.
 *
 * @module
 */

import type { Duration, Instant } from "../time.ts";

/** Measurement interval when no RTT estimate exists yet (ms). */
export const AUTOTUNE_FALLBACK_RTT: Duration = 200;
/** The target before any measurement, as a cap (bytes): Linux's initial receive window. */
export const AUTOTUNE_INITIAL_TARGET = 64 * 1024;

/** Options of {@linkcode RcvAutotune}. */
export interface RcvAutotuneOptions {
  /** The largest target: the receive buffer size (`TcpConfig.recvBufferSize`). */
  readonly max: number;
  /** The MSS we advertise. */
  readonly mss: number;
  /** The starting target (default min(max, 64 KiB)). */
  readonly initial?: number;
}

/**
 * Dynamic right-sizing of the receive buffer.
 *
 * @example A reader that keeps up with a fast sender earns a larger window
 * ```ts
 * import assert from "node:assert/strict";
 * import { RcvAutotune } from "./rcv_autotune.ts";
 *
 * const at = new RcvAutotune({ max: 16 << 20, mss: 1000 });
 * assert.equal(at.target, 64 * 1024);
 * at.onConsumed(0, 0, 50); // measurement starts
 * at.onConsumed(50, 60_000, 50); // one RTT: 60 kB consumed
 * assert.ok(at.target > 2 * 60_000);
 * ```
 */
export class RcvAutotune {
  readonly #max: number;
  readonly #mss: number;
  #target: number;
  /** Bytes consumed per RTT at the last growth (Linux rcvq_space.space). */
  #space: number;
  /** Bytes consumed since the measurement began. */
  #copied = 0;
  /** Start of the current measurement (ms), -1 before the first read. */
  #start = -1;

  /**
   * @param options The largest target (receive buffer), our MSS, the starting target.
   * @throws {RangeError} When `max` or `mss` is not positive.
   */
  constructor(options: RcvAutotuneOptions) {
    if (!(options.max > 0 && options.mss > 0)) {
      throw new RangeError(`RcvAutotune needs max > 0 and mss > 0, got ${JSON.stringify(options)}`);
    }
    this.#max = options.max;
    this.#mss = options.mss;
    this.#target = Math.min(options.max, options.initial ?? AUTOTUNE_INITIAL_TARGET);
    // Linux tcp_init_buffer_space: TCP_INIT_CWND segments
    this.#space = Math.min(this.#target, 10 * options.mss);
  }

  /** Bytes the receiver may hold (buffered plus offered window); only grows. */
  get target(): number {
    return this.#target;
  }

  /**
   * The application consumed `bytes` at `now`.
   *
   * @param now Current time.
   * @param bytes Bytes just read (0 allowed).
   * @param rtt The connection's RTT estimate in ms, 0 when unknown.
   */
  onConsumed(now: Instant, bytes: number, rtt: Duration): void {
    this.#copied += bytes;
    if (this.#start < 0) {
      this.#start = now;
      return;
    }
    if (now - this.#start < (rtt > 0 ? rtt : AUTOTUNE_FALLBACK_RTT)) return;
    const copied = this.#copied;
    this.#start = now;
    this.#copied = 0;
    if (copied <= this.#space) return;
    // 2× for a loss, a 16-segment cushion; twice the growth for a rising rate (tcp_rcv_space_adjust)
    let rcvwin = 2 * copied + 16 * this.#mss;
    rcvwin += 2 * rcvwin * (copied - this.#space) / this.#space;
    this.#space = copied;
    if (rcvwin > this.#target) this.#target = Math.min(Math.ceil(rcvwin), this.#max);
  }
}
