/**
 * Bidirectional copy between two connections, as a TCP proxy does it:
 *
 * - backpressure: a chunk is read from one side only after the previous
 *   one was fully written to the other, so a slow reader stalls the writer
 *   (and, through the tou receive window or the kernel socket buffer, the
 *   far sender);
 * - half-close: EOF from one side becomes `closeWrite()` (a FIN) on the
 *   other, and the opposite direction keeps flowing;
 * - reset: a failed read or write on one side (its peer reset it, or it
 *   timed out) resets the other side (a RST on tou, and on kernel TCP the
 *   best available abrupt close, see `kernel_reset.ts`).
 *
 * The pipe ends when both directions reached EOF (both sides are then
 * closed normally) or when either failed (both sides are then reset).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { resetTcpConn } from "./kernel_reset.ts";
import { releaseMemory } from "../tcp/release_memory.ts";

/** One end of a pipe: a duplex byte stream that can be half-closed and reset. */
export interface PipeSide {
  /** Short name for logs, e.g. "tcp 127.0.0.1:50000" or "tou". */
  readonly name: string;
  /** Reads into `p`; `null` is EOF. Rejects when the stream failed (e.g. reset). */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`, resolving with the count once accepted. */
  write(p: Uint8Array): Promise<number>;
  /** Sends EOF (FIN); reading still works. */
  closeWrite(): Promise<void>;
  /** Full, graceful close. */
  close(): void;
  /** Abrupt close: the peer sees a reset. */
  reset(): void;
}

/**
 * Wraps a connection as a pipe side. A connection with an `abort()` method
 * (a tou connection) is reset with it; any other (kernel TCP) with
 * {@linkcode resetTcpConn}.
 *
 * @param conn The connection.
 * @param name Name for logs; default "tou" or "tcp <remote address>".
 * @returns The side.
 */
export function connSide(
  conn: Deno.Conn & { abort?(reason?: unknown): void },
  name?: string,
): PipeSide {
  return new ConnSide(conn, name);
}

/**
 * {@linkcode connSide}'s sides: methods on the prototype, not six closures
 * per connection (issue 15: the relay's allocations per short connection),
 * and the name formatted only when a log asks for it.
 */
class ConnSide implements PipeSide {
  readonly #conn: Deno.Conn & { abort?(reason?: unknown): void };
  #name: string | undefined;
  /** Whether a write was made (the first one to a kernel TCP connection is deferred). */
  #wrote = false;

  constructor(conn: Deno.Conn & { abort?(reason?: unknown): void }, name: string | undefined) {
    this.#conn = conn;
    this.#name = name;
  }

  get name(): string {
    if (this.#name === undefined) {
      const r = this.#conn.remoteAddr as Partial<Deno.NetAddr>;
      this.#name = this.#conn.abort ? "tou" : `tcp ${r.hostname}:${r.port}`;
    }
    return this.#name;
  }

  read(p: Uint8Array): Promise<number | null> {
    return this.#conn.read(p);
  }

  write(p: Uint8Array): Promise<number> {
    if (!this.#wrote && this.#conn.abort === undefined) {
      // The first write to a kernel TCP connection (the request to a target, the response to
      // a local application) waits one event-loop turn: it wakes that process, which on a
      // small machine takes the CPU from us, so the tunnel's own output of this batch (ACKs,
      // other streams' frames) goes first. `bench:requests`, `--mux`, new connections: +5–10 %.
      this.#wrote = true;
      return new Promise<void>((r) => setImmediate(r)).then(() => this.#conn.write(p));
    }
    return this.#conn.write(p);
  }

  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  reset(): void {
    const conn = this.#conn;
    if (conn.abort) {
      try {
        conn.abort();
      } catch {
        // already closed
      }
    } else resetTcpConn(conn);
  }
}

/**
 * A side whose first read was already started (the tunnel client reads the
 * local application's first bytes before opening the tunnel, for TCP Fast
 * Open): the first `read` returns that read's bytes, later ones read on.
 *
 * @param side The side.
 * @param first The pending first read into `buf`.
 * @param buf Its buffer.
 * @returns The side.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type PipeSide, withFirstRead } from "./pipe.ts";
 * const side = { read: () => Promise.resolve(null) } as unknown as PipeSide;
 * const s = withFirstRead(side, Promise.resolve(2), new Uint8Array([7, 8, 9]));
 * const p = new Uint8Array(4);
 * assert.equal(await s.read(p), 2);
 * assert.deepEqual([...p.subarray(0, 2)], [7, 8]);
 * assert.equal(await s.read(p), null);
 * ```
 */
export function withFirstRead(
  side: PipeSide,
  first: Promise<number | null>,
  buf: Uint8Array,
): PipeSide {
  let pending: Promise<number | null> | undefined = first;
  const out: PipeSide = {
    // the side's own members, bound (it may be a class instance: a spread would lose them)
    get name() {
      return side.name;
    },
    write: (p) => side.write(p),
    closeWrite: () => side.closeWrite(),
    close: () => side.close(),
    reset: () => side.reset(),
    read: async (p) => {
      if (pending === undefined) return side.read(p);
      const n = await pending;
      pending = undefined;
      // later reads go straight to the side: no extra async frame per chunk of a long session
      out.read = side.read.bind(side);
      if (n === null) return null;
      // a first read larger than `p` would be cut: the pipe's buffers are larger than `buf`
      p.set(buf.subarray(0, n));
      return n;
    },
  };
  return out;
}

/**
 * A pipe's direction starts with a {@linkcode FIRST_BUFFER_SIZE} buffer and moves to a
 * {@linkcode COPY_BUFFER_SIZE} one once a read fills it: an idle or request/response
 * session holds 2 × 16 KiB for its life instead of 2 × 64 KiB (1000 sessions: 32 MB, not
 * 128 MB), a bulk one gets 64 KiB chunks after its first 16 KiB.
 */
export const FIRST_BUFFER_SIZE = 16 * 1024;

/** Idle copy buffers of {@linkcode FIRST_BUFFER_SIZE} and {@linkcode COPY_BUFFER_SIZE} bytes, reused by later pipes. */
const smallPool: Uint8Array[] = [];
const bufferPool: Uint8Array[] = [];
/** Most idle buffers kept per size (8 MiB of large ones). */
const BUFFER_POOL_MAX = 128;

/** The pool for buffers of `size` bytes, or undefined for sizes not pooled. */
function poolFor(size: number): Uint8Array[] | undefined {
  return size === COPY_BUFFER_SIZE
    ? bufferPool
    : size === FIRST_BUFFER_SIZE
    ? smallPool
    : undefined;
}

function takeBuffer(size: number): Uint8Array {
  return poolFor(size)?.pop() ?? new Uint8Array(size);
}

function giveBuffer(buf: Uint8Array): void {
  const pool = poolFor(buf.length);
  if (pool !== undefined && pool.length < BUFFER_POOL_MAX) pool.push(buf);
  else releaseMemory(buf); // nothing refers to it (see Pipe): freed now, not at the next GC
}

/** How one direction of a copy ended. */
export type CopyResult =
  | { readonly kind: "eof"; readonly bytes: number }
  | { readonly kind: "read-failed"; readonly bytes: number; readonly error: unknown }
  | { readonly kind: "write-failed"; readonly bytes: number; readonly error: unknown }
  | { readonly kind: "stopped"; readonly bytes: number };

/** Options of {@linkcode copyStream}. */
export interface CopyOptions {
  /** Buffer reused for every chunk. Default: a new 64 KiB one. */
  readonly buffer?: Uint8Array;
  /** Polled after every await: when it returns true the copy ends with "stopped". */
  readonly stopped?: () => boolean;
  /** Called after each chunk is fully written, with its size. */
  readonly onBytes?: (n: number) => void;
  /** Whether EOF from `src` is passed on as `dst.closeWrite()`. Default true. */
  readonly propagateEof?: boolean;
  /**
   * Called after a read filled the whole buffer and its bytes were written: returns the
   * buffer for the next reads (e.g. a larger one). Default: keep the buffer.
   */
  readonly grow?: (full: Uint8Array) => Uint8Array;
}

/** Default chunk size of a copy. */
export const COPY_BUFFER_SIZE = 64 * 1024;

/**
 * Copies `src` to `dst` until EOF or failure, one chunk at a time (the next
 * read waits for the previous write: backpressure), then half-closes `dst`.
 *
 * @param src Where bytes come from.
 * @param dst Where they go.
 * @param opts Buffer, stop predicate, byte callback.
 * @returns How the copy ended and how many bytes it moved. Never rejects.
 *
 * @example Copy a buffer into a collector
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyStream } from "./pipe.ts";
 *
 * let given = false;
 * const got: number[] = [];
 * let eof = false;
 * const r = await copyStream(
 *   { read: (p) => Promise.resolve(given ? null : (given = true, p.set([1, 2, 3]), 3)) },
 *   {
 *     write: (p) => (got.push(...p), Promise.resolve(p.length)),
 *     closeWrite: () => (eof = true, Promise.resolve()),
 *   },
 * );
 * assert.deepEqual(r, { kind: "eof", bytes: 3 });
 * assert.deepEqual(got, [1, 2, 3]);
 * assert.ok(eof);
 * ```
 */
export function copyStream(
  src: Pick<PipeSide, "read">,
  dst: Pick<PipeSide, "write"> & Partial<Pick<PipeSide, "closeWrite">>,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const hooks: CopyHooks = {
    stopped: opts.stopped ?? (() => false),
    propagateEof: () => (opts.propagateEof ?? true) && dst.closeWrite !== undefined,
    counted: (_ab, n) => opts.onBytes?.(n),
    next: (_ab, full) => opts.grow?.(full) ?? full,
  };
  return copyLoop(
    src,
    dst as Pick<PipeSide, "write" | "closeWrite">,
    opts.buffer ?? new Uint8Array(COPY_BUFFER_SIZE),
    hooks,
    true,
  );
}

/**
 * What {@linkcode copyLoop} asks its caller: one object serves both
 * directions of a pipe (`ab` says which), so a pipe allocates it once.
 */
interface CopyHooks {
  /** Polled after every await: true ends the copy with "stopped". */
  stopped(): boolean;
  /** Whether EOF is passed on as `dst.closeWrite()`, asked when it comes. */
  propagateEof(ab: boolean): boolean;
  /** `n` bytes were fully written. */
  counted(ab: boolean, n: number): void;
  /** A read filled `full` and its bytes went out: the buffer for the next reads. */
  next(ab: boolean, full: Uint8Array): Uint8Array;
}

/**
 * The copy loop of {@linkcode copyStream} and {@linkcode Pipe}: `src` to
 * `dst` one chunk at a time (the next read waits for the previous write:
 * backpressure), then `dst` half-closed when the hooks say so.
 */
async function copyLoop(
  src: Pick<PipeSide, "read">,
  dst: Pick<PipeSide, "write" | "closeWrite">,
  buf: Uint8Array,
  h: CopyHooks,
  ab: boolean,
): Promise<CopyResult> {
  let bytes = 0;
  for (;;) {
    let n: number | null;
    try {
      n = await src.read(buf);
    } catch (error) {
      return h.stopped() ? { kind: "stopped", bytes } : { kind: "read-failed", bytes, error };
    }
    if (h.stopped()) return { kind: "stopped", bytes };
    if (n === null) {
      if (h.propagateEof(ab)) {
        try {
          await dst.closeWrite();
        } catch (error) {
          return h.stopped() ? { kind: "stopped", bytes } : { kind: "write-failed", bytes, error };
        }
      }
      return { kind: "eof", bytes };
    }
    let off = 0;
    while (off < n) {
      try {
        off += await dst.write(off === 0 && n === buf.length ? buf : buf.subarray(off, n));
      } catch (error) {
        return h.stopped() ? { kind: "stopped", bytes } : { kind: "write-failed", bytes, error };
      }
      if (h.stopped()) return { kind: "stopped", bytes };
    }
    bytes += n;
    h.counted(ab, n);
    if (n === buf.length) buf = h.next(ab, buf);
  }
}

/** Which side ended a pipe abruptly: "a", "b", or "local" (a {@linkcode Pipe.reset} call). */
export type PipeResetBy = "a" | "b" | "local";

/** How a pipe ended. */
export interface PipeResult {
  /** "closed": both directions reached EOF; "reset": one side failed or the pipe was reset. */
  readonly outcome: "closed" | "reset";
  /** For "reset": the side whose read or write failed first, or "local". */
  readonly resetBy?: PipeResetBy;
  /** For "reset": the error of the failed side, or the reason given to `reset()`. */
  readonly error?: unknown;
  /** Bytes copied from a to b. */
  readonly aToB: number;
  /** Bytes copied from b to a. */
  readonly bToA: number;
}

/** Options of {@linkcode Pipe}. */
export interface PipeOptions {
  /** Chunk size per direction. Default {@linkcode COPY_BUFFER_SIZE}. */
  readonly bufferSize?: number;
}

/**
 * A running bidirectional copy between `a` and `b`.
 *
 * @example Proxy two kernel TCP connections
 * ```ts
 * import assert from "node:assert/strict";
 * import { connSide, Pipe } from "./pipe.ts";
 *
 * const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const left = await Deno.connect({ hostname: "127.0.0.1", port: ln.addr.port });
 * const leftIn = await ln.accept();
 * const right = await Deno.connect({ hostname: "127.0.0.1", port: ln.addr.port });
 * const rightIn = await ln.accept();
 * const pipe = new Pipe(connSide(leftIn), connSide(rightIn));
 * await left.write(new TextEncoder().encode("hi"));
 * await left.closeWrite();
 * const buf = new Uint8Array(8);
 * assert.equal(await right.read(buf), 2);
 * assert.equal(await right.read(buf), null); // the FIN came through
 * right.close();
 * assert.equal(await left.read(buf), null);
 * const r = await pipe.done;
 * assert.equal(r.outcome, "closed");
 * assert.equal(r.aToB, 2);
 * left.close();
 * ln.close();
 * ```
 */
export class Pipe {
  /** Resolves when the pipe has ended and both sides are closed or reset. Never rejects. */
  readonly done: Promise<PipeResult>;
  #a: PipeSide;
  #b: PipeSide;
  #aToB = 0;
  #bToA = 0;
  #ended = false;
  #resetBy: PipeResetBy | undefined;
  #error: unknown;
  /** The larger chunk size a direction moves to once a read fills its first buffer. */
  readonly #size: number;
  /** Which directions reached EOF: a direction that ends second does not half-close. */
  #abEof = false;
  #baEof = false;

  /**
   * Starts copying both ways.
   *
   * @param a One side (e.g. the kernel TCP connection).
   * @param b The other side (e.g. the tunnel connection).
   * @param opts Chunk size.
   */
  constructor(a: PipeSide, b: PipeSide, opts: PipeOptions = {}) {
    this.#a = a;
    this.#b = b;
    const size = opts.bufferSize ?? COPY_BUFFER_SIZE;
    this.#size = size;
    const first = opts.bufferSize === undefined ? FIRST_BUFFER_SIZE : size;
    // Chunk buffers come from a pool: a fresh 64 KiB pair per direction was the largest
    // allocation of a short connection. A direction gives its buffer back only after its
    // last read and write settled, so nothing refers to a buffer once it goes back; a
    // buffer replaced by a larger one goes back at once, its bytes already written.
    // Both directions run copyStream's loop with one hooks object of the pipe's, not an
    // option bag and its closures per direction (issue 15: a short connection's allocations).
    const { promise, resolve } = Promise.withResolvers<PipeResult>();
    this.done = promise;
    this.#resolve = resolve;
    this.#bufAB = takeBuffer(first);
    this.#bufBA = takeBuffer(first);
    void this.#copy(a, b, true);
    void this.#copy(b, a, false);
  }

  /** Resolves `done`. */
  readonly #resolve: (r: PipeResult) => void;
  /** Directions still copying (a counter, not a `Promise.all` per pipe). */
  #running = 2;

  /** The hooks both directions' {@linkcode copyLoop}s share (one object per pipe). */
  readonly #hooks: CopyHooks = {
    stopped: () => this.#ended,
    // A direction that ends second does not half-close its destination: the whole pipe
    // closes both sides right after (a close after EOF sends the same FIN), one syscall
    // (shutdown) fewer per short connection.
    propagateEof: (ab) => !(ab ? this.#baEof : this.#abEof),
    counted: (ab, n) => {
      if (ab) this.#aToB += n;
      else this.#bToA += n;
    },
    next: (ab, full) => {
      if (full.length >= this.#size) return full;
      giveBuffer(full);
      const next = takeBuffer(this.#size);
      if (ab) this.#bufAB = next;
      else this.#bufBA = next;
      return next;
    },
  };
  /** Each direction's current buffer (given back when it ends). */
  #bufAB: Uint8Array | undefined;
  #bufBA: Uint8Array | undefined;

  /** One direction: the copy, then what its end means for the pipe. */
  async #copy(src: PipeSide, dst: PipeSide, ab: boolean): Promise<void> {
    const r = await copyLoop(src, dst, (ab ? this.#bufAB : this.#bufBA)!, this.#hooks, ab);
    giveBuffer((ab ? this.#bufAB : this.#bufBA)!);
    if (r.kind === "eof") {
      if (ab) this.#abEof = true;
      else this.#baEof = true;
    } else if (r.kind !== "stopped" && !this.#ended) {
      // the side that failed is dead already; the other one learns by a reset
      const from = ab ? "a" : "b", to = ab ? "b" : "a";
      this.#abortAll(r.kind === "read-failed" ? from : to, r.error);
    }
    if (--this.#running === 0) this.#resolve(this.#finish());
  }

  #finish(): PipeResult {
    if (this.#resetBy === undefined) {
      this.#ended = true;
      this.#a.close();
      this.#b.close();
      return { outcome: "closed", aToB: this.#aToB, bToA: this.#bToA };
    }
    return {
      outcome: "reset",
      resetBy: this.#resetBy,
      error: this.#error,
      aToB: this.#aToB,
      bToA: this.#bToA,
    };
  }

  /** Bytes copied from a to b so far. */
  get aToB(): number {
    return this.#aToB;
  }

  /** Bytes copied from b to a so far. */
  get bToA(): number {
    return this.#bToA;
  }

  /** Whether the pipe has ended (or is ending after a reset). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Resets both sides now (e.g. when a drain timeout expires). No effect
   * once the pipe has ended.
   *
   * @param reason Recorded as the result's `error`.
   */
  reset(reason?: unknown): void {
    if (this.#ended) return;
    this.#abortAll("local", reason);
  }

  /**
   * Ends the pipe because side `by` failed outside a read or write (e.g. the
   * tunnel connection timed out while both copies waited on the other side):
   * the other side is reset at once. No effect once the pipe has ended.
   *
   * @param by The side that failed.
   * @param error Recorded as the result's `error`.
   */
  fail(by: "a" | "b", error: unknown): void {
    if (this.#ended) return;
    this.#abortAll(by, error);
  }

  #abortAll(by: PipeResetBy, error: unknown): void {
    this.#ended = true;
    this.#resetBy = by;
    this.#error = error;
    const a = this.#a;
    const b = this.#b;
    if (by === "a") {
      b.reset();
      a.close();
    } else if (by === "b") {
      a.reset();
      b.close();
    } else {
      a.reset();
      b.reset();
    }
  }
}
