/**
 * One snapshot from the snapshots of the worker processes of
 * `tou server --workers N`: the parent's control endpoint fetches every
 * worker's `/connections` and serves their merge, so `tou stat` against
 * the server shows one table and one set of metrics.
 *
 * @module
 */

import type { StatSnapshot, StatWorker } from "./stat.ts";

/** Counters that are a level of the moment, not a running total: their merge is the largest. */
const MAX_RE = /last_stale_offset/;

/** A worker's snapshot with the worker's index and process id. */
export interface WorkerSnapshot {
  /** The worker's index, 0 to N-1. */
  readonly worker: number;
  /** Its process id. */
  readonly pid: number;
  /** What its own control endpoint returned. */
  readonly snapshot: StatSnapshot;
}

/**
 * Merges the snapshots of a server's workers: every connection row (marked
 * with its worker), counters summed (gauges such as `sessions_active` too;
 * a clock offset takes the largest), each worker's own figures under
 * `workers`, and the TCP options (the same in every worker: one copy).
 *
 * @param parts The workers that answered, by index.
 * @param base Role, UDP address and encryption of the whole server.
 * @returns One snapshot.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeSnapshots } from "./stat_merge.ts";
 * const snap = (n: number) => ({
 *   role: "server" as const, udp: "0.0.0.0:7000", encrypted: true, time: 5,
 *   connections: [], counters: { sessions_opened_total: n },
 * });
 * const merged = mergeSnapshots(
 *   [{ worker: 0, pid: 10, snapshot: snap(2) }, { worker: 1, pid: 11, snapshot: snap(3) }],
 *   { role: "server", udp: "0.0.0.0:7000", encrypted: true },
 * );
 * assert.equal(merged.counters.sessions_opened_total, 5);
 * assert.deepEqual(merged.workers?.map((w) => w.pid), [10, 11]);
 * ```
 */
export function mergeSnapshots(
  parts: readonly WorkerSnapshot[],
  base: Pick<StatSnapshot, "role" | "udp" | "encrypted">,
): StatSnapshot {
  const counters: Record<string, number> = {};
  const workers: StatWorker[] = [];
  const connections = [];
  let time = 0;
  for (const p of [...parts].sort((a, b) => a.worker - b.worker)) {
    for (const [k, v] of Object.entries(p.snapshot.counters)) {
      counters[k] = MAX_RE.test(k) ? Math.max(counters[k] ?? v, v) : (counters[k] ?? 0) + v;
    }
    for (const r of p.snapshot.connections) connections.push({ ...r, worker: p.worker });
    workers.push({
      worker: p.worker,
      pid: p.pid,
      connections: p.snapshot.connections.length,
      counters: p.snapshot.counters,
    });
    time = Math.max(time, p.snapshot.time);
  }
  const options = parts.find((p) => p.snapshot.options !== undefined)?.snapshot.options;
  return {
    ...base,
    time: time || Date.now(),
    connections,
    counters,
    workers,
    ...(options === undefined ? {} : { options }),
  };
}
