/**
 * Pre-shared keys for sealed datagrams: parsing the text of a key file or of
 * the `TOU_KEY` environment variable, and generating new keys.
 *
 * A key is at least {@linkcode PSK_MIN_BYTES} random bytes written as hex or
 * base64 (standard or URL-safe, padding optional). Whitespace anywhere in the
 * text is ignored, so a key file may end with a newline and base64 may be
 * wrapped. Text made only of hex digits is read as hex; text made mostly of
 * them (a mistyped hex key) is refused rather than read as base64, which
 * would silently give another key. Errors say which format failed and where
 * (line and column), never which character: the text is a secret.
 *
 * @module
 */

/** The shortest key accepted, in bytes (256 bits). */
export const PSK_MIN_BYTES = 32;

/** The longest key accepted, in bytes; longer text is almost surely the wrong file. */
export const PSK_MAX_BYTES = 1024;

/** Why a key was refused. */
export type PskErrorReason =
  | "empty"
  | "bad-encoding"
  | "too-short"
  | "too-long"
  | "degenerate";

/**
 * A key text that cannot be used. The message names the problem, e.g.
 * "key too short: 16 bytes, need at least 32".
 *
 * @example Recognising it
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePsk, PskError } from "./psk.ts";
 *
 * assert.throws(() => parsePsk("00".repeat(16)), (e: unknown) => {
 *   assert.ok(e instanceof PskError);
 *   assert.equal(e.reason, "too-short");
 *   assert.equal(e.message, "key too short: 16 bytes, need at least 32");
 *   return true;
 * });
 * ```
 */
export class PskError extends Error {
  /** Machine-readable cause. */
  readonly reason: PskErrorReason;

  /**
   * @param reason Machine-readable cause.
   * @param message Human-readable text naming the problem.
   */
  constructor(reason: PskErrorReason, message: string) {
    super(message);
    this.name = "PskError";
    this.reason = reason;
  }
}

const HEX_RE = /^[0-9a-fA-F]+$/;
const WHITESPACE_RE = /\s+/g;

/**
 * Parses a pre-shared key from text (hex or base64 of at least 32 bytes).
 *
 * @param text The key file's content or the `TOU_KEY` value.
 * @returns The key bytes (a new array).
 * @throws {PskError} When the text is empty, not hex/base64, shorter than
 *   {@linkcode PSK_MIN_BYTES}, longer than {@linkcode PSK_MAX_BYTES}, or all
 *   one repeated byte.
 *
 * @example Hex and base64 of the same key
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePsk } from "./psk.ts";
 *
 * const hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
 * const b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
 * assert.deepEqual(parsePsk(hex), parsePsk(b64));
 * assert.equal(parsePsk(hex).length, 32);
 * ```
 */
export function parsePsk(text: string): Uint8Array {
  const compact = text.replace(WHITESPACE_RE, "");
  if (compact.length === 0) {
    throw new PskError(
      "empty",
      `key is empty: expected hex or base64 of at least ${PSK_MIN_BYTES} bytes`,
    );
  }
  const key = HEX_RE.test(compact)
    ? decodeHex(compact)
    : looksLikeHex(compact)
    ? notHex(compact, text)
    : decodeBase64(compact, text);
  if (key.length < PSK_MIN_BYTES) {
    throw new PskError(
      "too-short",
      `key too short: ${key.length} bytes, need at least ${PSK_MIN_BYTES}`,
    );
  }
  if (key.length > PSK_MAX_BYTES) {
    throw new PskError(
      "too-long",
      `key too long: ${key.length} bytes, at most ${PSK_MAX_BYTES} (is this the key file?)`,
    );
  }
  if (key.every((b) => b === key[0])) {
    throw new PskError(
      "degenerate",
      `key is degenerate: all ${key.length} bytes are the same; generate one with \`tou keygen\``,
    );
  }
  return key;
}

/** Options of {@linkcode generatePsk}. */
export interface GeneratePskOptions {
  /** Key length in bytes; default {@linkcode PSK_MIN_BYTES}, at least that. */
  readonly length?: number;
  /** Random source; default `crypto.getRandomValues`. */
  readonly randomBytes?: (buf: Uint8Array) => void;
}

/**
 * Generates a new random pre-shared key as hex text (what a key file holds).
 *
 * @param opts Length and random source.
 * @returns Lowercase hex, 64 characters for the default 32 bytes.
 *
 * @example Round trip through parsePsk
 * ```ts
 * import assert from "node:assert/strict";
 * import { generatePsk, parsePsk } from "./psk.ts";
 *
 * const text = generatePsk();
 * assert.match(text, /^[0-9a-f]{64}$/);
 * assert.equal(parsePsk(text).length, 32);
 * ```
 */
export function generatePsk(opts: GeneratePskOptions = {}): string {
  const length = opts.length ?? PSK_MIN_BYTES;
  if (!Number.isInteger(length) || length < PSK_MIN_BYTES || length > PSK_MAX_BYTES) {
    throw new RangeError(
      `Cannot generate key: length ${length} is not an integer in ${PSK_MIN_BYTES}..${PSK_MAX_BYTES}`,
    );
  }
  const key = new Uint8Array(length);
  (opts.randomBytes ?? ((b: Uint8Array) => crypto.getRandomValues(b)))(key);
  return formatPsk(key);
}

/**
 * Writes key bytes as lowercase hex text.
 *
 * @param key Key bytes.
 * @returns Hex text that {@linkcode parsePsk} reads back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPsk } from "./psk.ts";
 * assert.equal(formatPsk(new Uint8Array([0, 15, 255])), "000fff");
 * ```
 */
export function formatPsk(key: Uint8Array): string {
  let s = "";
  for (const b of key) s += hexByte(b);
  return s;
}

function hexByte(b: number): string {
  return b.toString(16).padStart(2, "0");
}

function decodeHex(s: string): Uint8Array {
  if (s.length % 2 !== 0) {
    throw new PskError(
      "bad-encoding",
      `key looks like hex but has an odd number of digits (${s.length})`,
    );
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Share of hex digits above which a text is taken for (mistyped) hex; random base64 has ≈ 34%. */
const HEX_LIKE_SHARE = 0.75;

function isHexDigit(c: string): boolean {
  return (c >= "0" && c <= "9") || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");
}

function looksLikeHex(compact: string): boolean {
  let hex = 0;
  for (const c of compact) if (isHexDigit(c)) hex++;
  return hex >= HEX_LIKE_SHARE * compact.length;
}

/** "line L, column C" in `text` of the character at `index` of its whitespace-free form. */
function positionOf(text: string, index: number): string {
  let line = 1;
  let col = 0;
  let k = 0;
  for (const c of text) {
    if (c === "\n") {
      line++;
      col = 0;
      continue;
    }
    col++;
    if (/\s/.test(c)) continue;
    if (k++ === index) break;
  }
  return `line ${line}, column ${col}`;
}

function notHex(compact: string, text: string): never {
  let i = 0;
  while (i < compact.length && isHexDigit(compact[i])) i++;
  throw new PskError(
    "bad-encoding",
    `key is not valid hex: the character at ${positionOf(text, i)} is not a hex digit (0-9, a-f)`,
  );
}

const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function isBase64Char(c: string): boolean {
  return BASE64_ALPHABET.includes(c) || c === "+" || c === "/" || c === "-" || c === "_";
}

function decodeBase64(s: string, text: string): Uint8Array {
  const body = s.replace(/=+$/, "");
  const padding = s.length - body.length;
  for (let i = 0; i < body.length; i++) {
    if (!isBase64Char(body[i])) {
      throw new PskError(
        "bad-encoding",
        `key is neither hex nor valid base64: the character at ${
          positionOf(text, i)
        } is not a base64 digit`,
      );
    }
  }
  if (/[+/]/.test(body) && /[-_]/.test(body)) {
    throw new PskError(
      "bad-encoding",
      "key is not valid base64: it mixes the standard (+/) and URL-safe (-_) alphabets",
    );
  }
  if (body.length % 4 === 1 || padding > 2 || (padding > 0 && s.length % 4 !== 0)) {
    throw new PskError(
      "bad-encoding",
      `key is not valid base64: ${s.length} characters${
        padding > 0 ? ` with ${padding} '='` : ""
      } cannot encode whole bytes`,
    );
  }
  const std = body.replaceAll("-", "+").replaceAll("_", "/");
  const padded = std + "=".repeat((4 - (std.length % 4)) % 4);
  let bin: string;
  try {
    bin = atob(padded);
  } catch {
    // Unreachable after the checks above; kept so only PskError escapes.
    throw new PskError("bad-encoding", "key is not valid base64");
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Canonical only: the unused low bits of the last digit must be zero (a typo there changes nothing else).
  const rem = std.length % 4;
  if (rem !== 0) {
    const last = (BASE64_ALPHABET + "+/").indexOf(std[std.length - 1]);
    if ((last & (rem === 2 ? 0x0f : 0x03)) !== 0) {
      out.fill(0);
      throw new PskError(
        "bad-encoding",
        `key is not valid base64: its last digit has non-zero unused bits (a typo?)`,
      );
    }
  }
  return out;
}
