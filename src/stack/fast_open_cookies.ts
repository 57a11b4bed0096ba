/**
 * TCP Fast Open cookies (RFC 7413 §4.1): the server's side (cookies are a
 * keyed MAC of the client's IP address, SipHash-2-4 under a secret that
 * rotates, the previous secret still accepted) and the client's cache of
 * the cookie and MSS each server gave.
 *
 * @module
 */

import { siphash24 } from "../tcp/siphash.ts";
import type { Instant } from "../time.ts";

/** How long a server secret makes new cookies; cookies stay valid for one more period. */
export const FAST_OPEN_KEY_LIFETIME = 3_600_000;
/** Bytes of a cookie (RFC 7413 §4.1.1 allows 4–16; 8 is Linux's length). */
export const FAST_OPEN_COOKIE_LEN = 8;

/** What {@linkcode FastOpenCookies.check} found. */
export type CookieVerdict = "valid" | "valid-old-key" | "invalid";

/**
 * The server's cookie generator and checker (RFC 7413 §4.1.2): a cookie is
 * SipHash-2-4 of the client's IP address under a 16-byte secret. Secrets
 * rotate every {@linkcode FAST_OPEN_KEY_LIFETIME} on the runtime's clock;
 * a cookie made with the previous secret is still accepted (and replaced).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FastOpenCookies } from "./fast_open_cookies.ts";
 * let n = 0;
 * const jar = new FastOpenCookies((b) => b.fill(++n));
 * const c = jar.cookie("10.0.0.1", 0);
 * assert.equal(jar.check("10.0.0.1", c, 1), "valid");
 * assert.equal(jar.check("10.0.0.2", c, 1), "invalid");
 * jar.rotate(2);
 * assert.equal(jar.check("10.0.0.1", c, 3), "valid-old-key");
 * jar.rotate(4);
 * assert.equal(jar.check("10.0.0.1", c, 5), "invalid");
 * ```
 */
export class FastOpenCookies {
  readonly #random: (into: Uint8Array) => void;
  readonly #lifetime: number;
  #key = new Uint8Array(16);
  #oldKey: Uint8Array | undefined;
  #keyBorn: Instant | undefined;
  readonly #enc = new TextEncoder();
  readonly #tag = new Uint8Array(8);
  /**
   * The current secret's cookie of the last address asked about: a tunnel
   * server's connections all come from one client, so each SYN's cookie is
   * checked (and a fresh one made) without encoding the address and hashing
   * it again (issue 15).
   */
  readonly #lastCookie = new Uint8Array(FAST_OPEN_COOKIE_LEN);
  #lastIp: string | undefined;

  /**
   * @param random Fills a secret with random bytes.
   * @param lifetime How long a secret makes cookies (ms).
   */
  constructor(random: (into: Uint8Array) => void, lifetime: number = FAST_OPEN_KEY_LIFETIME) {
    this.#random = random;
    this.#lifetime = lifetime;
    random(this.#key);
  }

  /** Starts a new secret now; the current one is kept for checking. */
  rotate(now: Instant): void {
    this.#oldKey = this.#key;
    this.#key = new Uint8Array(16);
    this.#random(this.#key);
    this.#keyBorn = now;
    this.#lastIp = undefined;
  }

  /** The current secret's cookie for `ip` (shared: copy it to keep it). */
  #current(ip: string): Uint8Array {
    if (ip !== this.#lastIp) {
      siphash24(this.#key, this.#enc.encode(ip), this.#lastCookie);
      this.#lastIp = ip;
    }
    return this.#lastCookie;
  }

  #maybeRotate(now: Instant): void {
    if (this.#keyBorn === undefined) this.#keyBorn = now;
    else if (now - this.#keyBorn >= this.#lifetime) this.rotate(now);
  }

  /** A fresh cookie for a client at `ip`. */
  cookie(ip: string, now: Instant): Uint8Array {
    this.#maybeRotate(now);
    return this.#current(ip).slice();
  }

  /** Whether `cookie` is one this server gave to `ip` (with the current or previous secret). */
  check(ip: string, cookie: Uint8Array, now: Instant): CookieVerdict {
    this.#maybeRotate(now);
    if (cookie.length !== FAST_OPEN_COOKIE_LEN) return "invalid";
    if (equal(this.#current(ip), cookie)) return "valid";
    if (
      this.#oldKey !== undefined &&
      equal(siphash24(this.#oldKey, this.#enc.encode(ip), this.#tag), cookie)
    ) {
      return "valid-old-key";
    }
    return "invalid";
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** What a client remembers of a server (RFC 7413 §4.1.3): its cookie and payload per segment. */
export interface FastOpenCacheEntry {
  /** The server's cookie. */
  readonly cookie: Uint8Array;
  /** Payload bytes per segment the last connection used (bounds the SYN's data). */
  readonly mss: number;
}

/**
 * The client's cookie cache, by server datagram address (`ip|port`),
 * bounded (the oldest entry goes first). By default one cache is shared by
 * every stack of the process, as Linux keeps one per network namespace, so
 * short-lived endpoints (`connect()`) still find the cookie.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FastOpenCache } from "./fast_open_cookies.ts";
 * const cache = new FastOpenCache(2);
 * cache.set("a", { cookie: new Uint8Array(8), mss: 1400 });
 * cache.set("b", { cookie: new Uint8Array(8), mss: 1400 });
 * cache.set("c", { cookie: new Uint8Array(8), mss: 1400 });
 * assert.equal(cache.get("a"), undefined);
 * assert.equal(cache.get("c")?.mss, 1400);
 * ```
 */
export class FastOpenCache {
  readonly #limit: number;
  readonly #map = new Map<string, FastOpenCacheEntry>();

  /** @param limit Most servers remembered. */
  constructor(limit = 1024) {
    this.#limit = limit;
  }

  /** The entry for a server, if any. */
  get(key: string): FastOpenCacheEntry | undefined {
    return this.#map.get(key);
  }

  /** Remembers a server's cookie. */
  set(key: string, entry: FastOpenCacheEntry): void {
    this.#map.delete(key);
    this.#map.set(key, entry);
    if (this.#map.size > this.#limit) this.#map.delete(this.#map.keys().next().value!);
  }

  /** Forgets a server (its cookie was refused). */
  delete(key: string): void {
    this.#map.delete(key);
  }

  /** Servers remembered. */
  get size(): number {
    return this.#map.size;
  }
}

/** The process-wide client cache stacks use unless given their own. */
export const SHARED_FAST_OPEN_CACHE: FastOpenCache = new FastOpenCache();
