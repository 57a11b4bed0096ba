/**
 * Command-line plumbing shared by the benchmarks with commander options
 * (bench/impair.ts, bench/lossy.ts): parse and map commander's exit to an
 * exit code, and print schema issues as one `tool: --option: message` line
 * each.
 *
 * @module
 */

import { CommanderError } from "@commander-js/extra-typings";

/**
 * Parses `args` (user form) into `cmd`, which must have `exitOverride()`.
 * Returns undefined when parsing succeeded, otherwise the exit code: 0 after
 * `--help`/`--version`, 2 on a usage error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "@commander-js/extra-typings";
 * import { parseCommand } from "./_cli.ts";
 * const cmd = new Command("t").option("--n <n>").exitOverride().configureOutput({ writeErr: () => {} });
 * assert.equal(parseCommand(cmd, ["--n", "1"]), undefined);
 * assert.equal(parseCommand(cmd, ["--bad"]), 2);
 * ```
 */
export function parseCommand(
  cmd: { parse(args: string[], opts: { from: "user" }): unknown },
  args: string[],
): number | undefined {
  try {
    cmd.parse(args, { from: "user" });
    return undefined;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}

/**
 * Prints each schema issue as `tool: --path: message` on stderr.
 *
 * @example
 * ```ts
 * import { printIssues } from "./_cli.ts";
 * printIssues("demo", []);
 * ```
 */
export function printIssues(
  tool: string,
  issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[],
): void {
  for (const i of issues) console.error(`${tool}: --${i.path.map(String).join(".")}: ${i.message}`);
}
