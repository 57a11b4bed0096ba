/**
 * What trace events cost: the same simulated bulk transfer (virtual time, so
 * every run does exactly the same protocol work) timed in three ways,
 * interleaved round by round so that machine noise hits all three alike:
 *
 * - `before`: the source tree as it was before the trace-event bus
 *   (`git archive` of `--base`, default the parent of the commit that added
 *   src/tcp/trace_events.ts);
 * - `off`: this tree with no trace subscriber (the normal case);
 * - `on`: this tree with a tracer that takes every trace event and segment.
 *
 * Each mode runs its own copy of the code in a temporary directory (its own
 * module graph, optimized by V8 from its own runs only), and the rounds go
 * through every order of the modes. `--base HEAD` compares two identical
 * copies: that shows the noise. Prints the median CPU time per transfer, the
 * segments sent (equal when the protocol work is the same) and the ratios
 * `off/before` (goal: within noise, ≤ 1.02) and `on/off`. Bounded:
 * `--rounds` rounds of one transfer per mode. The figures depend on the
 * machine and its load.
 *
 *   deno task bench:trace [--mb 16] [--rounds 12] [--loss 0.005] [--base REF]
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cpuUsage } from "node:process";

function arg(name: string, fallback: number | string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : String(fallback);
}

const mb = Number(arg("mb", 16));
const rounds = Number(arg("rounds", 12));
const loss = Number(arg("loss", 0.005));
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** A bulk transfer made from one tree's modules; `traced` subscribes to every trace event. */
type Bulk = (traced: boolean) => { ms: number; events: number; segments: number };

// deno-lint-ignore no-explicit-any
type Any = any;

async function loadBulk(tree: string): Promise<Bulk> {
  const testing: Any = await import(pathToFileURL(join(tree, "src/testing/mod.ts")).href);
  const harness: Any = await import(pathToFileURL(join(tree, "tests/_harness/sim_pair.ts")).href);
  const size = Math.round(mb * 1024 * 1024);
  const data = harness.patternBytes(size, 1);
  return (traced) => {
    const tcp = { pacing: true };
    const tb = testing.createTestbed({
      seed: 1,
      tcp,
      link: { loss, delay: 20, bandwidth: 100e6 / 8, queueLimit: 1000 * 1500 },
    });
    const client = tb.addStack({ tcp });
    let events = 0;
    if (traced) {
      client.tracer = {
        onTrace: () => void events++,
        onSegment: () => void events++,
        onEvent: () => void events++,
      };
    }
    const l = tb.stack.listen(80);
    const t0 = cpuUsage();
    const c = client.connect(tb.stack.localAddr, 80);
    harness.pump(c, data, 0);
    let got: Any;
    l.onAcceptable = () => {
      got = harness.pump(l.accept(), new Uint8Array(0), size);
    };
    tb.runUntilIdle({ until: 600_000 });
    const used = cpuUsage(t0);
    const ms = (used.user + used.system) / 1000; // CPU time: less sensitive to other processes
    if (got === undefined || got.receivedLength !== size) throw new Error("transfer incomplete");
    const segments = client.counters.segmentsOut + tb.stack.counters.segmentsOut;
    tb.close();
    return { ms, events, segments };
  };
}

async function git(args: string[]): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
  return new TextDecoder().decode(out.stdout).trim();
}

/** Extracts `src` and `tests/_harness` of the base commit; undefined when git cannot. */
async function baseTree(): Promise<{ dir: string; ref: string } | undefined> {
  try {
    let ref = arg("base", "");
    if (ref === "") {
      const added = await git([
        "log",
        "--diff-filter=A",
        "--format=%H",
        "-n1",
        "--",
        "src/tcp/trace_events.ts",
      ]);
      if (added === "") return undefined;
      ref = `${added}^`;
    }
    const sha = await git(["rev-parse", "--short", ref]);
    const dir = await Deno.makeTempDir({ prefix: "tou_trace_base_" });
    const archive = new Deno.Command("sh", {
      args: ["-c", `git archive ${sha} src tests/_harness | tar -x -C '${dir}'`],
      cwd: root,
    });
    if (!(await archive.output()).success) return undefined;
    return { dir, ref: sha };
  } catch {
    return undefined;
  }
}

/** Copies this working tree's `src` and `tests/_harness` to a temporary directory. */
async function copyTree(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tou_trace_here_" });
  await Deno.mkdir(join(dir, "tests"));
  for (const sub of ["src", "tests/_harness"]) {
    const out = await new Deno.Command("cp", { args: ["-r", join(root, sub), join(dir, sub)] })
      .output();
    if (!out.success) throw new Error(`cannot copy ${sub}`);
  }
  return dir;
}

function permutations(xs: number[]): number[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) =>
    permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const base = await baseTree();
// Each mode runs its own copy of the code (a module graph of its own), so that each is compiled
// and optimized by V8 from its own runs alone: with "off" and "on" sharing one copy, that copy
// ran twice as often and measured some 30% faster than an identical copy for "before".
const copies = [await copyTree(), await copyTree()];
const modes: [string, Bulk, boolean][] = [];
if (base) modes.push(["before", await loadBulk(base.dir), false]);
modes.push(["off", await loadBulk(copies[0]), false], ["on", await loadBulk(copies[1]), true]);

console.log(
  `trace cost: ${mb} MB bulk transfer on the simulator (40 ms RTT, 100 Mbit/s, loss ${loss}), ` +
    `${rounds} rounds, ${base ? `before = ${base.ref}` : "no git: before not measured"}`,
);
for (let i = 0; i < 2; i++) for (const [, bulk, traced] of modes) bulk(traced); // warm-up: JIT
const times = new Map<string, number[]>(modes.map(([m]) => [m, []]));
const segments = new Map<string, number>();
let events = 0;
// Every order of the modes in turn, so that no mode always follows the same one (the garbage a
// traced run leaves may be collected during the next). No forced GC between runs: with
// --expose-gc, gc() before each run made every run some 3x slower (the heap regrows, code is
// flushed) and measured that more than the transfer.
const orders = permutations(modes.map((_, i) => i));
for (let r = 0; r < rounds; r++) {
  for (const i of orders[r % orders.length]) {
    const [mode, bulk, traced] = modes[i];
    const res = bulk(traced);
    times.get(mode)!.push(res.ms);
    segments.set(mode, res.segments);
    if (traced) events = res.events;
  }
}
const med = new Map([...times].map(([m, t]) => [m, median(t)]));
/** The fastest run of a mode: under load, the one least disturbed. */
const least = (m: string) => Math.min(...times.get(m)!);
for (const [m, t] of times) {
  console.log(
    `  ${m.padEnd(7)} median ${med.get(m)!.toFixed(1)} ms CPU  (min ${
      Math.min(...t).toFixed(1)
    }, max ${Math.max(...t).toFixed(1)}), ${segments.get(m)} segments`,
  );
}
if (base) {
  console.log(
    `  off/before ${(med.get("off")! / med.get("before")!).toFixed(3)} median, ${
      (least("off") / least("before")).toFixed(3)
    } min  (goal ≤ 1.02)`,
  );
  if (segments.get("before") !== segments.get("off")) {
    console.log(
      "  note: the base tree sends a different number of segments (other protocol changes since " +
        "it): off/before then measures those too; pass --base REF of a tree that differs only by " +
        "trace events",
    );
  }
}
console.log(
  `  on/off     ${(med.get("on")! / med.get("off")!).toFixed(3)} median, ${
    (least("on") / least("off")).toFixed(3)
  } min  (${events} events)`,
);
if (base) await Deno.remove(base.dir, { recursive: true });
for (const dir of copies) await Deno.remove(dir, { recursive: true });
