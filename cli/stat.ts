/**
 * `tou stat`: show the connections of a running server or client, like `ss -ti`.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { ConfigError } from "../src/tunnel/config.ts";
import { AddressError, isLoopback, parseHostPort } from "../src/tunnel/address.ts";
import { fetchStat, formatStatTable } from "../src/tunnel/stat.ts";
import { dashboardUrl } from "../src/tunnel/dashboard.ts";
import { type CliContext, configureCommand, EXIT_FAILURE, EXIT_OK } from "./_common.ts";

/**
 * Builds the `stat` command.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function statCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("stat")
    .summary("show the connections of a running server or client (like ss -ti)")
    .description(
      "Show the tunnel connections of a running `tou server` or `tou client` started with " +
        "--control: one row per connection (state, queues, addresses) and its RTT, cwnd and " +
        "retransmissions, like `ss -ti`; a multiplexed connection (`tou client --mux`) lists its " +
        "streams under it. With --web, print the URL of the live web dashboard " +
        "the control endpoint serves (connections with their state, live charts of throughput, " +
        "cwnd, RTT/RTO, bytes in flight and retransmissions).",
    )
    .requiredOption("--control <addr>", "the control address given to the server or client")
    .option("--json", "print the raw JSON snapshot")
    .option("--metrics", "print the Prometheus metrics text")
    .option("--web", "print the URL of the live web dashboard (open it in a browser)")
    .addHelpText(
      "after",
      `
Example:
  tou server --forward 22=127.0.0.1:22 --control 127.0.0.1:7001 &
  tou stat --control 7001
  tou stat --control 7001 --web     # http://127.0.0.1:7001/dashboard

Exit status: 0 success, 1 the control endpoint cannot be reached, 2 usage error.`,
    )
    .action(async (opts) => {
      if ([opts.json, opts.metrics, opts.web].filter(Boolean).length > 1) {
        throw new ConfigError("--json, --metrics and --web cannot be used together");
      }
      let addr;
      try {
        addr = parseHostPort(opts.control, { defaultHost: "127.0.0.1" });
      } catch (e) {
        if (e instanceof AddressError) throw new ConfigError(`--control: ${e.message}`);
        throw e;
      }
      if (!isLoopback(addr.hostname)) {
        throw new ConfigError(`--control: ${opts.control} is not a loopback address`);
      }
      try {
        if (opts.metrics) {
          ctx.io.stdout(await fetchStat(addr, "metrics"));
        } else if (opts.web) {
          await fetchStat(addr, "connections"); // it answers: the page is there
          ctx.io.stdout(dashboardUrl(addr) + "\n");
        } else {
          const snap = await fetchStat(addr, "connections");
          ctx.io.stdout(opts.json ? JSON.stringify(snap, null, 2) + "\n" : formatStatTable(snap));
        }
        ctx.exitCode = EXIT_OK;
      } catch (e) {
        ctx.io.stderr(`tou: ${e instanceof Error ? e.message : String(e)}\n`);
        ctx.exitCode = EXIT_FAILURE;
      }
    });
  return configureCommand(cmd, ctx) as unknown as Command<[], Record<string, unknown>>;
}
