/**
 * Helpers for the net and e2e tests: whole-stream reads/writes, bounded
 * polling and deterministic payloads.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Something with Deno.Conn-style read/write. */
export interface ReadWrite {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
}

/** Writes every byte of `data`. */
export async function writeAll(conn: ReadWrite, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Reads until EOF and returns everything. */
export async function readAll(conn: ReadWrite, chunk = 65_536): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const buf = new Uint8Array(chunk);
    const n = await conn.read(buf);
    if (n === null) break;
    parts.push(buf.subarray(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Polls `cond` every 5 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `n` deterministic pseudo-random bytes (xorshift32 from `seed`). */
export function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed >>> 0) || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A UDP port that nothing listens on (bound, then released). */
export function freeUdpPort(): number {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

/** One MiB. */
export const MIB = 1024 * 1024;

const BULK_BLOCK = pattern(MIB, 42);

/**
 * The `i`-th MiB of a bulk stream: a fixed pseudo-random block with byte 0
 * set to `i` and byte 1 to `stamp` (so the two directions and every MiB
 * differ, and a misplaced MiB changes the hash).
 */
export function bulkBlock(i: number, stamp: number, into = BULK_BLOCK.slice()): Uint8Array {
  into.set(BULK_BLOCK);
  into[0] = i & 0xff;
  into[1] = stamp & 0xff;
  return into;
}

/** The sha256 (hex) of `mib` MiB of bulk stream `stamp`. */
export function bulkDigest(mib: number, stamp: number): string {
  const h = createHash("sha256");
  const block = BULK_BLOCK.slice();
  for (let i = 0; i < mib; i++) h.update(bulkBlock(i, stamp, block));
  return h.digest("hex");
}

/** Writes `mib` MiB of bulk stream `stamp`, then half-closes; returns its sha256. */
export async function bulkSend(
  conn: ReadWrite & { closeWrite(): Promise<void> },
  mib: number,
  stamp: number,
): Promise<string> {
  const h = createHash("sha256");
  const block = BULK_BLOCK.slice();
  for (let i = 0; i < mib; i++) {
    bulkBlock(i, stamp, block);
    h.update(block);
    await writeAll(conn, block);
  }
  await conn.closeWrite();
  return h.digest("hex");
}

/** Reads to EOF; returns the byte count and the sha256 (hex). */
export async function bulkReceive(conn: ReadWrite): Promise<{ bytes: number; sha256: string }> {
  const h = createHash("sha256");
  const buf = new Uint8Array(256 * 1024);
  let bytes = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
    bytes += n;
  }
  return { bytes, sha256: h.digest("hex") };
}

/** Resolves like `p`, or rejects naming `what` (after calling `onTimeout`) once `ms` pass. */
export async function deadline<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void = () => {},
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what} did not finish within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
