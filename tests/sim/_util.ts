/**
 * Helpers for the simulator tests: seed reporting and a datagram blaster
 * that pushes numbered datagrams through one impaired link.
 *
 * @module
 */

import type { LinkConfig } from "../../src/sim/link.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import type { SimStats } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";

/** Runs `fn(seed)`; on failure rethrows with the seed in the message so the run can be replayed. */
export function withSeed<T>(seed: number, fn: (seed: number) => T): T {
  try {
    return fn(seed);
  } catch (e) {
    if (e instanceof Error) e.message = `[seed ${seed}] ${e.message}`;
    throw e;
  }
}

/** Number of set bits in a byte. */
export function popcount8(x: number): number {
  let n = 0;
  for (let v = x & 0xff; v !== 0; v &= v - 1) n++;
  return n;
}

/** One copy received by the blaster's sink. */
export interface Arrival {
  /** Sequence number (recovered by majority vote over three copies in the payload). */
  readonly seq: number;
  /** Arrival time. */
  readonly at: number;
  /** Payload as received. */
  readonly data: Uint8Array;
}

/** Result of {@linkcode blast}. */
export interface BlastResult {
  /** Every copy received, in arrival order. */
  readonly arrivals: Arrival[];
  /** Send time of each datagram by sequence number. */
  readonly sentAt: number[];
  /** Network counters. */
  readonly stats: SimStats;
  /** The network (for its trace). */
  readonly net: SimNetwork;
}

/** Options of {@linkcode blast}. */
export interface BlastOptions {
  /** Seed of the network. */
  readonly seed: number;
  /** Datagrams to send. */
  readonly count: number;
  /** Gap between sends in ms. Default 1. */
  readonly gap?: number;
  /** Payload size by sequence number (>= 12). Default 64. */
  readonly size?: (seq: number) => number;
}

/** The payload the blaster sends for `seq`: seq three times, then a pattern. */
export function payloadFor(seq: number, size: number): Uint8Array {
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  if (size >= 12) {
    view.setUint32(0, seq);
    view.setUint32(4, seq);
    view.setUint32(8, seq);
  }
  for (let i = 12; i < size; i++) buf[i] = (seq * 7 + i * 13) & 0xff;
  return buf;
}

/** Majority vote over the three copies of seq (robust to one flipped bit). */
export function seqOf(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const a = view.getUint32(0);
  const b = view.getUint32(4);
  const c = view.getUint32(8);
  return a === b || a === c ? a : b;
}

/** Sends `count` numbered datagrams from host "a" to host "b" over `cfg`, runs to idle. */
export function blast(cfg: LinkConfig, opts: BlastOptions): BlastResult {
  const clock = new VirtualClock({ seed: opts.seed });
  const net = new SimNetwork(clock, { seed: opts.seed, trace: { capacity: 0 } });
  net.setLink("a", "b", cfg);
  const tx = net.bind({ hostname: "a", port: 1000 });
  const rx = net.bind({ hostname: "b", port: 2000 });
  const arrivals: Arrival[] = [];
  rx.setHandler((data) => arrivals.push({ seq: seqOf(data), at: clock.now(), data }));
  tx.connect(rx.localAddr);
  const gap = opts.gap ?? 1;
  const size = opts.size ?? (() => 64);
  const sentAt: number[] = [];
  for (let i = 0; i < opts.count; i++) {
    clock.schedule(i * gap, () => {
      sentAt[i] = clock.now();
      tx.send(payloadFor(i, size(i)));
    });
  }
  clock.runUntilIdle({ maxEvents: opts.count * 4 + 100 });
  return { arrivals, sentAt, stats: net.stats(), net };
}

/** Asserts `actual` is within `tol` of `expected`, with a readable message. */
export function assertNear(actual: number, expected: number, tol: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${what}: expected ${expected} ± ${tol}, got ${actual}`);
  }
}
