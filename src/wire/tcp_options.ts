/**
 * TCP options codec: EOL, NOP, MSS, Window Scale, SACK-Permitted, SACK and
 * Timestamps (RFC 9293 §3.2, RFC 7323, RFC 2018), and the TCP Fast Open
 * cookie (RFC 7413 §4.1.1). Unknown kinds are skipped
 * but kept visible in {@linkcode TcpOptions.unknown}.
 *
 * Emission uses Linux's layout: on a SYN `MSS, SACK-Permitted+Timestamps
 * (or NOP,NOP,Timestamps / NOP,NOP,SACK-Permitted), NOP,Window Scale`; on
 * data segments `NOP,NOP,Timestamps` then `NOP,NOP,SACK`. A Fast Open
 * option comes last among the known ones (as Linux puts it after the
 * SYN options), padded with NOPs to a 32-bit boundary. Unknown options
 * follow, and the list is padded with EOL (zero) bytes to a multiple of 4.
 *
 * @module
 */

import { type Seq, seq } from "./seq.ts";
import type { SackBlock, TcpOptions, UnknownOption } from "./tcp_segment.ts";
import { WireError, type WireResult } from "./wire_error.ts";

/** Option kind numbers (IANA "TCP Option Kind Numbers"). */
export const OptionKind = {
  /** End of option list (RFC 9293). */
  EOL: 0,
  /** No-operation (RFC 9293). */
  NOP: 1,
  /** Maximum segment size (RFC 9293). */
  MSS: 2,
  /** Window scale (RFC 7323). */
  WINDOW_SCALE: 3,
  /** SACK permitted (RFC 2018). */
  SACK_PERMITTED: 4,
  /** SACK blocks (RFC 2018). */
  SACK: 5,
  /** Timestamps (RFC 7323). */
  TIMESTAMPS: 8,
  /** TCP Fast Open cookie (RFC 7413). */
  FAST_OPEN: 34,
} as const;

/** Shortest Fast Open cookie (RFC 7413 §4.1.1). */
export const MIN_FAST_OPEN_COOKIE = 4;
/** Longest Fast Open cookie (RFC 7413 §4.1.1). */
export const MAX_FAST_OPEN_COOKIE = 16;

/** Most option bytes a header can carry: data offset 15 words minus the 20-byte fixed header. */
export const MAX_OPTIONS_LEN = 40;

/** Largest window scale shift (RFC 7323 §2.3). */
export const MAX_WINDOW_SCALE = 14;

/** Most SACK blocks that fit in 40 option bytes (RFC 2018 §3). */
export const MAX_SACK_BLOCKS = 4;

const EMPTY_OPTIONS: TcpOptions = Object.freeze({});

type MutableOptions = { -readonly [K in keyof TcpOptions]: TcpOptions[K] };

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function putU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

function isKnownKind(kind: number): boolean {
  return kind <= 5 || kind === OptionKind.TIMESTAMPS || kind === OptionKind.FAST_OPEN;
}

function lengthError(kind: number, len: number, at: number): WireError | undefined {
  switch (kind) {
    case OptionKind.MSS:
      return len === 4 ? undefined : new WireError("bad-mss-length", `MSS length ${len} at ${at}`);
    case OptionKind.WINDOW_SCALE:
      return len === 3
        ? undefined
        : new WireError("bad-window-scale-length", `window scale length ${len} at ${at}`);
    case OptionKind.SACK_PERMITTED:
      return len === 2
        ? undefined
        : new WireError("bad-sack-permitted-length", `SACK-Permitted length ${len} at ${at}`);
    case OptionKind.SACK:
      // RFC 2018 §3: length 8n + 2 with at least one block.
      return len >= 10 && (len - 2) % 8 === 0
        ? undefined
        : new WireError("bad-sack-length", `SACK length ${len} at ${at} is not 2 + 8n, n >= 1`);
    case OptionKind.TIMESTAMPS:
      return len === 10
        ? undefined
        : new WireError("bad-timestamps-length", `Timestamps length ${len} at ${at}`);
    case OptionKind.FAST_OPEN: {
      // RFC 7413 §4.1.1: length 2 (a cookie request) or 2 + a 4..16 byte cookie of even length
      const n = len - 2;
      return n === 0 || (n >= MIN_FAST_OPEN_COOKIE && n <= MAX_FAST_OPEN_COOKIE && n % 2 === 0)
        ? undefined
        : new WireError("bad-fast-open-length", `Fast Open length ${len} at ${at}`);
    }
    default:
      return undefined;
  }
}

/**
 * Decodes option bytes, or returns the {@linkcode WireError} describing the
 * first malformed option. Never throws. Parsing stops at EOL (RFC 9293
 * §3.1). A repeated known option: the last one wins. A window scale above 14
 * is reported as 14 (RFC 7323 §2.3). MSS and Window Scale are decoded on any
 * segment; whether to honour them is the connection's business.
 *
 * @param bytes The option bytes (header bytes 20 up to the data offset), or
 *   a larger buffer holding them at `start`..`end` (no view is made of it;
 *   offsets in error messages count from `start`).
 * @param start Where the options start. Default 0.
 * @param end Where they end. Default `bytes.length`.
 * @returns The options (absent fields mean "not present"), or the error.
 */
export function decodeOptions(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
): TcpOptions | WireError {
  if (end === start) return EMPTY_OPTIONS;
  let out: MutableOptions | undefined;
  let unknown: UnknownOption[] | undefined;
  let i = start;
  while (i < end) {
    const kind = bytes[i];
    if (kind === OptionKind.EOL) break;
    if (kind === OptionKind.NOP) {
      i++;
      continue;
    }
    // RFC 9293 §3.2: every other option is kind, length (counting both), data.
    if (i + 1 >= end) {
      return new WireError(
        "option-overrun",
        `option kind ${kind} at ${i - start} has no length byte`,
      );
    }
    const len = bytes[i + 1];
    if (len < 2) {
      return new WireError(
        "bad-option-length",
        `option kind ${kind} at ${i - start} has length ${len}`,
      );
    }
    if (i + len > end) {
      return new WireError(
        "option-overrun",
        `option kind ${kind} at ${i - start} of length ${len} overruns ${end - start} option bytes`,
      );
    }
    const bad = lengthError(kind, len, i - start);
    if (bad !== undefined) return bad;
    out ??= {};
    switch (kind) {
      case OptionKind.MSS:
        out.mss = (bytes[i + 2] << 8) | bytes[i + 3];
        break;
      case OptionKind.WINDOW_SCALE: {
        // RFC 7323 §2.3: a shift above 14 is used as 14.
        const shift = bytes[i + 2];
        out.windowScale = shift > MAX_WINDOW_SCALE ? MAX_WINDOW_SCALE : shift;
        break;
      }
      case OptionKind.SACK_PERMITTED:
        out.sackPermitted = true;
        break;
      case OptionKind.SACK: {
        const blocks: SackBlock[] = [];
        for (let j = i + 2; j < i + len; j += 8) {
          blocks.push({ left: u32(bytes, j) as Seq, right: u32(bytes, j + 4) as Seq });
        }
        out.sackBlocks = blocks;
        break;
      }
      case OptionKind.TIMESTAMPS:
        out.timestamps = { tsVal: u32(bytes, i + 2), tsEcr: u32(bytes, i + 6) };
        break;
      case OptionKind.FAST_OPEN:
        out.fastOpen = bytes.slice(i + 2, i + len);
        break;
      default:
        (unknown ??= []).push({ kind, data: bytes.subarray(i + 2, i + len) });
    }
    i += len;
  }
  if (out === undefined) return EMPTY_OPTIONS;
  if (unknown !== undefined) out.unknown = unknown;
  return out;
}

/**
 * Decodes option bytes into a {@linkcode WireResult}; see
 * {@linkcode decodeOptions} for the rules.
 *
 * @example A Linux SYN's options
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions } from "./tcp_options.ts";
 * const bytes = new Uint8Array([2, 4, 0x05, 0xa8, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);
 * const r = parseOptions(bytes);
 * assert.ok(r.ok);
 * assert.deepEqual(r.value, {
 *   mss: 1448, sackPermitted: true, timestamps: { tsVal: 1, tsEcr: 0 }, windowScale: 7,
 * });
 * ```
 *
 * @example A zero option length is an error
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions } from "./tcp_options.ts";
 * const r = parseOptions(new Uint8Array([2, 0, 0, 0]));
 * assert.ok(!r.ok);
 * assert.equal(r.error.reason, "bad-option-length");
 * ```
 */
export function parseOptions(bytes: Uint8Array): WireResult<TcpOptions> {
  const r = decodeOptions(bytes);
  return r instanceof WireError ? { ok: false, error: r } : { ok: true, value: r };
}

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`Cannot emit TCP option: ${name} ${v} is not a 32-bit unsigned integer`);
  }
}

/**
 * Encoded length of `options` in bytes, padding included (a multiple of 4).
 * Also validates the values, since emitting invalid ones is a programming error.
 *
 * @throws {RangeError} If a value is out of range (MSS not 16-bit, window
 * scale above 14, more than 4 SACK blocks, an unknown option using a known
 * kind or longer than 38 data bytes) or the options exceed 40 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { optionsEncodedLength } from "./tcp_options.ts";
 * assert.equal(optionsEncodedLength({ mss: 1448, sackPermitted: true, windowScale: 7,
 *   timestamps: { tsVal: 1, tsEcr: 0 } }), 20);
 * assert.equal(optionsEncodedLength({}), 0);
 * ```
 */
export function optionsEncodedLength(options: TcpOptions): number {
  let n = 0;
  const { mss, windowScale, sackBlocks, timestamps, unknown, fastOpen } = options;
  if (mss !== undefined) {
    if (!Number.isInteger(mss) || mss < 0 || mss > 0xffff) {
      throw new RangeError(`Cannot emit TCP option: MSS ${mss} is not a 16-bit unsigned integer`);
    }
    n += 4;
  }
  if (timestamps !== undefined) {
    checkU32("TSval", timestamps.tsVal);
    checkU32("TSecr", timestamps.tsEcr);
    n += 12;
  } else if (options.sackPermitted === true) {
    n += 4;
  }
  if (windowScale !== undefined) {
    if (!Number.isInteger(windowScale) || windowScale < 0 || windowScale > MAX_WINDOW_SCALE) {
      throw new RangeError(`Cannot emit TCP option: window scale ${windowScale} is not in 0..14`);
    }
    n += 4;
  }
  if (sackBlocks !== undefined && sackBlocks.length > 0) {
    if (sackBlocks.length > MAX_SACK_BLOCKS) {
      throw new RangeError(`Cannot emit TCP option: ${sackBlocks.length} SACK blocks exceed 4`);
    }
    for (const b of sackBlocks) {
      checkU32("SACK left edge", b.left);
      checkU32("SACK right edge", b.right);
    }
    n += 4 + 8 * sackBlocks.length;
  }
  if (fastOpen !== undefined) {
    const c = fastOpen.length;
    if (c !== 0 && (c < MIN_FAST_OPEN_COOKIE || c > MAX_FAST_OPEN_COOKIE || c % 2 !== 0)) {
      throw new RangeError(`Cannot emit TCP option: a ${c}-byte Fast Open cookie (4–16, even)`);
    }
    n += (2 + c + 3) & ~3;
  }
  if (unknown !== undefined) {
    for (const u of unknown) {
      if (!Number.isInteger(u.kind) || u.kind < 0 || u.kind > 255 || isKnownKind(u.kind)) {
        throw new RangeError(`Cannot emit TCP option: kind ${u.kind} is not an unknown kind`);
      }
      if (u.data.length > MAX_OPTIONS_LEN - 2) {
        throw new RangeError(
          `Cannot emit TCP option: kind ${u.kind} carries ${u.data.length} bytes, above 38`,
        );
      }
      n += 2 + u.data.length;
    }
    n = (n + 3) & ~3;
  }
  if (n > MAX_OPTIONS_LEN) {
    throw new RangeError(
      `Cannot emit TCP options: ${n} bytes exceed the ${MAX_OPTIONS_LEN}-byte limit`,
    );
  }
  return n;
}

/**
 * Writes `options` into `buf` at `offset` in Linux's order, padded with EOL
 * to a multiple of 4 bytes, and returns the bytes written
 * (= {@linkcode optionsEncodedLength}).
 *
 * @throws {RangeError} As {@linkcode optionsEncodedLength}, or if `buf` is too small.
 *
 * @example A data segment's timestamps and one SACK block
 * ```ts
 * import assert from "node:assert/strict";
 * import { emitOptions } from "./tcp_options.ts";
 * import { seq } from "./seq.ts";
 * const buf = new Uint8Array(40);
 * const n = emitOptions({ timestamps: { tsVal: 2, tsEcr: 1 },
 *   sackBlocks: [{ left: seq(100), right: seq(200) }] }, buf);
 * assert.equal(n, 24);
 * assert.deepEqual([...buf.subarray(0, 4)], [1, 1, 8, 10]);
 * assert.deepEqual([...buf.subarray(12, 16)], [1, 1, 5, 10]);
 * ```
 */
export function emitOptions(options: TcpOptions, buf: Uint8Array, offset = 0): number {
  const total = optionsEncodedLength(options);
  if (!Number.isInteger(offset) || offset < 0 || offset + total > buf.length) {
    throw new RangeError(
      `Cannot emit ${total} option bytes at offset ${offset} into a ${buf.length}-byte buffer`,
    );
  }
  const { mss, windowScale, sackBlocks, timestamps, unknown, fastOpen } = options;
  const sackPermitted = options.sackPermitted === true;
  let i = offset;
  if (mss !== undefined) {
    buf[i] = OptionKind.MSS;
    buf[i + 1] = 4;
    buf[i + 2] = mss >>> 8;
    buf[i + 3] = mss;
    i += 4;
  }
  if (timestamps !== undefined) {
    // Linux folds SACK-Permitted into the two bytes that would otherwise be NOP,NOP.
    if (sackPermitted) {
      buf[i] = OptionKind.SACK_PERMITTED;
      buf[i + 1] = 2;
    } else {
      buf[i] = OptionKind.NOP;
      buf[i + 1] = OptionKind.NOP;
    }
    buf[i + 2] = OptionKind.TIMESTAMPS;
    buf[i + 3] = 10;
    putU32(buf, i + 4, timestamps.tsVal);
    putU32(buf, i + 8, timestamps.tsEcr);
    i += 12;
  } else if (sackPermitted) {
    buf[i] = OptionKind.NOP;
    buf[i + 1] = OptionKind.NOP;
    buf[i + 2] = OptionKind.SACK_PERMITTED;
    buf[i + 3] = 2;
    i += 4;
  }
  if (windowScale !== undefined) {
    buf[i] = OptionKind.NOP;
    buf[i + 1] = OptionKind.WINDOW_SCALE;
    buf[i + 2] = 3;
    buf[i + 3] = windowScale;
    i += 4;
  }
  if (sackBlocks !== undefined && sackBlocks.length > 0) {
    buf[i] = OptionKind.NOP;
    buf[i + 1] = OptionKind.NOP;
    buf[i + 2] = OptionKind.SACK;
    buf[i + 3] = 2 + 8 * sackBlocks.length;
    i += 4;
    for (const b of sackBlocks) {
      putU32(buf, i, b.left);
      putU32(buf, i + 4, b.right);
      i += 8;
    }
  }
  if (fastOpen !== undefined) {
    // RFC 7413 §4.1.1; NOPs first so the option ends on a 32-bit boundary
    const c = fastOpen.length;
    const pad = ((2 + c + 3) & ~3) - (2 + c);
    for (let k = 0; k < pad; k++) buf[i++] = OptionKind.NOP;
    buf[i] = OptionKind.FAST_OPEN;
    buf[i + 1] = 2 + c;
    buf.set(fastOpen, i + 2);
    i += 2 + c;
  }
  if (unknown !== undefined) {
    for (const u of unknown) {
      buf[i] = u.kind;
      buf[i + 1] = 2 + u.data.length;
      buf.set(u.data, i + 2);
      i += 2 + u.data.length;
    }
    // RFC 9293 §3.1: pad the option list with zeros (EOL) to a 32-bit boundary.
    buf.fill(OptionKind.EOL, i, offset + total);
  }
  return total;
}

/**
 * The canonical form of `options`, i.e. what parsing their emitted bytes
 * yields: a field is present only when it is emitted (`sackPermitted` only
 * when `true`, `sackBlocks` and `unknown` only when non-empty), values are
 * copied into fresh plain objects, and everything else is dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeOptions } from "./tcp_options.ts";
 * assert.deepEqual(normalizeOptions({ sackPermitted: false, sackBlocks: [], unknown: [] }), {});
 * ```
 */
export function normalizeOptions(options: TcpOptions): TcpOptions {
  const out: MutableOptions = {};
  if (options.mss !== undefined) out.mss = options.mss;
  if (options.sackPermitted === true) out.sackPermitted = true;
  if (options.timestamps !== undefined) {
    out.timestamps = { tsVal: options.timestamps.tsVal, tsEcr: options.timestamps.tsEcr };
  }
  if (options.windowScale !== undefined) out.windowScale = options.windowScale;
  if (options.fastOpen !== undefined) out.fastOpen = options.fastOpen.slice();
  if (options.sackBlocks !== undefined && options.sackBlocks.length > 0) {
    out.sackBlocks = options.sackBlocks.map((b) => ({ left: seq(b.left), right: seq(b.right) }));
  }
  if (options.unknown !== undefined && options.unknown.length > 0) {
    out.unknown = options.unknown.map((u) => ({ kind: u.kind, data: u.data.slice() }));
  }
  return out;
}
