import assert from "node:assert/strict";
import {
  API_DOCS_PATH,
  CLI_DOCS_PATH,
  DOCUMENTED_COMMANDS,
  helpText,
  renderApiDocs,
  renderCliDocs,
  renderOptionsTable,
} from "../../cli/gen_docs.ts";
import { TOU_OPTION_SPECS } from "../../src/net/option_specs.ts";
import { renderConfigSchema, SCHEMA_PATH } from "../../cli/gen_schema.ts";

const root = new URL("../../", import.meta.url);

Deno.test("docs/cli.md equals the generated --help texts when the CLI changes", async () => {
  const committed = await Deno.readTextFile(new URL(CLI_DOCS_PATH, root));
  assert.equal(
    committed,
    renderCliDocs(),
    "docs/cli.md is out of date: run `deno run -A cli/gen_docs.ts`",
  );
});

Deno.test("docs/cli.md holds every documented subcommand's help verbatim", async () => {
  const committed = await Deno.readTextFile(new URL(CLI_DOCS_PATH, root));
  for (const path of DOCUMENTED_COMMANDS) {
    const help = helpText(path).trimEnd();
    assert.ok(help.startsWith(`Usage: tou${path.map((p) => " " + p).join("")}`), path.join(" "));
    assert.ok(committed.includes("```text\n" + help + "\n```"), `tou ${path.join(" ")}`);
  }
});

Deno.test("docs/tou.schema.json equals the schema generated from the config when it changes", async () => {
  const committed = await Deno.readTextFile(new URL(SCHEMA_PATH, root));
  assert.equal(
    committed,
    renderConfigSchema(),
    "docs/tou.schema.json is out of date: run `deno run -A cli/gen_schema.ts`",
  );
  const schema = JSON.parse(committed);
  assert.equal(schema.additionalProperties, false);
  assert.ok(schema.properties.forward);
  assert.equal(schema.properties.tcp.properties.msl.maximum, 600_000);
  assert.equal(schema.properties.key, undefined);
});

Deno.test("docs/api.md's options table equals the one generated from TOU_OPTION_SPECS when a tunable changes", async () => {
  const committed = await Deno.readTextFile(new URL(API_DOCS_PATH, root));
  assert.equal(
    committed,
    renderApiDocs(committed),
    "docs/api.md's options table is out of date: run `deno run -A cli/gen_docs.ts`",
  );
  const rows = renderOptionsTable().split("\n").slice(2);
  assert.deepEqual(
    rows.map((r) => r.split("|")[1].trim()),
    Object.keys(TOU_OPTION_SPECS).map((n) => `\`${n}\``),
  );
});

Deno.test("renderApiDocs throws when the table markers are missing", () => {
  assert.throws(() => renderApiDocs("# api\n"), /markers missing/);
});
