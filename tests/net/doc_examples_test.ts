// mod.ts documentation: `deno doc --lint` is clean and every export has a
// titled or untitled @example (the examples themselves run under
// `deno test --doc mod.ts src/net src/udp`).

import assert from "node:assert/strict";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

async function denoDoc(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["doc", ...args, MOD] }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno doc --lint reports nothing when run on mod.ts", async () => {
  const r = await denoDoc("--lint");
  assert.equal(r.code, 0, r.stderr + r.stdout);
});

Deno.test("mod.ts gives every export an @example when documented", async () => {
  const r = await denoDoc("--json");
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as {
    nodes: Record<string, {
      module_doc?: { tags?: { kind: string }[] };
      symbols: { name: string; declarations: { jsDoc?: { tags?: { kind: string }[] } }[] }[];
    }>;
  };
  const mod = Object.values(doc.nodes)[0];
  assert.ok(mod.module_doc?.tags?.some((t) => t.kind === "example"), "module doc example");
  const missing = mod.symbols
    .filter((s) => !s.declarations.some((d) => d.jsDoc?.tags?.some((t) => t.kind === "example")))
    .map((s) => s.name);
  assert.deepEqual(missing, []);
  assert.ok(mod.symbols.length >= 40, `only ${mod.symbols.length} exports`);
});
