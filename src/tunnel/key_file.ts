/**
 * The pre-shared key of the tunnel: read from a key file or the `TOU_KEY`
 * environment variable (never from a flag or the config file), with the
 * file's permission bits so the CLI can warn about a key others can read;
 * and new keys for `tou keygen`.
 *
 * @module
 */

import { generatePsk, parsePsk, PskError } from "../seal/psk.ts";
import { ConfigError, KEY_ENV } from "./config.ts";
import { describeFileError } from "./errors.ts";

/** Where the key came from. */
export type KeySource = "key-file" | "env" | "none";

/** A loaded key (or its absence). */
export interface LoadedKey {
  /** The key bytes, or `undefined` for plaintext. */
  readonly key: Uint8Array | undefined;
  /** Where it came from. */
  readonly source: KeySource;
  /** For a key file: its permission bits (e.g. 0o600), when the platform has them. */
  readonly fileMode?: number;
}

/**
 * Loads the pre-shared key: from `keyFile` when given, otherwise from the
 * `TOU_KEY` value, otherwise none (plaintext).
 *
 * @param opts The key file path and the environment value.
 * @returns The key and its source.
 * @throws {ConfigError} When the file cannot be read or the key is malformed or short.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadKey } from "./key_file.ts";
 * const k = await loadKey({ env: "0123456789abcdef".repeat(4) });
 * assert.equal(k.source, "env");
 * assert.equal(k.key?.length, 32);
 * await assert.rejects(loadKey({ env: "ab".repeat(8) }), {
 *   message: "TOU_KEY: key too short: 8 bytes, need at least 32",
 * });
 * ```
 */
export async function loadKey(
  opts: { readonly keyFile?: string; readonly env?: string },
): Promise<LoadedKey> {
  if (opts.keyFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(opts.keyFile);
    } catch (e) {
      throw new ConfigError(`cannot read key file ${opts.keyFile}: ${describeFileError(e)}`);
    }
    const key = pskOrThrow(text, `key file ${opts.keyFile}`);
    let mode: number | null = null;
    try {
      mode = (await Deno.stat(opts.keyFile)).mode;
    } catch {
      // Read a moment ago; a failing stat only loses the permission check.
    }
    return mode === null
      ? { key, source: "key-file" }
      : { key, source: "key-file", fileMode: mode & 0o777 };
  }
  if (opts.env !== undefined) {
    return { key: pskOrThrow(opts.env, KEY_ENV), source: "env" };
  }
  return { key: undefined, source: "none" };
}

function pskOrThrow(text: string, where: string): Uint8Array {
  try {
    return parsePsk(text);
  } catch (e) {
    if (e instanceof PskError) throw new ConfigError(`${where}: ${e.message}`);
    throw e;
  }
}

/**
 * A new random pre-shared key as the text of a key file (hex, newline-terminated).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadKey, newKeyText } from "./key_file.ts";
 * const text = newKeyText();
 * assert.match(text, /^[0-9a-f]{64}\n$/);
 * assert.equal((await loadKey({ env: text })).key?.length, 32);
 * ```
 */
export function newKeyText(): string {
  return generatePsk() + "\n";
}
