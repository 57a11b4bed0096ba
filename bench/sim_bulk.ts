/**
 * Bulk transfer on the simulator (virtual time, deterministic per seed): one
 * connection moves `--mb` MB one way over a path with `--rtt` ms RTT, a
 * `--mbit` Mbit/s bottleneck with a drop-tail queue of `--queue` packets
 * and `--loss` random loss in each direction. Prints the goodput (bytes
 * delivered / virtual time to the last byte), retransmissions, RTOs and loss
 * events per seed, and their mean. Bounded: each run stops after
 * `--limit` virtual seconds. No assertions; CPU time depends on the machine,
 * the virtual figures do not.
 *
 *   deno run -A bench/sim_bulk.ts [--mb 20] [--loss 0.01] [--rtt 40] [--mbit 100]
 *     [--queue 1000] [--cc newreno] [--seeds 3] [--limit 600] [--pacing on] [--sack on]
 *     [--trace] [--events]
 *
 * @module
 */

import { createTestbed } from "../src/testing/mod.ts";
import { patternBytes, pump } from "../tests/_harness/sim_pair.ts";

function arg(name: string, fallback: number | string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : String(fallback);
}

const mb = Number(arg("mb", 20));
const loss = Number(arg("loss", 0.01));
const rtt = Number(arg("rtt", 40));
const mbit = Number(arg("mbit", 100));
const queue = Number(arg("queue", 1000));
const cc = arg("cc", "newreno");
const seeds = Number(arg("seeds", 3));
const limit = Number(arg("limit", 600)) * 1000;

/** One transfer; returns the goodput in Mbit/s and the sender's counters. */
function run(seed: number): string {
  const size = Math.round(mb * 1024 * 1024);
  const tcp = {
    congestionControl: cc,
    pacing: arg("pacing", "on") === "on",
    sack: arg("sack", "on") === "on",
  };
  const tb = createTestbed({
    seed,
    tcp,
    link: {
      loss,
      delay: rtt / 2,
      bandwidth: mbit * 1e6 / 8,
      queueLimit: queue * 1500,
    },
  });
  const server = tb.stack;
  const client = tb.addStack({ tcp }); // the sender
  const l = server.listen(80);
  const data = patternBytes(size, seed);
  const c = client.connect(server.localAddr, 80);
  const start = tb.now;
  const cr = pump(c, data, 0);
  let sr: ReturnType<typeof pump> | undefined;
  l.onAcceptable = () => {
    sr = pump(l.accept()!, new Uint8Array(0), size);
  };
  let cwndSum = 0, ssSum = 0, samples = 0, recovering = 0, lastSs = Infinity, lastCwnd = 0;
  while (!(sr !== undefined && sr.receivedLength === size)) {
    if (tb.now - start > limit || cr.error !== undefined) break;
    tb.advance(10);
    const i = c.info();
    if (Deno.args.includes("--events") && i.ssthresh !== lastSs) {
      console.log(`  ${tb.now.toFixed(0)} ms: cwnd ${lastCwnd} -> ssthresh ${i.ssthresh}`);
    }
    lastSs = i.ssthresh;
    lastCwnd = i.cwnd;
    cwndSum += i.cwnd;
    ssSum += i.ssthresh === Infinity ? 0 : i.ssthresh;
    if (i.cwnd < i.ssthresh) recovering++;
    samples++;
  }
  if (Deno.args.includes("--trace")) {
    console.log(
      `  mean cwnd ${(cwndSum / samples).toFixed(0)}, mean ssthresh ${
        (ssSum / samples).toFixed(0)
      }, cwnd < ssthresh ${(100 * recovering / samples).toFixed(1)}%`,
    );
  }
  const t = (tb.now - start) / 1000;
  const info = c.info();
  const got = sr?.receivedLength ?? 0;
  tb.close();
  const goodput = got * 8 / t / 1e6;
  totals.push(goodput);
  return `seed ${seed}: ${(got / 1048576).toFixed(1)} MB in ${t.toFixed(2)} s virtual = ` +
    `${goodput.toFixed(2)} Mbit/s; ${info.retransmits} retransmits, ${info.timeouts} RTOs, ` +
    `${info.lost} loss events`;
}

const totals: number[] = [];
console.log(
  `${cc}: ${mb} MB, ${loss * 100}% loss each way, ${rtt} ms RTT, ${mbit} Mbit/s, queue ${queue}`,
);
for (let seed = 1; seed <= seeds; seed++) console.log(run(seed));
const mean = totals.reduce((a, b) => a + b, 0) / totals.length;
console.log(`mean goodput ${mean.toFixed(2)} Mbit/s`);
