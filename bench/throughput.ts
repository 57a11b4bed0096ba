/**
 * Single-connection throughput and request/response rate over loopback:
 * tou (TCP over UDP, userspace stack) against kernel TCP
 * (`Deno.listen`/`Deno.connect`) moving the same bytes, both ends in this
 * process. Prints one table with the tou / kernel ratios; no assertions.
 *
 *   deno run -A bench/throughput.ts [--seconds 2] [--rounds 2] [--budget 1448]
 *
 * Every case runs for `--seconds` (bulk: one 256 KiB write after another,
 * the reader counting; request/response: a 64-byte request, then the
 * 64-byte response, one at a time, Nagle off), and the cases alternate for
 * `--rounds` rounds; the best round of each is reported, since the CPU may
 * be shared. The tou endpoints are bound to 127.0.0.1 with default
 * options, so they use loopback-sized segments (`segmentBudget` 16384); a
 * second tou bulk row forces `segmentBudget` = `--budget` (default 1448,
 * the size for a 1500-byte MTU path).
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
const LIMIT_S = arg("seconds", 2);
const ROUNDS = arg("rounds", 2);
const BUDGET = arg("budget", 1448);

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

/** Moves bytes from a to b for LIMIT_S seconds; returns [bytes, seconds]. */
async function bulk(p: Pair): Promise<[number, number]> {
  const chunk = new Uint8Array(256 * 1024).fill(0x5a);
  const start = performance.now();
  const deadline = start + LIMIT_S * 1000;
  const writing = (async () => {
    while (performance.now() < deadline) await p.a.write(chunk);
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
  while (performance.now() < deadline) {
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

/** One measured case: a pair factory and what to run on it. */
interface Case {
  make: () => Promise<Pair>;
  f: (p: Pair) => Promise<[number, number]>;
  best: [number, number];
}

const cases = {
  touBulk: { make: () => touPair(), f: bulk, best: [0, 1] } as Case,
  bigBulk: { make: () => touPair(BUDGET), f: bulk, best: [0, 1] } as Case,
  kBulk: { make: kernelPair, f: bulk, best: [0, 1] } as Case,
  touRr: { make: () => touPair(), f: requestResponse, best: [0, 1] } as Case,
  kRr: { make: kernelPair, f: requestResponse, best: [0, 1] } as Case,
};
for (let round = 0; round < ROUNDS; round++) {
  for (const c of Object.values(cases)) {
    const r = await run(c.make, c.f);
    if (r[0] / r[1] > c.best[0] / c.best[1]) c.best = r;
  }
}
const [touBytes, touSecs] = cases.touBulk.best;
const [bigBytes, bigSecs] = cases.bigBulk.best;
const [kBytes, kSecs] = cases.kBulk.best;
const [touRr, touRrSecs] = cases.touRr.best;
const [kRr, kRrSecs] = cases.kRr.best;

const touMbs = touBytes / MIB / touSecs;
const bigMbs = bigBytes / MIB / bigSecs;
const kMbs = kBytes / MIB / kSecs;
const touRps = touRr / touRrSecs;
const kRps = kRr / kRrSecs;

console.log(
  `loopback, one connection, both ends in one process; best of ${ROUNDS} x ${LIMIT_S} s per case`,
);
const rows: [string, string, string, string][] = [
  ["", "tou (TCP over UDP)", "kernel TCP", "tou / kernel"],
  [
    "bulk, 1 connection (default)",
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
