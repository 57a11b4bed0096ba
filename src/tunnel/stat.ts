/**
 * Live figures of a running server or client: a control endpoint on
 * loopback (HTTP: `/connections` as JSON, `/metrics` in the Prometheus text
 * format, `/dashboard` a live web page fed by `/events`, see dashboard.ts)
 * and the `ss -ti`-like table `tou stat` prints from it.
 *
 * @module
 */

import { formatHostPort, type HostPort } from "./address.ts";
import { MUX_PORT } from "./mux_frame.ts";
import { withContext } from "./errors.ts";
import { serveDashboard, SnapshotStreams } from "./dashboard.ts";
import type { Logger } from "./log.ts";
import type { Relay, RelayRole, Session } from "./relay.ts";
import type { EndpointConnection, ObservableEndpoint } from "./tou_endpoint.ts";
import type { TunnelEndpoint } from "./transport.ts";
import { GAUGE_RE, type StatRow, type StatSession, type StatSnapshot } from "./stat_snapshot.ts";
import { formatPrometheus } from "./stat_format.ts";

export { sendLimit } from "./stat_snapshot.ts";
export type { SendLimit, StatRow, StatSession, StatSnapshot, StatWorker } from "./stat_snapshot.ts";
export { formatPrometheus, formatStatTable, formatTimers, SS_TIMER_NAMES } from "./stat_format.ts";

/** What a control endpoint reports on. */
export interface StatSource {
  /** Server or client. */
  readonly role: RelayRole;
  /** Its sessions and counters. */
  readonly relay: Relay;
  /** Its endpoint; connections, metrics and encryption are used when present. */
  readonly endpoint: TunnelEndpoint & Partial<ObservableEndpoint>;
}

type Tuple = EndpointConnection["tuple"];

function side(a: { hostname: string; port: number; tcpPort: number }): string {
  return `${formatHostPort(a)}/${a.tcpPort}`;
}

function tupleKey(t: Tuple): string {
  return `${t.local.tcpPort}|${t.remote.hostname}|${t.remote.port}|${t.remote.tcpPort}`;
}

/** A connection to or from the multiplexing port: it carries streams (maybe none at the moment). */
function isMuxTuple(t: Tuple): boolean {
  return t.local.tcpPort === MUX_PORT || t.remote.tcpPort === MUX_PORT;
}

function sessionTuple(s: Session): Tuple | undefined {
  return (s.conn as { tuple?: Tuple }).tuple;
}

/** The tuple of the multiplexed connection a stream session rides on (a `MuxStream`'s carrier). */
function carrierTuple(s: Session): Tuple | undefined {
  return (s.conn as { carrier?: { tuple?: Tuple } }).carrier?.tuple;
}

function sessionOf(s: Session, now: number): StatSession {
  const conn = s.conn as { carrier?: unknown; id?: number }; // a MuxStream has both
  const stream = conn.carrier !== undefined ? conn.id : undefined;
  return {
    id: s.id,
    tcpPeer: s.tcpPeer,
    tunnelPort: s.tunnelPort,
    ageMs: now - s.startedAt,
    bytesIn: s.pipe.aToB,
    bytesOut: s.pipe.bToA,
    ...(stream === undefined ? {} : { stream }),
  };
}

const ZERO_INFO: EndpointConnection["info"] = {
  rtt: 0,
  rttvar: 0,
  rto: 0,
  cwnd: 0,
  ssthresh: Infinity,
  mss: 0,
  bytesSent: 0,
  bytesAcked: 0,
  bytesReceived: 0,
  retransmits: 0,
  lost: 0,
  unacked: 0,
  sendQueue: 0,
  recvQueue: 0,
  sndWnd: 0,
  rcvWnd: 0,
  deliveryRate: 0,
};

function row(
  state: string,
  local: string,
  peer: string,
  info: EndpointConnection["info"],
  session: StatSession | undefined,
  streams?: readonly StatSession[],
): StatRow {
  return {
    state,
    local,
    peer,
    sendQ: info.sendQueue,
    recvQ: info.recvQueue,
    rtt: info.rtt,
    rttvar: info.rttvar,
    rto: info.rto,
    cwnd: info.cwnd,
    ssthresh: Number.isFinite(info.ssthresh) ? info.ssthresh : null,
    mss: info.mss,
    retransmits: info.retransmits,
    lost: info.lost,
    bytesSent: info.bytesSent,
    bytesAcked: info.bytesAcked,
    bytesReceived: info.bytesReceived,
    unacked: info.unacked,
    sndWnd: info.sndWnd,
    rcvWnd: info.rcvWnd,
    ...(info.deliveryRate === undefined ? {} : { deliveryRate: info.deliveryRate }),
    ...(info.pacingRate === undefined ? {} : { pacingRate: info.pacingRate }),
    ...(info.timers === undefined ? {} : { timers: { ...info.timers } }),
    ...(session ? { session } : {}),
    ...(streams ? { streams } : {}),
  };
}

/**
 * Takes a snapshot of a server or client.
 *
 * @param src The relay and endpoint.
 * @returns Rows and counters.
 */
export function takeSnapshot(src: StatSource): StatSnapshot {
  const now = Date.now();
  const sessions = src.relay.sessions();
  const byTuple = new Map<string, Session>();
  const streamsByTuple = new Map<string, StatSession[]>();
  for (const s of sessions) {
    const t = sessionTuple(s);
    if (t) byTuple.set(tupleKey(t), s);
    const m = carrierTuple(s);
    if (m) {
      const k = tupleKey(m);
      const list = streamsByTuple.get(k);
      if (list) list.push(sessionOf(s, now));
      else streamsByTuple.set(k, [sessionOf(s, now)]);
    }
  }
  const rows: StatRow[] = [];
  if (typeof src.endpoint.connections === "function") {
    for (const c of src.endpoint.connections()) {
      const k = tupleKey(c.tuple);
      const s = byTuple.get(k);
      rows.push(
        row(
          c.state,
          side(c.tuple.local),
          side(c.tuple.remote),
          c.info,
          s ? sessionOf(s, now) : undefined,
          streamsByTuple.get(k) ?? (isMuxTuple(c.tuple) ? [] : undefined),
        ),
      );
    }
  } else {
    for (const s of sessions) {
      const conn = s.conn as { info?(): EndpointConnection["info"] & { state?: string } };
      const info = conn.info?.() ?? ZERO_INFO;
      const l = s.conn.localAddr as Deno.NetAddr;
      const r = s.conn.remoteAddr as Deno.NetAddr;
      rows.push(
        row(
          (info as { state?: string }).state ?? "ESTABLISHED",
          `${formatHostPort(l)}`,
          `${formatHostPort(r)}`,
          info,
          sessionOf(s, now),
        ),
      );
    }
  }
  const c = src.relay.counters;
  let liveIn = 0;
  let liveOut = 0;
  for (const s of sessions) {
    liveIn += s.pipe.aToB;
    liveOut += s.pipe.bToA;
  }
  const counters: Record<string, number> = {
    sessions_active: sessions.length,
    sessions_opened_total: c.sessionsOpened,
    sessions_closed_total: c.sessionsClosed,
    sessions_reset_total: c.sessionsReset,
    connect_failures_total: c.connectFailures,
    bytes_into_tunnel_total: c.bytesIntoTunnel + liveIn,
    bytes_out_of_tunnel_total: c.bytesOutOfTunnel + liveOut,
  };
  if (typeof src.endpoint.metrics === "function") {
    for (const [k, v] of Object.entries(src.endpoint.metrics())) {
      counters[GAUGE_RE.test(k) ? k : `${k}_total`] = v;
    }
  }
  // this process's memory (gauges): what bench:soak's RSS goal is about, readable live
  const mem = Deno.memoryUsage();
  counters.process_resident_bytes = mem.rss;
  counters.process_heap_used_bytes = mem.heapUsed;
  counters.process_heap_total_bytes = mem.heapTotal;
  counters.process_external_bytes = mem.external;
  return {
    role: src.role,
    udp: formatHostPort(src.endpoint.addr),
    encrypted: src.endpoint.encrypted ?? false,
    time: now,
    connections: rows,
    counters,
    ...(src.endpoint.options === undefined ? {} : { options: src.endpoint.options }),
  };
}
/** A running control endpoint. */
export interface ControlServer {
  /** The bound loopback address. */
  readonly addr: HostPort;
  /** Stops serving. */
  close(): Promise<void>;
}

/**
 * Serves `/connections` (JSON {@linkcode StatSnapshot}), `/metrics`
 * (Prometheus text), `/dashboard` (a live web page) and `/events` (a
 * snapshot every 500 ms, or `?interval=` ms, as server-sent events) over
 * HTTP on a loopback address.
 *
 * @param addr Loopback address; port 0 picks one.
 * @param source What to report on: a relay and endpoint, or a function
 *   making the snapshot (the parent of `tou server --workers` merges its
 *   workers' snapshots).
 * @param log Where the bound address is logged.
 * @returns The running server.
 */
export function startControlServer(
  addr: HostPort,
  source: StatSource | (() => Promise<StatSnapshot>),
  log?: Logger,
): Promise<ControlServer> {
  const { promise, resolve } = Promise.withResolvers<HostPort>();
  let server: Deno.HttpServer;
  const ep = typeof source === "function" ? undefined : source.endpoint;
  // a snapshot goes out at once when a connection changes state, besides the interval
  const streams = new SnapshotStreams(
    typeof ep?.subscribe === "function" ? (f) => ep.subscribe!({ onState: f }) : undefined,
  );
  try {
    server = serveControl(addr, source, streams, (a) => resolve(a));
  } catch (e) {
    return Promise.reject(withContext(e, `cannot listen on control ${formatHostPort(addr)}`));
  }
  return promise.then((bound) => {
    log?.info("control endpoint listening", { http: formatHostPort(bound) });
    return {
      addr: bound,
      close: async () => {
        streams.closeAll();
        await server.shutdown();
      },
    };
  });
}

/**
 * A synchronous view of an asynchronous snapshot source (the dashboard's
 * streams take snapshots synchronously): each call returns the latest
 * snapshot fetched and starts fetching the next one.
 */
function latest(source: () => Promise<StatSnapshot>): () => StatSnapshot {
  let last: StatSnapshot | undefined;
  let fetching = false;
  const refresh = () => {
    if (fetching) return;
    fetching = true;
    source().then((s) => last = s, () => {}).finally(() => fetching = false);
  };
  refresh();
  return () => {
    refresh();
    return last ?? {
      role: "server",
      udp: "",
      encrypted: false,
      time: Date.now(),
      connections: [],
      counters: {},
    };
  };
}

function serveControl(
  addr: HostPort,
  source: StatSource | (() => Promise<StatSnapshot>),
  streams: SnapshotStreams,
  onListen: (a: HostPort) => void,
): Deno.HttpServer {
  const snapshot = typeof source === "function"
    ? source
    : () => Promise.resolve(takeSnapshot(source));
  const take = typeof source === "function" ? latest(source) : () => takeSnapshot(source);
  return Deno.serve({
    hostname: addr.hostname,
    port: addr.port,
    onListen: (a) => onListen({ hostname: a.hostname, port: a.port }),
  }, async (req) => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (req.method !== "GET") return new Response("method not allowed\n", { status: 405 });
    const page = serveDashboard(url, take, streams);
    if (page !== undefined) return page;
    if (path === "/connections") {
      return Response.json(await snapshot());
    }
    if (path === "/metrics") {
      return new Response(formatPrometheus(await snapshot()), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/") {
      return new Response(
        "tou control endpoint: GET /connections (JSON), GET /metrics, " +
          "GET /dashboard (live web page), GET /events (server-sent snapshots)\n",
      );
    }
    return new Response("not found\n", { status: 404 });
  });
}

/**
 * Fetches a snapshot or the metrics text from a control endpoint.
 *
 * @param addr The control endpoint.
 * @param what "connections" (parsed JSON) or "metrics" (text).
 * @returns The snapshot or text.
 * @throws {Error} With a one-line message when the endpoint cannot be reached.
 */
export async function fetchStat(addr: HostPort, what: "connections"): Promise<StatSnapshot>;
/** Fetches the Prometheus metrics text from a control endpoint. */
export async function fetchStat(addr: HostPort, what: "metrics"): Promise<string>;
export async function fetchStat(
  addr: HostPort,
  what: "connections" | "metrics",
): Promise<StatSnapshot | string> {
  const url = `http://${formatHostPort(addr)}/${what}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    // Deno's fetch says "fetch failed"; the reason is in the cause.
    const text = e instanceof Error
      ? `${e.message} ${e.cause instanceof Error ? e.cause.message : String(e.cause ?? "")}`
      : String(e);
    const reason = /refused/i.test(text)
      ? "connection refused"
      : e instanceof DOMException && e.name === "TimeoutError"
      ? "no answer within 5 s"
      : e instanceof Error
      ? e.message.split("\n")[0]
      : String(e);
    throw new Error(
      `cannot reach control endpoint ${formatHostPort(addr)}: ${reason} ` +
        "(is tou server/client running with --control?)",
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`control endpoint ${formatHostPort(addr)} answered ${res.status}`);
  }
  return what === "metrics" ? await res.text() : await res.json() as StatSnapshot;
}
