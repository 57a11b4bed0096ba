/**
 * The one error type of the wire codecs. Parsers never throw: they return a
 * {@linkcode WireResult} whose failure side carries a {@linkcode WireError}
 * with a machine-readable {@linkcode WireErrorReason}.
 *
 * @module
 */

/**
 * Why a datagram could not be decoded.
 *
 * TCP segment (RFC 9293 §3.1):
 * - `"truncated-header"`: fewer than 20 bytes.
 * - `"bad-data-offset"`: data offset below 5 words.
 * - `"data-offset-overrun"`: data offset points past the end of the bytes.
 * - `"bad-option-length"`: an option length byte of 0 or 1.
 * - `"option-overrun"`: an option (or its length byte) runs past the header.
 * - `"bad-mss-length"`, `"bad-window-scale-length"`, `"bad-sack-permitted-length"`,
 *   `"bad-timestamps-length"`: a known option with the wrong length (4, 3, 2, 10 expected).
 * - `"bad-sack-length"`: a SACK option whose length is not 2 + 8n with n ≥ 1 (RFC 2018 §3).
 * - `"bad-fast-open-length"`: a Fast Open option whose cookie is not empty or 4–16 bytes of
 *   even length (RFC 7413 §4.1.1).
 * - `"bad-checksum"`: the checksum does not verify.
 *
 * Envelope (docs/wire-format.md):
 * - `"truncated-envelope"`: fewer than 4 bytes, or fewer than the header extension announces.
 * - `"bad-envelope-version"`: a version other than 0.
 * - `"unknown-envelope-type"`: a payload or control type this version does not define.
 */
export type WireErrorReason =
  | "truncated-header"
  | "bad-data-offset"
  | "data-offset-overrun"
  | "bad-option-length"
  | "option-overrun"
  | "bad-mss-length"
  | "bad-window-scale-length"
  | "bad-sack-permitted-length"
  | "bad-sack-length"
  | "bad-timestamps-length"
  | "bad-fast-open-length"
  | "bad-checksum"
  | "truncated-envelope"
  | "bad-envelope-version"
  | "unknown-envelope-type";

/**
 * A datagram that could not be decoded.
 *
 * @example Inspect the reason
 * ```ts
 * import assert from "node:assert/strict";
 * import { WireError } from "./wire_error.ts";
 * const e = new WireError("bad-data-offset", "data offset 3 is below 5 words");
 * assert.equal(e.reason, "bad-data-offset");
 * assert.equal(e.name, "WireError");
 * assert.ok(e instanceof Error);
 * ```
 */
export class WireError extends Error {
  /** Machine-readable cause. */
  readonly reason: WireErrorReason;

  /**
   * Creates the error; the message reads "Cannot decode datagram: <reason>: <detail>".
   *
   * @param reason Machine-readable cause.
   * @param detail Human-readable detail appended to the message.
   */
  constructor(reason: WireErrorReason, detail: string) {
    super(`Cannot decode datagram: ${reason}: ${detail}`);
    this.name = "WireError";
    this.reason = reason;
  }
}

/** The outcome of a parser: a value, or the {@linkcode WireError} that explains why not. */
export type WireResult<T> = { ok: true; value: T } | { ok: false; error: WireError };

/**
 * Builds the failure side of a {@linkcode WireResult}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wireFail } from "./wire_error.ts";
 * const r = wireFail("truncated-header", "3 bytes");
 * assert.equal(r.ok, false);
 * assert.equal(r.error.reason, "truncated-header");
 * ```
 */
export function wireFail(
  reason: WireErrorReason,
  detail: string,
): { ok: false; error: WireError } {
  return { ok: false, error: new WireError(reason, detail) };
}
