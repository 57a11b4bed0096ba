/**
 * `tou keygen`: make a new pre-shared key.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { newKeyText } from "../src/tunnel/key_file.ts";
import { type CliContext, configureCommand, EXIT_FAILURE, EXIT_OK } from "./_common.ts";

/**
 * Builds the `keygen` command.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function keygenCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("keygen")
    .summary("make a new pre-shared key")
    .description(
      "Print a new random pre-shared key (32 bytes, hex), or write it to a file readable only " +
        "by you. Give the same key to the server and the client (--key-file or TOU_KEY).",
    )
    .option("--out <path>", "write the key to this new file (mode 0600) instead of stdout")
    .addHelpText(
      "after",
      "\nExample:\n  tou keygen --out tou.key\n\n" +
        "Exit status: 0 success, 1 the file cannot be written (or exists), 2 usage error.",
    )
    .action(async (opts) => {
      const key = newKeyText();
      if (opts.out === undefined) {
        ctx.io.stdout(key);
        ctx.exitCode = EXIT_OK;
        return;
      }
      try {
        await Deno.writeTextFile(opts.out, key, { createNew: true, mode: 0o600 });
      } catch (e) {
        const why = e instanceof Deno.errors.AlreadyExists
          ? "file exists (not overwriting a key)"
          : e instanceof Deno.errors.NotFound
          ? "no such directory"
          : e instanceof Deno.errors.PermissionDenied
          ? "permission denied"
          : e instanceof Deno.errors.IsADirectory
          ? "is a directory"
          : e instanceof Error
          ? e.message.split("\n")[0].replace(/ \(os error \d+\).*$/, "")
          : String(e);
        ctx.io.stderr(`tou: cannot write ${opts.out}: ${why}\n`);
        ctx.exitCode = EXIT_FAILURE;
        return;
      }
      ctx.io.stderr(`wrote a new key to ${opts.out}\n`);
      ctx.exitCode = EXIT_OK;
    });
  return configureCommand(cmd, ctx) as unknown as Command<[], Record<string, unknown>>;
}
