/**
 * House rules checked on every run (STYLE.md): imports only point down the
 * layers, and the protocol core (src/wire, src/tcp) takes time, timers and
 * randomness from outside.
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
  testing: ["time.ts", "wire", "tcp", "udp", "stack", "sim"],
  lab: ["time.ts", "wire", "tcp", "udp", "stack", "sim"],
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

Deno.test("src imports only point down the layers of STYLE.md", () => {
  const bad: string[] = [];
  for (const rel of srcFiles) {
    const text = Deno.readTextFileSync(`${root}src/${rel}`);
    const from = area(rel);
    for (const m of text.matchAll(/^\s*(?:import|export)[^"']*?from\s+["']([^"']+)["']/gm)) {
      const spec = m[1];
      if (!spec.startsWith(".")) continue;
      const target = resolve(rel, spec);
      if (target.startsWith("..")) {
        bad.push(`${rel} → ${spec} (outside src)`);
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
  assert.deepEqual(bad, []);
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
