/**
 * Keeps README.md true: the two fresh-machine commands come first and
 * exist, every task it names is in deno.json, and each subcommand's section
 * lists every flag that the subcommand's `--help` prints.
 */
import assert from "node:assert/strict";
import { DOCUMENTED_COMMANDS, helpText } from "../cli/gen_docs.ts";

const root = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));
const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));

/** The text of the README section headed `### <title>`, up to the next heading. */
function section(title: string): string {
  const start = readme.indexOf(`\n### ${title}\n`);
  assert.ok(start >= 0, `README.md has no "### ${title}" section`);
  const rest = readme.slice(start + title.length + 6);
  const end = rest.search(/\n##+ /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The long flags, with their argument, from a `--help` text's Options block. */
function helpFlags(help: string): string[] {
  const flags: string[] = [];
  for (const line of help.split("\n")) {
    const m = /^ {2}(?:-\w, )?(--[\w-]+(?: <[\w-]+>)?)/.exec(line);
    if (m && m[1] !== "--help") flags.push(m[1]);
  }
  return flags;
}

Deno.test("README.md starts with the fresh-machine demo and test commands", () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(firstBlock, "README.md has no sh block");
  assert.ok(readme.indexOf(firstBlock[0]) < readme.indexOf("\n## "), "the commands come first");
  const lines = firstBlock[1].trim().split("\n").map((l) => l.replace(/\s+#.*$/, "").trim());
  assert.deepEqual(lines, ["npx -y deno@2.9 task demo", "bash .ci/run"]);
  assert.ok(denoJson.tasks.demo);
});

Deno.test("README.md names only tasks that deno.json defines", () => {
  const named = [...readme.matchAll(/deno task ([\w:]+)/g)].map((m) => m[1]);
  assert.ok(named.length > 5);
  for (const task of named) assert.ok(task in denoJson.tasks, `deno task ${task}`);
});

Deno.test("README.md lists every flag of each subcommand's --help in its section", () => {
  assert.ok(helpFlags(helpText(["server"])).includes("--listen <addr>"), "help parsing works");
  for (const path of DOCUMENTED_COMMANDS) {
    if (path.length === 0) continue;
    const text = section(`tou ${path.join(" ")}`);
    for (const flag of helpFlags(helpText(path))) {
      assert.ok(text.includes("`" + flag + "`"), `README "tou ${path.join(" ")}" lacks ${flag}`);
    }
  }
});

Deno.test("README.md documents no flag that a subcommand does not have", () => {
  for (const path of DOCUMENTED_COMMANDS) {
    if (path.length === 0) continue;
    const known = new Set(helpFlags(helpText(path)).map((f) => f.split(" ")[0]));
    for (const m of section(`tou ${path.join(" ")}`).matchAll(/^\| `(--[\w-]+)/gm)) {
      assert.ok(known.has(m[1]), `README "tou ${path.join(" ")}" lists ${m[1]}, not in --help`);
    }
  }
});

/** Runs the README's ts block under `heading` (its port 9000 made free) and returns its stdout. */
async function runExample(heading: string): Promise<string> {
  const block = new RegExp(`## ${heading}\\n[\\s\\S]*?\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme);
  assert.ok(block, `README.md has no "${heading}" example`);
  const probe = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const code = block[1]
    .replace(`"./mod.ts"`, JSON.stringify(new URL("mod.ts", root).href))
    .replaceAll("9000", String(port));
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", new URL("deno.json", root).pathname, file],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("README.md library example runs and prints the echoed text", async () => {
  const stdout = await runExample("Example: the library");
  assert.equal(stdout.split("\n")[0], "hello");
  assert.match(stdout, /rtt/);
});

Deno.test("README.md node:http example serves and fetches two requests over tou", async () => {
  const stdout = await runExample("Example: node:http over tou");
  assert.deepEqual(stdout.trim().split("\n"), ["hello /a over tou", "hello /b over tou"]);
});
