/**
 * SYN flood against a real `tou server` process (issue 11): while forged
 * tunnel SYNs arrive at `--rate` per second, a real `tou client` keeps
 * opening connections; how many of them succeed within 1 s, and does the
 * server's memory stay flat? Bounded in time; never run in CI.
 *
 *   deno task bench:synflood                    # 20,000 SYN/s for 8 s
 *   deno task bench:synflood --rate 5000 --seconds 3
 *
 * Processes, all on loopback:
 *
 *   this process ──TCP──> tou client ──UDP──> tou server ──TCP──> target (this process)
 *   flooder (this file, --flood) ──UDP: forged SYNs──> tou server
 *
 * The server runs in plaintext (`--plaintext`: a forged SYN needs no key)
 * with its defaults, so SYN cookies answer once its SYN queue is full. The
 * flooder sends tou datagrams (envelope + TCP SYN, built with src/wire's
 * encoders: MSS, window scale, SACK-permitted, timestamps, as a real client
 * offers) to the forwarded tunnel port, each with a random TCP source port
 * and ISN, from `--sources` UDP sockets bound to different loopback
 * addresses (127.0.0.2, 127.0.0.3, …) and ephemeral ports, paced in 2 ms
 * ticks. The forged sources never answer the SYN-ACKs.
 *
 * The legitimate side: every `--interval` ms this process connects to the
 * tou client's local port; the target writes one byte at once on accept, and
 * the time until that byte arrives is the connect latency (local connect +
 * tunnel handshake + target connect). A connect that sees no byte within
 * 5 s fails. Phases: 2 s before the flood, the flood (`--seconds`), 2 s
 * after; the figures are for connects started during the flood.
 *
 * It prints the flood rate achieved, the fraction of legitimate connects
 * that got their byte within 1 s (goal ≥ 99%), their p50/p99 latency, the
 * server's RSS at the flood's start, halfway, at its end and after it, the server's
 * SYN-cookie and listener drop counters (`tou stat --metrics`) and the
 * datagrams the kernel dropped at its socket. Exit 0 when the goals (≥ 99%
 * within 1 s; server RSS growth over the flood's second half ≤ `--rss-growth`
 * MB, since the first half grows the JS heap to its working size) were met,
 * 1 when not.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { z } from "zod";
import { parseOptions } from "./_cli.ts";
import {
  freeTcpPort,
  freeUdpPort,
  ProcessGroup,
  sleep,
  tcpListening,
  udpSocketDrops,
  waitFor,
  waitForControl,
} from "./_proc.ts";
import { fetchStat } from "../src/tunnel/stat.ts";
import { emitEnvelope, EnvelopeType } from "../src/wire/envelope.ts";
import { emitSegment } from "../src/wire/tcp_codec.ts";
import { SYN } from "../src/wire/tcp_flags.ts";
import { seq } from "../src/wire/seq.ts";
import type { TcpSegment } from "../src/wire/tcp_segment.ts";
import { openKernelUdpSocket } from "../src/udp/kernel_udp_socket.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
/** The tunnel service port that is forwarded (the flood's target port). */
const SERVICE_PORT = 80;
const MB = 1e6;
/** Phases around the flood, ms. */
const BEFORE_MS = 2_000;
const AFTER_MS = 2_000;
/** A legitimate connect that sees no byte by then failed. */
const FAIL_MS = 5_000;
/** The goal's bound on a legitimate connect, ms. */
const GOAL_MS = 1_000;

const OptionsSchema = z.object({
  rate: z.coerce.number().int().min(1).max(500_000),
  seconds: z.coerce.number().min(1).max(120),
  sources: z.coerce.number().int().min(1).max(250),
  interval: z.coerce.number().min(5).max(10_000),
  rssGrowth: z.coerce.number().positive(),
  seed: z.coerce.number().int(),
});
type Options = z.output<typeof OptionsSchema>;

/** mulberry32, 32-bit outputs. */
function prng32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * A forged tunnel SYN (envelope + TCP SYN with a real client's options) from
 * TCP port `srcPort` with ISN `isn`, written into `buf`; returns its length.
 */
export function forgedSyn(buf: Uint8Array, dstPort: number, srcPort: number, isn: number): number {
  const seg: TcpSegment = {
    srcPort,
    dstPort,
    seq: seq(isn),
    ack: seq(0),
    flags: SYN,
    window: 65535,
    urgentPointer: 0,
    options: {
      mss: 1448,
      windowScale: 7,
      sackPermitted: true,
      timestamps: { tsVal: (isn ^ 0x5a5a5a5a) >>> 0, tsEcr: 0 },
    },
    payload: new Uint8Array(0),
  };
  const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 0);
  return n + emitSegment(seg, buf, n);
}

/** What the flooder reports on its last stdout line (JSON). */
interface FloodReport {
  readonly sent: number;
  readonly seconds: number;
  readonly sendErrors: number;
}

/**
 * `--flood HOST:PORT RATE SECONDS SOURCES SEED`: sends forged SYNs, then
 * prints a {@linkcode FloodReport}.
 */
async function floodMain(args: string[]): Promise<void> {
  const [target, rateS, secondsS, sourcesS, seedS] = args;
  const i = target.lastIndexOf(":");
  const to = { hostname: target.slice(0, i), port: Number(target.slice(i + 1)) };
  const rate = Number(rateS);
  const seconds = Number(secondsS);
  const rnd = prng32(Number(seedS));
  const socks = [];
  for (let k = 0; k < Number(sourcesS); k++) {
    socks.push(
      await openKernelUdpSocket({
        hostname: `127.0.0.${2 + (k % 250)}`,
        receiveBufferBytes: 4096, // the SYN-ACKs are never read: let the kernel drop them
        sendBufferBytes: 1 << 20,
        gso: false,
        gro: false,
      }),
    );
  }
  const probe = new Uint8Array(64);
  const len = forgedSyn(probe, SERVICE_PORT, 1, 1);
  const buf = new Uint8Array(len);
  let sent = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let k = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    const due = Math.floor(((now - t0) / 1000) * rate) - sent;
    for (let j = 0; j < due; j++) {
      const r = rnd();
      forgedSyn(buf, SERVICE_PORT, 1024 + (r % 64512), rnd());
      socks[k].send(buf, to);
      k = (k + 1) % socks.length;
      sent++;
    }
    for (const s of socks) s.flush();
    await sleep(2);
  }
  const elapsed = (performance.now() - t0) / 1000;
  await sleep(100); // let the queues drain
  let sendErrors = 0;
  for (const s of socks) {
    const st = s.stats();
    sendErrors += st.sendErrors + st.sendDropped;
    s.close();
  }
  const report: FloodReport = { sent, seconds: elapsed, sendErrors };
  console.log(JSON.stringify(report));
}

/** Resident set of a process, bytes (NaN when gone). */
function rssOf(pid: number): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(s)?.[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** One legitimate connect: ms until the target's first byte, or undefined on failure. */
async function legitConnect(port: number): Promise<number | undefined> {
  const t0 = performance.now();
  let conn: Deno.TcpConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const c = conn;
    timer = setTimeout(() => c.close(), FAIL_MS);
    const n = await c.read(new Uint8Array(16));
    return n === null ? undefined : performance.now() - t0;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}

function pct(sorted: readonly number[], q: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The result of a run. */
export interface SynFloodResult {
  /** Forged SYNs sent and the rate achieved. */
  readonly floodSent: number;
  readonly floodRate: number;
  /** Legitimate connects started during the flood; how many got their byte within 1 s / at all. */
  readonly legit: number;
  readonly within1s: number;
  readonly succeeded: number;
  /** Latency of the successful ones, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The same before the flood (baseline). */
  readonly baseline: { readonly legit: number; readonly within1s: number; readonly p50Ms: number };
  /** Server RSS, bytes. */
  readonly rss: {
    readonly start: number;
    readonly peak: number;
    readonly end: number;
    /** At the flood's midpoint and at its end. */
    readonly mid: number;
    readonly floodEnd: number;
  };
  /** Server counters from `/metrics` (non-zero, listener and drop related). */
  readonly serverCounters: Readonly<Record<string, number>>;
  /** Datagrams the kernel dropped at the server's UDP socket. */
  readonly kernelDrops?: number;
  readonly goalMet: boolean;
}

async function run(o: Options): Promise<SynFloodResult> {
  const group = new ProcessGroup();
  const target = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const targetPort = (target.addr as Deno.NetAddr).port;
  const serving = (async () => {
    try {
      for await (const c of target) {
        void (async () => {
          try {
            await c.write(new Uint8Array([33]));
            // Hold it until the client closes.
            while ((await c.read(new Uint8Array(64))) !== null) { /* discard */ }
          } catch {
            /* reset */
          } finally {
            try {
              c.close();
            } catch { /* closed */ }
          }
        })();
      }
    } catch { /* closed */ }
  })();
  const serverUdp = freeUdpPort();
  const localTcp = freeTcpPort();
  const control = freeTcpPort();
  try {
    const server = group.start("tou-server", Deno.execPath(), [
      "run",
      "-A",
      CLI,
      "server",
      "--listen",
      `127.0.0.1:${serverUdp}`,
      "--forward",
      `${SERVICE_PORT}=127.0.0.1:${targetPort}`,
      "--control",
      `127.0.0.1:${control}`,
      "--plaintext",
      "--log-level",
      "warn",
    ]);
    const client = group.start("tou-client", Deno.execPath(), [
      "run",
      "-A",
      CLI,
      "client",
      "--server",
      `127.0.0.1:${serverUdp}`,
      "--local",
      `127.0.0.1:${localTcp}=${SERVICE_PORT}`,
      "--plaintext",
      "--log-level",
      "warn",
    ]);
    await waitForControl("tou server", control, 20_000, server);
    await waitFor("tou client", () => tcpListening(localTcp), 20_000, client);
    // Warm up: the first connection pays for module loading and Fast Open's cookie.
    for (let i = 0; i < 3; i++) await legitConnect(localTcp);
    const drops0 = udpSocketDrops(serverUdp) ?? 0;

    const samples: { at: number; ms: number | undefined }[] = [];
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    const floodAt = t0 + BEFORE_MS;
    const floodEnd = floodAt + o.seconds * 1000;
    const end = floodEnd + AFTER_MS;
    let rssStart = rssOf(server.pid);
    let rssPeak = rssStart;
    let rssMid = 0;
    let rssFloodEnd = 0;
    let flooder: ReturnType<ProcessGroup["start"]> | undefined;
    let floodStartedAt = 0;
    while (performance.now() < end) {
      const now = performance.now();
      if (flooder === undefined && now >= floodAt) {
        rssStart = rssOf(server.pid);
        floodStartedAt = now;
        flooder = group.start("flooder", Deno.execPath(), [
          "run",
          "-A",
          SELF,
          "--flood",
          `127.0.0.1:${serverUdp}`,
          String(o.rate),
          String(o.seconds),
          String(o.sources),
          String(o.seed),
        ]);
      }
      const rssNow = rssOf(server.pid) || 0;
      rssPeak = Math.max(rssPeak, rssNow);
      if (flooder !== undefined && rssMid === 0 && now >= floodStartedAt + 500 + o.seconds * 500) {
        rssMid = rssNow;
      }
      if (
        flooder !== undefined && rssFloodEnd === 0 && now >= floodStartedAt + 500 + o.seconds * 1000
      ) {
        rssFloodEnd = rssNow;
      }
      const at = now;
      pending.push(legitConnect(localTcp).then((ms) => void samples.push({ at, ms })));
      await sleep(o.interval);
    }
    await Promise.all(pending);
    if (flooder === undefined) throw new Error("the flood never started");
    await flooder.exited;
    const rssEnd = rssOf(server.pid);
    let report: FloodReport = { sent: 0, seconds: o.seconds, sendErrors: 0 };
    try {
      report = JSON.parse(flooder.stdout().trim().split("\n").at(-1) ?? "") as FloodReport;
    } catch {
      console.error(`flooder said: ${flooder.stderr().slice(-500)}`);
    }
    // The flooder takes ~0.5 s to start: count connects from its start + 0.5 s to its end.
    const fStart = floodStartedAt + 500;
    const fEnd = floodStartedAt + 500 + report.seconds * 1000;
    const during = samples.filter((s) => s.at >= fStart && s.at < fEnd);
    const before = samples.filter((s) => s.at < floodAt);
    const ok = (xs: typeof samples) =>
      xs.map((s) => s.ms).filter((m): m is number => m !== undefined).sort((a, b) => a - b);
    const dOk = ok(during);
    const bOk = ok(before);
    const counters: Record<string, number> = {};
    try {
      const text = await fetchStat({ hostname: "127.0.0.1", port: control }, "metrics");
      for (const line of text.split("\n")) {
        const m = /^tou_(\w+)\{[^}]*\} (\d+(?:\.\d+)?)$/.exec(line);
        if (m && /listen|syn|drop|session|connect_fail/.test(m[1]) && Number(m[2]) !== 0) {
          counters[m[1]] = Number(m[2]);
        }
      }
    } catch { /* no control endpoint */ }
    const within1s = dOk.filter((m) => m <= GOAL_MS).length;
    return {
      floodSent: report.sent,
      floodRate: report.sent / report.seconds,
      legit: during.length,
      within1s,
      succeeded: dOk.length,
      p50Ms: pct(dOk, 0.5),
      p99Ms: pct(dOk, 0.99),
      maxMs: dOk.at(-1) ?? Number.NaN,
      baseline: {
        legit: before.length,
        within1s: bOk.filter((m) => m <= GOAL_MS).length,
        p50Ms: pct(bOk, 0.5),
      },
      rss: { start: rssStart, peak: rssPeak, end: rssEnd, mid: rssMid, floodEnd: rssFloodEnd },
      serverCounters: counters,
      kernelDrops: (udpSocketDrops(serverUdp) ?? drops0) - drops0,
      goalMet: report.sent > 0 && during.length > 0 && within1s >= 0.99 * during.length &&
        rssFloodEnd - rssMid <= o.rssGrowth * MB,
    };
  } finally {
    target.close();
    await serving;
    await group.killAll(3000);
  }
}

function buildCommand() {
  return new Command("synflood")
    .description(
      "Forged tunnel SYNs at --rate per second against a real plaintext tou server while a real " +
        "tou client keeps connecting; prints the share of connects done within 1 s, their " +
        "latency and the server's RSS and SYN-cookie counters. Exit 0 when the goals were met.",
    )
    .option("--rate <n>", "forged SYNs per second", "20000")
    .option("--seconds <s>", "flood duration", "8")
    .option("--sources <n>", "UDP sockets the flood comes from (127.0.0.2, .3, …)", "64")
    .option("--interval <ms>", "a legitimate connect every this many ms", "25")
    .option(
      "--rss-growth <MB>",
      "most server RSS growth over the flood's second half counted as flat (the first half " +
        "grows the JS heap to its working size)",
      "25",
    )
    .option("--seed <n>", "seed of the forged ports and ISNs", "1")
    .exitOverride();
}

function ms(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(1)} ms` : "n/a";
}

async function main(args: string[]): Promise<number> {
  const parsed = parseOptions("synflood", buildCommand(), args, OptionsSchema);
  if ("exit" in parsed) return parsed.exit;
  const o = parsed.options;
  const r = await run(o);
  const share = r.legit > 0 ? (100 * r.within1s) / r.legit : Number.NaN;
  console.log(
    [
      `flood: ${r.floodSent} forged SYNs, ${r.floodRate.toFixed(0)}/s achieved ` +
      `(asked ${o.rate}/s, ${o.sources} sources)`,
      `legitimate connects during the flood: ${r.legit}; within 1 s ${r.within1s} ` +
      `(${share.toFixed(1)}%), succeeded ${r.succeeded}; latency p50 ${ms(r.p50Ms)}, ` +
      `p99 ${ms(r.p99Ms)}, max ${ms(r.maxMs)}`,
      `before the flood: ${r.baseline.within1s}/${r.baseline.legit} within 1 s, p50 ` +
      ms(r.baseline.p50Ms),
      `server RSS: ${(r.rss.start / MB).toFixed(0)} MB at the flood's start, ` +
      `${(r.rss.mid / MB).toFixed(0)} MB halfway, ${(r.rss.floodEnd / MB).toFixed(0)} MB at its ` +
      `end (peak ${(r.rss.peak / MB).toFixed(0)} MB), ${(r.rss.end / MB).toFixed(0)} MB 2 s after`,
      `server counters: ${
        Object.entries(r.serverCounters).map(([k, v]) => `${k}=${v}`).join(", ") || "none"
      }`,
      `kernel drops at the server's UDP socket: ${r.kernelDrops ?? "n/a"}`,
      `goal (≥ 99% of connects within 1 s, server RSS growth over the flood's second half ` +
      `≤ ${o.rssGrowth} MB): ` +
      (r.goalMet ? "met" : "NOT met"),
    ].join("\n"),
  );
  return r.goalMet ? 0 : 1;
}

if (import.meta.main) {
  if (Deno.args[0] === "--flood") {
    await floodMain(Deno.args.slice(1));
    Deno.exit(0);
  }
  Deno.exit(await main(Deno.args));
}
