/**
 * One-way throughput of the tou tunnel through real processes, against a
 * kernel TCP baseline through the same kind of relay. Prints a table; no
 * assertions.
 *
 *   deno run -A bench/tunnel.ts [--mb 100] [--timeout 60] [--only kernel,plaintext,sealed,...]
 *   deno run -A bench/tunnel.ts --setup     # installs kcptun and iperf3 with apt-get (not CI)
 *
 * Each row pushes `--mb` MiB from this process over kernel TCP into an entry
 * relay, through a middle hop, out of an exit relay into a kernel TCP sink
 * in this process, and times until the sink saw EOF:
 *
 * - **sealed**: `tou client` → UDP (`--key-file`, the default cipher: AES-256-GCM through
 *   libcrypto, ChaCha20-Poly1305 where libcrypto cannot load) → `tou server`;
 * - **sealed-chacha**: the same with `--cipher chacha20-poly1305`;
 * - **plaintext**: the same without a key;
 * - **sealed-mux** / **plaintext-mux**: `sealed` / `plaintext` with `tou client --mux`: the
 *   bytes go as one stream of a multiplexed tunnel connection (mux frames inside one tou
 *   connection, as kcptun's smux does), so the rows show what the stream framing and the
 *   session's per-stream windows cost against one tunnel connection per TCP connection;
 * - **kernel**: two relay processes of this file (`--relay`), kernel TCP
 *   between them, copying with the tunnel's own `copyStream` (64 KiB chunks):
 *   what the tunnel would cost if the UDP leg were kernel TCP.
 * - **plaintext-deno** / **sealed-deno**: the tou rows with the
 *   `Deno.listenDatagram` backend (`TOU_UDP_BACKEND=deno`); the plain rows
 *   use the default ("auto": the kernel backend with `-A`).
 * - **kcptun-none** / **kcptun-aes**: kcptun client → server in its best
 *   tuning measured here (`--mode fast3 --nocomp --ds 0 --ps 0 --sndwnd 1024
 *   --rcvwnd 1024 --mtu 1452 --sockbuf 16777216`), `--crypt none` and
 *   `--crypt aes` (skipped when kcptun is not installed: `--setup`).
 * - **lib-kernel** / **lib-deno**: no relay: a tou connection between this
 *   process and a child process (`--lib-sink`) at 1452-byte datagrams
 *   (`segmentBudget` 1448) on each UDP backend; the child counts bytes.
 *   `--lib-pacing off` turns the sender's pacing off for these rows.
 * - **udp-kernel** / **udp-deno**: raw UDP ceilings: 1452-byte datagrams from
 *   this process to a counting child (`--udp-sink`) on each backend, the
 *   sender keeping a window of unacknowledged datagrams (4096 kernel, 64
 *   Deno); MiB/s counts delivered payload.
 *
 * Besides MiB/s and the ratio to the kernel row it shows the CPU seconds of
 * each process it started during the transfer (from the first byte to the
 * sink's EOF; start-up is left out, bench/tunnel_cpu.ts shows it) and their
 * sum per GB moved and, where
 * `/proc/net/snmp` is readable, the UDP datagrams received per second and
 * the receive-buffer drops (system-wide counters: run it on an otherwise
 * quiet machine). A run that exceeds
 * `--timeout` seconds is reported as such. All processes it starts are
 * killed by PID at the end of each row.
 *
 * Every row kind (relay, kcptun, library, raw UDP) and its child-process
 * modes live in this one script, so one command measures them all in the
 * same sitting.
 *
 * @module
 */

import { copyStream } from "../src/tunnel/pipe.ts";
import {
  connectRetrying,
  countingSink,
  cpuSeconds,
  freeTcpPort,
  freeUdpPort,
  touV8Args,
  which,
} from "./_proc.ts";
import { arg } from "./_cli.ts";

const MIB = 1024 * 1024;
const MB = Number(arg("mb", "100"));
const TIMEOUT_S = Number(arg("timeout", "60"));
const ROWS = [
  "kernel",
  "plaintext",
  "sealed",
  "sealed-chacha",
  "sealed-mux",
  "plaintext-mux",
  "plaintext-deno",
  "sealed-deno",
  "kcptun-none",
  "kcptun-aes",
  "lib-kernel",
  "lib-deno",
  "udp-kernel",
  "udp-deno",
];
const ONLY = arg("only", ROWS.join(",")).split(",");
/** `--lib-pacing off`: the lib-* rows without sender pacing (sender side; the sink only ACKs). */
const LIB_PACING = arg("lib-pacing", "on") !== "off";
/** kcptun's best tuning on this machine (issue 10): fast3, no FEC, no compression. */
const KCPTUN_TUNING = [
  "--mode",
  "fast3",
  "--nocomp",
  "--ds",
  "0",
  "--ps",
  "0",
  "--sndwnd",
  "1024",
  "--rcvwnd",
  "1024",
  "--mtu",
  "1452",
  "--sockbuf",
  "16777216",
  "--quiet",
];
const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;

/** `--relay <listenPort> <targetPort>`: a kernel TCP relay process (the kernel row's hops). */
async function relayMain(listenPort: number, targetPort: number): Promise<void> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: listenPort });
  for await (const a of l) {
    const b = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    a.setNoDelay(true);
    b.setNoDelay(true);
    const side = (c: Deno.TcpConn) => ({
      read: (p: Uint8Array) => c.read(p),
      write: (p: Uint8Array) => c.write(p),
      closeWrite: () => c.closeWrite(),
    });
    void Promise.all([copyStream(side(a), side(b)), copyStream(side(b), side(a))]).finally(() => {
      a.close();
      b.close();
    });
  }
}

interface Udp {
  InDatagrams: number;
  RcvbufErrors: number;
}

function udpCounters(): Udp | undefined {
  try {
    const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((x) =>
      x.startsWith("Udp:")
    );
    const keys = lines[0].split(" ");
    const vals = lines[1].split(" ").map(Number);
    const o = Object.fromEntries(keys.map((k, i) => [k, vals[i]]));
    return { InDatagrams: o.InDatagrams, RcvbufErrors: o.RcvbufErrors };
  } catch {
    return undefined;
  }
}

interface Row {
  name: string;
  mibps: number;
  seconds: number;
  cpu: number[];
  bytes: number;
  datagramsPerS?: number;
  drops?: number;
  note?: string;
}

function spawn(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "inherit", env })
    .spawn();
}

async function runRow(name: string): Promise<Row> {
  const sink = countingSink(64 * 1024);
  const entryPort = freeTcpPort();
  let procs: Deno.ChildProcess[];
  let keyFile: string | undefined;
  if (name === "kernel") {
    const mid = freeTcpPort();
    procs = [
      spawn(["run", "-A", SELF, "--relay", String(mid), String(sink.port)]),
      spawn(["run", "-A", SELF, "--relay", String(entryPort), String(mid)]),
    ];
  } else if (name.startsWith("kcptun")) {
    const udpPort = freeUdpPort();
    const crypt = ["--crypt", name === "kcptun-aes" ? "aes" : "none", "--key", "bench"];
    const opt = { stdout: "null", stderr: "null" } as const;
    procs = [
      new Deno.Command("kcptun-server", {
        args: [
          "--listen",
          `127.0.0.1:${udpPort}`,
          "--target",
          `127.0.0.1:${sink.port}`,
          ...crypt,
          ...KCPTUN_TUNING,
        ],
        ...opt,
      }).spawn(),
      new Deno.Command("kcptun-client", {
        args: [
          "--localaddr",
          `127.0.0.1:${entryPort}`,
          "--remoteaddr",
          `127.0.0.1:${udpPort}`,
          ...crypt,
          ...KCPTUN_TUNING,
        ],
        ...opt,
      }).spawn(),
    ];
  } else {
    const env: Record<string, string> = name.endsWith("-deno") ? { TOU_UDP_BACKEND: "deno" } : {};
    const udpPort = freeUdpPort();
    let key: string[] = ["--plaintext"];
    if (name.startsWith("sealed")) {
      keyFile = await Deno.makeTempFile();
      await Deno.writeTextFile(keyFile, KEY, { mode: 0o600 });
      await Deno.chmod(keyFile, 0o600);
      key = ["--key-file", keyFile];
      if (name === "sealed-chacha") key.push("--cipher", "chacha20-poly1305");
    }
    const common = ["--log-level", "error", ...key];
    procs = [
      spawn([
        "run",
        "-A",
        ...touV8Args(),
        CLI,
        "server",
        "--listen",
        `127.0.0.1:${udpPort}`,
        "--forward",
        `7=127.0.0.1:${sink.port}`,
        ...common,
      ], env),
      spawn([
        "run",
        "-A",
        ...touV8Args(),
        CLI,
        "client",
        "--server",
        `127.0.0.1:${udpPort}`,
        "--local",
        `127.0.0.1:${entryPort}=7`,
        "--control",
        `127.0.0.1:${freeTcpPort()}`,
        ...(name.endsWith("-mux") ? ["--mux"] : []),
        ...common,
      ], env),
    ];
  }
  await new Promise((r) => setTimeout(r, 1500)); // processes start and bind
  const conn = await connectRetrying(entryPort, 100);
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const u0 = udpCounters();
  // CPU from here to the sink's EOF: the transfer, not the processes' start-up (Deno, the CLI's
  // modules, the poller Worker: 0.16–0.28 s each), as round 1's "CPU s per 8 s run" measured
  const cpu0 = procs.map((p) => cpuSeconds(p.pid));
  const t0 = performance.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, TIMEOUT_S * 1000);
  try {
    for (let sent = 0; sent < MB * MIB && !timedOut;) sent += await conn.write(chunk);
    if (!timedOut) await conn.closeWrite();
    await Promise.race([
      sink.done,
      new Promise((r) => setTimeout(r, TIMEOUT_S * 1000)),
    ]);
  } catch {
    timedOut = true;
  }
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const u1 = udpCounters();
  const cpu = procs.map((p, i) => cpuSeconds(p.pid) - cpu0[i]);
  try {
    conn.close();
  } catch { /* closed */ }
  for (const p of procs) {
    try {
      p.kill("SIGKILL");
    } catch { /* exited */ }
    await p.status;
  }
  sink.close();
  if (keyFile) await Deno.remove(keyFile);
  const received = sink.received;
  const row: Row = { name, mibps: received / MIB / seconds, seconds, cpu, bytes: received };
  if (name !== "kernel" && u0 && u1) {
    row.datagramsPerS = (u1.InDatagrams - u0.InDatagrams) / seconds;
    row.drops = u1.RcvbufErrors - u0.RcvbufErrors;
  }
  if (timedOut || received < MB * MIB) row.note = `incomplete: ${received} bytes`;
  return row;
}

/** Reads lines from a child's stdout. */
function lines(child: Deno.ChildProcess): () => Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return async () => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return "";
      buf += value;
    }
  };
}

function selfCpu(): number {
  return cpuSeconds(Deno.pid);
}

/** `--lib-sink <backend>`: a tou endpoint that accepts one connection and counts bytes. */
async function libSinkMain(backend: "kernel" | "deno"): Promise<void> {
  const { openEndpoint } = await import("../mod.ts");
  const ep = await openEndpoint({
    hostname: "127.0.0.1",
    udpBackend: backend,
    segmentBudget: 1448,
    pacing: LIB_PACING,
  });
  const l = ep.listen({ tcpPort: 9 });
  console.log(String(ep.addr.port));
  const c = await l.accept();
  const buf = new Uint8Array(256 * 1024);
  let n = 0;
  for (;;) {
    const got = await c.read(buf);
    if (got === null) break;
    n += got;
  }
  const st = ep.udpStats() as { receiveDrops?: number } | undefined;
  console.log(`bytes ${n} drops ${st?.receiveDrops ?? "?"}`);
  c.close();
  await ep.closeGracefully({ timeout: 1000 });
}

async function libRow(name: string): Promise<Row> {
  const backend = name === "lib-deno" ? "deno" : "kernel";
  const { openEndpoint } = await import("../mod.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SELF, "--lib-sink", backend],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const next = lines(child);
  const port = Number(await next());
  const ep = await openEndpoint({
    hostname: "127.0.0.1",
    udpBackend: backend,
    segmentBudget: 1448,
    pacing: LIB_PACING,
  });
  const conn = await ep.connect({ hostname: "127.0.0.1", port, tcpPort: 9 });
  const chunk = new Uint8Array(256 * 1024).fill(7);
  const u0 = udpCounters();
  const c0 = selfCpu();
  const t0 = performance.now();
  let received = 0;
  let note: string | undefined;
  let socketDrops = "";
  const timer = setTimeout(() => {
    note = "timed out";
    conn.abort?.();
  }, TIMEOUT_S * 1000);
  try {
    for (let sent = 0; sent < MB * MIB;) sent += await conn.write(chunk);
    await conn.closeWrite();
    const line = await next();
    received = Number(line.split(" ")[1] ?? 0);
    const own = (ep.udpStats() as { receiveDrops?: number } | undefined)?.receiveDrops;
    socketDrops = `${line.split(" ")[3] ?? "?"}+${own ?? "?"}`;
  } catch (e) {
    note = `failed: ${e instanceof Error ? e.message : e}`;
  }
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const u1 = udpCounters();
  const cpu = [cpuSeconds(child.pid), selfCpu() - c0];
  conn.close();
  await ep.closeGracefully({ timeout: 1000 });
  try {
    child.kill("SIGKILL");
  } catch { /* exited */ }
  await child.status;
  const row: Row = { name, mibps: received / MIB / seconds, seconds, cpu, bytes: received };
  if (u0 && u1) {
    row.datagramsPerS = (u1.InDatagrams - u0.InDatagrams) / seconds;
    row.drops = u1.RcvbufErrors - u0.RcvbufErrors;
  }
  if (note || received < MB * MIB) row.note = note ?? `incomplete: ${received} bytes`;
  else row.note = `socket drops (sink+source) ${socketDrops}`;
  return row;
}

/** `--udp-sink <backend>`: counts datagrams; every 64th is answered with the count so far. */
async function udpSinkMain(backend: "kernel" | "deno"): Promise<void> {
  const { openDatagramSocket } = await import("../src/udp/open_datagram_socket.ts");
  const s = await openDatagramSocket({ hostname: "127.0.0.1", backend });
  console.log(String(s.localAddr.port));
  let n = 0;
  const ack = new Uint8Array(8);
  const dv = new DataView(ack.buffer);
  s.setHandler((d, from) => {
    if (d.length === 1) {
      dv.setFloat64(0, n);
      s.send(ack, from);
      return;
    }
    if (++n % 64 === 0) {
      dv.setFloat64(0, n);
      s.send(ack, from);
    }
  });
  await new Promise(() => {}); // killed by the parent
}

async function udpRow(name: string): Promise<Row> {
  const backend = name === "udp-deno" ? "deno" : "kernel";
  const window = backend === "kernel" ? 4096 : 64;
  const { openDatagramSocket } = await import("../src/udp/open_datagram_socket.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SELF, "--udp-sink", backend],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const port = Number(await lines(child)());
  const s = await openDatagramSocket({ hostname: "127.0.0.1", backend });
  s.connect({ hostname: "127.0.0.1", port });
  let acked = 0;
  let wake: (() => void) | undefined;
  s.setHandler((d) => {
    acked = Math.max(acked, new DataView(d.buffer, d.byteOffset, 8).getFloat64(0));
    const w = wake;
    wake = undefined;
    w?.();
  });
  const payload = new Uint8Array(1452);
  const total = Math.ceil(MB * MIB / 1452);
  const u0 = udpCounters();
  const c0 = selfCpu();
  const t0 = performance.now();
  let sent = 0;
  while (acked < total - 64 && performance.now() - t0 < TIMEOUT_S * 1000) {
    while (sent < total && sent - acked < window) {
      s.send(payload);
      sent++;
    }
    const before = acked;
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 20);
    });
    // No progress in 20 ms: the rest of the window was lost; ask for the count.
    if (acked === before) {
      s.send(new Uint8Array(1));
      await new Promise((r) => setTimeout(r, 5));
      if (acked === before) sent = acked;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const u1 = udpCounters();
  const cpu = [cpuSeconds(child.pid), selfCpu() - c0];
  s.close();
  try {
    child.kill("SIGKILL");
  } catch { /* exited */ }
  await child.status;
  const bytes = acked * 1452;
  const row: Row = { name, mibps: bytes / MIB / seconds, seconds, cpu, bytes };
  if (u0 && u1) {
    row.datagramsPerS = acked / seconds;
    row.drops = u1.RcvbufErrors - u0.RcvbufErrors;
  }
  return row;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const hasKcptun = which("kcptun-server") !== undefined && which("kcptun-client") !== undefined;
  for (const name of ROWS) {
    if (!ONLY.includes(name)) continue;
    if (name.startsWith("kcptun") && !hasKcptun) {
      console.log(`${name}: skipped (kcptun not installed; run with --setup)`);
      continue;
    }
    if (name.startsWith("lib-")) rows.push(await libRow(name));
    else if (name.startsWith("udp-")) rows.push(await udpRow(name));
    else rows.push(await runRow(name));
  }
  const kernel = rows.find((r) => r.name === "kernel");
  console.log(
    `one way, ${MB} MiB; tunnel rows: kernel TCP -> relay -> relay -> kernel TCP sink; ` +
      `lib-*/udp-*: this process -> child process`,
  );
  console.log(
    "row              MiB/s   seconds  vs kernel  CPU s (each process)  CPU s/GB  datagrams/s" +
      "  rcvbuf drops",
  );
  for (const r of rows) {
    const ratio = kernel && r !== kernel ? `${(r.mibps / kernel.mibps * 100).toFixed(1)} %` : "";
    const cpuSum = r.cpu.reduce((a, b) => a + b, 0);
    console.log(
      [
        r.name.padEnd(15),
        r.mibps.toFixed(1).padStart(7),
        r.seconds.toFixed(2).padStart(9),
        ratio.padStart(10),
        r.cpu.map((c) => c.toFixed(2)).join(", ").padStart(21),
        (r.bytes > 0 ? cpuSum / (r.bytes / 1e9) : NaN).toFixed(1).padStart(9),
        (r.datagramsPerS?.toFixed(0) ?? "").padStart(12),
        String(r.drops ?? "").padStart(13),
        r.note ?? "",
      ].join(" "),
    );
  }
  const by = (n: string) => rows.find((r) => r.name === n);
  const goal = (what: string, a?: Row, b?: Row, want = 2) => {
    if (a && b) {
      const x = a.mibps / b.mibps;
      console.log(`${what}: ${x.toFixed(2)}x (goal >= ${want}x) ${x >= want ? "met" : "not met"}`);
    }
  };
  goal("plaintext / kcptun-none", by("plaintext"), by("kcptun-none"));
  goal("sealed / kcptun-aes", by("sealed"), by("kcptun-aes"));
  goal("plaintext (kernel backend) / plaintext-deno", by("plaintext"), by("plaintext-deno"), 1);
  const sm = by("sealed-mux");
  const s = by("sealed");
  if (sm && s) {
    console.log(
      `sealed-mux / sealed: ${(sm.mibps / s.mibps).toFixed(2)}x (one stream of a mux session)`,
    );
  }
  // Issue 10's starting point: CPU s (both tunnel processes) per GB in round 1, from its table
  // (12.5–12.9 s for 151–175 MB/s plaintext, 13.4–13.6 s for 108–123 MB/s sealed, 8 s runs).
  const cpuGoal = (n: string, round1: number) => {
    const r = by(n);
    if (!r || !(r.bytes > 0)) return;
    const perGb = r.cpu.reduce((a, b) => a + b, 0) / (r.bytes / 1e9);
    const x = perGb / round1;
    console.log(
      `${n} CPU s/GB ${perGb.toFixed(1)} / round 1's ${round1}: ${x.toFixed(2)}x ` +
        `(goal <= 0.5x) ${x <= 0.5 ? "met" : "not met"}`,
    );
  };
  cpuGoal("plaintext", 9.7);
  cpuGoal("sealed", 14.7);
  const lib = by("lib-kernel");
  if (lib) {
    const mbps = lib.mibps * MIB / 1e6;
    console.log(
      `lib-kernel: ${mbps.toFixed(0)} MB/s (goal >= 400 MB/s) ${mbps >= 400 ? "met" : "not met"}`,
    );
  }
}

/** `--setup`: installs kcptun and iperf3 (a benchmark step; never run by CI). */
async function setup(): Promise<void> {
  for (const args of [["update"], ["install", "-y", "kcptun", "iperf3"]]) {
    const st = await new Deno.Command("apt-get", { args, stdout: "inherit", stderr: "inherit" })
      .spawn().status;
    if (!st.success) throw new Error(`apt-get ${args.join(" ")} failed`);
  }
}

if (Deno.args[0] === "--relay") {
  await relayMain(Number(Deno.args[1]), Number(Deno.args[2]));
} else if (Deno.args[0] === "--lib-sink") {
  await libSinkMain(Deno.args[1] as "kernel" | "deno");
  Deno.exit(0);
} else if (Deno.args[0] === "--udp-sink") {
  await udpSinkMain(Deno.args[1] as "kernel" | "deno");
} else if (Deno.args[0] === "--setup") {
  await setup();
} else {
  await main();
  Deno.exit(0);
}
