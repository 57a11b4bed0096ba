/**
 * The top self-time functions of a V8 `.cpuprofile` (from
 * `deno run --cpu-prof`), as shares of the busy (non-idle) samples:
 *
 *   deno run -A bench/prof_top.ts prof/<file>.cpuprofile... [--n 12]   (several are merged)
 *
 * @module
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One row of the summary. */
export interface ProfileRow {
  /** `function file:line`. */
  readonly name: string;
  /** Self time in ms. */
  readonly ms: number;
  /** Share of the busy time, percent. */
  readonly share: number;
}

/**
 * Self time per function (merged over call sites), busiest first; idle and
 * the program root are left out of the shares.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topSelf } from "./prof_top.ts";
 * const p = { nodes: [{ id: 1, callFrame: { functionName: "f", url: "file:///a.ts", lineNumber: 0 } }],
 *   samples: [1, 1], timeDeltas: [1000, 1000] };
 * assert.deepEqual(topSelf(p, 1), { busyMs: 2, idleMs: 0, rows: [{ name: "f a.ts:1", ms: 2, share: 100 }] });
 * ```
 */
export function topSelf(
  p: CpuProfile,
  n: number,
): { busyMs: number; idleMs: number; rows: ProfileRow[] } {
  const byId = new Map<number, ProfileNode>();
  for (const node of p.nodes) byId.set(node.id, node);
  const self = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]);
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    if (node === undefined) continue;
    const f = node.callFrame;
    if (f.functionName === "(idle)") {
      idle += dt;
      continue;
    }
    busy += dt;
    const file = f.url.split("/").pop() ?? "";
    const name = file === ""
      ? f.functionName || "(anonymous)"
      : `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + dt);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, ms]) => ({
    name,
    ms: Math.round(ms),
    share: Math.round((ms / busy) * 1000) / 10,
  }));
  return { busyMs: Math.round(busy), idleMs: Math.round(idle), rows };
}

if (import.meta.main) {
  const files = Deno.args.filter((a, i) => !a.startsWith("--") && Deno.args[i - 1] !== "--n");
  if (files.length === 0) {
    console.error("usage: prof_top.ts <file.cpuprofile>... [--n 12]");
    Deno.exit(2);
  }
  const i = Deno.args.indexOf("--n");
  const n = i >= 0 ? Number(Deno.args[i + 1]) : 12;
  // Several profiles are merged: their samples are summed.
  const profiles: CpuProfile[] = files.map((f) => JSON.parse(Deno.readTextFileSync(f)));
  const merged: CpuProfile = { nodes: [], samples: [], timeDeltas: [] };
  let offset = 0;
  for (const p of profiles) {
    const nodes = merged.nodes as ProfileNode[];
    for (const node of p.nodes) nodes.push({ ...node, id: node.id + offset });
    (merged.samples as number[]).push(...p.samples.map((s) => s + offset));
    (merged.timeDeltas as number[]).push(...p.timeDeltas);
    offset += Math.max(...p.nodes.map((x) => x.id)) + 1;
  }
  const { busyMs, idleMs, rows } = topSelf(merged, n);
  console.log(
    `${files.length} profile(s), busy ${busyMs} ms, idle ${idleMs} ms; self time as % of busy:`,
  );
  console.log("| function | % busy |\n|---|--:|");
  for (const r of rows) console.log(`| ${r.name} | ${r.share.toFixed(1)} |`);
}
