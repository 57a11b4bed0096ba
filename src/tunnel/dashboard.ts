/**
 * The live dashboard of the control endpoint: `GET /dashboard` is a web page
 * that lists every connection with its state and draws live charts of
 * throughput, cwnd, RTT/RTO, bytes in flight and retransmissions over time;
 * `GET /events` streams a snapshot (stat.ts's `StatSnapshot`) as
 * server-sent events every `interval` ms and at once when a connection
 * changes state; the page reads them. The charts are uPlot (npm `uplot`),
 * whose built file is imported as text from the npm package and served by
 * the endpoint itself: the page works offline, with no CDN.
 *
 * @module
 */

import { z } from "zod";
import UPLOT_JS from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import UPLOT_CSS from "uplot/dist/uPlot.min.css" with { type: "text" };
import { formatHostPort, type HostPort } from "./address.ts";

/** Where the control endpoint serves the page. */
export const DASHBOARD_PATH = "/dashboard";
/** Where it streams snapshots as server-sent events. */
export const EVENTS_PATH = "/events";
/** Default ms between two streamed snapshots. */
export const DEFAULT_EVENT_INTERVAL = 500;

/** `?interval=` of {@linkcode EVENTS_PATH}: ms between snapshots, 50 to 10 000. */
const intervalSchema = z.coerce.number().int().min(50).max(10_000);

/**
 * The dashboard's URL on a control endpoint (what `tou stat --web` prints).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dashboardUrl } from "./dashboard.ts";
 * assert.equal(dashboardUrl({ hostname: "127.0.0.1", port: 7001 }), "http://127.0.0.1:7001/dashboard");
 * assert.equal(dashboardUrl({ hostname: "::1", port: 7001 }), "http://[::1]:7001/dashboard");
 * ```
 */
export function dashboardUrl(addr: HostPort): string {
  return `http://${formatHostPort(addr)}${DASHBOARD_PATH}`;
}

/** Calls `onChange` when a connection changes state; returns the function that stops it. */
export type ChangeWatch = (onChange: () => void) => () => void;

/** The least ms between two snapshots sent because something changed. */
const NUDGE_MS = 20;

/**
 * The open event streams of one control endpoint, so that closing the
 * endpoint ends them (an HTTP server waits for open responses otherwise).
 * Besides the regular interval, a snapshot goes out at once when a
 * connection changes state (when a `watch` is given), while a stream is open.
 */
export class SnapshotStreams {
  /** Each open stream's stop function and its sender. */
  readonly #open = new Map<() => void, () => void>();
  readonly #watch: ChangeWatch | undefined;
  #unwatch: (() => void) | undefined;
  #nudge: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param watch Reports state changes (e.g. `Endpoint.subscribe` with onState); watched only
   *   while a stream is open.
   */
  constructor(watch?: ChangeWatch) {
    this.#watch = watch;
  }

  /** How many streams are open. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * A server-sent-event response: one `data:` line of snapshot JSON at once
   * and then every `intervalMs`, until the client goes or {@linkcode closeAll}.
   *
   * @param take Takes a snapshot (any JSON value; stat.ts passes a `StatSnapshot`).
   * @param intervalMs Ms between snapshots.
   */
  open(take: () => unknown, intervalMs: number): Response {
    const enc = new TextEncoder();
    let stop = () => {};
    const body = new ReadableStream<Uint8Array>({
      start: (ctrl) => {
        const send = () => {
          try {
            ctrl.enqueue(enc.encode(`data: ${JSON.stringify(take())}\n\n`));
          } catch {
            stop();
          }
        };
        const timer = setInterval(send, intervalMs);
        stop = () => {
          clearInterval(timer);
          if (this.#open.delete(stop)) {
            this.#watching();
            try {
              ctrl.close();
            } catch { /* already closed by the client */ }
          }
        };
        this.#open.set(stop, send);
        this.#watching();
        ctrl.enqueue(enc.encode(`retry: 1000\n\n`));
        send();
      },
      cancel: () => {
        stop();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
      },
    });
  }

  /** Ends every open stream. */
  closeAll(): void {
    for (const stop of [...this.#open.keys()]) stop();
  }

  /** Watches for changes exactly while a stream is open. */
  #watching(): void {
    if (this.#open.size > 0 && this.#unwatch === undefined && this.#watch !== undefined) {
      this.#unwatch = this.#watch(() => this.#changed());
    } else if (this.#open.size === 0 && this.#unwatch !== undefined) {
      this.#unwatch();
      this.#unwatch = undefined;
      clearTimeout(this.#nudge);
      this.#nudge = undefined;
    }
  }

  /** A connection changed: every stream gets a snapshot soon (changes within NUDGE_MS share one). */
  #changed(): void {
    if (this.#nudge !== undefined) return;
    this.#nudge = setTimeout(() => {
      this.#nudge = undefined;
      for (const send of this.#open.values()) send();
    }, NUDGE_MS);
  }
}

/**
 * Answers the dashboard's requests: the page, its script and style, and the
 * event stream; undefined for any other path.
 *
 * @param url The request URL.
 * @param take Takes a snapshot.
 * @param streams The endpoint's open streams.
 */
export function serveDashboard(
  url: URL,
  take: () => unknown,
  streams: SnapshotStreams,
): Response | undefined {
  switch (url.pathname) {
    case DASHBOARD_PATH:
      return new Response(DASHBOARD_HTML, {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    case `${DASHBOARD_PATH}/uPlot.iife.min.js`:
      return new Response(UPLOT_JS, {
        headers: { "content-type": "text/javascript; charset=utf-8" },
      });
    case `${DASHBOARD_PATH}/uPlot.min.css`:
      return new Response(UPLOT_CSS, { headers: { "content-type": "text/css; charset=utf-8" } });
    case EVENTS_PATH: {
      const raw = url.searchParams.get("interval");
      const parsed = intervalSchema.safeParse(raw ?? DEFAULT_EVENT_INTERVAL);
      if (!parsed.success) {
        return new Response(`interval must be a whole number of ms from 50 to 10000\n`, {
          status: 400,
        });
      }
      return streams.open(take, parsed.data);
    }
  }
  return undefined;
}

/**
 * The page's script: keeps up to {@linkcode MAX_POINTS} samples per
 * connection, draws one uPlot chart per figure with one line per connection
 * (the {@linkcode MAX_CONNS} most recent), and fills the table. For tests and
 * the curious it keeps its state in `window.touDashboard`.
 */
const PAGE_SCRIPT = String.raw`
"use strict";
const MAX_POINTS = 600, MAX_CONNS = 6;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const FIGURES = [
  { id: "throughput", title: "Throughput (Mbit/s, acked + received)", get: (s) => s.tp },
  { id: "cwnd", title: "Congestion window (KB)", get: (s) => s.cwnd },
  { id: "rtt", title: "RTT (solid) and RTO (dashed), ms", get: (s) => s.rtt, extra: (s) => s.rto },
  { id: "inflight", title: "In flight (KB)", get: (s) => s.flight },
  { id: "retrans", title: "Retransmissions (per second)", get: (s) => s.rtx },
];
const d = {
  updates: 0,
  xs: [],
  conns: new Map(),
  charts: new Map(),
  shown: "",
  summary() {
    const tp = [];
    for (const c of this.charts.values()) if (c.fig === "throughput") tp.push(...c.u.data.slice(1));
    const values = tp.flat().filter((v) => v != null);
    return {
      updates: this.updates,
      points: this.xs.length,
      connections: document.querySelectorAll("#conns tbody tr").length,
      charts: this.charts.size,
      throughputPoints: values.length,
      maxThroughput: values.length ? Math.max(...values) : 0,
    };
  },
};
window.touDashboard = d;

function pad(arr, n) { while (arr.length < n) arr.push(null); }

function onSnapshot(snap) {
  d.updates++;
  const t = snap.time / 1000;
  d.xs.push(t);
  const n = d.xs.length;
  const live = new Set();
  for (const r of snap.connections) {
    const key = r.local + " " + r.peer;
    live.add(key);
    let s = d.conns.get(key);
    if (!s) {
      s = { label: r.local.split("/").pop() + "→" + r.peer, tp: [], cwnd: [], rtt: [], rto: [],
        flight: [], rtx: [], last: undefined, seen: t };
      d.conns.set(key, s);
    }
    for (const k of ["tp", "cwnd", "rtt", "rto", "flight", "rtx"]) pad(s[k], n - 1);
    const bytes = r.bytesAcked + r.bytesReceived;
    const dt = s.last ? t - s.last.t : 0;
    s.tp.push(dt > 0 ? Math.max(0, bytes - s.last.bytes) * 8 / dt / 1e6 : 0);
    s.rtx.push(dt > 0 ? Math.max(0, r.retransmits - s.last.retransmits) / dt : 0);
    s.cwnd.push(r.cwnd / 1024);
    s.rtt.push(r.rtt);
    s.rto.push(r.rto);
    s.flight.push((r.unacked ?? 0) / 1024);
    s.last = { t, bytes, retransmits: r.retransmits };
    s.seen = t;
  }
  for (const [key, s] of d.conns) {
    for (const k of ["tp", "cwnd", "rtt", "rto", "flight", "rtx"]) pad(s[k], n);
    if (!live.has(key)) s.last = undefined;
  }
  if (n > MAX_POINTS) {
    d.xs.shift();
    for (const s of d.conns.values()) for (const k of ["tp", "cwnd", "rtt", "rto", "flight", "rtx"]) s[k].shift();
  }
  for (const [key, s] of d.conns) if (t - s.seen > MAX_POINTS) d.conns.delete(key);
  draw([...d.conns.entries()].sort((a, b) => b[1].seen - a[1].seen).slice(0, MAX_CONNS));
  table(snap);
  document.body.dataset.updates = String(d.updates);
}

function draw(shown) {
  const keys = shown.map(([k]) => k).join("|");
  if (keys !== d.shown) {
    for (const c of d.charts.values()) c.u.destroy();
    d.charts.clear();
    d.shown = keys;
    for (const f of FIGURES) {
      const el = document.getElementById(f.id);
      const series = [{}];
      shown.forEach(([, s], i) => {
        series.push({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5 });
        if (f.extra) series.push({ label: s.label + " RTO", stroke: COLORS[i % COLORS.length], dash: [5, 5], width: 1 });
      });
      const u = new uPlot({
        title: f.title, width: Math.max(300, el.clientWidth || 600), height: 180,
        scales: { x: { time: true } }, series,
      }, data(f, shown), el);
      d.charts.set(f.id, { fig: f.id, u });
    }
    return;
  }
  for (const f of FIGURES) d.charts.get(f.id).u.setData(data(f, shown));
}

function data(f, shown) {
  const out = [d.xs.slice()];
  for (const [, s] of shown) {
    out.push(f.get(s).slice());
    if (f.extra) out.push(f.extra(s).slice());
  }
  return out;
}

function rate(bps) {
  return bps >= 1e6 ? (bps / 1e6).toFixed(1) + " Mbit/s" : bps >= 1e3 ? (bps / 1e3).toFixed(1) + " kbit/s" : Math.round(bps) + " bit/s";
}

function table(snap) {
  document.getElementById("head").textContent = "tou " + snap.role + " · udp " + snap.udp + " · " +
    (snap.encrypted ? "encrypted" : "PLAINTEXT") + " · " + snap.connections.length + " connection" +
    (snap.connections.length === 1 ? "" : "s") + " · " + new Date(snap.time).toLocaleTimeString();
  const body = document.querySelector("#conns tbody");
  body.replaceChildren(...snap.connections.map((r) => {
    const tr = document.createElement("tr");
    const s = d.conns.get(r.local + " " + r.peer);
    const tp = s && s.tp.length ? s.tp[s.tp.length - 1] : 0;
    const cells = [r.state, r.local, r.peer, r.recvQ, r.sendQ, Math.round(r.cwnd), r.ssthresh === null ? "∞" : Math.round(r.ssthresh),
      r.rtt.toFixed(1) + " / " + r.rto, r.unacked ?? "", r.retransmits, rate(tp * 1e6),
      r.deliveryRate !== undefined ? rate(r.deliveryRate * 8) : "",
      r.session ? "#" + r.session.id + " " + r.session.tcpPeer
        : r.streams ? "mux: " + r.streams.length + " stream" + (r.streams.length === 1 ? "" : "s") +
          r.streams.slice(0, 8).map((st) => " · #" + st.id + " " + st.tcpPeer).join("") +
          (r.streams.length > 8 ? " · …" : "")
        : ""];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = String(c);
      tr.append(td);
    }
    tr.dataset.state = r.state;
    return tr;
  }));
}

const params = new URLSearchParams(location.search);
const es = new EventSource("${EVENTS_PATH}" + (params.has("interval") ? "?interval=" + encodeURIComponent(params.get("interval")) : ""));
es.onmessage = (e) => onSnapshot(JSON.parse(e.data));
es.onerror = () => { document.getElementById("status").textContent = "disconnected: retrying"; };
es.onopen = () => { document.getElementById("status").textContent = "live"; };
`;

/** The page. */
const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tou dashboard</title>
<link rel="stylesheet" href="${DASHBOARD_PATH}/uPlot.min.css">
<style>
body { font: 14px system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
#status { color: #5a8f3c; margin-left: 1em; font-size: .9em; }
table { border-collapse: collapse; margin: .8em 0 1.2em; font: 12px ui-monospace, monospace; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:nth-child(-n+3), td:nth-child(-n+3), td:last-child { text-align: left; }
tr[data-state="ESTABLISHED"] td:first-child { color: #1f4e9c; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1em; }
</style>
</head>
<body data-updates="0">
<h1>tou<span id="status">connecting…</span></h1>
<div id="head"></div>
<table id="conns">
<thead><tr><th>State</th><th>Local</th><th>Peer</th><th>Recv-Q</th><th>Send-Q</th><th>cwnd</th>
<th>ssthresh</th><th>RTT / RTO ms</th><th>in flight</th><th>retrans</th><th>throughput</th>
<th>delivery rate</th><th>session</th></tr></thead>
<tbody></tbody>
</table>
<div class="charts">
<div id="throughput"></div><div id="cwnd"></div><div id="rtt"></div><div id="inflight"></div>
<div id="retrans"></div>
</div>
<script src="${DASHBOARD_PATH}/uPlot.iife.min.js"></script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
