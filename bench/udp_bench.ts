/**
 * Loopback UDP throughput: node:dgram vs raw `Deno.listenDatagram` vs our
 * {@linkcode DenoUdpSocket} wrapper, 1452-byte datagrams, measured in one
 * run (about 10 s in all: 4 cases x 2 alternating rounds x ~1.2 s). No
 * assertions; prints a table (best round per case) and ratios.
 *
 * The socket receive buffer holds only about 90 datagrams of this size, so
 * the sender keeps at most `WINDOW` datagrams unacknowledged (sent minus
 * received, counted in-process) and reports *delivered* datagrams/s. Sender
 * and receiver share one thread, as a tou endpoint does.
 *
 * Run: `deno run -A bench/udp_bench.ts [secondsPerCase]`
 *
 * @module
 */

import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { openUdpSocket } from "../src/udp/deno_udp_socket.ts";

const SIZE = 1452;
const WINDOW = 64;
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
}

/** A sender/receiver pair under test. */
interface Pair {
  /** Sends up to `budget` datagrams; returns how many it sent. */
  pump(budget: number): number | Promise<number>;
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

async function measure(name: string, make: () => Promise<Pair>): Promise<Result> {
  const pair = await make();
  await drive(pair, WARMUP_MS);
  const r = await drive(pair, SECONDS * 1000);
  await pair.close();
  return { name, ...r };
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

const cases: [string, () => Promise<Pair>][] = [
  ["node:dgram", nodePair],
  ["Deno.listenDatagram (await each send)", rawPair("await")],
  ["Deno.listenDatagram (fire, bounded)", rawPair("fire")],
  ["DenoUdpSocket (push mode)", wrapperPair],
];

const results: Result[] = [];
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < cases.length; i++) {
    const [name, make] = cases[i];
    const r = await measure(name, make);
    const prev = results[i];
    if (prev === undefined || r.delivered / r.ms > prev.delivered / prev.ms) results[i] = r;
  }
}

console.log(
  `UDP loopback, ${SIZE}-byte datagrams, window ${WINDOW}, best of ${ROUNDS} x ${SECONDS}s per case`,
);
console.log("case".padEnd(40), "delivered/s".padStart(12), "MB/s".padStart(8), "loss".padStart(7));
for (const r of results) {
  const rate = r.delivered / r.ms * 1000;
  const loss = r.sent > 0 ? (1 - r.delivered / r.sent) * 100 : 0;
  console.log(
    r.name.padEnd(40),
    rate.toFixed(0).padStart(12),
    (rate * SIZE / 1e6).toFixed(1).padStart(8),
    `${Math.max(0, loss).toFixed(1)}%`.padStart(7),
  );
}
const rateOf = (i: number) => results[i].delivered / results[i].ms;
console.log(`ratio Deno.listenDatagram(fire) / node:dgram: ${(rateOf(2) / rateOf(0)).toFixed(2)}`);
console.log(
  `ratio DenoUdpSocket / Deno.listenDatagram(fire): ${(rateOf(3) / rateOf(2)).toFixed(2)}`,
);
