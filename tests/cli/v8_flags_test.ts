import assert from "node:assert/strict";
import { TOU_V8_FLAGS, v8FlagsArg } from "../../cli/_v8_flags.ts";
import { denoRunArgs } from "../../cli/_workers.ts";

Deno.test("tou runs with its V8 flags: deno task tou and tunnel, README's command line, --workers children", async () => {
  const root = new URL("../../", import.meta.url);
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;
  for (const name of ["tou", "tunnel"]) {
    assert.ok(tasks[name].includes(`--v8-flags=${TOU_V8_FLAGS} cli/main.ts`), tasks[name]);
  }
  const readme = await Deno.readTextFile(new URL("README.md", root));
  assert.ok(readme.includes(`deno run -A --v8-flags=${TOU_V8_FLAGS} cli/main.ts`));
  assert.ok(
    denoRunArgs(new URL("../../cli/_worker_main.ts", import.meta.url)).includes(v8FlagsArg()),
  );
});

async function heapTotalAfterChurn(flags: string[]): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      ...flags,
      "const k=[];for(let i=0;i<3e6;i++){const o={a:i,b:[i]};if(i%100===0)k.push(o)};" +
      "console.log(Deno.memoryUsage().heapTotal)",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test("the V8 flags are accepted by this Deno and keep the young generation smaller", async () => {
  const plain = await heapTotalAfterChurn([]);
  const capped = await heapTotalAfterChurn([v8FlagsArg()]);
  assert.ok(capped > 0 && capped < plain, `heapTotal ${capped} with the flags, ${plain} without`);
});
