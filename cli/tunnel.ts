/**
 * `tou tunnel server|client`: the same commands under the name the
 * `deno task tunnel` task uses.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { type CliContext, configureCommand } from "./_common.ts";
import { clientCommand } from "./client.ts";
import { serverCommand } from "./server.ts";

/**
 * Builds the `tunnel` command group.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function tunnelCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("tunnel")
    .summary("the same server and client commands: tou tunnel server|client")
    .description(
      "Same as `tou server` and `tou client` (used by `deno task tunnel server|client`).",
    )
    .addCommand(serverCommand(ctx))
    .addCommand(clientCommand(ctx))
    .addHelpText(
      "after",
      "\nExample:\n  deno task tunnel server --forward 22=127.0.0.1:22 --key-file tou.key\n\n" +
        "Exit status: 0 success, 1 runtime failure, 2 usage error.",
    );
  return configureCommand(cmd, ctx) as unknown as Command<[], Record<string, unknown>>;
}
