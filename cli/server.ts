/**
 * `tou server`: listen on UDP and forward each service port to its TCP target.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { DEFAULT_DRAIN_TIMEOUT_S, DEFAULT_LISTEN } from "../src/tunnel/config.ts";
import {
  addKnobFlags,
  type CliContext,
  collect,
  configFromFlags,
  configureCommand,
  FOOTER,
  numberOrText,
  OPTION_HELP,
} from "./_common.ts";
import { runDaemon } from "./_daemon.ts";
import { runWorkers } from "./_workers.ts";

/** `--workers` (or the config file's `workers`), validated; undefined: one process. */
async function workerCount(opts: Record<string, unknown>): Promise<number | undefined> {
  if (opts.workers === undefined && opts.config === undefined) return undefined;
  const { pcap: _pcap, ...flags } = opts;
  return (await configFromFlags(flags)).workers;
}

/**
 * Builds the `server` command.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function serverCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("server")
    .summary("forward tunnel service ports to TCP targets (listens on UDP)")
    .description(
      "Listen on UDP and forward each tunnel service port to one TCP target. Only the configured " +
        "targets are reachable: a connection to any other tunnel port is reset. Tunnel port 65535 " +
        "is reserved: multiplexed sessions (tou client --mux) connect to it and are always accepted.",
    )
    .option(
      "--listen <addr>",
      `UDP address to listen on, host:port or port (default: ${DEFAULT_LISTEN})`,
    )
    .option(
      "--forward <spec>",
      "service TUNNELPORT=HOST:PORT, e.g. 22=127.0.0.1:22 (repeatable)",
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
    .option("--max-sessions <n>", OPTION_HELP.maxSessions, numberOrText)
    .option("--max-sessions-per-client <n>", OPTION_HELP.maxSessionsPerClient, numberOrText)
    .option("--idle-timeout <seconds>", OPTION_HELP.idleTimeout, numberOrText)
    .option("--memory-budget <MiB>", OPTION_HELP.memoryBudget, numberOrText)
    .option("--congestion <name>", OPTION_HELP.congestion)
    .option("--log-level <level>", OPTION_HELP.logLevel)
    .option("--log-format <format>", OPTION_HELP.logFormat)
    .option("--pcap <file>", `${OPTION_HELP.pcap} (with --workers: FILE.0, FILE.1, ...)`)
    .option(
      "--workers <n>",
      "run N worker processes sharing the UDP port (SO_REUSEPORT; needs --allow-ffi on Linux); " +
        "SIGTERM drains them all, --control merges them; a worker that dies stops the server " +
        "(exit 1)",
      numberOrText,
    )
    .addHelpText(
      "after",
      `
Example:
  tou server --listen 0.0.0.0:7000 --forward 22=127.0.0.1:22 --key-file tou.key
${FOOTER}`,
    )
    .action(async (opts) => {
      const workers = await workerCount(opts);
      if (workers === undefined) await runDaemon(ctx, "server", opts);
      else await runWorkers(ctx, opts, workers);
    });
  return configureCommand(addKnobFlags(cmd), ctx) as unknown as Command<
    [],
    Record<string, unknown>
  >;
}
