/**
 * Single-connection throughput and request/response rate over loopback:
 * tou (TCP over UDP, userspace stack) against kernel TCP
 * (`Deno.listen`/`Deno.connect`) moving the same bytes. Prints a table; no
 * assertions.
 *
 *   deno run -A bench/throughput.ts [--mb 200] [--seconds 8] [--rr 20000] [--budget 16384]
 *
 * Each bulk run stops at `--mb` MiB or `--seconds`, whichever comes first;
 * each request/response run stops at `--rr` round trips or `--seconds`.
 * A third bulk row repeats tou with `segmentBudget` = `--budget` (datagrams
 * sized for loopback rather than a 1500-byte MTU path).
 *
 * @module
 */

import { openEndpoint } from "../mod.ts";

interface Duplex {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(on?: boolean): void;
}

interface Pair {
  a: Duplex;
  b: Duplex;
  done(): Promise<void>;
}

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Number(Deno.args[i + 1]) : fallback;
}

const MIB = 1024 * 1024;
const LIMIT_MB = arg("mb", 200);
const LIMIT_S = arg("seconds", 8);
const RR_COUNT = arg("rr", 20_000);
const BUDGET = arg("budget", 16_384);

async function touPair(segmentBudget?: number): Promise<Pair> {
  const server = await openEndpoint({ hostname: "127.0.0.1", segmentBudget });
  const client = await openEndpoint({ hostname: "127.0.0.1", segmentBudget });
  const listener = server.listen({ tcpPort: 5001 });
  const a = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 5001 });
  const b = await listener.accept();
  return {
    a,
    b,
    async done() {
      listener.close();
      a.close();
      b.close();
      server.close();
      client.close();
      await Promise.all([server.closed, client.closed]);
    },
  };
}

async function kernelPair(): Promise<Pair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = listener.accept();
  const a = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const b = await accepting;
  return {
    a,
    b,
    done() {
      listener.close();
      a.close();
      b.close();
      return Promise.resolve();
    },
  };
}

/** Moves up to LIMIT_MB MiB from a to b (stopping at LIMIT_S seconds); returns [bytes, seconds]. */
async function bulk(p: Pair): Promise<[number, number]> {
  const chunk = new Uint8Array(256 * 1024).fill(0x5a);
  const limit = LIMIT_MB * MIB;
  const start = performance.now();
  const deadline = start + LIMIT_S * 1000;
  const writing = (async () => {
    let sent = 0;
    while (sent < limit && performance.now() < deadline) {
      sent += await p.a.write(chunk.subarray(0, Math.min(chunk.length, limit - sent)));
    }
    await p.a.closeWrite();
  })();
  const buf = new Uint8Array(256 * 1024);
  let got = 0;
  for (;;) {
    const n = await p.b.read(buf);
    if (n === null) break;
    got += n;
  }
  await writing;
  return [got, (performance.now() - start) / 1000];
}

/** 64-byte request, 64-byte response, one at a time; returns [round trips, seconds]. */
async function requestResponse(p: Pair): Promise<[number, number]> {
  p.a.setNoDelay(true);
  p.b.setNoDelay(true);
  const req = new Uint8Array(64).fill(1);
  const res = new Uint8Array(64).fill(2);
  const bufA = new Uint8Array(64);
  const bufB = new Uint8Array(64);
  /** Fills `buf`; false on a clean EOF before the first byte. */
  const readFull = async (c: Duplex, buf: Uint8Array): Promise<boolean> => {
    let off = 0;
    while (off < buf.length) {
      const n = await c.read(buf.subarray(off));
      if (n === null) {
        if (off === 0) return false;
        throw new Error("unexpected EOF");
      }
      off += n;
    }
    return true;
  };
  const server = (async () => {
    while (await readFull(p.b, bufB)) await p.b.write(res);
  })();
  const start = performance.now();
  const deadline = start + LIMIT_S * 1000;
  let n = 0;
  while (n < RR_COUNT && performance.now() < deadline) {
    await p.a.write(req);
    await readFull(p.a, bufA);
    n++;
  }
  const secs = (performance.now() - start) / 1000;
  await p.a.closeWrite();
  await server;
  return [n, secs];
}

async function run<T>(make: () => Promise<Pair>, f: (p: Pair) => Promise<T>): Promise<T> {
  const p = await make();
  try {
    return await f(p);
  } finally {
    await p.done();
  }
}

const [touBytes, touSecs] = await run(() => touPair(), bulk);
const [bigBytes, bigSecs] = await run(() => touPair(BUDGET), bulk);
const [kBytes, kSecs] = await run(kernelPair, bulk);
const [touRr, touRrSecs] = await run(() => touPair(), requestResponse);
const [kRr, kRrSecs] = await run(kernelPair, requestResponse);

const touMbs = touBytes / MIB / touSecs;
const bigMbs = bigBytes / MIB / bigSecs;
const kMbs = kBytes / MIB / kSecs;
const touRps = touRr / touRrSecs;
const kRps = kRr / kRrSecs;

const rows: [string, string, string, string][] = [
  ["", "tou (TCP over UDP)", "kernel TCP", "tou / kernel"],
  [
    "bulk, 1 connection",
    `${touMbs.toFixed(1)} MiB/s (${(touBytes / MIB).toFixed(0)} MiB in ${touSecs.toFixed(2)} s)`,
    `${kMbs.toFixed(1)} MiB/s (${(kBytes / MIB).toFixed(0)} MiB in ${kSecs.toFixed(2)} s)`,
    `${(touMbs / kMbs).toFixed(3)}`,
  ],
  [
    `bulk, segmentBudget ${BUDGET}`,
    `${bigMbs.toFixed(1)} MiB/s (${(bigBytes / MIB).toFixed(0)} MiB in ${bigSecs.toFixed(2)} s)`,
    "(same as above)",
    `${(bigMbs / kMbs).toFixed(3)}`,
  ],
  [
    "64 B request/response",
    `${touRps.toFixed(0)} rt/s (${touRr} in ${touRrSecs.toFixed(2)} s)`,
    `${kRps.toFixed(0)} rt/s (${kRr} in ${kRrSecs.toFixed(2)} s)`,
    `${(touRps / kRps).toFixed(3)}`,
  ],
];
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((c, j) => c.padEnd(widths[j])).join(" | "));
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
}
