/**
 * The long fuzz run (`deno task fuzz`): random and mutated datagrams into a
 * live stack beside a transfer, bounded by `--iterations` (default 1,000,000)
 * and `--seconds` (default 120), seeded by `--seed` (default 1). Prints the
 * report and exits 1 on a crash, a failed round or leftover state.
 *
 *     deno task fuzz --iterations 200000 --seconds 60 --seed 7
 *
 * @module
 */

import { runFuzz } from "../src/testing/fuzz.ts";

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(Deno.args[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`fuzz: --${name} needs a non-negative number, got ${Deno.args[i + 1]}`);
    Deno.exit(2);
  }
  return v;
}

if (import.meta.main) {
  const iterations = arg("iterations", 1_000_000);
  const seconds = arg("seconds", 120);
  const seed = arg("seed", 1);
  console.log(`fuzz: seed ${seed}, at most ${iterations} datagrams or ${seconds} s`);
  const r = runFuzz({ seed, iterations, seconds });
  console.log(JSON.stringify(r, null, 2));
  const ok = r.crashes === 0 && r.failedRounds === 0 && r.finalConnections === 0;
  console.log(
    `fuzz: ${r.injected} datagrams in ${(r.wallMs / 1000).toFixed(1)} s, ${r.rounds} rounds ` +
      `byte-exact, ${r.failedRounds} failed, ${r.crashes} crashes, max ${r.maxConnections} ` +
      `connections: ${ok ? "OK" : "FAIL"}`,
  );
  if (!ok) Deno.exit(1);
}
