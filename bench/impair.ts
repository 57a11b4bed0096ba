/**
 * A UDP impairment proxy: any UDP client and server can talk through it.
 *
 *   deno run -A bench/impair.ts --listen 127.0.0.1:9000 --upstream 127.0.0.1:7000 \
 *     --delay 20 --jitter 2 --loss 1% --rate 100mbit --queue 1000 --seed 1 --duration 60
 *
 * It listens on one UDP address; each client address seen there gets its own
 * socket towards `--upstream` (as a NAT would), so replies come back to the
 * right client. Every datagram goes through the simulator's link model
 * (src/sim/link.ts, via bench/_impair_engine.ts) for its direction: random
 * and Gilbert–Elliott burst loss, delay, jitter, reordering, duplication,
 * corruption, and a rate-limited bottleneck with a drop-tail queue in bytes
 * or datagrams. The two directions have their own link state, queue and
 * random stream; all clients share each direction's bottleneck. A flag's
 * value applies to both directions, or `UP/DOWN` (up = client → upstream).
 *
 * Datagrams waiting for their delivery time sit in one deadline heap, served
 * by one timer and by the receive handlers (which check what is due after
 * each datagram); there is no timer per datagram.
 *
 * At the end (`--duration` seconds, SIGINT or SIGTERM) it prints one stats
 * line per direction (received, forwarded, dropped by reason, queueing
 * delay) and writes them as JSON to `--stats-json` if given.
 *
 *   deno run -A bench/impair.ts measure [--seconds 3]
 *
 * measures the proxy's own ceiling: a raw UDP blaster process sends 1400-byte
 * datagrams through a proxy process, paced at 200 Mbit/s and unpaced, with
 * no impairment, with 40 ms delay, and with the lossy benchmark's clean
 * profile plus loss at 1 Gbit/s; it prints what came out and the proxy's CPU.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { parseCommand, parseOptions } from "./_cli.ts";
import { openUdpSocket } from "../src/udp/deno_udp_socket.ts";
import type { DenoUdpSocket } from "../src/udp/deno_udp_socket.ts";
import type { DatagramAddr } from "../src/udp/datagram_socket.ts";
import { type DirectionStats, formatStats, ImpairEngine } from "./_impair_engine.ts";
import {
  type ImpairOptions,
  ImpairOptionsSchema,
  linkConfigs,
  parseRate,
} from "./_impair_config.ts";
import {
  cpuSeconds,
  freeUdpPort,
  ProcessGroup,
  sleep,
  startImpair,
  udpSocketDrops,
} from "./_proc.ts";
import { raiseUdpBuffers, type SocketBuffers } from "./_sockbuf.ts";

/** What the proxy reports at the end (also the `--stats-json` content). */
export interface ProxyReport {
  /** Seconds it ran. */
  readonly seconds: number;
  /** Client → upstream. */
  readonly up: DirectionStats;
  /** Upstream → client. */
  readonly down: DirectionStats;
  /** Clients seen. */
  readonly clients: number;
  /** Datagrams our sockets could not send (send queue full). */
  readonly sendDropped: number;
  /** Datagrams still waiting at the end. */
  readonly pendingAtEnd: number;
  /**
   * Datagrams the kernel dropped before the proxy could read them (receive
   * buffer full; /proc/net/udp): loss the impairments did not decide.
   * `up`: the listening socket; `down`: the per-client upstream sockets.
   */
  readonly kernelDrops: { readonly up: number; readonly down: number } | undefined;
}

interface Client {
  readonly addr: DatagramAddr;
  /** Its socket towards the upstream, once open. */
  sock: DenoUdpSocket | undefined;
  /** Datagrams due before the socket was open (sent when it opens). */
  early: Uint8Array[];
  /** Evicted: anything still queued for it is discarded. */
  evicted: boolean;
}

/** Most datagrams kept for a client whose upstream socket is still opening. */
const EARLY_MAX = 1024;

/** How early (ms) a datagram may go out: below the timer's resolution. */
const EARLY_SLACK_MS = 0.25;
/** Size of the pooled copies of received datagrams (larger ones are copied into their own buffer). */
const POOL_BUF = 2048;
/** Most free buffers kept. */
const POOL_MAX = 32768;

/**
 * Copies of received datagrams, recycled after they are sent (the socket
 * copies on send), so a steady stream allocates no ArrayBuffers.
 */
class BufferPool {
  #free: ArrayBuffer[] = [];

  /** A copy of `data` (owned by the caller until {@linkcode release}). */
  copy(data: Uint8Array): Uint8Array {
    if (data.length > POOL_BUF) return data.slice();
    const buf = this.#free.pop() ?? new ArrayBuffer(POOL_BUF);
    const view = new Uint8Array(buf, 0, data.length);
    view.set(data);
    return view;
  }

  /** Gives a copy back once it has been sent. */
  release(view: Uint8Array): void {
    if (view.buffer.byteLength === POOL_BUF && this.#free.length < POOL_MAX) {
      this.#free.push(view.buffer as ArrayBuffer);
    }
  }
}

/** Runs the proxy until `--duration` elapses or a signal; resolves with its report. */
export async function runProxy(o: ImpairOptions): Promise<ProxyReport> {
  const cfg = linkConfigs(o);
  const engine = new ImpairEngine<Client>(cfg, o.seed);
  const upstream: DatagramAddr = o.upstream;
  const sockOpts = { maxInFlight: 16384 };
  const listen = await openUdpSocket({ ...o.listen, ...sockOpts });
  const raise = (port: number): SocketBuffers | undefined =>
    o.sockbuf > 0 ? raiseUdpBuffers(port, o.sockbuf) : undefined;
  const buffers = raise(listen.localAddr.port);
  const clients = new Map<string, Client>();
  const opening: Promise<void>[] = [];
  let notReady = 0;

  const pool = new BufferPool();
  const send = (data: Uint8Array, c: Client, dir: "up" | "down") => {
    if (c.evicted) {
      notReady++;
    } else if (dir === "down") {
      listen.send(data, c.addr);
    } else if (c.sock !== undefined) {
      c.sock.send(data, upstream);
    } else if (c.early.length < EARLY_MAX) {
      c.early.push(data.slice());
    } else {
      notReady++;
    }
    pool.release(data); // DenoUdpSocket.send copied it
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedAt = Infinity;
  const flush = () => engine.popDue(performance.now() + EARLY_SLACK_MS, send);
  const onTimer = () => {
    timer = undefined;
    armedAt = Infinity;
    flush();
    arm();
  };
  const arm = () => {
    const next = engine.nextDeadline();
    if (next === Infinity || next >= armedAt) return;
    if (timer !== undefined) clearTimeout(timer);
    armedAt = next;
    timer = setTimeout(onTimer, Math.max(0, next - performance.now()));
  };

  let lastClient: Client | undefined;
  const clientFor = (from: DatagramAddr): Client => {
    const lc = lastClient;
    if (lc !== undefined && lc.addr.port === from.port && lc.addr.hostname === from.hostname) {
      return lc;
    }
    const key = `${from.hostname}:${from.port}`;
    let c = clients.get(key);
    if (c !== undefined) return (lastClient = c);
    if (clients.size >= o.maxClients) {
      // Evict the oldest client (Map keeps insertion order).
      const [oldKey, old] = clients.entries().next().value as [string, Client];
      clients.delete(oldKey);
      old.evicted = true;
      old.sock?.close();
      if (lastClient === old) lastClient = undefined;
    }
    const client: Client = {
      addr: { hostname: from.hostname, port: from.port },
      sock: undefined,
      early: [],
      evicted: false,
    };
    c = client;
    clients.set(key, c);
    lastClient = c;
    const host = o.upstream.hostname.includes(":") ? "::" : "0.0.0.0";
    opening.push(
      openUdpSocket({ hostname: host, port: 0, ...sockOpts }).then((s) => {
        if (client.evicted) return s.close();
        raise(s.localAddr.port);
        client.sock = s;
        for (const d of client.early) s.send(d, upstream);
        client.early = [];
        s.setHandler((data) => {
          engine.offer(performance.now(), "down", pool.copy(data), client);
          flush();
          arm();
        });
      }),
    );
    return c;
  };

  listen.setHandler((data, from) => {
    const c = clientFor(from);
    engine.offer(performance.now(), "up", pool.copy(data), c);
    flush();
    arm();
  });

  const t0 = performance.now();
  if (!o.quiet) {
    console.error(
      `impair: ${o.listen.hostname}:${listen.localAddr.port} -> ${upstream.hostname}:${upstream.port}` +
        ` up ${JSON.stringify(cfg.up)} down ${JSON.stringify(cfg.down)} seed ${o.seed}` +
        ` socket buffers ${
          buffers === undefined
            ? "kernel default"
            : `rcv ${buffers.rcv} snd ${buffers.snd} (as the kernel reports them)`
        }` +
        (o.duration > 0 ? ` for ${o.duration} s` : ""),
    );
  }
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  for (const s of signals) Deno.addSignalListener(s, stop);
  const durationTimer = o.duration > 0 ? setTimeout(stop, o.duration * 1000) : undefined;
  await stopped;
  for (const s of signals) Deno.removeSignalListener(s, stop);
  clearTimeout(durationTimer);
  if (timer !== undefined) clearTimeout(timer);
  await Promise.allSettled(opening);
  let sendDropped = listen.stats().sendDropped;
  for (const c of clients.values()) sendDropped += c.sock?.stats().sendDropped ?? 0;
  // Per-port drop counters; the ports are ours while the sockets are open.
  const upDrops = udpSocketDrops(listen.localAddr.port);
  let downDrops: number | undefined = 0;
  for (const c of clients.values()) {
    if (c.sock === undefined) continue;
    const d = udpSocketDrops(c.sock.localAddr.port);
    downDrops = d === undefined || downDrops === undefined ? undefined : downDrops + d;
  }
  const report: ProxyReport = {
    seconds: (performance.now() - t0) / 1000,
    up: engine.stats("up"),
    down: engine.stats("down"),
    clients: clients.size,
    sendDropped: sendDropped + notReady,
    pendingAtEnd: engine.clear(),
    kernelDrops: upDrops === undefined || downDrops === undefined
      ? undefined
      : { up: upDrops, down: downDrops },
  };
  listen.close();
  for (const c of clients.values()) c.sock?.close();
  return report;
}

/** The stats lines printed at the end. */
export function formatReport(r: ProxyReport): string {
  return [
    `impair: ${r.seconds.toFixed(1)} s, ${r.clients} client(s), send drops ${r.sendDropped}, ` +
    `pending at end ${r.pendingAtEnd}, receive-buffer drops (kernel, not decided by the ` +
    `impairments) up ${r.kernelDrops?.up ?? "n/a"} down ${r.kernelDrops?.down ?? "n/a"}`,
    `impair ${formatStats("up", r.up)}`,
    `impair ${formatStats("down", r.down)}`,
  ].join("\n");
}

function buildCommand(): Command {
  return new Command("impair")
    .description(
      "UDP impairment proxy: listen on one UDP address, forward to --upstream (and replies back " +
        "to the client), through the simulator's link model in each direction. Each impairment " +
        "takes VALUE (both directions) or UP/DOWN (up = client -> upstream). " +
        "`impair.ts measure --help` measures the proxy's own ceiling.",
    )
    .requiredOption("--listen <host:port>", "UDP address to listen on (a bare port: 127.0.0.1)")
    .requiredOption("--upstream <host:port>", "UDP address to forward to")
    .option("--delay <ms>", "one-way propagation delay in ms")
    .option("--jitter <ms>", "delay variation in ms (reorders unless --preserve-order)")
    .option("--jitter-dist <dist>", "uniform (delay ± jitter, default) or normal")
    .option("--preserve-order", "never deliver a datagram before an earlier one (except --reorder)")
    .option("--loss <p>", "random loss, e.g. 1% or 0.01")
    .option(
      "--burst-loss <p,r[,good,bad]>",
      "Gilbert–Elliott loss: p good->bad, r bad->good per datagram, loss in good/bad state " +
        "(default 0/1); 2% average in bursts of 4: 0.51%,25%",
    )
    .option("--rate <rate>", "bottleneck rate: 100mbit, 1gbit, 500kbit (mbps = MB/s as tc)")
    .option(
      "--queue <size>",
      "drop-tail queue of the bottleneck: 1000 or 1000p datagrams (default), 1500kb bytes",
    )
    .option("--reorder <p>", "probability that a datagram is held back by --reorder-delay")
    .option("--reorder-delay <ms>", "extra delay of a reordered datagram (default 10)")
    .option("--duplicate <p>", "probability that a datagram is delivered twice")
    .option("--corrupt <p>", "probability that a datagram has one bit flipped")
    .option("--mtu <bytes>", "drop datagrams larger than this")
    .option("--seed <n>", "random seed (each direction derives its own stream)", "1")
    .option("--duration <s>", "stop after this many seconds (0: until SIGINT/SIGTERM)", "0")
    .option("--max-clients <n>", "client addresses tracked at once (oldest evicted)", "64")
    .option(
      "--sockbuf <bytes>",
      "SO_RCVBUF/SO_SNDBUF of the proxy's sockets, set through libc (Deno has no API); " +
        "0 keeps the kernel default (208 KiB: ≈ 90 datagrams)",
      String(4 << 20),
    )
    .option("--stats-json <path>", "also write the final counters as JSON here")
    .option("--quiet", "print only the final stats")
    .exitOverride();
}

async function proxyMain(args: string[]): Promise<number> {
  const parsed = parseOptions("impair", buildCommand(), args, ImpairOptionsSchema);
  if ("exit" in parsed) return parsed.exit;
  const o: ImpairOptions = parsed.options;
  try {
    linkConfigs(o);
  } catch (e) {
    console.error(`impair: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  if (o.queue && !o.rate) console.error("impair: --queue has no effect without --rate");
  const report = await runProxy(o);
  console.log(formatReport(report));
  if (o.statsJson) await Deno.writeTextFile(o.statsJson, JSON.stringify(report, null, 2) + "\n");
  return 0;
}

// ---------------------------------------------------------------------------
// Self-measurement: a blaster process -> proxy process -> sink in this process.

const SELF = new URL(import.meta.url).pathname;
const DATAGRAM = 1400;

/** `_blast host:port bytesPerSecond seconds`: sends DATAGRAM-byte datagrams; prints the count. */
async function blastMain(args: string[]): Promise<number> {
  const [hostPort, rateS, secondsS] = args;
  const i = hostPort.lastIndexOf(":");
  const to: Deno.NetAddr = {
    transport: "udp",
    hostname: hostPort.slice(0, i),
    port: Number(hostPort.slice(i + 1)),
  };
  const rate = Number(rateS); // bytes/s; 0 = as fast as possible
  const seconds = Number(secondsS);
  const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  raiseUdpBuffers((conn.addr as Deno.NetAddr).port, 4 << 20);
  const buf = new Uint8Array(DATAGRAM).fill(0x5a);
  const BATCH = 64;
  const batch: Promise<number>[] = [];
  let sent = 0;
  const t0 = performance.now();
  for (;;) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= seconds) break;
    let owed = rate > 0 ? Math.floor((elapsed * rate) / DATAGRAM) - sent : BATCH;
    if (owed <= 0) {
      await sleep(1);
      continue;
    }
    while (owed > 0) {
      const n = Math.min(owed, BATCH);
      for (let k = 0; k < n; k++) batch.push(conn.send(buf, to).catch(() => 0));
      await Promise.all(batch);
      batch.length = 0;
      sent += n;
      owed -= n;
    }
  }
  conn.close();
  console.log(JSON.stringify({ sent, seconds: (performance.now() - t0) / 1000 }));
  return 0;
}

/** One self-measurement row. */
export interface CeilingRow {
  /** Proxy flags. */
  readonly label: string;
  /** Offered rate (Mbit/s), or "max". */
  readonly offered: string;
  /** Datagrams sent by the blaster. */
  readonly sent: number;
  /** Datagrams received by the sink. */
  readonly received: number;
  /** Blaster's achieved send rate (Mbit/s of payload). */
  readonly sendMbps: number;
  /** Sink's receive rate (Mbit/s of payload). */
  readonly recvMbps: number;
  /** Proxy CPU seconds over the run. */
  readonly proxyCpu: number;
  /** Seconds of the blast. */
  readonly seconds: number;
  /** Drops the proxy decided (impairments), for comparison with what was lost. */
  readonly impairDrops: number;
  /** Datagrams the proxy received (the rest of `sent` was lost in its socket's receive buffer). */
  readonly proxyIn: number;
}

async function measureRow(
  label: string,
  flags: string[],
  offeredBytesPerS: number,
  seconds: number,
): Promise<CeilingRow> {
  const group = new ProcessGroup();
  const sink = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  raiseUdpBuffers(sink.localAddr.port, 4 << 20);
  let received = 0;
  let first = 0;
  let last = 0;
  sink.setHandler(() => {
    const t = performance.now();
    if (received === 0) first = t;
    last = t;
    received++;
  });
  const port = freeUdpPort();
  const statsFile = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const proxy = startImpair(group, port, sink.localAddr.port, [
      "--stats-json",
      statsFile,
      "--quiet",
      ...flags,
    ]);
    await sleep(1200); // proxy starts and binds
    const cpu0 = cpuSeconds(proxy.pid);
    const blaster = group.start("blast", Deno.execPath(), [
      "run",
      "-A",
      SELF,
      "_blast",
      `127.0.0.1:${port}`,
      String(offeredBytesPerS),
      String(seconds),
    ]);
    const st = await Promise.race([blaster.exited, sleep((seconds + 20) * 1000)]);
    if (st === undefined) throw new Error("blaster did not finish");
    const out = JSON.parse(blaster.stdout().trim().split("\n").at(-1) ?? "{}");
    await sleep(500); // the tail (delay) drains
    const cpu = cpuSeconds(proxy.pid) - cpu0;
    await group.stop(proxy, 2000);
    let impairDrops = 0;
    let proxyIn = 0;
    try {
      const r = JSON.parse(await Deno.readTextFile(statsFile)) as ProxyReport;
      for (const v of Object.values(r.up.drops)) impairDrops += v;
      proxyIn = r.up.received;
    } catch { /* no stats */ }
    const span = (last - first) / 1000;
    return {
      label,
      offered: offeredBytesPerS > 0 ? (offeredBytesPerS * 8 / 1e6).toFixed(0) : "max",
      sent: out.sent,
      received,
      sendMbps: out.sent * DATAGRAM * 8 / 1e6 / out.seconds,
      recvMbps: span > 0 ? received * DATAGRAM * 8 / 1e6 / span : 0,
      proxyCpu: cpu,
      seconds: out.seconds,
      impairDrops,
      proxyIn,
    };
  } finally {
    await group.killAll();
    sink.close();
    await Deno.remove(statsFile).catch(() => {});
  }
}

async function measureMain(args: string[]): Promise<number> {
  const cmd = new Command("impair measure")
    .description(
      "Measure the proxy's own ceiling: a blaster process sends 1400-byte UDP datagrams through " +
        "a proxy process to a sink in this process, paced at --rate and unpaced.",
    )
    .option("--seconds <s>", "blast duration per row", "3")
    .option("--rate <rate>", "paced offered rate", "200mbit")
    .exitOverride();
  const exit = parseCommand(cmd, args);
  if (exit !== undefined) return exit;
  const seconds = Number(cmd.opts().seconds);
  const rate = parseRate(cmd.opts().rate);
  const configs: [string, string[]][] = [
    ["no impairment", []],
    ["delay 40 ms", ["--delay", "40"]],
    [
      "delay 20, jitter 1, loss 1%, 1gbit/1000p",
      ["--delay", "20", "--jitter", "1", "--loss", "1%", "--rate", "1gbit", "--queue", "1000"],
    ],
  ];
  const rows: CeilingRow[] = [];
  for (const [label, flags] of configs) {
    for (const offered of [rate, 0]) rows.push(await measureRow(label, flags, offered, seconds));
  }
  console.log(
    `impair.ts ceiling: ${DATAGRAM}-byte datagrams, blaster process -> proxy process -> sink, ` +
      `${seconds} s per row (machine shared: noisy)`,
  );
  console.log(
    "proxy flags                                offered Mbit/s  sent Mbit/s  out Mbit/s  delivered  proxy got  impair drops  proxy CPU s",
  );
  for (const r of rows) {
    console.log(
      [
        r.label.padEnd(42),
        r.offered.padStart(14),
        r.sendMbps.toFixed(1).padStart(12),
        r.recvMbps.toFixed(1).padStart(11),
        `${(r.received / Math.max(1, r.sent) * 100).toFixed(1)} %`.padStart(10),
        `${(r.proxyIn / Math.max(1, r.sent) * 100).toFixed(1)} %`.padStart(10),
        String(r.impairDrops).padStart(13),
        r.proxyCpu.toFixed(2).padStart(12),
      ].join(" "),
    );
  }
  return 0;
}

if (import.meta.main) {
  let code: number;
  if (Deno.args[0] === "measure") code = await measureMain(Deno.args.slice(1));
  else if (Deno.args[0] === "_blast") code = await blastMain(Deno.args.slice(1));
  else code = await proxyMain([...Deno.args]);
  Deno.exit(code);
}
