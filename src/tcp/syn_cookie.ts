/**
 * SYN cookies (RFC 4987 §3.6, as Linux's `net/ipv4/syncookies.c`): when a
 * listener's SYN queue is full, the SYN-ACK's ISN carries everything needed
 * to rebuild the connection, so the SYN leaves no state behind. The final
 * ACK (SEG.ACK − 1 = the cookie) is checked and creates the connection.
 *
 * The ISN, as Linux's `secure_tcp_syn_cookie`:
 * `H(k, tuple, 0) + peerIsn + (count << 24) + ((H(k, tuple, count, peerIsn) + mssIndex) mod 2^24)`,
 * with H SipHash-2-4 (low 32 bits) and `count` a time counter (unlike Linux, the
 * second hash covers the peer's ISN too, so a cookie does not check for a shifted one) (one per
 * {@linkcode SYN_COOKIE_PERIOD_MS}); a cookie is valid for
 * {@linkcode SYN_COOKIE_MAX_AGE} periods. The MSS is one of four values
 * ({@linkcode SYN_COOKIE_MSS_TABLE}). When the SYN carried timestamps
 * (RFC 7323), the window scale and SACK-permitted ride in the low 6 bits
 * of our TSval and come back in the ACK's TSecr (Linux
 * `cookie_init_timestamp`); without timestamps the connection has neither.
 *
 * The secret rotates every `secretLifetimeMs`; the previous one is still
 * accepted until its last cookie is too old.
 *
 * Pure: time comes in as `now`, randomness through the injected `random`.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import { type Seq, seq, seqAdd } from "../wire/seq.ts";
import { ACK, SYN } from "../wire/tcp_flags.ts";
import type { TcpOptions, TcpSegment } from "../wire/tcp_segment.ts";
import type { TcpConfig } from "./config.ts";
import { TcpConnection } from "./connection.ts";
import { negotiate, synOptions } from "./handshake.ts";
import { encodeTupleInto, type IsnTuple, TUPLE_MAX_BYTES } from "./isn.ts";
import { lastSiphash24High32, siphash24Low32 } from "./siphash.ts";

/** MSS values a cookie can carry (index in 2 bits); the largest ≤ the peer's is chosen. */
export const SYN_COOKIE_MSS_TABLE: readonly number[] = [536, 1200, 1380, 1428];
/** Length of one time-counter period (Linux: 60 s). */
export const SYN_COOKIE_PERIOD_MS = 64_000;
/** A cookie is accepted while its counter is less than this many periods old (Linux: 2). */
export const SYN_COOKIE_MAX_AGE = 2;
/** Default secret lifetime before rotation. */
export const SYN_COOKIE_SECRET_LIFETIME_MS = 3_600_000;

const COOKIE_BITS = 24;
const COOKIE_MASK = (1 << COOKIE_BITS) - 1;
/** Bits of TSval carrying options (Linux TSBITS). */
const TS_BITS = 6;
const TS_MASK = (1 << TS_BITS) - 1;
const WSCALE_NONE = 0xf;
const SACK_BIT = 0x10;

const scratch = new Uint8Array(TUPLE_MAX_BYTES + 9);
/** The tuple whose encoding `scratch` starts with, and its length (a SYN hashes one tuple 3×). */
let encodedTuple: IsnTuple | undefined;
let encodedLen = 0;

/**
 * Encodes tuple, a one-byte domain tag, a 32-bit counter and the peer's ISN
 * at the start of `scratch`; returns the length.
 */
function message(tuple: IsnTuple, tag: number, count: number, irs = 0): number {
  // The same (readonly) tuple object as the last call: its bytes are in place already.
  if (tuple !== encodedTuple) {
    encodedLen = encodeTupleInto(tuple, scratch);
    encodedTuple = tuple;
  }
  const p = encodedLen;
  scratch[p] = tag;
  scratch[p + 1] = count >>> 24;
  scratch[p + 2] = count >>> 16;
  scratch[p + 3] = count >>> 8;
  scratch[p + 4] = count;
  scratch[p + 5] = irs >>> 24;
  scratch[p + 6] = irs >>> 16;
  scratch[p + 7] = irs >>> 8;
  scratch[p + 8] = irs;
  return p + 9;
}

/**
 * Index into {@linkcode SYN_COOKIE_MSS_TABLE} of the largest MSS not above
 * the peer's (0 when the peer offers less than 536 or none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cookieMssIndex } from "./syn_cookie.ts";
 * assert.equal(cookieMssIndex(1460), 3);
 * assert.equal(cookieMssIndex(1300), 1);
 * assert.equal(cookieMssIndex(undefined), 0);
 * ```
 */
export function cookieMssIndex(peerMss: number | undefined): number {
  const m = peerMss ?? 536;
  let i = SYN_COOKIE_MSS_TABLE.length - 1;
  while (i > 0 && SYN_COOKIE_MSS_TABLE[i] > m) i--;
  return i;
}

/** Options recovered from the TSecr of a cookie ACK. */
export interface CookieTsOptions {
  /** The peer's window shift (undefined: the peer did not offer window scaling). */
  readonly windowScale: number | undefined;
  /** The peer offered SACK. */
  readonly sackPermitted: boolean;
}

/**
 * Our SYN-ACK TSval carrying the peer's window scale and SACK-permitted in
 * its low 6 bits, never above `tsClock` (as Linux `cookie_init_timestamp`).
 *
 * @param tsClock Our timestamp clock now.
 * @param windowScale The peer's window shift, if offered.
 * @param sackPermitted The peer offered SACK.
 * @returns The TSval to send.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCookieTs, encodeCookieTs } from "./syn_cookie.ts";
 * const ts = encodeCookieTs(100_000, 7, true);
 * assert.ok(ts <= 100_000 && 100_000 - ts < 64);
 * assert.deepEqual(decodeCookieTs(ts), { windowScale: 7, sackPermitted: true });
 * ```
 */
export function encodeCookieTs(
  tsClock: number,
  windowScale: number | undefined,
  sackPermitted: boolean,
): number {
  const bits = (windowScale === undefined ? WSCALE_NONE : Math.min(windowScale, 14)) |
    (sackPermitted ? SACK_BIT : 0);
  let ts = ((tsClock & ~TS_MASK) | bits) >>> 0;
  if (((ts - tsClock) | 0) > 0) ts = (ts - (TS_MASK + 1)) >>> 0;
  return ts;
}

/**
 * The options a cookie ACK's TSecr carries, or undefined when the bits are
 * not ones we send (a forged or mangled TSecr).
 *
 * @param tsEcr The ACK's TSecr.
 * @returns The options, or undefined.
 */
export function decodeCookieTs(tsEcr: number): CookieTsOptions | undefined {
  const bits = tsEcr & TS_MASK;
  if (bits & 0x20) return undefined; // bit 5 (Linux: ECN) is never set by us
  const ws = bits & 0xf;
  if (ws > 14 && ws !== WSCALE_NONE) return undefined;
  return {
    windowScale: ws === WSCALE_NONE ? undefined : ws,
    sackPermitted: (bits & SACK_BIT) !== 0,
  };
}

/** Options of {@linkcode SynCookieJar}. */
export interface SynCookieJarOptions {
  /** Fills a buffer with secret random bytes (secrets and their rotation). */
  readonly random: (b: Uint8Array) => void;
  /** Secret lifetime before rotation. Default {@linkcode SYN_COOKIE_SECRET_LIFETIME_MS}. */
  readonly secretLifetimeMs?: number;
}

/** Counters of a {@linkcode SynCookieJar}. */
export interface SynCookieCounters {
  /** Cookies issued (SYN-ACKs sent without state; Linux SyncookiesSent). */
  sent: number;
  /** Cookie ACKs that validated (Linux SyncookiesRecv). */
  recv: number;
  /** ACKs whose cookie failed (forged, too old, or not a cookie; Linux SyncookiesFailed). */
  failed: number;
  /** Secret rotations. */
  rotations: number;
}

/**
 * Issues and checks SYN cookies for one stack, and rotates its secret.
 *
 * @example A cookie round trip, and a forged one
 * ```ts
 * import assert from "node:assert/strict";
 * import { SynCookieJar } from "./syn_cookie.ts";
 * import { seq } from "../wire/seq.ts";
 * let n = 1;
 * const jar = new SynCookieJar({ random: (b) => b.fill(n++) });
 * const t = { localAddr: "10.0.0.1", localPort: 80, remoteAddr: "10.0.0.2", remotePort: 4000 };
 * const cookie = jar.issue(1000, t, seq(12345), 2);
 * assert.equal(jar.check(5000, t, cookie, seq(12345)), 2);
 * assert.equal(jar.check(5000, t, seq(cookie + 4096), seq(12345)), -1);
 * assert.equal(jar.check(1000 + 3 * 64_000, t, cookie, seq(12345)), -1); // too old
 * ```
 */
export class SynCookieJar {
  /** Counters. */
  readonly counters: SynCookieCounters = { sent: 0, recv: 0, failed: 0, rotations: 0 };
  #random: (b: Uint8Array) => void;
  #lifetime: number;
  #secret = new Uint8Array(16);
  #previous = new Uint8Array(16);
  /** Until when cookies of the previous secret may still be valid. */
  #previousUntil = Number.NEGATIVE_INFINITY;
  #rotateAt = Number.NaN;
  #tsOffset = 0;

  /** Creates a jar with a fresh secret. */
  constructor(options: SynCookieJarOptions) {
    this.#random = options.random;
    this.#lifetime = options.secretLifetimeMs ?? SYN_COOKIE_SECRET_LIFETIME_MS;
    this.#random(this.#secret);
  }

  /**
   * Replaces the secret now; cookies made with the previous one stay valid
   * for {@linkcode SYN_COOKIE_MAX_AGE} periods. Called by itself every
   * `secretLifetimeMs`.
   */
  rotate(now: Instant): void {
    const old = this.#previous;
    this.#previous = this.#secret;
    old.fill(0);
    this.#random(old);
    this.#secret = old;
    this.#previousUntil = now + SYN_COOKIE_MAX_AGE * SYN_COOKIE_PERIOD_MS;
    this.#rotateAt = now + this.#lifetime;
    this.counters.rotations++;
  }

  #maybeRotate(now: Instant): void {
    if (Number.isNaN(this.#rotateAt)) this.#rotateAt = now + this.#lifetime;
    else if (now >= this.#rotateAt) this.rotate(now);
  }

  /**
   * The cookie ISN for a SYN from `tuple` whose SEG.SEQ is `peerIsn`.
   *
   * @param now Current time.
   * @param tuple The connection's addresses and ports.
   * @param peerIsn The SYN's sequence number.
   * @param mssIndex Index into {@linkcode SYN_COOKIE_MSS_TABLE}.
   * @returns Our ISN.
   */
  issue(now: Instant, tuple: IsnTuple, peerIsn: Seq, mssIndex: number): Seq {
    this.#maybeRotate(now);
    this.counters.sent++;
    const count = Math.floor(now / SYN_COOKIE_PERIOD_MS) >>> 0;
    const k = this.#secret;
    const h0 = siphash24Low32(k, scratch, message(tuple, 0, 0));
    this.#tsOffset = lastSiphash24High32();
    const h1 = siphash24Low32(k, scratch, message(tuple, 1, count, peerIsn));
    return seq(h0 + peerIsn + (count << COOKIE_BITS) + ((h1 + mssIndex) & COOKIE_MASK));
  }

  /**
   * Checks a cookie: `cookie` is SEG.ACK − 1 of the ACK, `peerIsn` its
   * SEG.SEQ − 1. Returns the MSS index, or −1 when invalid or too old.
   */
  check(now: Instant, tuple: IsnTuple, cookie: Seq, peerIsn: Seq): number {
    this.#maybeRotate(now);
    const count = Math.floor(now / SYN_COOKIE_PERIOD_MS) >>> 0;
    let r = checkWith(this.#secret, count, tuple, cookie, peerIsn);
    if (r < 0 && now < this.#previousUntil) {
      r = checkWith(this.#previous, count, tuple, cookie, peerIsn);
    }
    if (r < 0) this.counters.failed++;
    else {
      this.counters.recv++;
      this.#tsOffset = checkedTsOffset;
    }
    return r;
  }

  /**
   * The timestamp offset (RFC 7323 §5.4) of the cookie connection of the
   * last {@linkcode SynCookieJar.issue} or successful
   * {@linkcode SynCookieJar.check}: the other half of the keyed tuple hash
   * the cookie uses (made by the secret that made the cookie), so the ACK's
   * TSecr relates to our clock without state, and a SYN costs two hashes.
   */
  lastTsOffset(): number {
    return this.#tsOffset;
  }
}

/** The timestamp offset of the tuple hash of the last {@linkcode checkWith}. */
let checkedTsOffset = 0;

function checkWith(
  k: Uint8Array,
  count: number,
  tuple: IsnTuple,
  cookie: Seq,
  peerIsn: Seq,
): number {
  const h0 = siphash24Low32(k, scratch, message(tuple, 0, 0));
  checkedTsOffset = lastSiphash24High32();
  const c = (cookie - h0 - peerIsn) >>> 0;
  const issued = c >>> COOKIE_BITS;
  const age = (count - issued) & 0xff;
  if (age >= SYN_COOKIE_MAX_AGE) return -1;
  const h1 = siphash24Low32(k, scratch, message(tuple, 1, (count - age) >>> 0, peerIsn));
  const data = (c - h1) & COOKIE_MASK;
  return data < SYN_COOKIE_MSS_TABLE.length ? data : -1;
}

const EMPTY = new Uint8Array(0);

/**
 * The stateless SYN-ACK answering `syn`: ISN = the cookie, the options our
 * SYN-ACK would carry (the MSS we advertise, window scale, SACK-permitted and
 * timestamps as negotiated), TSval encoding the peer's options.
 *
 * @param jar The cookie jar.
 * @param config Our configuration.
 * @param now Current time.
 * @param tuple The connection's addresses and ports.
 * @param syn The SYN.
 * @returns The SYN-ACK to send.
 */
export function cookieSynAck(
  jar: SynCookieJar,
  config: TcpConfig,
  now: Instant,
  tuple: IsnTuple,
  syn: TcpSegment,
): TcpSegment {
  const o = syn.options;
  const iss = jar.issue(now, tuple, syn.seq, cookieMssIndex(o.mss));
  const n = negotiate(config, o);
  const withTs = n.timestamps;
  // without timestamps the cookie cannot carry window scale nor SACK (Linux)
  const offered = withTs ? n : { ...n, windowScaling: false, sack: false };
  const tsVal = withTs
    ? encodeCookieTs(
      (Math.floor(now) + jar.lastTsOffset()) >>> 0,
      n.windowScaling ? o.windowScale : undefined,
      n.sack,
    )
    : 0;
  return {
    srcPort: syn.dstPort,
    dstPort: syn.srcPort,
    seq: iss,
    ack: seqAdd(syn.seq, 1),
    flags: SYN | ACK,
    window: Math.min(config.recvBufferSize, 0xffff),
    urgentPointer: 0,
    options: synOptions(config, offered, tsVal, withTs ? o.timestamps!.tsVal : 0),
    payload: EMPTY,
  };
}

/**
 * Rebuilds the connection from a cookie ACK (no SYN, no RST, ACK set), or
 * returns undefined when the cookie does not check. The connection has
 * taken the ACK (and any data on it) and is ESTABLISHED.
 *
 * Its first RTT sample comes from the ACK's TSecr, up to 63 ms high (the
 * option bits replaced TSval's low bits), or, without timestamps, is zero.
 *
 * @param jar The cookie jar.
 * @param config Our configuration.
 * @param now Current time.
 * @param tuple The connection's addresses and ports.
 * @param ack The ACK.
 * @returns The connection, or undefined.
 */
export function cookieConnection(
  jar: SynCookieJar,
  config: TcpConfig,
  now: Instant,
  tuple: IsnTuple,
  ack: TcpSegment,
): TcpConnection | undefined {
  const iss = seqAdd(ack.ack, -1);
  const irs = seqAdd(ack.seq, -1);
  const mssIndex = jar.check(now, tuple, iss, irs);
  if (mssIndex < 0) return undefined;
  const ts = ack.options.timestamps;
  let opts: TcpOptions = { mss: SYN_COOKIE_MSS_TABLE[mssIndex] };
  if (ts !== undefined && config.timestamps) {
    const d = decodeCookieTs(ts.tsEcr);
    if (d === undefined) {
      jar.counters.recv--;
      jar.counters.failed++;
      return undefined;
    }
    opts = {
      ...opts,
      timestamps: { tsVal: ts.tsVal, tsEcr: 0 },
      ...(d.windowScale !== undefined ? { windowScale: d.windowScale } : {}),
      ...(d.sackPermitted ? { sackPermitted: true } : {}),
    };
  }
  const syn: TcpSegment = {
    srcPort: ack.srcPort,
    dstPort: ack.dstPort,
    seq: irs,
    ack: seq(0),
    flags: SYN,
    window: ack.window,
    urgentPointer: 0,
    options: opts,
    payload: EMPTY,
  };
  const tcp = TcpConnection.accept(now, {
    localPort: ack.dstPort,
    remotePort: ack.srcPort,
    iss,
    config,
    tsOffset: jar.lastTsOffset(),
  }, syn);
  tcp.pollTransmit(now); // the SYN-ACK: sent already, as the cookie
  tcp.handleSegment(now, ack);
  return tcp;
}
