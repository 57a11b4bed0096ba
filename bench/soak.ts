/**
 * Soak: many concurrent tunnelled TCP connections through real `tou client`
 * and `tou server` processes over an impaired UDP path, every stream
 * sha256-checked in both directions (issue 11's soak). Bounded in time;
 * never run in CI at full size.
 *
 *   deno task bench:soak                          # 1000 connections, ≤ 180 s
 *   deno task bench:soak --conns 100 --duration 60
 *
 * Processes, all on loopback:
 *
 *   this process ──TCP──> tou client ──UDP──> impair.ts ──UDP──> tou server ──TCP──> target
 *
 * The path (bench/impair.ts, each direction): 20 ms one way (40 ms RTT),
 * 3% random loss, 2% of datagrams held back 10 ms (reordering), 1%
 * duplicated (`--loss`, `--reorder`, `--duplicate`, `--rtt` change them).
 * The tunnel is sealed with a key (`--plaintext` runs it without). With
 * `--mux` the tou client runs with `--mux`: the connections become streams
 * of one multiplexed tunnel connection through the same impairments (one
 * loss then stalls every stream; the server's peak RSS holds the session's
 * buffers instead of 1000 connections).
 *
 * Each connection `i` gets an upload and a download size drawn log-uniformly
 * from [`--min-size`, `--max-size`] (default 1 KB – 2 MB, mean ≈ 260 KB)
 * with a PRNG seeded by `--seed`. The client side sends a 16-byte header
 * (magic, i, sizes) and the upload, then half-closes; the target service
 * (two processes of this file sharing one port with SO_REUSEPORT, each
 * deriving the same plan from the seed) reads the header, sends the download and
 * half-closes, and reads the upload to EOF. Each side hashes what it sends
 * and what it receives with SHA-256; a connection is complete when both
 * directions arrived with the right length and hash. Stream bytes are slices
 * of one random 4 MiB block at a per-connection offset, so streams differ.
 * The connections open over `--ramp` seconds and all run at once.
 *
 * It prints progress every 5 s, then completed / corrupted / errors /
 * timed out, the connection times (p50/p99), the peak RSS of the tou server
 * and client (VmHWM of /proc/PID/status) and whether issue 11's goal was met:
 * every connection complete, none corrupted, server peak RSS ≤ 300 MB. The
 * exit status is 0 when the goal was met, 1 when not, 2 on a usage error.
 * Every process it starts is killed by PID at the end, also on error.
 *
 * About 960 lines as one script, like bench/lossy.ts: the target service,
 * the process set-up, the streams, the progress lines and the final report
 * share one run's state, and a reader follows one soak top to bottom.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { createHash, type Hash } from "node:crypto";
import { z } from "zod";
import { parseOptions } from "./_cli.ts";
import {
  cpuSeconds,
  freeTcpPort,
  freeUdpPort,
  ProcessGroup,
  sleep,
  type Started,
  startImpair,
  tcpListening,
  udpBound,
  waitFor,
  waitForControl,
} from "./_proc.ts";
import type { ProxyReport } from "./impair.ts";
import { fetchStat, type StatSnapshot } from "../src/tunnel/stat.ts";
import { v8FlagsArg } from "../cli/_v8_flags.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/** The tunnel service port the client's local listener maps to. */
const SERVICE_PORT = 80;
const MAGIC = 0x534f414b; // "SOAK"
const HEADER_LEN = 16;
const BLOCK_LEN = 4 << 20;
/** Processes serving the target port (SO_REUSEPORT). */
const TARGET_WORKERS = 2;
const CHUNK = 64 << 10;
const MB = 1e6;

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|kib|mib)?$/i;
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, kib: 1024, mib: 1 << 20 };

/** Parses `1kb`, `2mb`, `64kib`, `1000` (bytes). */
export function parseSize(s: string): number {
  const m = SIZE_RE.exec(s.trim());
  if (m === null) throw new Error(`not a size: "${s}" (use e.g. 1kb, 2mb, 65536)`);
  return Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? "b").toLowerCase()]);
}

const Size = z.string().transform((s, ctx) => {
  try {
    return parseSize(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});

const OptionsSchema = z.object({
  conns: z.coerce.number().int().min(1).max(20_000),
  duration: z.coerce.number().min(5).max(1800),
  ramp: z.coerce.number().min(0).max(60),
  minSize: Size,
  maxSize: Size,
  seed: z.coerce.number().int(),
  loss: z.string(),
  reorder: z.string(),
  duplicate: z.string(),
  rtt: z.coerce.number().min(0).max(2000),
  rate: z.string().optional(),
  plaintext: z.boolean().optional(),
  mux: z.boolean().optional(),
  rssGoal: z.coerce.number().positive(),
  memoryBudget: z.coerce.number().int().min(1).max(1 << 20).optional(),
  serverTcp: z.string().optional().transform((s, ctx) => {
    if (s === undefined) return undefined;
    try {
      const v: unknown = JSON.parse(s);
      if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
    } catch { /* reported below */ }
    ctx.addIssue({ code: "custom", message: "must be a JSON object, e.g. '{\"synCookies\":2}'" });
    return z.NEVER;
  }),
  json: z.string().optional(),
  logLevel: z.enum(["debug", "info", "warn", "error"]),
  logs: z.string().optional(),
  pcap: z.string().optional(),
  dump: z.string().optional(),
}).refine((o) => o.minSize >= 1 && o.minSize <= o.maxSize, {
  path: ["min-size"],
  message: "must be ≥ 1 and ≤ --max-size",
});
type Options = z.output<typeof OptionsSchema>;

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What one connection does and what happened to it. */
interface Plan {
  readonly id: number;
  readonly up: number;
  readonly down: number;
  /** Offset of the upload / download in the shared block. */
  readonly upOff: number;
  readonly downOff: number;
  /** Client side: SHA-256 of what it sent / received, and bytes received. */
  upSentHash?: string;
  downRecvHash?: string;
  downRecv: number;
  /** Target side: SHA-256 of the upload it received, and its length. */
  upRecvHash?: string;
  upRecv: number;
  /** Target side: SHA-256 of the download it sent. */
  downSentHash?: string;
  /** Client-side error, if any. */
  error?: string;
  /** Target-side error, if any. */
  targetError?: string;
  /** Resolves when the target side finished with this connection (either way). */
  targetDone: Promise<void>;
  markTargetDone: () => void;
  startMs: number;
  endMs?: number;
  /** Client side: the local TCP port of its socket (matches the tou client's session). */
  localPort?: number;
}

type Verdict = "complete" | "corrupted" | "error" | "timeout";

function verdict(p: Plan): Verdict {
  const downLenOk = p.downRecvHash !== undefined && p.downRecv === p.down;
  const upLenOk = p.upRecvHash !== undefined && p.upRecv === p.up;
  const downBad = (p.downRecvHash !== undefined && p.downRecv > p.down) ||
    (downLenOk && p.downRecvHash !== p.downSentHash);
  const upBad = (p.upRecvHash !== undefined && p.upRecv > p.up) ||
    (upLenOk && p.upRecvHash !== p.upSentHash);
  if (downBad || upBad) return "corrupted";
  if (downLenOk && upLenOk) return "complete";
  return p.error !== undefined && p.error !== "timeout" ? "error" : "timeout";
}

/** Writes every byte of `data` (Deno may write part of it). */
async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Sends `len` bytes of the block from `off` (wrapping), hashing them; returns the hash. */
async function sendStream(
  conn: Deno.Conn,
  block: Uint8Array,
  off: number,
  len: number,
): Promise<string> {
  const h = createHash("sha256");
  let pos = off;
  let left = len;
  while (left > 0) {
    const n = Math.min(left, CHUNK, BLOCK_LEN - pos);
    const chunk = block.subarray(pos, pos + n);
    h.update(chunk);
    await writeAll(conn, chunk);
    left -= n;
    pos = (pos + n) % BLOCK_LEN;
  }
  return h.digest("hex");
}

/** Reads to EOF, hashing; returns the byte count and the hash. */
async function recvStream(
  conn: Deno.Conn,
  buf: Uint8Array,
  h: Hash = createHash("sha256"),
  already = 0,
): Promise<{ bytes: number; hash: string }> {
  let bytes = already;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
    bytes += n;
  }
  return { bytes, hash: h.digest("hex") };
}

function errText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 160) : String(e);
}

/** The target service: answers each connection as its header says. */
function serveTarget(
  listener: Deno.Listener,
  plans: readonly Plan[],
  block: Uint8Array,
  open: Set<Deno.Conn>,
  stats: { badHeaders: number; accepted: number },
): Promise<void> {
  const handle = async (conn: Deno.Conn) => {
    open.add(conn);
    let plan: Plan | undefined;
    try {
      const buf = new Uint8Array(CHUNK);
      let got = 0;
      while (got < HEADER_LEN) {
        const n = await conn.read(buf.subarray(got));
        if (n === null) throw new Error("EOF in header");
        got += n;
      }
      const v = new DataView(buf.buffer, 0, HEADER_LEN);
      const id = v.getUint32(4);
      if (v.getUint32(0) !== MAGIC || id >= plans.length) {
        stats.badHeaders++;
        return;
      }
      plan = plans[id];
      if (v.getUint32(8) !== plan.up || v.getUint32(12) !== plan.down) {
        stats.badHeaders++;
        return;
      }
      const p = plan;
      const h = createHash("sha256");
      h.update(buf.subarray(HEADER_LEN, got));
      const sending = sendStream(conn, block, p.downOff, p.down).then(async (hash) => {
        p.downSentHash = hash;
        await conn.closeWrite();
      });
      const r = await recvStream(conn, buf, h, got - HEADER_LEN);
      p.upRecv = r.bytes;
      p.upRecvHash = r.hash;
      await sending;
    } catch (e) {
      if (plan !== undefined) plan.targetError ??= errText(e);
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
      plan?.markTargetDone();
    }
  };
  return (async () => {
    try {
      for await (const conn of listener) {
        stats.accepted++;
        void handle(conn);
      }
    } catch { /* listener closed */ }
  })();
}

/** One client connection through the tunnel. */
async function runClient(
  p: Plan,
  port: number,
  block: Uint8Array,
  open: Set<Deno.Conn>,
): Promise<void> {
  let conn: Deno.Conn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    p.localPort = (conn.localAddr as Deno.NetAddr).port;
    open.add(conn);
    const c = conn;
    const header = new Uint8Array(HEADER_LEN);
    const v = new DataView(header.buffer);
    v.setUint32(0, MAGIC);
    v.setUint32(4, p.id);
    v.setUint32(8, p.up);
    v.setUint32(12, p.down);
    await writeAll(c, header);
    const sending = sendStream(c, block, p.upOff, p.up).then(async (hash) => {
      p.upSentHash = hash;
      await c.closeWrite();
    });
    // A failed send must not leave the read hanging: close the socket, which ends the read.
    sending.catch(() => c.close());
    const r = await recvStream(c, new Uint8Array(CHUNK));
    p.downRecv = r.bytes;
    p.downRecvHash = r.hash;
    await sending;
    await p.targetDone;
    p.endMs = performance.now();
  } catch (e) {
    p.error ??= errText(e);
  } finally {
    if (conn !== undefined) {
      open.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }
}

/** Resident-set figures of a process from /proc/PID/status, bytes (NaN when gone). */
function memOf(pid: number): { rss: number; hwm: number } {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1]) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

function mb(n: number): string {
  return Number.isFinite(n) ? `${(n / MB).toFixed(0)} MB` : "n/a";
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The result of one soak run (also written as JSON with `--json`). */
export interface SoakResult {
  /** Connections planned. */
  readonly conns: number;
  /** Whether the tou client ran with `--mux` (the connections were streams of one). */
  readonly mux: boolean;
  /** Counts by outcome. */
  readonly complete: number;
  readonly corrupted: number;
  readonly errors: number;
  readonly timedOut: number;
  /** Target connections whose header was wrong. */
  readonly badHeaders: number;
  /** Bytes planned each way. */
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Seconds from the first connect until the last connection ended. */
  readonly seconds: number;
  /** Connection time of complete connections, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Peak RSS (VmHWM) and RSS at the end, bytes. */
  readonly server: { readonly peakRss: number; readonly endRss: number };
  readonly client: { readonly peakRss: number; readonly endRss: number };
  /** The first few distinct client-side errors with their counts. */
  readonly errorSamples: Readonly<Record<string, number>>;
  /** What each side saw on the first connections that did not complete. */
  readonly incomplete: readonly string[];
  /** The proxy's report. */
  readonly impair?: ProxyReport;
  /** The server's non-zero drop/limit/cookie counters from its `/metrics`. */
  readonly serverMetrics: readonly string[];
  /** Whether issue 11's goal was met. */
  readonly goalMet: boolean;
}

/** What both processes derive from the seed: the data block and each connection's plan. */
interface WorkloadSpec {
  readonly seed: number;
  readonly conns: number;
  readonly minSize: number;
  readonly maxSize: number;
}

function makeWorkload(w: WorkloadSpec): { block: Uint8Array; plans: Plan[] } {
  const rnd = prng(w.seed);
  const block = new Uint8Array(BLOCK_LEN);
  for (let i = 0; i < BLOCK_LEN; i += 4) {
    const x = (rnd() * 4294967296) >>> 0;
    block[i] = x;
    block[i + 1] = x >>> 8;
    block[i + 2] = x >>> 16;
    block[i + 3] = x >>> 24;
  }
  const lmin = Math.log(w.minSize);
  const lmax = Math.log(w.maxSize);
  const size = () => Math.round(Math.exp(lmin + rnd() * (lmax - lmin)));
  const plans: Plan[] = [];
  for (let id = 0; id < w.conns; id++) {
    let markTargetDone = () => {};
    const targetDone = new Promise<void>((r) => (markTargetDone = r));
    plans.push({
      id,
      up: size(),
      down: size(),
      upOff: Math.floor(rnd() * BLOCK_LEN),
      downOff: Math.floor(rnd() * BLOCK_LEN),
      downRecv: 0,
      upRecv: 0,
      targetDone,
      markTargetDone,
      startMs: 0,
    });
  }
  return { block, plans };
}

/**
 * `--serve-target SPEC PORT`: one worker of the target service, in its own
 * process (so its event loop is not the clients'); the workers share PORT
 * with SO_REUSEPORT, so that a burst of connects finds an accept queue with
 * room (Deno's listen backlog is fixed at 511). Prints `listening`, then one
 * `done ID UPBYTES UPHASH DOWNHASH ERROR` line per connection it served (`-`
 * when absent), `bad` per connection whose header did not check. Output is
 * written asynchronously: a full pipe must not stop the event loop.
 */
async function targetMain(spec: WorkloadSpec, port: number): Promise<void> {
  const { block, plans } = makeWorkload(spec);
  const listener = Deno.listen({ hostname: "127.0.0.1", port, reusePort: true });
  const enc = new TextEncoder();
  let writing = Promise.resolve();
  const out = (line: string) => {
    const bytes = enc.encode(line + "\n");
    writing = writing.then(async () => {
      for (let off = 0; off < bytes.length;) off += await Deno.stdout.write(bytes.subarray(off));
    });
  };
  out("listening");
  const stats = { badHeaders: 0, accepted: 0 };
  let bad = 0;
  for (const p of plans) {
    void p.targetDone.then(() => {
      if (p.upRecvHash === undefined && p.downSentHash === undefined && !p.targetError) return;
      const f = (x: string | undefined) => x ?? "-";
      const err = p.targetError === undefined ? "-" : p.targetError.replace(/\s+/g, "_");
      out(`done ${p.id} ${p.upRecv} ${f(p.upRecvHash)} ${f(p.downSentHash)} ${err}`);
    });
  }
  const reportBad = setInterval(() => {
    for (; bad < stats.badHeaders; bad++) out("bad");
  }, 200);
  Deno.addSignalListener("SIGTERM", () => {
    clearInterval(reportBad);
    Deno.exit(0);
  });
  await serveTarget(listener, plans, block, new Set(), stats);
}

/** Splits a byte stream into lines, calling `onLine` for each. */
async function readLines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) {
  const dec = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += dec.decode(chunk, { stream: true });
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  }
}

async function run(o: Options): Promise<SoakResult> {
  const { block, plans } = makeWorkload(o);
  const bytesUp = plans.reduce((a, p) => a + p.up, 0);
  const bytesDown = plans.reduce((a, p) => a + p.down, 0);

  const group = new ProcessGroup();
  const spec: WorkloadSpec = {
    seed: o.seed,
    conns: o.conns,
    minSize: o.minSize,
    maxSize: o.maxSize,
  };
  const targetPort = freeTcpPort();
  const targetStats = { badHeaders: 0, accepted: 0 };
  let targetsUp = 0;
  const targetProcs = Array.from(
    { length: TARGET_WORKERS },
    () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", SELF, "--serve-target", JSON.stringify(spec), String(targetPort)],
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn(),
  );
  const targetLines = Promise.all(targetProcs.map((t) =>
    readLines(t.stdout, (line) => {
      const f = line.split(" ");
      if (f[0] === "listening") targetsUp++;
      else if (f[0] === "bad") targetStats.badHeaders++;
      else if (f[0] === "done") {
        const p = plans[Number(f[1])];
        if (p === undefined) return;
        targetStats.accepted++;
        const v = (x: string) => (x === "-" ? undefined : x);
        p.upRecv = Number(f[2]);
        p.upRecvHash = v(f[3]);
        p.downSentHash = v(f[4]);
        p.targetError = v(f[5])?.replace(/_/g, " ");
        p.markTargetDone();
      }
    }).catch(() => {})
  ));
  const serverUdp = freeUdpPort();
  const proxyUdp = freeUdpPort();
  const localTcp = freeTcpPort();
  const control = freeTcpPort();
  const clientControl = freeTcpPort();
  const statsFile = await Deno.makeTempFile({ prefix: "soak-impair-", suffix: ".json" });
  let keyFile: string | undefined;
  let configFile: string | undefined;
  const openConns = new Set<Deno.Conn>();
  let server: Started | undefined;
  let client: Started | undefined;
  try {
    const t0Target = performance.now();
    while (targetsUp < TARGET_WORKERS) {
      if (performance.now() - t0Target > 20_000) throw new Error("target service did not start");
      await sleep(50);
    }
    const common = ["--log-level", o.logLevel];
    if (o.memoryBudget !== undefined) common.push("--memory-budget", String(o.memoryBudget));
    if (o.plaintext) {
      common.push("--plaintext");
    } else {
      keyFile = await Deno.makeTempFile({ prefix: "soak-key-" }); // mode 0600
      await Deno.writeTextFile(keyFile, KEY);
      common.push("--key-file", keyFile);
    }
    const serverExtra: string[] = [];
    if (o.serverTcp !== undefined) {
      configFile = await Deno.makeTempFile({ prefix: "soak-config-", suffix: ".json" });
      await Deno.writeTextFile(configFile, JSON.stringify({ tcp: o.serverTcp }));
      serverExtra.push("--config", configFile);
    }
    server = group.start("tou-server", Deno.execPath(), [
      "run",
      "-A",
      v8FlagsArg(), // as `deno task tou` runs it
      CLI,
      "server",
      "--listen",
      `127.0.0.1:${serverUdp}`,
      "--forward",
      `${SERVICE_PORT}=127.0.0.1:${targetPort}`,
      "--control",
      `127.0.0.1:${control}`,
      ...serverExtra,
      ...(o.pcap ? ["--pcap", `${o.pcap}-server.pcap`] : []),
      ...common,
    ]);
    client = group.start("tou-client", Deno.execPath(), [
      "run",
      "-A",
      v8FlagsArg(),
      CLI,
      "client",
      "--server",
      `127.0.0.1:${proxyUdp}`,
      "--local",
      `127.0.0.1:${localTcp}=${SERVICE_PORT}`,
      "--control",
      `127.0.0.1:${clientControl}`,
      ...(o.mux ? ["--mux"] : []),
      ...(o.pcap ? ["--pcap", `${o.pcap}-client.pcap`] : []),
      ...common,
    ]);
    const oneWay = String(o.rtt / 2);
    const impair = startImpair(group, proxyUdp, serverUdp, [
      "--delay",
      oneWay,
      "--loss",
      o.loss,
      "--reorder",
      o.reorder,
      "--duplicate",
      o.duplicate,
      ...(o.rate ? ["--rate", o.rate] : []),
      "--seed",
      String(o.seed),
      "--duration",
      String(Math.ceil(o.duration + 30)),
      "--stats-json",
      statsFile,
      "--quiet",
    ]);
    await waitForControl("tou server", control, 20_000, server);
    await waitFor("impairment proxy", () => udpBound(proxyUdp), 20_000, impair);
    await waitForControl("tou client", clientControl, 20_000, client);
    await waitFor("tou client", () => tcpListening(localTcp), 20_000, client);
    const serverPid = server.pid;
    const clientPid = client.pid;
    const rss0 = memOf(serverPid).rss;
    console.log(
      `soak: ${o.conns} connections, ${(bytesUp / MB).toFixed(0)} MB up + ` +
        `${(bytesDown / MB).toFixed(0)} MB down (sizes ${o.minSize}–${o.maxSize} B log-uniform, ` +
        `seed ${o.seed}); path ${o.rtt} ms RTT, loss ${o.loss}, reorder ${o.reorder}, ` +
        `duplicate ${o.duplicate}${o.rate ? `, rate ${o.rate}` : ""}; ` +
        `${o.plaintext ? "plaintext" : "sealed"}` +
        `${o.mux ? ", mux (streams of one tunnel connection)" : ""}; ` +
        `server RSS at start ${mb(rss0)}; ` +
        `tou stat --control ${control} (server), ${clientControl} (client)`,
    );

    const t0 = performance.now();
    const deadline = t0 + o.duration * 1000;
    let peakServerRss = rss0;
    let peakClientRss = memOf(clientPid).rss;
    const clients: Promise<void>[] = [];
    let finished = 0;
    let stop = false;
    let cpuLast = [cpuSeconds(serverPid), cpuSeconds(clientPid)];
    let cpuAt = t0;
    const progress = (async () => {
      let next = t0 + 5000;
      while (!stop) {
        await sleep(250);
        peakServerRss = Math.max(peakServerRss, memOf(serverPid).rss || 0);
        peakClientRss = Math.max(peakClientRss, memOf(clientPid).rss || 0);
        const now = performance.now();
        if (now >= next && !stop) {
          next += 5000;
          const done = plans.filter((p) => p.endMs !== undefined).length;
          const ended = finished;
          // How long the server takes to answer its control endpoint: its event-loop delay.
          const q0 = performance.now();
          const answered = await fetchStat({ hostname: "127.0.0.1", port: control }, "metrics")
            .then(() => true, () => false);
          const lag = performance.now() - q0;
          const cpuNow = [cpuSeconds(serverPid), cpuSeconds(clientPid)];
          const cpuPct = cpuNow.map((c, i) => (100 * (c - cpuLast[i])) / ((now - cpuAt) / 1000));
          cpuLast = cpuNow;
          cpuAt = now;
          console.log(
            `  ${((now - t0) / 1000).toFixed(0).padStart(4)} s: ${done}/${o.conns} complete, ` +
              `${ended - done} ended otherwise, ${openConns.size} sockets open here; ` +
              `RSS server ${mb(memOf(serverPid).rss)}, client ${mb(memOf(clientPid).rss)}; ` +
              `CPU server ${cpuPct[0].toFixed(0)}%, client ${cpuPct[1].toFixed(0)}%; ` +
              `server answers /metrics in ${answered ? `${lag.toFixed(0)} ms` : "(failed)"}`,
          );
          if (openConns.size > 0 && openConns.size <= 10 && now - t0 >= 20_000) {
            await dumpStalled(plans, control, clientControl, "now", false);
          }
        }
      }
    })();
    for (const p of plans) {
      const at = t0 + (o.conns > 1 ? (o.ramp * 1000 * p.id) / (o.conns - 1) : 0);
      const wait = at - performance.now();
      if (wait > 1) await sleep(wait);
      p.startMs = performance.now();
      clients.push(runClient(p, localTcp, block, openConns).finally(() => finished++));
    }
    const all = Promise.all(clients);
    const inTime = await Promise.race([
      all.then(() => true),
      sleep(Math.max(0, deadline - performance.now())).then(() => false),
    ]);
    if (!inTime) {
      await dumpStalled(plans, control, clientControl, "at the deadline", true, o.dump);
      for (const p of plans) if (p.endMs === undefined) p.error ??= "timeout";
      for (const c of openConns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      for (const p of plans) p.markTargetDone();
      await all;
    }
    const seconds = (Math.max(...plans.map((p) => p.endMs ?? performance.now())) - t0) / 1000;
    stop = true;
    await progress;
    const sMem = memOf(serverPid);
    const cMem = memOf(clientPid);
    let serverMetrics: string[] = [];
    try {
      const text = await fetchStat({ hostname: "127.0.0.1", port: control }, "metrics");
      serverMetrics = text.split("\n").filter((l) =>
        !l.startsWith("#") && /drop|cookie|overflow|refus|limit|fail|expire/i.test(l) &&
        !/ 0$/.test(l)
      );
    } catch { /* no control endpoint */ }
    await group.stop(impair, 3000, "SIGINT");
    let report: ProxyReport | undefined;
    try {
      report = JSON.parse(await Deno.readTextFile(statsFile)) as ProxyReport;
    } catch { /* the proxy wrote nothing */ }

    const counts: Record<Verdict, number> = { complete: 0, corrupted: 0, error: 0, timeout: 0 };
    const errorSamples: Record<string, number> = {};
    for (const p of plans) {
      const v = verdict(p);
      counts[v]++;
      if (v !== "complete" && p.error !== undefined) {
        errorSamples[p.error] = (errorSamples[p.error] ?? 0) + 1;
      }
    }
    const times = plans.filter((p) => verdict(p) === "complete" && p.endMs !== undefined)
      .map((p) => p.endMs! - p.startMs).sort((a, b) => a - b);
    const serverPeak = Math.max(peakServerRss, sMem.hwm || 0);
    const clientPeak = Math.max(peakClientRss, cMem.hwm || 0);
    return {
      conns: o.conns,
      mux: o.mux === true,
      complete: counts.complete,
      corrupted: counts.corrupted,
      errors: counts.error,
      timedOut: counts.timeout,
      badHeaders: targetStats.badHeaders,
      bytesUp,
      bytesDown,
      seconds,
      p50Ms: percentile(times, 0.5),
      p99Ms: percentile(times, 0.99),
      server: { peakRss: serverPeak, endRss: sMem.rss },
      client: { peakRss: clientPeak, endRss: cMem.rss },
      errorSamples: Object.fromEntries(
        Object.entries(errorSamples).sort((a, b) => b[1] - a[1]).slice(0, 8),
      ),
      incomplete: plans.filter((p) => verdict(p) !== "complete").slice(0, 12).map(describePlan),
      impair: report,
      serverMetrics,
      goalMet: counts.complete === o.conns && counts.corrupted === 0 &&
        targetStats.badHeaders === 0 && serverPeak <= o.rssGoal * MB,
    };
  } finally {
    for (const c of openConns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    for (const t of targetProcs) {
      try {
        t.kill("SIGTERM");
      } catch { /* exited */ }
      await t.status;
    }
    await targetLines;
    await group.killAll(3000);
    if (o.logs !== undefined) {
      for (const s of [server, client]) {
        if (s) await Deno.writeTextFile(`${o.logs}-${s.name.replace("tou-", "")}.log`, s.stderr());
      }
    }
    for (const s of [server, client]) {
      const t = s === undefined ? [] : summarizeLog(s.stderr());
      if (t.length > 0) console.log(`  ${s!.name} logged:\n    ${t.join("\n    ")}`);
    }
    await Deno.remove(statsFile).catch(() => {});
    if (keyFile) await Deno.remove(keyFile).catch(() => {});
    if (configFile) await Deno.remove(configFile).catch(() => {});
  }
}

/**
 * A process's log lines grouped by message (time stamps, numbers and
 * addresses blanked), the most frequent first, each with its count and one
 * full example.
 */
function summarizeLog(text: string): string[] {
  const groups = new Map<string, { n: number; example: string }>();
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "") continue;
    const key = t.replace(/^\S+\s+/, "").replace(/\d+(\.\d+)*(:\d+)?/g, "#").slice(0, 120);
    const g = groups.get(key);
    if (g) g.n++;
    else groups.set(key, { n: 1, example: t.slice(0, 240) });
  }
  return [...groups.values()].sort((a, b) => b.n - a.n).slice(0, 6)
    .map((g) => `${g.n}× ${g.example}`);
}

/**
 * What the tou server and client hold for the connections still open: one
 * line per tunnel connection not in TIME_WAIT (state, queues, windows,
 * timers, the session's byte counts, and on the client side the plan it
 * carries); with `final`, also each side's non-zero counters, and with
 * `file` both `tou stat --json` snapshots written there. Printed at the
 * deadline, before the unfinished sockets are closed, and at each progress
 * line once few connections are left (a stalled one is seen before a reset
 * ends it).
 */
async function dumpStalled(
  plans: readonly Plan[],
  serverControl: number,
  clientControl: number,
  label: string,
  final: boolean,
  file?: string,
): Promise<void> {
  const byPort = new Map<number, Plan>();
  for (const p of plans) {
    if (p.endMs === undefined && p.localPort !== undefined) byPort.set(p.localPort, p);
  }
  const snaps: Record<string, StatSnapshot | string> = {};
  const r0 = (x: number | undefined) => (x === undefined ? "?" : Math.round(x));
  for (const [role, port] of [["server", serverControl], ["client", clientControl]] as const) {
    try {
      const snap = await fetchStat({ hostname: "127.0.0.1", port }, "connections");
      snaps[role] = snap;
      const live = snap.connections.filter((r) => r.state !== "TIME_WAIT");
      console.log(
        `  ${role} ${label}: ${snap.connections.length} tunnel connections, ` +
          `${live.length} not in TIME_WAIT`,
      );
      for (const r of live.slice(0, 20)) {
        const s = r.session;
        const lp = s === undefined ? undefined : Number(/:(\d+)$/.exec(s.tcpPeer)?.[1]);
        const plan = lp === undefined ? undefined : byPort.get(lp);
        const timers = Object.entries(r.timers ?? {}).map(([k, v]) => `${k}:${r0(v)}`).join(",");
        console.log(
          `    ${r.state} ${r.local} ${r.peer} sendQ ${r.sendQ} recvQ ${r.recvQ} ` +
            `unacked ${r.unacked ?? "?"} sndWnd ${r.sndWnd ?? "?"} rcvWnd ${r.rcvWnd ?? "?"} ` +
            `cwnd ${r0(r.cwnd)} rto ${r0(r.rto)} rexmit ${r.retransmits} sent ${r.bytesSent} ` +
            `acked ${r.bytesAcked} rcvd ${r.bytesReceived} timers {${timers}}` +
            (s === undefined
              ? " (no session)"
              : ` session ${s.id} ${s.tcpPeer} in ${s.bytesIn} out ${s.bytesOut} age ${s.ageMs}`) +
            (plan === undefined ? "" : ` = #${plan.id}`),
        );
      }
      if (final) {
        const c = Object.entries(snap.counters).filter(([, v]) => v !== 0);
        console.log(`    counters: ${c.map(([k, v]) => `${k}=${v}`).join(" ")}`);
      }
    } catch (e) {
      snaps[role] = errText(e);
      console.log(`  ${role} stat failed: ${errText(e)}`);
    }
  }
  if (file !== undefined) await Deno.writeTextFile(file, JSON.stringify(snaps, null, 2) + "\n");
}

/** One line per connection that did not complete: what each side saw. */
function describePlan(p: Plan): string {
  return `#${p.id} up ${p.up} B: target got ${p.upRecv}${p.upRecvHash ? " +EOF" : ""}` +
    `${p.upSentHash ? "" : ", client send unfinished"}; down ${p.down} B: client got ` +
    `${p.downRecv}${p.downRecvHash ? " +EOF" : ""}${
      p.downSentHash ? "" : ", target send unfinished"
    }` +
    `; ${verdict(p)}${p.error ? ` (client: ${p.error})` : ""}` +
    `${p.targetError ? ` (target: ${p.targetError})` : ""}`;
}

function formatResult(r: SoakResult, o: Options): string {
  const lines = [
    `completed ${r.complete}/${r.conns}, corrupted ${r.corrupted}, errors ${r.errors}, ` +
    `timed out ${r.timedOut}, bad headers at the target ${r.badHeaders}`,
    `${((r.bytesUp + r.bytesDown) / MB).toFixed(0)} MB planned in ${r.seconds.toFixed(1)} s; ` +
    `connection time p50 ${(r.p50Ms / 1000).toFixed(2)} s, p99 ${(r.p99Ms / 1000).toFixed(2)} s`,
    `peak RSS (VmHWM): tou server ${mb(r.server.peakRss)} (end ${mb(r.server.endRss)}), ` +
    `tou client ${mb(r.client.peakRss)} (end ${mb(r.client.endRss)})`,
  ];
  if (r.impair) {
    const d = (x: ProxyReport["up"]) => JSON.stringify(x).slice(0, 200);
    lines.push(`impair up: ${d(r.impair.up)}`, `impair down: ${d(r.impair.down)}`);
  }
  if (r.serverMetrics.length > 0) lines.push(`server counters: ${r.serverMetrics.join(", ")}`);
  for (const [e, n] of Object.entries(r.errorSamples)) lines.push(`  ${n}× ${e}`);
  for (const d of r.incomplete) lines.push(`  ${d}`);
  lines.push(
    `goal (${o.conns}/${o.conns} complete, 0 corrupted, server RSS ≤ ${o.rssGoal} MB` +
      `${o.mux ? "; mux" : ""}): ` +
      (r.goalMet ? "met" : "NOT met"),
  );
  return lines.join("\n");
}

function buildCommand() {
  return new Command("soak")
    .description(
      "Concurrent sha256-checked TCP streams through real tou client/server processes over " +
        "bench/impair.ts (40 ms RTT, 3% loss, reordering, duplication); prints completed/" +
        "corrupted/errors and peak RSS. Exit 0 when the issue-11 goal was met, 1 when not.",
    )
    .option("--conns <n>", "concurrent connections", "1000")
    .option("--duration <s>", "stop after this many seconds (unfinished ones time out)", "180")
    .option("--ramp <s>", "open the connections evenly over this many seconds", "2")
    .option("--min-size <size>", "smallest stream, each way (1kb, 64kib, 2mb, bytes)", "1kb")
    .option("--max-size <size>", "largest stream, each way", "2mb")
    .option("--seed <n>", "seed of sizes, data and the path's impairments", "1")
    .option("--loss <p>", "random loss each way", "3%")
    .option("--reorder <p>", "datagrams held back 10 ms each way", "2%")
    .option("--duplicate <p>", "datagrams delivered twice each way", "1%")
    .option("--rtt <ms>", "round-trip propagation delay", "40")
    .option("--rate <rate>", "a bottleneck each way, e.g. 100mbit (default none)")
    .option("--plaintext", "run the tunnel without a key")
    .option(
      "--mux",
      "tou client --mux: the connections are streams of one multiplexed tunnel connection",
    )
    .option("--rss-goal <MB>", "server peak RSS goal in MB", "300")
    .option(
      "--memory-budget <MiB>",
      "both tou processes' --memory-budget (default: the tunnel's own, 128 MiB)",
    )
    .option("--json <file>", "also write the result as JSON here")
    .option("--log-level <level>", "log level of the tou processes", "warn")
    .option("--logs <prefix>", "write their logs to PREFIX-server.log and PREFIX-client.log")
    .option("--pcap <prefix>", "tou's --pcap: PREFIX-server.pcap and PREFIX-client.pcap")
    .option("--dump <file>", "at the deadline, write both sides' `tou stat --json` here")
    .option(
      "--server-tcp <json>",
      "TCP tunables for the server, as a config file's `tcp` object, e.g. '{\"synCookies\":2}'",
    )
    .exitOverride();
}

async function main(args: string[]): Promise<number> {
  const parsed = parseOptions("soak", buildCommand(), args, OptionsSchema);
  if ("exit" in parsed) return parsed.exit;
  const o = parsed.options;
  const r = await run(o);
  console.log(formatResult(r, o));
  if (o.json) await Deno.writeTextFile(o.json, JSON.stringify(r, null, 2) + "\n");
  return r.goalMet ? 0 : 1;
}

if (import.meta.main) {
  if (Deno.args[0] === "--serve-target") {
    await targetMain(JSON.parse(Deno.args[1]) as WorkloadSpec, Number(Deno.args[2]));
  } else Deno.exit(await main(Deno.args));
}
