import assert from "node:assert/strict";
import { main } from "../../cli/main.ts";
import type { CliIo } from "../../cli/_common.ts";
import { SCENARIOS } from "../../src/lab/mod.ts";

async function tou(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const io: CliIo = {
    stdout: (t) => out += t,
    stderr: (t) => err += t,
    env: () => undefined,
    stdin: { read: () => Promise.resolve(null) },
    stdoutBytes: { write: (p) => (out += new TextDecoder().decode(p), Promise.resolve(p.length)) },
  };
  const code = await main(args, { io });
  return { code, out, err };
}

Deno.test("tou lab lists every scenario when given none", async () => {
  const r = await tou("lab");
  assert.equal(r.code, 0);
  for (const s of SCENARIOS) assert.ok(r.out.includes(`  ${s.name}  `), s.name);
});

Deno.test("tou lab time-wait prints the timeline and findings and exits 0", async () => {
  const r = await tou("lab", "time-wait");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^tou lab time-wait: /);
  assert.match(r.out, /FIN_WAIT_2 → TIME_WAIT/);
  assert.match(r.out, /What happened:/);
});

Deno.test("tou lab --json prints a report that parses", async () => {
  const r = await tou("lab", "handshake", "--json");
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  assert.equal(report.name, "handshake");
  assert.ok(report.timeline.length > 5);
});

Deno.test("tou lab exits 2 with one line naming the scenarios when the name is unknown", async () => {
  const r = await tou("lab", "nope");
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split("\n").length, 1);
  assert.match(r.err, /unknown lab scenario "nope"; one of: handshake/);
});

Deno.test("tou lab --json lists the scenarios as JSON when given none", async () => {
  const r = await tou("lab", "--json");
  assert.equal(r.code, 0, r.err);
  const list = JSON.parse(r.out) as { name: string; title: string }[];
  assert.deepEqual(list.map((s) => s.name), SCENARIOS.map((s) => s.name));
});
