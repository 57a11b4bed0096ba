/**
 * What `/connections` of a control endpoint returns: the snapshot of a
 * running server or client, its rows (one per tunnel connection) and which
 * limit applies to each row's sending. Taken by `stat.ts`, formatted by
 * `stat_format.ts`, merged over workers by `stat_merge.ts`.
 *
 * @module
 */

import type { RelayRole } from "./relay.ts";

/** The kernel TCP side of a tunnel connection that carries a session. */
export interface StatSession {
  /** Session id. */
  readonly id: number;
  /** Forward target (server) or local application (client). */
  readonly tcpPeer: string;
  /** Service port. */
  readonly tunnelPort: number;
  /** Age in ms. */
  readonly ageMs: number;
  /** Bytes from kernel TCP into the tunnel so far. */
  readonly bytesIn: number;
  /** Bytes from the tunnel to kernel TCP so far. */
  readonly bytesOut: number;
  /** The stream id, when the session is a stream of a multiplexed connection (`--mux`). */
  readonly stream?: number;
}

/** One connection row, like one entry of `ss -ti`. Times in ms, sizes in bytes. */
export interface StatRow {
  /** TCP state name as the seeds use it: ESTABLISHED, TIME_WAIT, ... */
  readonly state: string;
  /** Our UDP address and TCP port, `host:udpPort/tcpPort`. */
  readonly local: string;
  /** The peer's UDP address and TCP port. */
  readonly peer: string;
  /** Bytes waiting in the send buffer (unacknowledged plus unsent). */
  readonly sendQ: number;
  /** Bytes received and not yet read. */
  readonly recvQ: number;
  /** Smoothed RTT. */
  readonly rtt: number;
  /** RTT variation. */
  readonly rttvar: number;
  /** Retransmission timeout. */
  readonly rto: number;
  /** Congestion window in bytes. */
  readonly cwnd: number;
  /** Slow-start threshold in bytes; null before the first loss (infinite). */
  readonly ssthresh: number | null;
  /** Send MSS. */
  readonly mss: number;
  /** Segments retransmitted. */
  readonly retransmits: number;
  /** Loss events. */
  readonly lost: number;
  /** Payload bytes sent (retransmissions included). */
  readonly bytesSent: number;
  /** Payload bytes acknowledged. */
  readonly bytesAcked: number;
  /** Payload bytes received. */
  readonly bytesReceived: number;
  /** Sequence space in flight (SND.MAX - SND.UNA). */
  readonly unacked?: number;
  /** The peer's receive window (scaled). */
  readonly sndWnd?: number;
  /** The receive window we advertise (`ss`'s rcv_space). */
  readonly rcvWnd?: number;
  /** Delivery rate, bytes per second (`ss`'s delivery_rate; 0 before any sample). */
  readonly deliveryRate?: number;
  /** Pacing rate, bytes per second (`ss`'s pacing_rate); absent when pacing is off. */
  readonly pacingRate?: number;
  /** Armed timers by kind (retransmit, persist, ...), each with the ms left. */
  readonly timers?: Readonly<Partial<Record<string, number>>>;
  /** The session it carries, if any. */
  readonly session?: StatSession;
  /** A multiplexed connection (`tou client --mux`): the sessions its streams carry, oldest first. */
  readonly streams?: readonly StatSession[];
  /** `tou server --workers`: the index of the worker process that holds it. */
  readonly worker?: number;
}

/** What limits a sender now, as `ss -i` and Linux's `tcp_info` chrono stats name it. */
export type SendLimit = "cwnd" | "rwnd" | "sender" | "pacing" | "none";

/**
 * Which limit applies to a connection's sending: the sender itself (less
 * than a segment waiting to be sent), the congestion window (in flight ≥
 * cwnd), the peer's receive window (in flight ≥ its window), pacing (the
 * pacing timer is armed: data waits for tokens), or none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sendLimit } from "./stat_snapshot.ts";
 * const base = { mss: 1000, cwnd: 10_000, sndWnd: 65_535 };
 * assert.equal(sendLimit({ ...base, unacked: 10_000, sendQ: 50_000 }), "cwnd");
 * assert.equal(sendLimit({ ...base, sndWnd: 4000, unacked: 4000, sendQ: 50_000 }), "rwnd");
 * assert.equal(sendLimit({ ...base, unacked: 0, sendQ: 0 }), "sender");
 * assert.equal(sendLimit({ ...base, unacked: 2000, sendQ: 9000 }), "none");
 * assert.equal(sendLimit({ ...base, unacked: 2000, sendQ: 9000, timers: { pacing: 1 } }), "pacing");
 * ```
 */
export function sendLimit(
  r: Pick<StatRow, "mss" | "cwnd" | "sendQ" | "unacked" | "sndWnd" | "timers">,
): SendLimit {
  const inFlight = r.unacked ?? 0, mss = Math.max(1, r.mss);
  if (r.sendQ - inFlight < mss) return "sender";
  if (inFlight + mss > r.cwnd) return "cwnd";
  if (r.sndWnd !== undefined && inFlight + mss > r.sndWnd) return "rwnd";
  if (r.timers?.pacing !== undefined) return "pacing";
  return "none";
}

/** Everything `/connections` returns. */
export interface StatSnapshot {
  /** Server or client. */
  readonly role: RelayRole;
  /** The endpoint's UDP address. */
  readonly udp: string;
  /** Whether datagrams are sealed with a key. */
  readonly encrypted: boolean;
  /** Wall-clock time of the snapshot, ms since the epoch. */
  readonly time: number;
  /** One row per connection. */
  readonly connections: readonly StatRow[];
  /** Counters (relay and endpoint), by metric name without the `tou_` prefix. */
  readonly counters: Readonly<Record<string, number>>;
  /** The endpoint's TCP options in effect (defaults filled in), when it reports them. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** `tou server --workers`: each worker's figures (the rest is their sum; see stat_merge.ts). */
  readonly workers?: readonly StatWorker[];
}

/** One worker process of `tou server --workers`, as the merged snapshot reports it. */
export interface StatWorker {
  /** Its index, 0 to N-1. */
  readonly worker: number;
  /** Its process id. */
  readonly pid: number;
  /** Its connections (all states). */
  readonly connections: number;
  /** Its counters. */
  readonly counters: Readonly<Record<string, number>>;
}

/** Endpoint metrics that are levels (gauges), not running totals. */
export const GAUGE_RE: RegExp =
  /in_flight|_peers$|last_stale_offset|_buffer_bytes$|_buffer_share$|_capped_connections$/;
