/**
 * Live figures of a running server or client: a control endpoint on
 * loopback (HTTP: `/connections` as JSON, `/metrics` in the Prometheus text
 * format, `/dashboard` a live web page fed by `/events`, see dashboard.ts)
 * and the `ss -ti`-like table `tou stat` prints from it.
 *
 * @module
 */

import { formatHostPort, type HostPort } from "./address.ts";
import { withContext } from "./errors.ts";
import { serveDashboard, SnapshotStreams } from "./dashboard.ts";
import type { Logger } from "./log.ts";
import type { Relay, RelayRole, Session } from "./relay.ts";
import type { EndpointConnection, ObservableEndpoint } from "./tou_endpoint.ts";
import type { TunnelEndpoint } from "./transport.ts";

/** What a control endpoint reports on. */
export interface StatSource {
  /** Server or client. */
  readonly role: RelayRole;
  /** Its sessions and counters. */
  readonly relay: Relay;
  /** Its endpoint; connections, metrics and encryption are used when present. */
  readonly endpoint: TunnelEndpoint & Partial<ObservableEndpoint>;
}

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
 * import { sendLimit } from "./stat.ts";
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

type Tuple = EndpointConnection["tuple"];

function side(a: { hostname: string; port: number; tcpPort: number }): string {
  return `${formatHostPort(a)}/${a.tcpPort}`;
}

function tupleKey(t: Tuple): string {
  return `${t.local.tcpPort}|${t.remote.hostname}|${t.remote.port}|${t.remote.tcpPort}`;
}

function sessionTuple(s: Session): Tuple | undefined {
  return (s.conn as { tuple?: Tuple }).tuple;
}

function sessionOf(s: Session, now: number): StatSession {
  return {
    id: s.id,
    tcpPeer: s.tcpPeer,
    tunnelPort: s.tunnelPort,
    ageMs: now - s.startedAt,
    bytesIn: s.pipe.aToB,
    bytesOut: s.pipe.bToA,
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
  for (const s of sessions) {
    const t = sessionTuple(s);
    if (t) byTuple.set(tupleKey(t), s);
  }
  const rows: StatRow[] = [];
  if (typeof src.endpoint.connections === "function") {
    for (const c of src.endpoint.connections()) {
      const s = byTuple.get(tupleKey(c.tuple));
      rows.push(
        row(
          c.state,
          side(c.tuple.local),
          side(c.tuple.remote),
          c.info,
          s ? sessionOf(s, now) : undefined,
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

/** Endpoint metrics that are levels, not running totals. */
const GAUGE_RE = /in_flight|_peers$|last_stale_offset/;

const HELP: Readonly<Record<string, string>> = {
  sessions_active: "Sessions (TCP connection paired with a tunnel connection) now open.",
  sessions_opened_total: "Sessions started.",
  sessions_closed_total: "Sessions that ended with both directions closed normally.",
  sessions_reset_total: "Sessions that ended with a reset.",
  connect_failures_total:
    "Connections reset before a session started (target or tunnel unreachable).",
  bytes_into_tunnel_total: "Bytes carried from kernel TCP into the tunnel.",
  bytes_out_of_tunnel_total: "Bytes carried from the tunnel to kernel TCP.",
  listen_syn_queue_drops_total:
    "SYNs dropped because a listener's SYN queue was full (SYN cookies off).",
  listen_listen_drops_total: "SYNs dropped because a listener's accept queue was full.",
  listen_listen_overflows_total:
    "Handshake-completing ACKs dropped because a listener's accept queue was full.",
  listen_syn_cookies_sent_total: "SYN-ACKs sent as SYN cookies, without state.",
  listen_syn_cookies_recv_total: "Connections created from a valid SYN cookie ACK.",
  listen_syn_cookies_failed_total: "ACKs whose SYN cookie did not check while cookies were in use.",
  listen_fast_open_listen_overflow_total:
    "Fast Open SYNs whose data was ignored because a listener's pending queue was full.",
  seal_auth_failures_total:
    "Datagrams dropped because they did not authenticate (wrong key, forged).",
};

/**
 * Renders a snapshot in the Prometheus text exposition format (0.0.4).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPrometheus } from "./stat.ts";
 * const text = formatPrometheus({
 *   role: "server", udp: "0.0.0.0:7000", encrypted: true, time: 0,
 *   connections: [], counters: { seal_auth_failures_total: 3 },
 * });
 * assert.match(text, /^tou_seal_auth_failures_total\{role="server"\} 3$/m);
 * assert.match(text, /^# TYPE tou_seal_auth_failures_total counter$/m);
 * ```
 */
export function formatPrometheus(snap: StatSnapshot): string {
  const role = `role="${snap.role}"`;
  const lines: string[] = [];
  const metric = (name: string, type: "gauge" | "counter", help: string) => {
    lines.push(`# HELP tou_${name} ${help}`, `# TYPE tou_${name} ${type}`);
  };
  metric("encrypted", "gauge", "1 when datagrams are sealed with a pre-shared key.");
  lines.push(`tou_encrypted{${role}} ${snap.encrypted ? 1 : 0}`);
  metric("connections", "gauge", "Tunnel connections by TCP state.");
  const byState = new Map<string, number>();
  for (const r of snap.connections) byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
  for (const [state, n] of [...byState].sort()) {
    lines.push(`tou_connections{${role},state="${state}"} ${n}`);
  }
  let retrans = 0;
  for (const r of snap.connections) retrans += r.retransmits;
  metric(
    "connection_retransmits",
    "gauge",
    "Segments retransmitted by the connections open now, summed.",
  );
  lines.push(`tou_connection_retransmits{${role}} ${retrans}`);
  for (const [name, value] of Object.entries(snap.counters)) {
    const type = name.endsWith("_total") ? "counter" : "gauge";
    metric(name, type, HELP[name] ?? name.replaceAll("_", " ") + ".");
    lines.push(`tou_${name}{${role}} ${value}`);
  }
  if (snap.workers !== undefined) {
    metric("workers", "gauge", "Worker processes answering (tou server --workers).");
    lines.push(`tou_workers{${role}} ${snap.workers.length}`);
    for (const name of ["sessions_active", "sessions_opened_total"]) {
      const type = name.endsWith("_total") ? "counter" : "gauge";
      metric(`worker_${name}`, type, `${HELP[name]} Per worker process.`);
      for (const w of snap.workers) {
        lines.push(`tou_worker_${name}{${role},worker="${w.worker}"} ${w.counters[name] ?? 0}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

/** Bits per second as `ss` prints them: 1.2Mbps, 880Kbps, 96bps. */
function fmtRate(bps: number): string {
  if (bps >= 1e9) return `${+(bps / 1e9).toFixed(1)}Gbps`;
  if (bps >= 1e6) return `${+(bps / 1e6).toFixed(1)}Mbps`;
  if (bps >= 1e3) return `${+(bps / 1e3).toFixed(1)}Kbps`;
  return `${Math.round(bps)}bps`;
}

function fmtMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(3).replace(/\.?0+$/, "");
}

/**
 * `ss`'s names of the timers (`timer:(on,…)` is the retransmission timer);
 * tou's other kinds keep their own names.
 */
export const SS_TIMER_NAMES: Readonly<Record<string, string>> = {
  retransmit: "on",
  persist: "persist",
  keepalive: "keepalive",
  timeWait: "timewait",
  delayedAck: "delack",
  finWait2: "fin_wait2",
  lossProbe: "tlp",
  reorder: "reorder",
  pacing: "pacing",
};

/**
 * The `timer:(name,left)` fields of a row: every armed timer when the row
 * lists them, else the retransmission timer guessed from data in flight.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTimers } from "./stat.ts";
 * assert.equal(formatTimers({ rto: 200, timers: { retransmit: 180, keepalive: 7.5e6 } }),
 *   " timer:(on,180ms) timer:(keepalive,125min)");
 * assert.equal(formatTimers({ rto: 200, unacked: 10 }), " timer:(on,200ms)");
 * ```
 */
export function formatTimers(r: Pick<StatRow, "rto" | "unacked" | "timers">): string {
  if (r.timers === undefined) {
    // The retransmission timer runs while data is in flight (RFC 6298 §5.1).
    return (r.unacked ?? 0) > 0 ? ` timer:(on,${fmtMs(r.rto)}ms)` : "";
  }
  let out = "";
  for (const [kind, left] of Object.entries(r.timers)) {
    if (left !== undefined) out += ` timer:(${SS_TIMER_NAMES[kind] ?? kind},${fmtLeft(left)})`;
  }
  return out;
}

/** Time left as `ss` prints it: ms below 1 s, then sec, then min. */
function fmtLeft(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}sec`;
  return `${Math.ceil(ms / 60_000)}min`;
}

/**
 * Renders a snapshot like `ss -tin`: a header, then per connection one line
 * with the state, queues and addresses and one indented line of internals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStatTable } from "./stat.ts";
 * const out = formatStatTable({
 *   role: "client", udp: "0.0.0.0:40000", encrypted: false, time: 0, counters: {},
 *   connections: [{
 *     state: "ESTABLISHED", local: "0.0.0.0:40000/50001", peer: "10.0.0.1:7000/22",
 *     sendQ: 0, recvQ: 5, rtt: 1.5, rttvar: 0.75, rto: 201, cwnd: 14160, ssthresh: null,
 *     mss: 1416, retransmits: 2, lost: 1, bytesSent: 100, bytesAcked: 100, bytesReceived: 7,
 *   }],
 * });
 * assert.match(out, /^ESTABLISHED\s+5\s+0\s+0\.0\.0\.0:40000\/50001\s+10\.0\.0\.1:7000\/22/m);
 * assert.match(out, /rtt:1\.5\/0\.75 rto:201 mss:1416 cwnd:10 retrans:2 lost:1/);
 * ```
 */
export function formatStatTable(snap: StatSnapshot): string {
  const byWorker = snap.workers !== undefined;
  const head = [
    ...(byWorker ? ["Worker"] : []),
    "State",
    "Recv-Q",
    "Send-Q",
    "Local Address/Port",
    "Peer Address/Port",
    "Session",
  ];
  const rows = snap.connections.map((r) => [
    ...(byWorker ? [String(r.worker ?? "?")] : []),
    r.state,
    String(r.recvQ),
    String(r.sendQ),
    r.local,
    r.peer,
    r.session ? `#${r.session.id} ${snap.role === "server" ? "→" : "←"} ${r.session.tcpPeer}` : "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join(" ").trimEnd();
  const out = [
    `tou ${snap.role} udp ${snap.udp} (${snap.encrypted ? "encrypted" : "PLAINTEXT"}), ${
      byWorker
        ? `${snap.workers!.length} workers (${
          snap.workers!.map((w) => `#${w.worker} pid ${w.pid}: ${w.connections}`).join(", ")
        }), `
        : ""
    }${snap.connections.length} connection${snap.connections.length === 1 ? "" : "s"}`,
    fmt(head),
  ];
  snap.connections.forEach((r, i) => {
    out.push(fmt(rows[i]));
    const cwndSegs = r.mss > 0 ? Math.round(r.cwnd / r.mss) : 0;
    const ssthresh = r.ssthresh === null
      ? ""
      : ` ssthresh:${r.mss > 0 ? Math.round(r.ssthresh / r.mss) : r.ssthresh}`;
    // The `ss -tani` figures.
    const timer = formatTimers(r);
    const send = (r.rtt > 0 ? ` send:${fmtRate((r.cwnd * 8 * 1000) / r.rtt)}` : "") +
      (r.pacingRate === undefined ? "" : ` pacing_rate:${fmtRate(r.pacingRate * 8)}`) +
      (r.deliveryRate === undefined ? "" : ` delivery_rate:${fmtRate(r.deliveryRate * 8)}`);
    const windows = r.rcvWnd === undefined ? "" : ` rcv_space:${r.rcvWnd} snd_wnd:${r.sndWnd}`;
    const limit = r.unacked === undefined ? "" : ` limit:${sendLimit(r)}`;
    let detail = `\t rtt:${fmtMs(r.rtt)}/${fmtMs(r.rttvar)} rto:${fmtMs(r.rto)} ` +
      `mss:${r.mss} cwnd:${cwndSegs}${ssthresh} retrans:${r.retransmits} lost:${r.lost} ` +
      `bytes_sent:${r.bytesSent} bytes_acked:${r.bytesAcked} bytes_received:${r.bytesReceived}` +
      `${send}${windows}${limit}${timer}`;
    if (r.session) {
      detail += ` session_in:${r.session.bytesIn} session_out:${r.session.bytesOut} ` +
        `age:${(r.session.ageMs / 1000).toFixed(1)}s`;
    }
    out.push(detail);
  });
  return out.join("\n") + "\n";
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
