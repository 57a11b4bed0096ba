/**
 * Loopback UDP throughput: node:dgram vs raw `Deno.listenDatagram` vs our
 * {@linkcode DenoUdpSocket} wrapper vs the kernel backend
 * ({@linkcode KernelUdpSocket}: sendmmsg/recvmmsg, GSO/GRO on and off, and
 * crossed with DenoUdpSocket on either side), 1452-byte datagrams,
 * measured in one run (2 alternating rounds x ~1.2 s per case). No
 * assertions; prints a table (best round per case) and ratios.
 *
 * Deno's socket receive buffer holds only about 90 datagrams of this size,
 * so the sender keeps at most a window of datagrams unacknowledged (sent
 * minus received, counted in-process: 64 for Deno receivers, 4096 for the
 * kernel backend's 16 MiB buffer) and reports *delivered* datagrams/s.
 * Sender and receiver share one thread, as a tou endpoint does. Each row
 * also shows this process's CPU seconds per GB delivered and the
 * system-wide UDP receive-buffer drops (`/proc/net/snmp` RcvbufErrors)
 * during the row, and for a kernel-backend receiver its own socket's drops
 * (`SO_MEMINFO`), warm-up included.
 *
 * Run: `deno run -A bench/udp_bench.ts [secondsPerCase]`
 *
 * @module
 */

import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { openUdpSocket } from "../src/udp/deno_udp_socket.ts";
import {
  kernelUdpAvailable,
  type KernelUdpSocketOptions,
  openKernelUdpSocket,
} from "../src/udp/kernel_udp_socket.ts";

const SIZE = 1452;
let WINDOW = 64;
const SECONDS = Number(Deno.args[0] ?? 1);
/** Cases alternate for this many rounds; each reports its best round (the CPU may be shared). */
const ROUNDS = 2;
const WARMUP_MS = 150;

/** One measured case. */
interface Result {
  name: string;
  delivered: number;
  sent: number;
  ms: number;
  cpu: number;
  drops: number;
  socketDrops: number | undefined;
}

/** This process's user+system CPU seconds. */
function cpuSeconds(): number {
  const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** System-wide UDP receive-buffer drops. */
function rcvbufErrors(): number {
  try {
    const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((x) =>
      x.startsWith("Udp:")
    );
    const i = lines[0].split(" ").indexOf("RcvbufErrors");
    return Number(lines[1].split(" ")[i]);
  } catch {
    return NaN;
  }
}

/** A sender/receiver pair under test. */
interface Pair {
  /** Sends up to `budget` datagrams; returns how many it sent. */
  pump(budget: number): number | Promise<number>;
  /** The receiving socket's own drop count, when it can tell (kernel backend). */
  socketDrops?(): number;
  close(): Promise<void>;
}

/** Delivered-datagram counter shared by the receive side and the driver. */
const counter = {
  received: 0,
  /** The driver parks here while the window is full. */
  wake: undefined as (() => void) | undefined,
  /** Outstanding count at or below which a parked driver is woken. */
  wakeAt: 0,
  sent: 0,
  /** Datagrams given up on as lost (outstanding when a park timed out). */
  lost: 0,
};

function outstanding(): number {
  return counter.sent - counter.received - counter.lost;
}

/** Called by every receive side once per delivered datagram. */
function onDelivered(): void {
  counter.received++;
  if (counter.wake !== undefined && outstanding() <= counter.wakeAt) {
    const w = counter.wake;
    counter.wake = undefined;
    w();
  }
}

/** Drives a pair for `ms`, keeping at most WINDOW datagrams outstanding. */
async function drive(
  pair: Pair,
  ms: number,
): Promise<{ delivered: number; sent: number; ms: number }> {
  counter.received = 0;
  counter.sent = 0;
  counter.lost = 0;
  counter.wakeAt = WINDOW / 2;
  const t0 = performance.now();
  const end = t0 + ms;
  while (performance.now() < end) {
    const budget = WINDOW - outstanding();
    if (budget > 0) {
      const n = await pair.pump(budget);
      counter.sent += n;
      if (n > 0) continue;
    }
    // Window full: park until the receive side drains half of it, or 50 ms
    // pass (a datagram lost on loopback must not stall the window forever;
    // shorter timeouts misfire when other processes starve the receiver).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((r) => {
      counter.wake = r;
      timer = setTimeout(() => {
        counter.wake = undefined;
        counter.lost += outstanding();
        r();
      }, 50);
    });
    clearTimeout(timer);
  }
  const el = performance.now() - t0;
  return { delivered: counter.received, sent: counter.sent, ms: el };
}

async function measure(name: string, make: () => Promise<Pair>, window: number): Promise<Result> {
  WINDOW = window;
  const pair = await make();
  await drive(pair, WARMUP_MS);
  const c0 = cpuSeconds();
  const d0 = rcvbufErrors();
  const r = await drive(pair, SECONDS * 1000);
  const cpu = cpuSeconds() - c0;
  const drops = rcvbufErrors() - d0;
  const socketDrops = pair.socketDrops?.();
  await pair.close();
  return { name, ...r, cpu, drops, socketDrops };
}

// ---- node:dgram ----
async function nodePair(): Promise<Pair> {
  const rx = dgram.createSocket("udp4");
  const tx = dgram.createSocket("udp4");
  rx.on("message", onDelivered);
  await new Promise<void>((r) => rx.bind(0, "127.0.0.1", () => r()));
  await new Promise<void>((r) => tx.bind(0, "127.0.0.1", () => r()));
  const port = rx.address().port;
  const payload = Buffer.alloc(SIZE);
  return {
    pump(budget) {
      for (let i = 0; i < budget; i++) tx.send(payload, port, "127.0.0.1");
      return budget;
    },
    close: async () => {
      await new Promise<void>((r) => tx.close(() => r()));
      await new Promise<void>((r) => rx.close(() => r()));
    },
  };
}

// ---- raw Deno.listenDatagram ----
function rawPair(mode: "await" | "fire"): () => Promise<Pair> {
  return () => {
    const rx = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const tx = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const to = rx.addr;
    const buf = new Uint8Array(65536);
    const loop = (async () => {
      try {
        for (;;) {
          await rx.receive(buf);
          onDelivered();
        }
      } catch {
        // closed
      }
    })();
    const payload = new Uint8Array(SIZE);
    let inFlight = 0;
    let drained: (() => void) | undefined;
    const done = () => {
      if (--inFlight === 0 && drained !== undefined) drained();
    };
    return Promise.resolve({
      async pump(budget: number) {
        if (mode === "await") {
          await tx.send(payload, to);
          return 1;
        }
        // Fire without awaiting; the window already bounds sends in flight.
        for (let i = 0; i < budget; i++) {
          inFlight++;
          tx.send(payload, to).then(done, done);
        }
        return budget;
      },
      close: async () => {
        if (inFlight > 0) await new Promise<void>((r) => drained = r);
        tx.close();
        rx.close();
        await loop;
      },
    });
  };
}

// ---- our wrapper ----
async function wrapperPair(): Promise<Pair> {
  const rx = await openUdpSocket({ hostname: "127.0.0.1" });
  const tx = await openUdpSocket({ hostname: "127.0.0.1" });
  rx.setHandler(onDelivered);
  tx.connect(rx.localAddr);
  const payload = new Uint8Array(SIZE);
  return {
    pump(budget) {
      for (let i = 0; i < budget; i++) tx.send(payload);
      return budget;
    },
    close: async () => {
      tx.close();
      rx.close();
      await Promise.all([tx.closed, rx.closed]);
    },
  };
}

// ---- the kernel backend (libc over FFI), either side or both ----
function kernelPair(
  tx: "kernel" | "deno",
  rx: "kernel" | "deno",
  opts: KernelUdpSocketOptions = {},
): () => Promise<Pair> {
  return async () => {
    const open = (kind: "kernel" | "deno") =>
      kind === "kernel"
        ? openKernelUdpSocket({ hostname: "127.0.0.1", ...opts })
        : openUdpSocket({ hostname: "127.0.0.1" });
    const r = await open(rx);
    const t = await open(tx);
    r.setHandler(onDelivered);
    t.connect(r.localAddr);
    const payload = new Uint8Array(SIZE);
    return {
      pump(budget) {
        for (let i = 0; i < budget; i++) t.send(payload);
        return budget;
      },
      socketDrops: () =>
        "receiveDrops" in r.stats() ? (r.stats() as { receiveDrops: number }).receiveDrops : NaN,
      close: async () => {
        t.close();
        r.close();
        await Promise.all([t.closed, r.closed]);
      },
    };
  };
}

const K = 4096; // kernel-backend receivers: window within their 16 MiB buffer
const cases: [string, () => Promise<Pair>, number][] = [
  ["node:dgram", nodePair, 64],
  ["Deno.listenDatagram (await each send)", rawPair("await"), 64],
  ["Deno.listenDatagram (fire, bounded)", rawPair("fire"), 64],
  ["DenoUdpSocket (push mode)", wrapperPair, 64],
];
if (kernelUdpAvailable().ok) {
  cases.push(
    ["Kernel -> Kernel, GSO+GRO", kernelPair("kernel", "kernel"), K],
    ["Kernel -> Kernel, no GSO/GRO", kernelPair("kernel", "kernel", { gso: false, gro: false }), K],
    ["Deno -> Kernel (recvmmsg)", kernelPair("deno", "kernel"), 512],
    ["Kernel -> Deno (sendmmsg+GSO)", kernelPair("kernel", "deno"), 64],
  );
} else {
  console.log(`kernel backend skipped: ${(kernelUdpAvailable() as { reason: string }).reason}`);
}

const results: Result[] = [];
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < cases.length; i++) {
    const [name, make, window] = cases[i];
    const r = await measure(name, make, window);
    const prev = results[i];
    if (prev === undefined || r.delivered / r.ms > prev.delivered / prev.ms) results[i] = r;
  }
}

console.log(
  `UDP loopback, ${SIZE}-byte datagrams, best of ${ROUNDS} x ${SECONDS}s per case ` +
    `(one process, sender and receiver on one thread)`,
);
console.log(
  "case".padEnd(40),
  "window".padStart(6),
  "delivered/s".padStart(12),
  "MB/s".padStart(8),
  "loss".padStart(7),
  "CPU s/GB".padStart(9),
  "rcvbuf drops".padStart(13),
  "socket drops".padStart(13),
);
for (const r of results) {
  const rate = r.delivered / r.ms * 1000;
  const loss = r.sent > 0 ? (1 - r.delivered / r.sent) * 100 : 0;
  const gb = r.delivered * SIZE / 1e9;
  console.log(
    r.name.padEnd(40),
    String(cases[results.indexOf(r)][2]).padStart(6),
    rate.toFixed(0).padStart(12),
    (rate * SIZE / 1e6).toFixed(1).padStart(8),
    `${Math.max(0, loss).toFixed(1)}%`.padStart(7),
    (gb > 0 ? r.cpu / gb : NaN).toFixed(2).padStart(9),
    String(r.drops).padStart(13),
    String(r.socketDrops ?? "").padStart(13),
  );
}
const rateOf = (i: number) => results[i].delivered / results[i].ms;
console.log(`ratio Deno.listenDatagram(fire) / node:dgram: ${(rateOf(2) / rateOf(0)).toFixed(2)}`);
console.log(
  `ratio DenoUdpSocket / Deno.listenDatagram(fire): ${(rateOf(3) / rateOf(2)).toFixed(2)}`,
);
if (results.length > 4) {
  console.log(`ratio Kernel(GSO+GRO) / DenoUdpSocket: ${(rateOf(4) / rateOf(3)).toFixed(2)}`);
  console.log(`ratio Kernel(no GSO/GRO) / DenoUdpSocket: ${(rateOf(5) / rateOf(3)).toFixed(2)}`);
}
