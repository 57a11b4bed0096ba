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
import { readSmallFile } from "./small_file.ts";

/** Largest key file accepted, in bytes (a 1024-byte key in base64 with line breaks fits). */
export const KEY_FILE_MAX_BYTES = 4096;

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

/** Options of {@linkcode loadKey}. */
export interface LoadKeyOptions {
  /** The key file's path. */
  readonly keyFile?: string;
  /** The `TOU_KEY` value. */
  readonly env?: string;
  /** Accept a key file that other users can read (like ssh, refused by default). */
  readonly allowReadable?: boolean;
}

/**
 * Loads the pre-shared key: from `keyFile` when given, otherwise from the
 * `TOU_KEY` value, otherwise none. The key file must be a regular file of
 * at most {@linkcode KEY_FILE_MAX_BYTES} bytes (read with a deadline, see
 * `small_file.ts`) that only its owner can read, unless `allowReadable`.
 *
 * @param opts The key file path, the environment value, the permission override.
 * @returns The key and its source.
 * @throws {ConfigError} When the file cannot be read, is not a regular
 *   file, is too large or open to other users, or the key is malformed or short.
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
export async function loadKey(opts: LoadKeyOptions): Promise<LoadedKey> {
  if (opts.keyFile !== undefined) {
    const path = opts.keyFile;
    const file = await readSmallFile(path, { what: "key file", maxBytes: KEY_FILE_MAX_BYTES });
    const mode = file.mode;
    if (mode !== undefined && (mode & 0o077) !== 0 && !opts.allowReadable) {
      file.bytes.fill(0);
      throw new ConfigError(
        `key file ${path} is accessible by other users (mode ${
          mode.toString(8).padStart(3, "0")
        }): restrict it with \`chmod 600 ${path}\`, or pass --allow-readable-key-file`,
      );
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(file.bytes);
    } catch {
      throw new ConfigError(`key file ${path}: not text (expected hex or base64)`);
    } finally {
      file.bytes.fill(0);
    }
    const key = pskOrThrow(text, `key file ${path}`);
    return mode === undefined
      ? { key, source: "key-file" }
      : { key, source: "key-file", fileMode: mode };
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
