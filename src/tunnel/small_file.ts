/**
 * Reads a small trusted file (the key file, the config file) defensively:
 * regular files only (a FIFO, device, socket or directory is refused with
 * one line naming its kind, before anything is opened), a size cap, the
 * checks repeated on the opened file descriptor (so the file checked is the
 * file read: no stat-then-read race), and every step under one deadline so a
 * file that stops answering cannot hang startup.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import { describeFileError } from "./errors.ts";

/** Options of {@linkcode readSmallFile}. */
export interface ReadSmallFileOptions {
  /** What the file is, for messages: "key file", "config file". */
  readonly what: string;
  /** Largest accepted size in bytes. */
  readonly maxBytes: number;
  /** Deadline for the whole read, in ms. Default 5000. */
  readonly timeoutMs?: number;
}

/** What {@linkcode readSmallFile} read. */
export interface SmallFile {
  /** The content. */
  readonly bytes: Uint8Array;
  /** Permission bits of the opened file (e.g. 0o600); undefined where the platform has none. */
  readonly mode: number | undefined;
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

function check(info: Deno.FileInfo, path: string, opts: ReadSmallFileOptions): void {
  if (!info.isFile) {
    throw new ConfigError(`${opts.what} ${path} is ${kindOf(info)}, not a regular file`);
  }
  if (info.size > opts.maxBytes) {
    throw new ConfigError(
      `${opts.what} ${path} is too large: ${info.size} bytes, at most ${opts.maxBytes} (is it the right file?)`,
    );
  }
}

/**
 * Reads `path` as described in the module doc.
 *
 * @param path The file.
 * @param opts What it is, size cap, deadline.
 * @returns Its bytes and permission bits.
 * @throws {ConfigError} When it is missing, unreadable, not a regular file,
 *   too large, replaced while being opened, or too slow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSmallFile } from "./small_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello");
 * assert.equal((await readSmallFile(path, { what: "file", maxBytes: 16 })).bytes.length, 5);
 * await assert.rejects(readSmallFile("/dev/zero", { what: "key file", maxBytes: 16 }), {
 *   message: "key file /dev/zero is a character device, not a regular file",
 * });
 * await Deno.remove(path);
 * ```
 */
export async function readSmallFile(path: string, opts: ReadSmallFileOptions): Promise<SmallFile> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigError(`timed out reading ${opts.what} ${path} after ${timeoutMs / 1000} s`),
        ),
      timeoutMs,
    );
  });
  // Unref'd: a read left blocked in the OS must not keep the process alive.
  Deno.unrefTimer(timer!);
  const within = <T>(p: Promise<T>): Promise<T> => Promise.race([p, deadline]);
  let file: Deno.FsFile | undefined;
  let abandoned = false;
  try {
    // stat first: a FIFO or device is refused without opening it (opening a FIFO blocks).
    const before = await within(Deno.stat(path));
    check(before, path, opts);
    const opening = Deno.open(path, { read: true });
    // Should the deadline win, close whatever the open returns later.
    opening.then((f) => abandoned && f.close(), () => {});
    file = await within(opening);
    // fstat: the checks again, on what was actually opened (it may have been swapped).
    const info = await within(file.stat());
    check(info, path, opts);
    if (before.ino !== null && (before.ino !== info.ino || before.dev !== info.dev)) {
      throw new ConfigError(`${opts.what} ${path} was replaced while being opened; try again`);
    }
    const buf = new Uint8Array(opts.maxBytes + 1);
    let n = 0;
    for (;;) {
      const got = await within(file.read(buf.subarray(n)));
      if (got === null) break;
      n += got;
      if (n > opts.maxBytes) {
        buf.fill(0);
        throw new ConfigError(
          `${opts.what} ${path} is too large: more than ${opts.maxBytes} bytes (is it the right file?)`,
        );
      }
    }
    const bytes = buf.slice(0, n);
    buf.fill(0); // may hold key material
    return { bytes, mode: info.mode === null ? undefined : info.mode & 0o777 };
  } catch (e) {
    abandoned = true;
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot read ${opts.what} ${path}: ${describeFileError(e)}`);
  } finally {
    clearTimeout(timer);
    try {
      file?.close();
    } catch {
      // already closed
    }
  }
}
