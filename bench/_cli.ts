/**
 * Command-line plumbing shared by the benchmarks with commander options
 * (bench/impair.ts, bench/lossy.ts, bench/soak.ts, bench/synflood.ts): parse
 * and map commander's exit to an exit code, and print schema issues as one
 * `tool: --option: message` line each.
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

/** What {@linkcode parseOptions} gives: the validated options, or the exit code to end with. */
export type ParsedOptions<T> = { readonly options: T } | { readonly exit: number };

/**
 * {@linkcode parseCommand}, then `schema` over the parsed options: the
 * validated options, or the exit code (0 after `--help`, 2 on a usage error
 * or an invalid value, each issue printed by {@linkcode printIssues}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "@commander-js/extra-typings";
 * import { z } from "zod";
 * import { parseOptions } from "./_cli.ts";
 * const cmd = new Command("t").option("--n <n>").exitOverride();
 * const r = parseOptions("t", cmd, ["--n", "3"], z.object({ n: z.coerce.number() }));
 * assert.deepEqual(r, { options: { n: 3 } });
 * ```
 */
export function parseOptions<T>(
  tool: string,
  cmd: { parse(args: string[], opts: { from: "user" }): unknown; opts(): unknown },
  args: string[],
  schema: {
    safeParse(v: unknown):
      | { success: true; data: T }
      | { success: false; error: { issues: Parameters<typeof printIssues>[1] } };
  },
): ParsedOptions<T> {
  const exit = parseCommand(cmd, args);
  if (exit !== undefined) return { exit };
  const parsed = schema.safeParse(cmd.opts());
  if (parsed.success) return { options: parsed.data };
  printIssues(tool, parsed.error.issues);
  return { exit: 2 };
}

/**
 * The value after `--name` in the script's arguments, or `fallback`: the
 * plain flag reading of the simpler benchmarks (the others use
 * {@linkcode parseOptions}).
 *
 * @example
 * ```ts ignore
 * const MB = Number(arg("mb", "100"));
 * ```
 */
export function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}
