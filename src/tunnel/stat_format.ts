/**
 * How `tou stat` shows a snapshot: the Prometheus text of `/metrics` and the
 * `ss -tani`-like table (timers, rates, the sending limit).
 *
 * @module
 */

import { sendLimit, type StatRow, type StatSnapshot } from "./stat_snapshot.ts";

const HELP: Readonly<Record<string, string>> = {
  process_resident_bytes:
    "Resident set size (RSS) of the tou process, in bytes; with --workers, summed over the workers.",
  process_heap_used_bytes: "V8 heap in use by the tou process, in bytes (summed over --workers).",
  process_heap_total_bytes:
    "V8 heap reserved by the tou process, in bytes (summed over --workers).",
  process_external_bytes:
    "Memory outside the V8 heap held by JavaScript objects (buffers), in bytes (summed over --workers).",
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
  stack_conn_limit_refused_total: "SYNs refused with a RST: the server holds maxConnections.",
  stack_conn_limit_per_addr_refused_total:
    "SYNs refused with a RST: the client address holds maxConnectionsPerAddr.",
  stack_memory_refused_total:
    "SYNs refused with a RST: the memory budget has no 4 KiB share left per direction.",
  stack_memory_pressure_total:
    "Times the memory budget clamped connection buffers below their sizes.",
  stack_half_open_expired_total: "Handshakes (SYN_RCVD) that timed out without completing.",
  stack_idle_expired_total: "Connections reset by the idle timeout.",
  stack_buffer_bytes: "Send and receive buffer memory held by all connections now.",
  stack_buffer_share: "Per-direction buffer bound of each connection under the budget (0: none).",
  stack_capped_connections: "Connections counted by the session caps now.",
  tcp_challenge_acks_total: "RFC 5961 challenge ACKs sent, summed over connections.",
  tcp_challenge_acks_limited_total:
    "RFC 5961 challenge ACKs not sent (challengeAckLimit per second), summed over connections.",
  tcp_invalid_acks_limited_total:
    "ACKs to unacceptable segments not sent (tcp_invalid_ratelimit), summed over connections.",
  tcp_paws_rejected_total: "Segments dropped by PAWS (old timestamp), summed over connections.",
  tcp_out_of_window_total: "Segments dropped outside the receive window, summed over connections.",
  tcp_unacceptable_acks_total: "ACKs of data never sent, dropped, summed over connections.",
  tcp_reassembly_drops_total:
    "Out-of-order segments dropped (maxOutOfOrderRanges held), summed over connections.",
};

/**
 * Renders a snapshot in the Prometheus text exposition format (0.0.4).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPrometheus } from "./stat_format.ts";
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
  idle: "idle",
};

/**
 * The `timer:(name,left)` fields of a row: every armed timer when the row
 * lists them, else the retransmission timer guessed from data in flight.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTimers } from "./stat_format.ts";
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
 * import { formatStatTable } from "./stat_format.ts";
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
    r.session
      ? `#${r.session.id} ${snap.role === "server" ? "→" : "←"} ${r.session.tcpPeer}`
      : r.streams
      ? `mux: ${r.streams.length} stream${r.streams.length === 1 ? "" : "s"}`
      : "",
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
    // a multiplexed connection: one line per stream, as its own session
    for (const st of r.streams ?? []) {
      out.push(
        `\t stream:${st.stream ?? "?"} #${st.id} ${
          snap.role === "server" ? "→" : "←"
        } ${st.tcpPeer} ` +
          `port:${st.tunnelPort} session_in:${st.bytesIn} session_out:${st.bytesOut} ` +
          `age:${(st.ageMs / 1000).toFixed(1)}s`,
      );
    }
  });
  return out.join("\n") + "\n";
}
