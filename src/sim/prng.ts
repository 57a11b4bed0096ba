/**
 * A small, fast, seeded pseudo-random generator for the simulator: sfc32
 * (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state)
 * seeded through splitmix32. Not cryptographic; its only job is to make
 * every simulated run reproducible from one number.
 *
 * @module
 */

/** One splitmix32 step: a well-mixed 32-bit value from a 32-bit state (returns the output). */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds any finite number (including seeds above 2^32 and fractions) into 32 bits. */
function foldSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`Prng seed must be finite, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
  const frac = Math.floor((seed - Math.floor(seed)) * 0x1_0000_0000) >>> 0;
  return (lo ^ splitmix32(hi) ^ splitmix32(frac ^ 0x5bd1e995)) >>> 0;
}

/**
 * Derives an independent seed from a parent seed and a label, so that each
 * simulated component (one per link direction, say) has its own stream and
 * traffic on one does not perturb another.
 *
 * @param seed The parent seed.
 * @param label Any string naming the component.
 * @returns A 32-bit seed.
 *
 * @example Same inputs, same seed
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveSeed } from "./prng.ts";
 * assert.equal(deriveSeed(7, "a>b"), deriveSeed(7, "a>b"));
 * assert.notEqual(deriveSeed(7, "a>b"), deriveSeed(7, "b>a"));
 * ```
 */
export function deriveSeed(seed: number, label: string): number {
  // FNV-1a over the UTF-16 code units, then mixed with the parent seed.
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  }
  return splitmix32((foldSeed(seed) ^ splitmix32(h >>> 0)) >>> 0);
}

/**
 * Seeded sfc32 generator.
 *
 * @example Reproducible streams
 * ```ts
 * import assert from "node:assert/strict";
 * import { Prng } from "./prng.ts";
 * const a = new Prng(42);
 * const b = new Prng(42);
 * assert.equal(a.nextU32(), b.nextU32());
 * const x = a.next();
 * assert.ok(x >= 0 && x < 1);
 * ```
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spareNormal = Number.NaN;

  /**
   * Seeds the generator.
   *
   * @param seed Any finite number; equal seeds give equal streams.
   */
  constructor(seed: number) {
    let s = foldSeed(seed);
    s = splitmix32(s);
    this.#a = s | 0;
    s = splitmix32(s);
    this.#b = s | 0;
    s = splitmix32(s);
    this.#c = s | 0;
    s = splitmix32(s);
    this.#d = s | 0;
    // Warm-up: let the counter-based state diffuse before use.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** The next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** `true` with probability `p` (`p <= 0` never draws, so it never perturbs the stream). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    return this.next() < p;
  }

  /** A uniform integer in [0, n) for 0 < n <= 2^32. */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An exponentially distributed value with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** A normally distributed value (Box–Muller; the second variate is kept for the next call). */
  normal(mean: number, sd: number): number {
    if (!Number.isNaN(this.#spareNormal)) {
      const z = this.#spareNormal;
      this.#spareNormal = Number.NaN;
      return mean + sd * z;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** Fills `buf` with random bytes. */
  fill(buf: Uint8Array): void {
    const n = buf.length;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const x = this.nextU32();
      buf[i] = x;
      buf[i + 1] = x >>> 8;
      buf[i + 2] = x >>> 16;
      buf[i + 3] = x >>> 24;
    }
    if (i < n) {
      let x = this.nextU32();
      for (; i < n; i++, x >>>= 8) buf[i] = x;
    }
  }

  /** A new generator seeded from this one's stream (independent for practical purposes). */
  split(): Prng {
    // 53 bits of fresh seed: 21 high bits plus 32 low bits, exactly representable.
    return new Prng((this.nextU32() >>> 11) * 0x1_0000_0000 + this.nextU32());
  }
}
