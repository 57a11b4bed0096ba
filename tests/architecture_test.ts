/**
 * House rules checked on every run (STYLE.md): imports only point down the
 * layers, src has no import cycle (type-only imports count), and the
 * protocol core (src/wire, src/tcp) takes time, timers and randomness from
 * outside, and the congestion-control interface names no algorithm (the
 * registry makes them by name).
 */
import assert from "node:assert/strict";

const ALLOWED: Record<string, string[]> = {
  "time.ts": [],
  wire: ["time.ts"],
  tcp: ["time.ts", "wire"],
  udp: ["time.ts", "wire"],
  seal: ["time.ts", "wire", "udp"],
  sim: ["time.ts", "wire", "udp", "stack/runtime.ts"],
  stack: ["time.ts", "wire", "tcp", "udp"],
  net: ["time.ts", "wire", "tcp", "udp", "stack"],
  // the seam's connections throw the public API's typed errors (net/errors.ts, net/addr.ts)
  testing: ["time.ts", "wire", "tcp", "udp", "stack", "sim", "net/errors.ts", "net/addr.ts"],
  lab: ["time.ts", "wire", "tcp", "udp", "stack", "sim", "viz"],
  viz: ["time.ts", "wire"],
  tunnel: ["time.ts", "wire", "tcp", "udp", "seal", "stack", "net", "sim"],
};

function* walk(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

const root = new URL("../", import.meta.url).pathname;
const srcFiles = [...walk(`${root}src`)].map((p) => p.slice(root.length + 4)); // "wire/seq.ts"

function area(rel: string): string {
  return rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : rel;
}

function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const s of spec.split("/")) {
    if (s === "..") parts.pop();
    else if (s !== ".") parts.push(s);
  }
  return parts.join("/");
}

/** Relative import specifiers of a module: import, import type, export ... from, bare imports. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)[^"';]*?from\s+["']([^"']+)["']/gm)) {
    out.push(m[1]);
  }
  for (const m of text.matchAll(/^\s*import\s+["']([^"']+)["']/gm)) out.push(m[1]);
  return out.filter((spec) => spec.startsWith("."));
}

/** The import graph of src: file → files it imports (paths relative to src). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const rel of srcFiles) {
    const text = Deno.readTextFileSync(`${root}src/${rel}`);
    graph.set(rel, relativeImports(text).map((spec) => resolve(rel, spec)));
  }
  return graph;
}

/** Imports of a graph that do not point down the layers of {@linkcode ALLOWED}, as messages. */
function layeringViolations(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const bad: string[] = [];
  for (const [rel, targets] of graph) {
    const from = area(rel);
    for (const target of targets) {
      if (target.startsWith("..")) {
        bad.push(`${rel} → ${target} (outside src)`);
        continue;
      }
      const to = area(target);
      if (to === from) continue;
      const allowed = ALLOWED[from];
      if (!allowed) {
        bad.push(`${rel}: area "${from}" has no rule`);
        continue;
      }
      if (!allowed.includes(to) && !allowed.includes(target)) bad.push(`${rel} → ${target}`);
    }
  }
  return bad;
}

Deno.test("src imports only point down the layers of STYLE.md", () => {
  assert.deepEqual(layeringViolations(importGraph()), []);
});

Deno.test("layeringViolations reports upward, sideways, outside-src and unruled imports when the graph has them", () => {
  const graph = new Map<string, string[]>([
    ["tcp/sender.ts", ["wire/seq.ts", "tcp/rtt.ts", "stack/stack.ts"]], // up: tcp → stack
    ["wire/seq.ts", ["../cli/main.ts"]], // outside src
    ["net/conn.ts", ["stack/stack_connection.ts", "tunnel/pipe.ts"]], // up: net → tunnel
    ["testing/test_conn.ts", ["net/errors.ts", "net/conn.ts"]], // one file of net only
    ["extra/x.ts", ["wire/seq.ts"]], // no rule for the area
  ]);
  assert.deepEqual(layeringViolations(graph), [
    "tcp/sender.ts → stack/stack.ts",
    "wire/seq.ts → ../cli/main.ts (outside src)",
    "net/conn.ts → tunnel/pipe.ts",
    "testing/test_conn.ts → net/conn.ts",
    'extra/x.ts: area "extra" has no rule',
  ]);
});

/**
 * The import cycles of a graph: each strongly connected component with more
 * than one file, or a file importing itself (Tarjan), as one path around it.
 */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    for (;;) {
      const w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
      if (w === v) break;
    }
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(cyclePath(graph, scc));
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** One cycle through the first (sorted) file of a strongly connected component, for messages. */
function cyclePath(graph: ReadonlyMap<string, readonly string[]>, scc: string[]): string[] {
  const members = new Set(scc);
  const start = [...scc].sort()[0];
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x)!) path.splice(1, 0, x);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc, scc[0]];
}

/**
 * Import edges allowed to close a cycle, each with its reason. None: the
 * congestion-control registry lives in congestion/registry.ts, apart from
 * the interface its implementations import.
 */
const CYCLE_ALLOWLIST: ReadonlySet<string> = new Set<string>([]);

Deno.test("src has no import cycle, type-only imports included", () => {
  const graph = new Map<string, string[]>();
  for (const [from, targets] of importGraph()) {
    graph.set(from, targets.filter((to) => !CYCLE_ALLOWLIST.has(`${from} → ${to}`)));
  }
  assert.deepEqual(findCycles(graph).map((c) => c.join(" → ")), []);
});

Deno.test("findCycles reports every cycle, self-imports and type-only ones included, when the graph has them", () => {
  const graph = new Map<string, string[]>([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts", "d.ts"]],
    ["c.ts", ["a.ts"]],
    ["d.ts", []],
    ["e.ts", ["e.ts"]],
    ["f.ts", ["d.ts"]],
  ]);
  assert.deepEqual(findCycles(graph), [["a.ts", "b.ts", "c.ts", "a.ts"], ["e.ts", "e.ts"]]);
  assert.deepEqual(findCycles(new Map([["x.ts", ["y.ts"]], ["y.ts", []]])), []);
  assert.deepEqual(
    relativeImports(
      'import type { A } from "./a.ts";\nexport { b } from "../b.ts";\nimport "./c.ts";\n' +
        'import {\n  d,\n  type E,\n} from "./d.ts";\nimport z from "zod";\n * import x from "./doc.ts";\n',
    ),
    ["./a.ts", "../b.ts", "./d.ts", "./c.ts"],
  );
});

Deno.test("src/wire and src/tcp never reach for clocks, timers, randomness or Deno APIs", () => {
  const bad: string[] = [];
  const re =
    /Date\.now|performance\.now|setTimeout|setInterval|Math\.random|getRandomValues|\bDeno\./;
  for (const rel of srcFiles) {
    if (!rel.startsWith("wire/") && !rel.startsWith("tcp/")) continue;
    const lines = Deno.readTextFileSync(`${root}src/${rel}`).split("\n");
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return;
      if (re.test(line)) bad.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, []);
});

Deno.test("the congestion interface presumes no algorithm, and only the registry outside it knows the algorithms (issue 9)", () => {
  const graph = importGraph();
  const dir = "tcp/congestion/";
  const iface = `${dir}congestion_controller.ts`;
  assert.deepEqual(
    graph.get(iface),
    ["time.ts"],
    "the interface imports no algorithm and no registry",
  );
  const algorithms = ["bbr.ts", "cubic.ts", "new_reno.ts", "none.ts"].map((f) => dir + f);
  const importers = new Map<string, string[]>();
  for (const [from, targets] of graph) {
    for (const t of targets) {
      if (algorithms.includes(t)) importers.set(t, [...importers.get(t) ?? [], from]);
    }
  }
  for (const a of algorithms) {
    assert.deepEqual(importers.get(a), [`${dir}registry.ts`], `${a} is made only by name`);
    assert.ok(!graph.get(a)!.includes(`${dir}registry.ts`), `${a} does not import the registry`);
  }
  // the controller gets signals and answers a window and a rate: no NewReno hooks
  const code = Deno.readTextFileSync(`${root}src/${iface}`).split("\n")
    .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line)).join("\n");
  const body = code.slice(code.indexOf("export interface CongestionController {"));
  const members = [...body.slice(0, body.indexOf("\n}")).matchAll(/^ {2}(?:readonly )?(\w+)/gm)]
    .map((m) => m[1]);
  assert.deepEqual(members, [
    "name",
    "cwnd",
    "ssthresh",
    "usesPrr",
    "pacingRate",
    "onAck",
    "onCongestionEvent",
    "onRecoveryExit",
    "onRto",
    "onSpuriousCongestion",
    "setMss",
  ]);
  assert.doesNotMatch(code, /dup_?ack|partial_?ack|fast_?retransmit|newreno|registerController/i);
});
