/**
 * The simulator's datagram log: one record per send, delivery, drop,
 * duplication, corruption, reordering and port-unreachable notice, with the
 * virtual time and the reason. Two runs with the same seed and inputs
 * produce byte-identical {@linkcode Trace.format} output, which is how
 * determinism is tested and how a failing run is replayed.
 *
 * @module
 */

import type { Instant } from "../time.ts";
import type { DatagramAddr } from "../udp/datagram_socket.ts";

/**
 * What happened to a datagram:
 * - `send`: a socket sent it (time = send time);
 * - `deliver`: it reached a bound socket (time = arrival);
 * - `drop`: it was discarded (`reason` = a {@linkcode DropReason});
 * - `dup`: the link made an extra copy (logged at send time);
 * - `corrupt`: the link flipped one bit of a copy (`reason` = "bit N");
 * - `reorder`: the link held a copy back (`reason` = "+N ms");
 * - `unreachable`: it arrived where nothing is bound (an ICMP port-unreachable notice goes back);
 * - `notice`: that notice reached the sender (`reason` = "refused", "ignored" or "lost").
 */
export type TraceKind =
  | "send"
  | "deliver"
  | "drop"
  | "dup"
  | "corrupt"
  | "reorder"
  | "unreachable"
  | "notice";

/** Why a datagram was dropped. */
export type DropReason =
  /** Uniform random loss (`LinkConfig.loss`). */
  | "loss"
  /** Gilbert–Elliott burst loss (`LinkConfig.burstLoss`). */
  | "burst"
  /** Sent during a partition interval. */
  | "partition"
  /** Larger than the link MTU. */
  | "mtu"
  /** Bottleneck queue full (drop-tail, `LinkConfig.queueLimit`). */
  | "queue"
  /** Connected socket: the datagram came from another address. */
  | "filtered"
  /** Receiving socket's pull-mode queue full. */
  | "rcvbuf";

/** Every {@linkcode DropReason}, in a fixed order (for reports). */
export const DROP_REASONS: readonly DropReason[] = [
  "loss",
  "burst",
  "partition",
  "mtu",
  "queue",
  "filtered",
  "rcvbuf",
];

/** One trace line. */
export interface TraceRecord {
  /** Virtual time in ms. */
  readonly time: Instant;
  /** What happened. */
  readonly kind: TraceKind;
  /** Datagram number (1-based, in send order); duplicates share their original's. */
  readonly id: number;
  /** Sender address. */
  readonly from: DatagramAddr;
  /** Destination address. */
  readonly to: DatagramAddr;
  /** Payload size in bytes. */
  readonly size: number;
  /** Drop reason, bit flipped, extra delay, or notice outcome. */
  readonly reason?: string;
  /** Optional payload description from `TraceOptions.describe` (send records only). */
  readonly info?: string;
}

/** Options of {@linkcode Trace}. */
export interface TraceOptions {
  /**
   * Most records kept; older ones are overwritten (ring). 0 disables
   * tracing. Default 65 536; `Infinity` keeps everything.
   */
  readonly capacity?: number;
}

/** Default {@linkcode TraceOptions.capacity}. */
export const DEFAULT_TRACE_CAPACITY = 65_536;

/**
 * Formats an address as `host:port`, bracketing IPv6 literals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAddr } from "./trace.ts";
 * assert.equal(formatAddr({ hostname: "10.0.0.1", port: 80 }), "10.0.0.1:80");
 * assert.equal(formatAddr({ hostname: "::1", port: 80 }), "[::1]:80");
 * ```
 */
export function formatAddr(addr: DatagramAddr): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Formats one record as a readable line: time, datagram id, kind, addresses, size, reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRecord } from "./trace.ts";
 * const a = { hostname: "10.0.0.1", port: 1000 };
 * const b = { hostname: "10.0.0.2", port: 2000 };
 * assert.equal(
 *   formatRecord({ time: 1.5, kind: "drop", id: 3, from: a, to: b, size: 100, reason: "loss" }),
 *   "     1.500 ms  #3  drop        10.0.0.1:1000 > 10.0.0.2:2000  100 B  loss",
 * );
 * ```
 */
export function formatRecord(r: TraceRecord): string {
  let line = `${r.time.toFixed(3).padStart(10)} ms  #${r.id}  ${r.kind.padEnd(11)} ${
    formatAddr(r.from)
  } > ${formatAddr(r.to)}  ${r.size} B`;
  if (r.reason !== undefined) line += `  ${r.reason}`;
  if (r.info !== undefined) line += `  | ${r.info}`;
  return line;
}

const KINDS: readonly TraceKind[] = [
  "send",
  "deliver",
  "drop",
  "dup",
  "corrupt",
  "reorder",
  "unreachable",
  "notice",
];
const KIND_CODE: Readonly<Record<TraceKind, number>> = Object.fromEntries(
  KINDS.map((k, i) => [k, i]),
) as Record<TraceKind, number>;

/** Initial column size; columns double up to the capacity. */
const INITIAL_COLUMN = 1024;

/**
 * A bounded (ring) log of {@linkcode TraceRecord}s. Records are stored in
 * columns (typed arrays for numbers, reference arrays for addresses and
 * strings), so logging a datagram allocates nothing once the ring is full;
 * record objects are built only when read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Trace } from "./trace.ts";
 * const t = new Trace({ capacity: 2 });
 * const a = { hostname: "h", port: 1 };
 * for (let id = 1; id <= 3; id++) t.push({ time: id, kind: "send", id, from: a, to: a, size: 0 });
 * assert.deepEqual(t.records().map((r) => r.id), [2, 3]);
 * assert.equal(t.overwritten, 1);
 * ```
 */
export class Trace {
  #capacity: number;
  #size = 0; // allocated column length
  #length = 0; // records held
  #next = 0; // slot of the next write
  #overwritten = 0;
  #time = new Float64Array(0);
  #id = new Float64Array(0);
  #bytes = new Float64Array(0);
  #kind = new Uint8Array(0);
  #from: DatagramAddr[] = [];
  #to: DatagramAddr[] = [];
  #reason: (string | undefined)[] = [];
  #info: (string | undefined)[] = [];

  /**
   * Creates an empty trace.
   *
   * @param opts Capacity.
   */
  constructor(opts: TraceOptions = {}) {
    const cap = opts.capacity ?? DEFAULT_TRACE_CAPACITY;
    if (!(cap >= 0)) throw new RangeError(`Trace capacity must be >= 0, got ${cap}`);
    this.#capacity = cap === Infinity ? Infinity : Math.floor(cap);
  }

  /** Whether records are kept at all (capacity > 0). */
  get enabled(): boolean {
    return this.#capacity > 0;
  }

  /** Number of records held. */
  get length(): number {
    return this.#length;
  }

  /** Number of old records overwritten because the ring was full. */
  get overwritten(): number {
    return this.#overwritten;
  }

  /** Appends a record (overwriting the oldest when full). */
  push(record: TraceRecord): void {
    this.add(
      record.time,
      record.kind,
      record.id,
      record.from,
      record.to,
      record.size,
      record.reason,
      record.info,
    );
  }

  /** Appends a record given field by field (no allocation once the ring is full). */
  add(
    time: Instant,
    kind: TraceKind,
    id: number,
    from: DatagramAddr,
    to: DatagramAddr,
    size: number,
    reason?: string,
    info?: string,
  ): void {
    if (this.#capacity === 0) return;
    if (this.#next === this.#size) {
      if (this.#size < this.#capacity) this.#grow();
      else this.#next = 0; // wrap
    }
    const i = this.#next++;
    this.#time[i] = time;
    this.#kind[i] = KIND_CODE[kind];
    this.#id[i] = id;
    this.#from[i] = from;
    this.#to[i] = to;
    this.#bytes[i] = size;
    this.#reason[i] = reason;
    this.#info[i] = info;
    if (this.#length < this.#size) this.#length++;
    else this.#overwritten++;
  }

  /** The records held, oldest first (new objects). */
  records(): TraceRecord[] {
    return [...this];
  }

  /** Iterates the records held, oldest first. */
  *[Symbol.iterator](): IterableIterator<TraceRecord> {
    const n = this.#length;
    const start = n < this.#size ? 0 : this.#next % this.#size;
    for (let k = 0; k < n; k++) yield this.#record((start + k) % this.#size);
  }

  /** Removes every record. */
  clear(): void {
    this.#size = 0;
    this.#length = 0;
    this.#next = 0;
    this.#overwritten = 0;
    this.#time = new Float64Array(0);
    this.#id = new Float64Array(0);
    this.#bytes = new Float64Array(0);
    this.#kind = new Uint8Array(0);
    this.#from = [];
    this.#to = [];
    this.#reason = [];
    this.#info = [];
  }

  /** One {@linkcode formatRecord} line per record, oldest first, joined by "\n". */
  format(): string {
    const lines: string[] = [];
    for (const r of this) lines.push(formatRecord(r));
    return lines.join("\n");
  }

  #record(i: number): TraceRecord {
    const r: {
      time: number;
      kind: TraceKind;
      id: number;
      from: DatagramAddr;
      to: DatagramAddr;
      size: number;
      reason?: string;
      info?: string;
    } = {
      time: this.#time[i],
      kind: KINDS[this.#kind[i]],
      id: this.#id[i],
      from: this.#from[i],
      to: this.#to[i],
      size: this.#bytes[i],
    };
    const reason = this.#reason[i];
    const info = this.#info[i];
    if (reason !== undefined) r.reason = reason;
    if (info !== undefined) r.info = info;
    return r;
  }

  /** Doubles the columns (up to the capacity); only called while nothing has wrapped. */
  #grow(): void {
    const size = Math.min(this.#capacity, Math.max(INITIAL_COLUMN, this.#size * 2));
    const time = new Float64Array(size);
    time.set(this.#time);
    this.#time = time;
    const id = new Float64Array(size);
    id.set(this.#id);
    this.#id = id;
    const bytes = new Float64Array(size);
    bytes.set(this.#bytes);
    this.#bytes = bytes;
    const kind = new Uint8Array(size);
    kind.set(this.#kind);
    this.#kind = kind;
    this.#size = size;
  }
}
