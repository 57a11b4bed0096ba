/**
 * `tou client`: carry local TCP connections to the server's service ports.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { DEFAULT_DRAIN_TIMEOUT_S } from "../src/tunnel/config.ts";
import {
  addKnobFlags,
  type CliContext,
  collect,
  configureCommand,
  FOOTER,
  numberOrText,
  OPTION_HELP,
} from "./_common.ts";
import { runDaemon } from "./_daemon.ts";

/**
 * Builds the `client` command.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function clientCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("client")
    .summary("carry local TCP connections to the server's service ports")
    .description(
      "Accept TCP connections on local addresses and carry each over its own tunnel connection " +
        "(with --mux: as a stream of one shared tunnel connection) to a service port of the " +
        "server. Half-close and reset propagate both ways.",
    )
    .option("--server <addr>", "the tou server's UDP address, host:port")
    .option(
      "--local <spec>",
      "local listener [HOST:]PORT=TUNNELPORT, e.g. 127.0.0.1:2222=22 (repeatable)",
      collect,
    )
    .option("--key-file <path>", OPTION_HELP.keyFile)
    .option("--allow-readable-key-file", OPTION_HELP.allowReadableKeyFile)
    .option("--plaintext", OPTION_HELP.plaintext)
    .option("--cipher <name>", OPTION_HELP.cipher)
    .option("--config <file>", OPTION_HELP.config)
    .option("--control <addr>", OPTION_HELP.control)
    .option(
      "--drain-timeout <seconds>",
      `${OPTION_HELP.drainTimeout} (default: ${DEFAULT_DRAIN_TIMEOUT_S})`,
      numberOrText,
    )
    .option("--keepalive <seconds>", OPTION_HELP.keepalive, numberOrText)
    .option("--user-timeout <seconds>", OPTION_HELP.userTimeout, numberOrText)
    .option("--idle-timeout <seconds>", OPTION_HELP.idleTimeout, numberOrText)
    .option("--memory-budget <MiB>", OPTION_HELP.memoryBudget, numberOrText)
    .option("--connect-timeout <seconds>", OPTION_HELP.connectTimeout, numberOrText)
    .option("--mux", OPTION_HELP.mux)
    .option("--congestion <name>", OPTION_HELP.congestion)
    .option("--log-level <level>", OPTION_HELP.logLevel)
    .option("--log-format <format>", OPTION_HELP.logFormat)
    .option("--pcap <file>", OPTION_HELP.pcap)
    .addHelpText(
      "after",
      `
Example:
  tou client --server 203.0.113.5:7000 --local 127.0.0.1:2222=22 --key-file tou.key
  ssh -p 2222 user@127.0.0.1
${FOOTER}`,
    )
    .action(async (opts) => {
      await runDaemon(ctx, "client", opts);
    });
  return configureCommand(addKnobFlags(cmd), ctx) as unknown as Command<
    [],
    Record<string, unknown>
  >;
}
