/**
 * The stack's resource limits, apart from its tables: how many connections
 * its listeners may hold (in all and per peer address) and how a memory
 * budget for send and receive buffers is shared among connections.
 *
 * Policy, as a demanding operator expects it (docs/stack.md "Limits"):
 * - Past a connection cap, a new SYN is answered with a RST at once (the
 *   client sees "connection refused" instead of waiting through SYN
 *   retransmissions, as iptables `connlimit --reject-with tcp-reset`), and
 *   counted. Connections in TIME_WAIT do not count: they hold no session.
 * - The memory budget is shared equally: each connection's send and receive
 *   buffers are bounded by `budget / (2 n)` (n connections), never more than
 *   their configured sizes. Adding a connection shrinks everyone's windows;
 *   only when a share would fall below {@linkcode MIN_BUFFER_SHARE} is a new
 *   SYN refused (RST, counted). Linux's `tcp_mem` likewise clamps windows
 *   under pressure before it drops.
 *
 * @module
 */

/** Smallest per-direction buffer share a connection gets before new ones are refused (4 KiB). */
export const MIN_BUFFER_SHARE = 4096;

/** Why {@linkcode ConnectionLimits.admit} refused a connection. */
export type LimitVerdict = "ok" | "total" | "addr";

/**
 * Counts a stack's passive connections in all and per peer IP address and
 * says whether one more fits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionLimits } from "./limits.ts";
 * const l = new ConnectionLimits(3, 2);
 * l.add("10.0.0.1");
 * l.add("10.0.0.1");
 * assert.equal(l.admit("10.0.0.1"), "addr");
 * assert.equal(l.admit("10.0.0.2"), "ok");
 * l.add("10.0.0.2");
 * assert.equal(l.admit("10.0.0.3"), "total");
 * l.remove("10.0.0.1");
 * assert.equal(l.admit("10.0.0.1"), "ok");
 * ```
 */
export class ConnectionLimits {
  #max: number;
  #perAddr: number;
  #count = 0;
  #byAddr = new Map<string, number>();

  /**
   * @param max Connections at most; 0 no limit.
   * @param perAddr Connections per peer IP address at most; 0 no limit.
   */
  constructor(max: number, perAddr: number) {
    this.#max = max;
    this.#perAddr = perAddr;
  }

  /** Changes the caps (connections already held stay). */
  set(max: number | undefined, perAddr: number | undefined): void {
    if (max !== undefined) this.#max = max;
    if (perAddr !== undefined) this.#perAddr = perAddr;
  }

  /** Connections counted. */
  get count(): number {
    return this.#count;
  }

  /** Distinct peer addresses with a counted connection. */
  get addresses(): number {
    return this.#byAddr.size;
  }

  /** Whether a connection from `hostname` fits. */
  admit(hostname: string): LimitVerdict {
    if (this.#max > 0 && this.#count >= this.#max) return "total";
    if (this.#perAddr > 0 && (this.#byAddr.get(hostname) ?? 0) >= this.#perAddr) return "addr";
    return "ok";
  }

  /** Counts a connection from `hostname`. */
  add(hostname: string): void {
    this.#count++;
    this.#byAddr.set(hostname, (this.#byAddr.get(hostname) ?? 0) + 1);
  }

  /** Stops counting a connection from `hostname`. */
  remove(hostname: string): void {
    this.#count--;
    const n = (this.#byAddr.get(hostname) ?? 1) - 1;
    if (n <= 0) this.#byAddr.delete(hostname);
    else this.#byAddr.set(hostname, n);
  }
}

/**
 * The per-direction buffer bound of each of `n` connections under a budget:
 * `budget / (2 n)` rounded down to four significant bits (so that it moves
 * in steps of at most 1/8 and the stack re-applies it to every connection
 * about 16 times per doubling of n, not at every open and close), or
 * `Infinity` when there is no budget.
 *
 * @param budget Bytes for all send and receive buffers; 0 none.
 * @param n Connections sharing it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bufferShare } from "./limits.ts";
 * assert.equal(bufferShare(1 << 20, 64), 8192);
 * assert.equal(bufferShare(1 << 20, 65), 7680); // 8066 rounded down to 15 × 512
 * assert.equal(bufferShare(0, 64), Infinity);
 * ```
 */
export function bufferShare(budget: number, n: number): number {
  if (budget <= 0) return Number.POSITIVE_INFINITY;
  const raw = Math.floor(budget / (2 * Math.max(1, n)));
  if (raw < 16) return raw;
  const step = 2 ** (Math.floor(Math.log2(raw)) - 3);
  return Math.floor(raw / step) * step;
}
