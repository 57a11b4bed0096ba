/**
 * Generates docs/tou.schema.json, the JSON Schema of the `--config` file,
 * from the zod schema that validates it (`z.toJSONSchema`). Run
 * `deno run -A cli/gen_schema.ts` after changing the config;
 * tests/cli/docs_test.ts fails while the file is out of date.
 *
 * @module
 */

import { z } from "zod";
import { touConfigSchema } from "../src/tunnel/config.ts";

/** Where the generated file lives, relative to the repository root. */
export const SCHEMA_PATH = "docs/tou.schema.json";

/** The JSON Schema text (pretty-printed, newline-terminated). */
export function renderConfigSchema(): string {
  const schema = z.toJSONSchema(touConfigSchema, { io: "input", unrepresentable: "any" });
  return JSON.stringify(schema, null, 2) + "\n";
}

if (import.meta.main) {
  await Deno.writeTextFile(SCHEMA_PATH, renderConfigSchema());
  console.log(`wrote ${SCHEMA_PATH}`);
}
