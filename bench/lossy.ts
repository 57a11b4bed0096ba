/**
 * Throughput on lossy paths: iperf3 through the full tou tunnel and through
 * kcptun, both over bench/impair.ts (issue 9's benchmark). One command,
 * bounded in time; never run in CI.
 *
 *   deno task bench:lossy                       # every profile and row, 8 s each (~2–4 min)
 *   deno task bench:lossy --quick               # clean, 1% loss, fair; 5 s each (~1 min)
 *   deno task bench:lossy --profiles loss1,loss5 --rows tou,kcptun-fec --time 10
 *
 * Setup: installs iperf3 and kcptun with apt-get when either is missing
 * (`--no-setup` skips that). Per row it starts, all on loopback:
 *
 *   iperf3 -c ──TCP──> tunnel client ──UDP──> impair.ts ──UDP──> tunnel server ──TCP──> iperf3 -s
 *
 * where the tunnel is `deno run -A cli/main.ts client|server` (plaintext, or
 * `--sealed`; `--congestion X` for each controller `tou server --help`
 * lists) or `kcptun-client|kcptun-server` (fast3, crypt none, nocomp,
 * windows 1024, FEC 10/3 or 0/0). The data flows client → server (the
 * impaired "up" direction carries data, "down" the ACKs; both lose).
 *
 * Profiles (each 20 ms one way = 40 ms RTT, 100 Mbit/s, 1000-datagram
 * drop-tail queue, each direction): clean, loss1 (1% random loss each way),
 * loss5 (5%), burst2 (2% average Gilbert–Elliott loss in bursts of 4 on
 * average), and fair: the clean path carrying two tou flows at once (two
 * tou clients through the one proxy, so they share its bottleneck, to one
 * tou server forwarding to two iperf3 servers): BBR beside BBR and CUBIC
 * beside BBR when `--congestion` exists, two default flows otherwise.
 *
 * It prints one table (Mbit/s received by iperf3, the ratio to kcptun fast3
 * with and without FEC in the same profile, the tunnel's own retransmissions,
 * the CPU seconds of both tunnel processes during the transfer, the
 * impairment proxy's drops and mean queueing delay) and which issue-9 goals
 * the run met, and writes everything as JSON under bench/results/.
 * Every process it starts is killed by PID at the end of its row, also on
 * error, timeout or Ctrl-C.
 *
 * Over 600 lines (about 920) as one script on purpose: each row's process
 * setup, its iperf3 run and its line of the table read the same profile and
 * row tables; the shared process helpers already live in `_proc.ts`.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { parseCommand, printIssues } from "./_cli.ts";
import { z } from "zod";
import { fetchStat, type StatSnapshot } from "../src/tunnel/stat.ts";
import {
  ensureTools,
  findKcptun,
  KCPTUN_FAST3,
  KCPTUN_FAST3_FEC,
  type KcptunBinaries,
  kcptunSnmp,
  startKcptun,
} from "./_kcptun.ts";
import {
  cpuSeconds,
  freeTcpPort,
  freeUdpPort,
  ProcessGroup,
  sleep,
  startImpair,
  tcpListening,
  touV8Args,
  udpBound,
  udpSocketDrops,
  waitFor,
  which,
} from "./_proc.ts";
import type { ProxyReport } from "./impair.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const RESULTS = new URL("./results/", import.meta.url).pathname;
const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/** Path shared by every profile: 20 ms each way, 100 Mbit/s, 1000-datagram queue. */
const BASE_PATH = ["--delay", "20", "--rate", "100mbit", "--queue", "1000"];
/** Base RTT of the path in ms (for the queueing-delay goal). */
const BASE_RTT_MS = 40;
/** The bottleneck in Mbit/s. */
const BOTTLENECK_MBPS = 100;

/** A path profile. */
interface Profile {
  readonly name: string;
  readonly label: string;
  readonly flags: readonly string[];
}

// 2% average with mean burst 4: r = 0.25, p = 0.02·r/(1 − 0.02) ≈ 0.0051.
const PROFILES: readonly Profile[] = [
  { name: "clean", label: "no loss, 40 ms RTT, 100 Mbit/s, 1000-pkt queue", flags: [] },
  { name: "loss1", label: "1% random loss each way", flags: ["--loss", "1%"] },
  { name: "loss5", label: "5% random loss each way", flags: ["--loss", "5%"] },
  {
    name: "burst2",
    label: "2% bursty loss each way (Gilbert–Elliott, mean burst 4)",
    flags: ["--burst-loss", "0.51%,25%"],
  },
  {
    name: "fair",
    label: "two tou flows (two tou clients, one server) sharing the clean path's bottleneck",
    flags: [],
  },
];

const ROW_KINDS = ["tou", "kcptun", "kcptun-fec"] as const;
type RowKind = typeof ROW_KINDS[number];

/** One measured row. */
export interface LossyRow {
  /** Profile name. */
  readonly profile: string;
  /** Row name: `tou` / `tou-bbr` / `kcptun` / `kcptun-fec`. */
  readonly row: string;
  /** iperf3 receiver throughput, Mbit/s (NaN when it failed). */
  readonly mbps: number;
  /** Bytes iperf3 received. */
  readonly bytes: number;
  /** Seconds iperf3 measured. */
  readonly seconds: number;
  /** Segments the tunnel's sending side retransmitted (undefined: not available). */
  readonly retransSegs?: number;
  /** Estimated retransmitted bytes (segments × MSS). */
  readonly retransBytes?: number;
  /** CPU seconds of the tunnel client and server during the transfer. */
  readonly cpu: { client: number; server: number; impair: number };
  /** The impairment proxy's counters. */
  readonly impair?: ProxyReport;
  /**
   * Datagrams the kernel dropped at the tunnel server's UDP socket (its
   * receive buffer was full): loss on top of the profile's.
   */
  readonly serverRcvDrops?: number;
  /** tou's smoothed RTT while sending (ms, mean over the control-port polls). */
  readonly srttMs?: number;
  /** What went wrong, if anything. */
  readonly error?: string;
  /** Per-flow throughput of a fairness row (two tou clients through one bottleneck). */
  readonly flows?: readonly { readonly congestion: string; readonly mbps: number }[];
}

const OptionsSchema = z.object({
  profiles: z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)),
  rows: z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)),
  congestion: z.string().optional(),
  time: z.coerce.number().min(1).max(120),
  seed: z.coerce.number().int(),
  sealed: z.boolean().optional(),
  mux: z.boolean().optional(),
  setup: z.boolean(),
  quick: z.boolean().optional(),
  markdown: z.boolean().optional(),
  out: z.string().optional(),
}).superRefine((o, ctx) => {
  for (const p of o.profiles) {
    if (!PROFILES.some((x) => x.name === p)) {
      ctx.addIssue({
        code: "custom",
        path: ["profiles"],
        message: `unknown profile "${p}" (${PROFILES.map((x) => x.name).join(", ")})`,
      });
    }
  }
  for (const r of o.rows) {
    if (!(ROW_KINDS as readonly string[]).includes(r)) {
      ctx.addIssue({
        code: "custom",
        path: ["rows"],
        message: `unknown row "${r}" (${ROW_KINDS.join(", ")})`,
      });
    }
  }
});
type Options = z.output<typeof OptionsSchema>;

/**
 * The congestion controllers a `tou server --help` text offers for
 * `--congestion`, or [] when it has no such flag. Reads the option's own
 * description (up to the next option line) for the known names; when it
 * names none of them, assumes all three.
 */
export function congestionChoicesFromHelp(help: string): string[] {
  const m = /^\s*--congestion\b/m.exec(help);
  if (m === null) return [];
  const rest = help.slice(m.index + m[0].length);
  const next = rest.search(/\n\s*-{1,2}[a-z]/i);
  const desc = next < 0 ? rest : rest.slice(0, next);
  // The names exactly as the help spells them (new_reno, new-reno and newreno all count).
  const found: string[] = [];
  for (const re of [/\bbbr\b/i, /\bcubic\b/i, /\bnew[-_]?reno\b/i]) {
    const hit = re.exec(desc);
    if (hit !== null) found.push(hit[0].toLowerCase());
  }
  return found.length > 0 ? found : ["bbr", "cubic", "newreno"];
}

/** `tou server --help`, read once per run to see which flags this tou has. */
async function touServerHelp(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "server", "--help"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

interface IperfResult {
  mbps: number;
  bytes: number;
  seconds: number;
  error?: string;
}

function parseIperf(json: string): IperfResult {
  try {
    const j = JSON.parse(json);
    const r = j?.end?.sum_received;
    if (j.error || r === undefined) {
      return { mbps: Number.NaN, bytes: 0, seconds: 0, error: String(j.error ?? "no result") };
    }
    return { mbps: r.bits_per_second / 1e6, bytes: r.bytes, seconds: r.seconds };
  } catch {
    return {
      mbps: Number.NaN,
      bytes: 0,
      seconds: 0,
      error: `unparsable iperf3 output: ${json.slice(0, 200)}`,
    };
  }
}

/** Sums the sending side's retransmissions over every connection seen (keyed, latest snapshot wins). */
class RetransTracker {
  #rows = new Map<string, { retrans: number; mss: number; rtt: number; bytesSent: number }>();
  #rttSum = 0;
  #rttCount = 0;

  add(snap: StatSnapshot): void {
    for (const c of snap.connections) {
      const key = `${c.local}>${c.peer}`;
      const prev = this.#rows.get(key);
      // The RTT of a connection that sent since the last poll: the path under load.
      if (prev !== undefined && c.bytesSent > prev.bytesSent && c.rtt > 0) {
        this.#rttSum += c.rtt;
        this.#rttCount++;
      }
      this.#rows.set(key, {
        retrans: c.retransmits,
        mss: c.mss,
        rtt: c.rtt,
        bytesSent: c.bytesSent,
      });
    }
  }

  get segs(): number {
    let n = 0;
    for (const r of this.#rows.values()) n += r.retrans;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const r of this.#rows.values()) n += r.retrans * r.mss;
    return n;
  }

  /** Mean smoothed RTT of the sending connections over the polls (ms). */
  get srtt(): number | undefined {
    return this.#rttCount === 0 ? undefined : this.#rttSum / this.#rttCount;
  }
}

/** What one row runs: a tunnel kind and, for tou, one controller per flow (two flows: fairness). */
interface RowSpec {
  readonly name: string;
  readonly kind: RowKind;
  /** One entry per concurrent flow (its own tou client and iperf3 pair); undefined = default CC. */
  readonly flows: readonly (string | undefined)[];
}

async function runRow(
  o: Options & { plaintextFlag: boolean },
  profile: Profile,
  spec: RowSpec,
  bins: KcptunBinaries | undefined,
): Promise<LossyRow> {
  const { kind, name } = spec;
  const n = spec.flows.length;
  const group = new ProcessGroup();
  const iperfPorts = spec.flows.map(() => freeTcpPort());
  const serverUdp = freeUdpPort();
  const proxyUdp = freeUdpPort();
  const localTcp = spec.flows.map(() => freeTcpPort());
  const controls = spec.flows.map(() => freeTcpPort());
  const statsFile = await Deno.makeTempFile({ prefix: "lossy-impair-", suffix: ".json" });
  let keyFile: string | undefined;
  const trackers = spec.flows.map(() => new RetransTracker());
  const base = { profile: profile.name, row: name };
  try {
    for (const port of iperfPorts) {
      group.start("iperf3-server", "iperf3", ["-s", "-p", String(port)]);
    }
    let clients;
    let server;
    if (kind === "tou") {
      const common = ["--log-level", "error"];
      if (!o.sealed && o.plaintextFlag) common.push("--plaintext");
      if (o.sealed) {
        keyFile = await Deno.makeTempFile({ prefix: "lossy-key-" });
        await Deno.writeTextFile(keyFile, KEY);
        common.push("--key-file", keyFile);
      }
      // The server's controller only matters for the ACK direction here; use the first flow's.
      const serverCc = spec.flows[0] ? ["--congestion", spec.flows[0]] : [];
      server = group.start("tou-server", Deno.execPath(), [
        "run",
        "-A",
        ...touV8Args(),
        CLI,
        "server",
        "--listen",
        `127.0.0.1:${serverUdp}`,
        ...iperfPorts.flatMap((port, i) => ["--forward", `${7 + i}=127.0.0.1:${port}`]),
        ...common,
        ...serverCc,
      ]);
      clients = spec.flows.map((cc, i) =>
        group.start("tou-client", Deno.execPath(), [
          "run",
          "-A",
          ...touV8Args(),
          CLI,
          "client",
          "--server",
          `127.0.0.1:${proxyUdp}`,
          "--local",
          `127.0.0.1:${localTcp[i]}=${7 + i}`,
          "--control",
          `127.0.0.1:${controls[i]}`,
          ...common,
          ...(cc ? ["--congestion", cc] : []),
          ...(o.mux ? ["--mux"] : []),
        ])
      );
    } else {
      if (bins === undefined) throw new Error("kcptun is not installed");
      if (n !== 1) throw new Error("kcptun rows have one flow");
      const pair = startKcptun(group, bins, {
        udpListen: `127.0.0.1:${serverUdp}`,
        udpRemote: `127.0.0.1:${proxyUdp}`,
        target: `127.0.0.1:${iperfPorts[0]}`,
        local: `127.0.0.1:${localTcp[0]}`,
        options: kind === "kcptun-fec" ? KCPTUN_FAST3_FEC : KCPTUN_FAST3,
      });
      clients = [pair.client];
      server = pair.server;
    }
    const impair = startImpair(group, proxyUdp, serverUdp, [
      "--seed",
      String(o.seed),
      "--stats-json",
      statsFile,
      "--quiet",
      ...BASE_PATH,
      ...profile.flags,
    ]);
    for (const port of iperfPorts) {
      await waitFor("iperf3 server", () => tcpListening(port), 10_000);
    }
    await waitFor("tunnel server", () => udpBound(serverUdp), 15_000, server);
    await waitFor("impairment proxy", () => udpBound(proxyUdp), 15_000, impair);
    for (const [i, port] of localTcp.entries()) {
      await waitFor("tunnel client", () => tcpListening(port), 15_000, clients[i]);
    }

    const procs = [...clients, server, impair];
    const cpu0 = procs.map((p) => cpuSeconds(p.pid));
    const iperfs = localTcp.map((port) =>
      group.start("iperf3-client", "iperf3", [
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-t",
        String(o.time),
        "-J",
        "--connect-timeout",
        "10000",
      ])
    );
    // Poll tou's control ports for the retransmission counters while iperf3 runs.
    let polling = kind === "tou";
    const pollers = controls.map(async (port, i) => {
      while (polling) {
        try {
          trackers[i].add(await fetchStat({ hostname: "127.0.0.1", port }, "connections"));
        } catch { /* not up yet, or gone */ }
        await sleep(500);
      }
    });
    const deadline = (o.time + 25) * 1000;
    const finished = await Promise.race([
      Promise.all(iperfs.map((p) => p.exited)).then(() => true),
      sleep(deadline).then(() => false),
    ]);
    polling = false;
    await Promise.all(pollers);
    const used = procs.map((p, i) => cpuSeconds(p.pid) - cpu0[i]);
    const serverRcvDrops = udpSocketDrops(serverUdp);
    const cpu = {
      client: used.slice(0, n).reduce((a, b) => a + b, 0),
      server: used[n],
      impair: used[n + 1],
    };
    let retrans: { segs: number; bytes?: number } | undefined;
    if (kind === "tou") {
      retrans = {
        segs: trackers.reduce((a, t) => a + t.segs, 0),
        bytes: trackers.reduce((a, t) => a + t.bytes, 0),
      };
    } else {
      // Segments only: kcptun's RetransSegs × MSS came out larger than all the extra bytes the
      // proxy saw on the wire (measured), so it is not turned into bytes; see the wire/data column.
      const snmp = await kcptunSnmp(clients[0]);
      if (snmp !== undefined && Number.isFinite(snmp.retransSegs)) {
        retrans = { segs: snmp.retransSegs };
      }
    }
    await group.stop(impair, 3000);
    let report: ProxyReport | undefined;
    try {
      report = JSON.parse(await Deno.readTextFile(statsFile)) as ProxyReport;
    } catch { /* proxy did not write */ }
    const results = iperfs.map((p) =>
      finished ? parseIperf(p.stdout()) : {
        mbps: Number.NaN,
        bytes: 0,
        seconds: 0,
        error: `iperf3 timed out after ${deadline / 1000} s`,
      }
    );
    const errors = results.map((r) => r.error).filter((e) => e !== undefined);
    const row: LossyRow = {
      ...base,
      mbps: results.reduce((a, r) => a + r.mbps, 0),
      bytes: results.reduce((a, r) => a + r.bytes, 0),
      seconds: Math.max(...results.map((r) => r.seconds)),
      retransSegs: retrans?.segs,
      retransBytes: retrans?.bytes,
      cpu,
      impair: report,
      srttMs: trackers[0].srtt,
      serverRcvDrops,
      error: errors.length > 0 ? errors.join("; ") : undefined,
    };
    if (n > 1) {
      return {
        ...row,
        flows: results.map((r, i) => ({ congestion: spec.flows[i] ?? "default", mbps: r.mbps })),
      };
    }
    return row;
  } catch (e) {
    return {
      ...base,
      mbps: Number.NaN,
      bytes: 0,
      seconds: 0,
      cpu: { client: Number.NaN, server: Number.NaN, impair: Number.NaN },
      error: e instanceof Error ? e.message : String(e),
    };
  } finally {
    await group.killAll(1500);
    await Deno.remove(statsFile).catch(() => {});
    if (keyFile) await Deno.remove(keyFile).catch(() => {});
  }
}

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? "n/a" : n.toFixed(digits);
}

function meanQueueDelay(r: LossyRow): number | undefined {
  const up = r.impair?.up;
  if (up === undefined || up.queueDelayCount === 0) return undefined;
  return up.queueDelaySum / up.queueDelayCount;
}

/** UDP payload bytes the tunnel client sent (as the proxy saw them) per byte iperf3 delivered. */
function wireRatio(r: LossyRow): number | undefined {
  const up = r.impair?.up.receivedBytes;
  return up === undefined || !(r.bytes > 0) ? undefined : up / r.bytes;
}

/**
 * What the row carried through the proxy's bottleneck, in Mbit/s of UDP payload (the unit of
 * its rate limit): iperf3's rate times the bytes the bottleneck forwarded per byte delivered.
 * The no-loss goal is judged on this, since tou's headers (wire/data ≈ 1.04) put goodput's
 * ceiling near 96 Mbit/s on a 100 Mbit/s link.
 */
function bottleneckMbps(r: LossyRow): number | undefined {
  const fwd = r.impair?.up.forwardedBytes;
  return fwd === undefined || !(r.bytes > 0) ? undefined : r.mbps * fwd / r.bytes;
}

/** Kernel receive-buffer drops on the data direction: at the proxy's listening socket + at the tunnel server. */
function rcvbufDrops(r: LossyRow): string {
  const proxy = r.impair?.kernelDrops?.up;
  if (proxy === undefined && r.serverRcvDrops === undefined) return "n/a";
  return `${proxy ?? "?"}+${r.serverRcvDrops ?? "?"}`;
}

function upDrops(r: LossyRow): string {
  const d = r.impair?.up.drops;
  if (d === undefined) return "n/a";
  const lost = d.loss + d.burst;
  return `${lost}/${d.queue}`;
}

/** The table as Markdown (for docs and issue notes). */
export function formatMarkdown(rows: readonly LossyRow[]): string {
  const lines = [
    "| profile | row | Mbit/s | × kcptun | × kcptun FEC | retx segs | wire/data | CPU s c+s | " +
    "proxy drops loss/queue | rcvbuf drops proxy+server | queue ms | srtt ms |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const ratio = (name: string) => {
      const k = rows.find((x) => x.profile === r.profile && x.row === name);
      return k === undefined || k === r || !(k.mbps > 0) || !Number.isFinite(r.mbps)
        ? ""
        : (r.mbps / k.mbps).toFixed(2);
    };
    const flows = r.flows === undefined
      ? ""
      : ` (${r.flows.map((f) => `${f.congestion} ${fmt(f.mbps)}`).join(" / ")})`;
    lines.push(
      `| ${r.profile} | ${r.row}${flows} | ${fmt(r.mbps)} | ${ratio("kcptun")} | ${
        ratio("kcptun-fec")
      } | ${r.retransSegs ?? "n/a"} | ${fmt(wireRatio(r), 2)} | ${
        fmt(r.cpu.client + r.cpu.server, 2)
      } | ${upDrops(r)} | ${rcvbufDrops(r)} | ${fmt(meanQueueDelay(r))} | ${fmt(r.srttMs)} |` +
        (r.error ? ` ${r.error}` : ""),
    );
  }
  return lines.join("\n");
}

/** The table: one line per row, ratios to kcptun in the same profile. */
export function formatTable(rows: readonly LossyRow[]): string {
  const lines = [
    [
      "profile".padEnd(8),
      "row".padEnd(12),
      "Mbit/s".padStart(7),
      "×kcp".padStart(6),
      "×kcpFEC".padStart(7),
      "retx segs".padStart(10),
      "≈retx MB".padStart(9),
      "wire/data".padStart(9),
      "CPU s c+s".padStart(10),
      "impair CPU".padStart(10),
      "up drops loss/queue".padStart(20),
      "rcvbuf drops".padStart(12),
      "queue ms".padStart(9),
      "srtt ms".padStart(8),
      "note",
    ].join(" "),
  ];
  for (const r of rows) {
    const kcp = rows.find((x) => x.profile === r.profile && x.row === "kcptun");
    const fec = rows.find((x) => x.profile === r.profile && x.row === "kcptun-fec");
    const ratio = (k: LossyRow | undefined) =>
      k === undefined || k === r || !(k.mbps > 0) || !Number.isFinite(r.mbps)
        ? ""
        : (r.mbps / k.mbps).toFixed(2);
    lines.push(
      [
        r.profile.padEnd(8),
        r.row.padEnd(12),
        fmt(r.mbps).padStart(7),
        ratio(kcp).padStart(6),
        ratio(fec).padStart(7),
        (r.retransSegs === undefined ? "n/a" : String(r.retransSegs)).padStart(10),
        fmt(r.retransBytes === undefined ? undefined : r.retransBytes / 1e6, 2).padStart(9),
        fmt(wireRatio(r), 2).padStart(9),
        fmt(r.cpu.client + r.cpu.server, 2).padStart(10),
        fmt(r.cpu.impair, 2).padStart(10),
        upDrops(r).padStart(20),
        rcvbufDrops(r).padStart(12),
        fmt(meanQueueDelay(r)).padStart(9),
        fmt(r.srttMs).padStart(8),
        [
          r.flows === undefined
            ? ""
            : `flows ${r.flows.map((f) => `${f.congestion} ${fmt(f.mbps)}`).join(" / ")}`,
          r.error ?? "",
        ].filter(Boolean).join("; "),
      ].join(" "),
    );
  }
  return lines.join("\n");
}

/** One issue-9 goal and whether this run met it. */
export interface GoalResult {
  /** The goal as the issue states it. */
  readonly goal: string;
  /** true/false, or undefined when this run could not measure it. */
  readonly met: boolean | undefined;
  /** The numbers behind it. */
  readonly detail: string;
}

/** Evaluates the issue-9 goals that the measured rows allow. */
export function evaluateGoals(rows: readonly LossyRow[]): GoalResult[] {
  const get = (profile: string, row: string) =>
    rows.find((r) => r.profile === profile && r.row === row && Number.isFinite(r.mbps));
  const tou = (profile: string, cc: string) => {
    const r = get(profile, `tou-${cc}`);
    if (r !== undefined) return { r, fallback: false };
    const d = get(profile, "tou");
    return d === undefined ? undefined : { r: d, fallback: true };
  };
  /** A goal for BBR measured on the default controller is reported, not judged. */
  const judge = (goal: string, ok: boolean, fallback: boolean, detail: string): GoalResult =>
    fallback
      ? {
        goal,
        met: undefined,
        detail: `${detail} — no --congestion flag yet: this is the default controller, which ` +
          `would ${ok ? "meet" : "not meet"} it`,
      }
      : { goal, met: ok, detail };
  const out: GoalResult[] = [];
  {
    const goal = "1% loss: tou (BBR) ≥ 85 Mbit/s and ≥ 1.2× kcptun fast3";
    const t = tou("loss1", "bbr");
    const k = get("loss1", "kcptun");
    if (t === undefined || k === undefined) {
      out.push({ goal, met: undefined, detail: "not measured (needs loss1 rows tou and kcptun)" });
    } else {
      out.push(judge(
        goal,
        t.r.mbps >= 85 && t.r.mbps >= 1.2 * k.mbps,
        t.fallback,
        `${t.r.row} ${fmt(t.r.mbps)} Mbit/s, kcptun ${fmt(k.mbps)}, ratio ${
          fmt(t.r.mbps / k.mbps, 2)
        }`,
      ));
    }
  }
  {
    const goal = "1% loss: CUBIC ≥ 3× NewReno";
    const c = get("loss1", "tou-cubic");
    const n = rows.find((r) =>
      r.profile === "loss1" && /^tou-new[-_]?reno$/.test(r.row) && Number.isFinite(r.mbps)
    );
    out.push(
      c === undefined || n === undefined
        ? { goal, met: undefined, detail: "not measured (needs --congestion cubic and newreno)" }
        : {
          goal,
          met: c.mbps >= 3 * n.mbps,
          detail: `cubic ${fmt(c.mbps)}, newreno ${fmt(n.mbps)}, ratio ${fmt(c.mbps / n.mbps, 2)}`,
        },
    );
  }
  {
    const goal = "5% loss: tou (BBR) ≥ kcptun fast3 with FEC 10/3";
    const t = tou("loss5", "bbr");
    const k = get("loss5", "kcptun-fec");
    out.push(
      t === undefined || k === undefined
        ? { goal, met: undefined, detail: "not measured (needs loss5 rows tou and kcptun-fec)" }
        : judge(
          goal,
          t.r.mbps >= k.mbps,
          t.fallback,
          `${t.r.row} ${fmt(t.r.mbps)}, kcptun-fec ${fmt(k.mbps)}, ratio ${
            fmt(t.r.mbps / k.mbps, 2)
          }`,
        ),
    );
  }
  {
    const goal =
      `no loss: ≥ 95% of the ${BOTTLENECK_MBPS} Mbit/s bottleneck used (UDP payload) with RTT ≤ 1.5× base ` +
      `(mean bottleneck queueing ≤ ${BASE_RTT_MS / 2} ms) (BBR)`;
    const t = tou("clean", "bbr");
    const q = t === undefined ? undefined : meanQueueDelay(t.r);
    const u = t === undefined ? undefined : bottleneckMbps(t.r);
    out.push(
      t === undefined || q === undefined || u === undefined
        ? { goal, met: undefined, detail: "not measured (needs the clean tou row)" }
        : judge(
          goal,
          u >= 0.95 * BOTTLENECK_MBPS && q <= BASE_RTT_MS / 2,
          t.fallback,
          `${t.r.row} carried ${fmt(u)} Mbit/s through the bottleneck (${
            fmt(t.r.mbps)
          } Mbit/s of it iperf3's data), mean queueing ${fmt(q)} ms (max ${
            fmt(t.r.impair?.up.queueDelayMax)
          })${
            t.r.srttMs === undefined ? "" : `, tou's mean srtt while sending ${fmt(t.r.srttMs)} ms`
          }`,
        ),
    );
  }
  const split = (r: LossyRow) => {
    const f = r.flows ?? [];
    const lo = Math.min(...f.map((x) => x.mbps));
    const hi = Math.max(...f.map((x) => x.mbps));
    const text = f.map((x) => `${x.congestion} ${fmt(x.mbps)}`).join(" / ");
    return { lo, hi, total: lo + hi, text, ok: f.length === 2 && Number.isFinite(lo + hi) };
  };
  {
    const goal =
      "fairness: two tou BBR flows on one bottleneck share it within 20% (min/max ≥ 0.8)";
    const r = rows.find((x) => x.profile === "fair" && x.row === "tou-bbr+bbr") ??
      rows.find((x) => x.profile === "fair" && x.row.startsWith("tou") && x.flows?.length === 2);
    const s = r === undefined ? undefined : split(r);
    out.push(
      r === undefined || s === undefined || !s.ok
        ? { goal, met: undefined, detail: "not measured (needs the fair profile)" }
        : judge(
          goal,
          s.lo >= 0.8 * s.hi,
          r.row !== "tou-bbr+bbr",
          `${r.row}: ${s.text} Mbit/s, min/max ${fmt(s.lo / s.hi, 2)}`,
        ),
    );
  }
  {
    const goal = "fairness: a CUBIC flow beside a BBR flow is not starved (smaller ≥ 20% of total)";
    const r = rows.find((x) => x.profile === "fair" && x.row === "tou-cubic+bbr");
    const s = r === undefined ? undefined : split(r);
    out.push(
      r === undefined || s === undefined || !s.ok
        ? { goal, met: undefined, detail: "not measured (needs --congestion cubic and bbr)" }
        : {
          goal,
          met: s.lo >= 0.2 * s.total,
          detail: `split ${s.text} Mbit/s (${fmt(100 * s.lo / s.total)}% for the smaller)`,
        },
    );
  }
  return out;
}

function buildCommand() {
  return new Command("lossy")
    .description(
      "iperf3 through tou and kcptun over bench/impair.ts on lossy 40 ms / 100 Mbit/s paths; " +
        "prints a table and the issue-9 goals met, writes JSON under bench/results/.",
    )
    .option(
      "--profiles <list>",
      `comma-separated: ${PROFILES.map((p) => p.name).join(",")}`,
      PROFILES.map((p) => p.name).join(","),
    )
    .option("--rows <list>", `comma-separated: ${ROW_KINDS.join(",")}`, ROW_KINDS.join(","))
    .option(
      "--congestion <list>",
      "tou controllers to run (default: every one `tou server --help` lists)",
    )
    .option("--time <s>", "iperf3 seconds per row", "8")
    .option("--seed <n>", "impairment seed", "1")
    .option("--sealed", "run tou with a key (ChaCha20-Poly1305); kcptun stays crypt none")
    .option("--mux", "run tou clients with --mux (each flow a stream of a multiplexed session)")
    .option("--no-setup", "do not apt-get install missing iperf3/kcptun")
    .option("--markdown", "also print the table as Markdown")
    .option("--quick", "profiles clean,loss1,fair and 5 s per row (~1 min)")
    .option("--out <file>", "JSON output (default bench/results/lossy-<time>.json)")
    .exitOverride();
}

async function main(args: string[]): Promise<number> {
  const cmd = buildCommand();
  const exit = parseCommand(cmd, args);
  if (exit !== undefined) return exit;
  const raw = { ...cmd.opts() } as Record<string, unknown>;
  if (raw.quick) {
    if (cmd.getOptionValueSource("profiles") === "default") raw.profiles = "clean,loss1,fair";
    if (cmd.getOptionValueSource("time") === "default") raw.time = "5";
  }
  const parsed = OptionsSchema.safeParse(raw);
  if (!parsed.success) {
    printIssues("lossy", parsed.error.issues);
    return 2;
  }
  const o = parsed.data;

  if (o.setup) {
    const missing = await ensureTools({
      iperf3: "iperf3",
      "kcptun-client": "kcptun",
      "kcptun-server": "kcptun",
    });
    if (missing.length > 0) console.error(`lossy: still missing: ${missing.join(", ")}`);
  }
  if (which("iperf3") === undefined) {
    console.error("lossy: iperf3 is required (apt-get install iperf3)");
    return 1;
  }
  const bins = findKcptun();
  const help = await touServerHelp();
  const offered = congestionChoicesFromHelp(help);
  // Newer tou refuses to run without a key unless told --plaintext; older tou has no such flag.
  const plaintextFlag = /^\s*--plaintext\b/m.test(help);
  let ccs: (string | undefined)[];
  if (offered.length === 0) {
    console.log(
      "note: `tou server --help` lists no --congestion flag yet: tou runs once per profile with its " +
        "default controller",
    );
    ccs = [undefined];
  } else {
    const want = o.congestion ? o.congestion.split(",") : offered;
    ccs = want.filter((c) => offered.includes(c));
    for (const c of want) if (!offered.includes(c)) console.log(`note: tou has no controller ${c}`);
    if (ccs.length === 0) ccs = [undefined];
  }

  const plan: [Profile, RowSpec][] = [];
  for (const p of PROFILES.filter((x) => o.profiles.includes(x.name))) {
    if (p.name === "fair") {
      if (!o.rows.includes("tou")) continue;
      if (ccs.includes("bbr")) {
        plan.push([p, { name: "tou-bbr+bbr", kind: "tou", flows: ["bbr", "bbr"] }]);
        if (ccs.includes("cubic")) {
          plan.push([p, { name: "tou-cubic+bbr", kind: "tou", flows: ["cubic", "bbr"] }]);
        }
      } else {
        const cc = ccs[0];
        plan.push([p, { name: cc ? `tou-${cc}+${cc}` : "tou+tou", kind: "tou", flows: [cc, cc] }]);
      }
      continue;
    }
    for (const k of ROW_KINDS.filter((x) => o.rows.includes(x))) {
      if (k === "tou") {
        for (const c of ccs) plan.push([p, { name: c ? `tou-${c}` : "tou", kind: k, flows: [c] }]);
      } else if (bins !== undefined) {
        plan.push([p, { name: k, kind: k, flows: [undefined] }]);
      }
    }
  }
  if (bins === undefined && o.rows.some((r) => r.startsWith("kcptun"))) {
    console.log("note: kcptun is not installed: its rows are skipped");
  }
  const load = Deno.loadavg();
  console.error(
    `lossy: ${plan.length} rows × ${o.time} s (≈ ${
      Math.ceil(plan.length * (o.time + 1.5) / 60)
    } min), ` +
      `load average ${load.map((x) => x.toFixed(1)).join(" ")}`,
  );

  const rows: LossyRow[] = [];
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    console.error("lossy: interrupted; stopping after the current row's processes are killed");
  };
  Deno.addSignalListener("SIGINT", onSignal);
  const t0 = performance.now();
  for (const [p, spec] of plan) {
    if (interrupted) break;
    const r = await runRow({ ...o, plaintextFlag }, p, spec, bins);
    console.error(
      `lossy: ${p.name} ${r.row}: ${fmt(r.mbps)} Mbit/s${r.error ? ` (${r.error})` : ""}`,
    );
    rows.push(r);
  }
  Deno.removeSignalListener("SIGINT", onSignal);

  const goals = evaluateGoals(rows);
  console.log(
    `\niperf3 (${o.time} s per row) through each tunnel over bench/impair.ts: 20 ms each way, ` +
      `100 Mbit/s, 1000-datagram queue; tou ${o.sealed ? "sealed" : "plaintext"}${
        o.mux ? ", --mux" : ""
      }, kcptun fast3 crypt none ` +
      `nocomp windows 1024; load average at start ${load.map((x) => x.toFixed(1)).join(" ")} ` +
      "(shared machine: compare ratios within this run)",
  );
  for (const p of PROFILES.filter((x) => o.profiles.includes(x.name))) {
    console.log(`  ${p.name}: ${p.label}`);
  }
  console.log(formatTable(rows));
  if (o.markdown) console.log(`\n${formatMarkdown(rows)}`);
  console.log(
    "retx: the tunnel's own retransmitted segments (tou: sender's counters via --control, and " +
      "≈ bytes = segments × MSS; kcptun: SNMP RetransSegs); wire/data: UDP payload bytes the " +
      "tunnel client sent (headers, retransmissions, FEC parity) per byte delivered; CPU s c+s: " +
      "both tunnel processes during the transfer; up drops: proxy drops on the data direction; " +
      "rcvbuf drops: datagrams of the data direction the kernel dropped because a receive buffer " +
      "was full (at the proxy + at the tunnel server), on top of the profile's loss; queue ms: " +
      "mean queueing delay at the proxy's bottleneck (data direction); srtt ms: tou's mean " +
      "smoothed RTT while sending (base RTT 40 ms).",
  );
  console.log("\nissue-9 goals:");
  for (const g of goals) {
    const mark = g.met === undefined ? "n/a " : g.met ? "MET " : "NOT ";
    console.log(`  [${mark}] ${g.goal}: ${g.detail}`);
  }
  const out = o.out ??
    `${RESULTS}lossy-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}.json`;
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/") + 1) || ".", { recursive: true });
  await Deno.writeTextFile(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        seconds: (performance.now() - t0) / 1000,
        loadavg: load,
        options: o,
        congestionOffered: offered,
        profiles: PROFILES.filter((x) => o.profiles.includes(x.name)),
        basePath: BASE_PATH,
        rows,
        goals,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nwrote ${out}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main([...Deno.args]));
