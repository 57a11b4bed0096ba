/**
 * The budget of new peer sessions a {@linkcode SealedSocket} derives keys
 * for: token buckets over new-salt derivations, `rate` per second in all
 * (the same burst), and a tenth of that per source address (hashed into
 * {@linkcode SOURCE_BUCKETS} buckets, no per-address state), so that a
 * flood from a few addresses cannot use up the budget of everyone else.
 *
 * @module
 */

/** Buckets the per-source budget is hashed into. */
export const SOURCE_BUCKETS = 256;

/** One source's share of the rate (and burst): a tenth, at least 1. */
function sourceRate(rate: number): number {
  return Math.max(1, rate / 10);
}

/** FNV-1a of the source IP, into a bucket index. */
function sourceBucket(hostname: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < hostname.length; i++) h = Math.imul(h ^ hostname.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SOURCE_BUCKETS;
}

/**
 * Token buckets over new-session key derivations.
 *
 * @example A burst of the full rate, a tenth of it from one source
 * ```ts
 * import assert from "node:assert/strict";
 * import { NewPeerBudget } from "./new_peer_budget.ts";
 * const b = new NewPeerBudget(20);
 * assert.ok(b.take(0, "10.0.0.1") && b.take(0, "10.0.0.1"));
 * assert.ok(!b.take(0, "10.0.0.1")); // its share (2) is used up
 * assert.ok(b.take(0, "10.0.0.2"));
 * assert.ok(b.take(1000, "10.0.0.1")); // refilled after a second
 * ```
 */
export class NewPeerBudget {
  readonly #rate: number;
  #tokens: number;
  #tokensAt = Number.NEGATIVE_INFINITY;
  readonly #srcTokens = new Float64Array(SOURCE_BUCKETS);
  readonly #srcAt = new Float64Array(SOURCE_BUCKETS).fill(Number.NEGATIVE_INFINITY);

  /** @param rate New sessions per second in all, burst included. */
  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = rate;
    this.#srcTokens.fill(sourceRate(rate));
  }

  /**
   * Takes one token for a new session from `hostname` at `now` (ms);
   * returns false when the whole budget or that source's share is empty.
   */
  take(now: number, hostname: string): boolean {
    const rate = this.#rate;
    const elapsed = now - this.#tokensAt;
    if (elapsed > 0) this.#tokens = Math.min(rate, this.#tokens + (elapsed / 1000) * rate);
    this.#tokensAt = now;
    const b = sourceBucket(hostname);
    const srcRate = sourceRate(rate);
    const srcElapsed = now - this.#srcAt[b];
    if (srcElapsed > 0) {
      this.#srcTokens[b] = Math.min(srcRate, this.#srcTokens[b] + (srcElapsed / 1000) * srcRate);
    }
    this.#srcAt[b] = now;
    if (this.#tokens < 1 || this.#srcTokens[b] < 1) return false;
    this.#tokens--;
    this.#srcTokens[b]--;
    return true;
  }
}
