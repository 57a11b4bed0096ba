/**
 * One-way throughput of the tou tunnel through real processes, against a
 * kernel TCP baseline through the same kind of relay. Prints a table; no
 * assertions.
 *
 *   deno run -A bench/tunnel.ts [--mb 100] [--timeout 60] [--only sealed,plaintext,kernel]
 *
 * Each row pushes `--mb` MiB from this process over kernel TCP into an entry
 * relay, through a middle hop, out of an exit relay into a kernel TCP sink
 * in this process, and times until the sink saw EOF:
 *
 * - **sealed**: `tou client` → UDP (ChaCha20-Poly1305, `--key-file`) → `tou server`;
 * - **plaintext**: the same without a key;
 * - **kernel**: two relay processes of this file (`--relay`), kernel TCP
 *   between them, copying with the tunnel's own `copyStream` (64 KiB chunks):
 *   what the tunnel would cost if the UDP leg were kernel TCP.
 *
 * Besides MiB/s and the ratio to the kernel row it shows the CPU seconds of
 * each relay process and, where `/proc/net/snmp` is readable, the UDP
 * datagrams received per MiB and the receive-buffer drops (system-wide
 * counters: run it on an otherwise quiet machine). A run that exceeds
 * `--timeout` seconds is reported as such. All processes it starts are
 * killed by PID at the end of each row.
 *
 * @module
 */

import { copyStream } from "../src/tunnel/pipe.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const MIB = 1024 * 1024;
const MB = Number(arg("mb", "100"));
const TIMEOUT_S = Number(arg("timeout", "60"));
const ONLY = arg("only", "sealed,plaintext,kernel").split(",");
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

function cpuSeconds(pid: number): number {
  try {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
}

function freeUdpPort(): number {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const p = (s.addr as Deno.NetAddr).port;
  s.close();
  return p;
}

interface Row {
  name: string;
  mibps: number;
  seconds: number;
  cpu: number[];
  datagramsPerMib?: number;
  drops?: number;
  note?: string;
}

function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "inherit" }).spawn();
}

async function runRow(name: string): Promise<Row> {
  const sink = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = 0;
  const sinkDone = (async () => {
    const c = await sink.accept();
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      received += n;
    }
    c.close();
  })();
  const entryPort = freePort();
  let procs: Deno.ChildProcess[];
  let keyFile: string | undefined;
  if (name === "kernel") {
    const mid = freePort();
    procs = [
      spawn(["run", "-A", SELF, "--relay", String(mid), String(sink.addr.port)]),
      spawn(["run", "-A", SELF, "--relay", String(entryPort), String(mid)]),
    ];
  } else {
    const udpPort = freeUdpPort();
    let key: string[] = ["--plaintext"];
    if (name === "sealed") {
      keyFile = await Deno.makeTempFile();
      await Deno.writeTextFile(keyFile, KEY, { mode: 0o600 });
      await Deno.chmod(keyFile, 0o600);
      key = ["--key-file", keyFile];
    }
    const common = ["--log-level", "error", ...key];
    procs = [
      spawn([
        "run",
        "-A",
        CLI,
        "server",
        "--listen",
        `127.0.0.1:${udpPort}`,
        "--forward",
        `7=127.0.0.1:${sink.addr.port}`,
        ...common,
      ]),
      spawn([
        "run",
        "-A",
        CLI,
        "client",
        "--server",
        `127.0.0.1:${udpPort}`,
        "--local",
        `127.0.0.1:${entryPort}=7`,
        "--control",
        `127.0.0.1:${freePort()}`,
        ...common,
      ]),
    ];
  }
  await new Promise((r) => setTimeout(r, 1500)); // processes start and bind
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: entryPort });
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const u0 = udpCounters();
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
      sinkDone,
      new Promise((r) => setTimeout(r, TIMEOUT_S * 1000)),
    ]);
  } catch {
    timedOut = true;
  }
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const u1 = udpCounters();
  const cpu = procs.map((p) => cpuSeconds(p.pid));
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
  const row: Row = { name, mibps: received / MIB / seconds, seconds, cpu };
  if (name !== "kernel" && u0 && u1) {
    row.datagramsPerMib = (u1.InDatagrams - u0.InDatagrams) / (received / MIB);
    row.drops = u1.RcvbufErrors - u0.RcvbufErrors;
  }
  if (timedOut || received < MB * MIB) row.note = `incomplete: ${received} bytes`;
  return row;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const name of ["kernel", "plaintext", "sealed"]) {
    if (ONLY.includes(name)) rows.push(await runRow(name));
  }
  const kernel = rows.find((r) => r.name === "kernel");
  console.log(`one way, ${MB} MiB, kernel TCP -> relay -> relay -> kernel TCP sink`);
  console.log(
    "row        MiB/s   seconds  vs kernel  relay CPU s (exit, entry)  datagrams/MiB  rcvbuf drops",
  );
  for (const r of rows) {
    const ratio = kernel && r !== kernel ? `${(r.mibps / kernel.mibps * 100).toFixed(1)} %` : "";
    console.log(
      [
        r.name.padEnd(9),
        r.mibps.toFixed(1).padStart(7),
        r.seconds.toFixed(2).padStart(9),
        ratio.padStart(10),
        r.cpu.map((c) => c.toFixed(2)).join(", ").padStart(27),
        (r.datagramsPerMib?.toFixed(0) ?? "").padStart(14),
        String(r.drops ?? "").padStart(13),
        r.note ?? "",
      ].join(" "),
    );
  }
}

if (Deno.args[0] === "--relay") {
  await relayMain(Number(Deno.args[1]), Number(Deno.args[2]));
} else {
  await main();
  Deno.exit(0);
}
