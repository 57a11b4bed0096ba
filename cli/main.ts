/**
 * The `tou` command line: `server`, `client`, `tunnel server|client`,
 * `cat`, `stat`, `demo` and `keygen`. Parsing only; the work is done by
 * `src/tunnel/`.
 *
 * Exit status: 0 success, 1 runtime failure, 2 usage error (an unknown
 * flag, a malformed address or port, a missing or short key, an invalid
 * config file), which prints one line naming the problem.
 *
 * @example Run from the shell
 * ```sh
 * deno run -A cli/main.ts server --listen 0.0.0.0:7000 --forward 22=127.0.0.1:22
 * ```
 *
 * @module
 */

import { Command, CommanderError } from "@commander-js/extra-typings";
import { catCommand } from "./cat.ts";
import { clientCommand } from "./client.ts";
import {
  type CliContext,
  type CliIo,
  configureCommand,
  denoIo,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  isUsageError,
} from "./_common.ts";
import { KEY_ENV } from "../src/tunnel/config.ts";
import { demoCommand } from "./demo.ts";
import { keygenCommand } from "./keygen.ts";
import { labCommand } from "./lab.ts";
import { diagramCommand } from "./diagram.ts";
import { serverCommand } from "./server.ts";
import { statCommand } from "./stat.ts";
import { tunnelCommand } from "./tunnel.ts";

export type { CliContext, CliIo } from "./_common.ts";

/** The version printed by `tou --version`. */
export const VERSION = "0.1.0";

/**
 * Builds the whole program (also used to generate docs/cli.md).
 *
 * @param ctx CLI context.
 * @returns The root command.
 */
export function buildProgram(ctx: CliContext): Command<[], Record<string, unknown>> {
  const program = new Command("tou")
    .description("TCP over UDP: carry TCP streams through a userspace TCP stack over UDP.")
    .version(VERSION, "-V, --version", "print the version")
    .addCommand(serverCommand(ctx))
    .addCommand(clientCommand(ctx))
    .addCommand(catCommand(ctx))
    .addCommand(statCommand(ctx))
    .addCommand(demoCommand(ctx))
    .addCommand(keygenCommand(ctx))
    .addCommand(labCommand(ctx))
    .addCommand(diagramCommand(ctx))
    .addCommand(tunnelCommand(ctx))
    .addHelpText(
      "after",
      `
Quick start (two hosts):
  tou keygen --out tou.key                     # copy tou.key to both hosts
  tou server --forward 22=127.0.0.1:22 --key-file tou.key
  tou client --server SERVER:7000 --local 127.0.0.1:2222=22 --key-file tou.key

Exit status: 0 success, 1 runtime failure, 2 usage error.`,
    );
  return configureCommand(program, ctx) as unknown as Command<[], Record<string, unknown>>;
}

/** One line for a usage error, from commander's possibly multi-line message. */
function oneLine(message: string): string {
  return message.replace(/^error: /, "").split("\n").map((l) => l.trim()).filter((l) => l)
    .join(" ");
}

/** Options that look like a secret given on the command line, where `ps` would show it. */
const SECRET_FLAG = /unknown option '--(key|psk|secret|password|passphrase|token)(=[^']*)?'/;

function secretHint(e: CommanderError): string {
  if (e.code !== "commander.unknownOption" || !SECRET_FLAG.test(e.message)) return "";
  return ` (a key is never taken from the command line: use --key-file or ${KEY_ENV})`;
}

/**
 * Runs the CLI.
 *
 * @param args Arguments after the program name.
 * @param opts I/O (default the process's) and a shutdown trigger for tests.
 * @returns The exit status.
 */
export async function main(
  args: readonly string[],
  opts: { readonly io?: CliIo; readonly shutdownTrigger?: Promise<string> } = {},
): Promise<number> {
  const ctx: CliContext = {
    io: opts.io ?? denoIo(),
    exitCode: EXIT_OK,
    shutdownTrigger: opts.shutdownTrigger,
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...args], { from: "user" });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT_OK;
      // `tou` or `tou tunnel` alone: commander has printed the help.
      if (e.code === "commander.help") return EXIT_USAGE;
      ctx.io.stderr(`tou: ${oneLine(e.message)}${secretHint(e)}\n`);
      return EXIT_USAGE;
    }
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    ctx.io.stderr(`tou: ${message}\n`);
    return isUsageError(e) ? EXIT_USAGE : EXIT_FAILURE;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
