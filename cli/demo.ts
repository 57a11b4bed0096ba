/**
 * `tou demo`: server, client and a TCP echo service on loopback in one process.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { ConfigError } from "../src/tunnel/config.ts";
import { runDemo } from "../src/tunnel/demo.ts";
import { type CliContext, configureCommand, EXIT_FAILURE, EXIT_OK } from "./_common.ts";

/**
 * Builds the `demo` command.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function demoCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("demo")
    .summary("push data through server, client and an echo service on loopback")
    .description(
      "Run a tunnel server, a tunnel client and a TCP echo service on loopback in this process, " +
        "push data through them and print what happened: bytes, time, throughput, RTT, " +
        "retransmissions and the handshake and close segments.",
    )
    .option("--mib <n>", "MiB to push through the tunnel and back (default: 20)")
    .option("--plaintext", "do not seal datagrams with a (random) key")
    .option("--pcap <file>", "write the client's TCP segments (plaintext) to this pcap file")
    .addHelpText(
      "after",
      "\nExit status: 0 the echo came back intact, 1 it did not, 2 usage error.",
    )
    .action(async (opts) => {
      const mib = opts.mib === undefined ? 20 : Number(opts.mib);
      if (!/^[0-9]+(\.[0-9]+)?$/.test(opts.mib ?? "20") || !(mib > 0) || mib > 4096) {
        throw new ConfigError(
          `--mib: must be a number of MiB above 0 and at most 4096, got ${
            JSON.stringify(opts.mib)
          }`,
        );
      }
      const r = await runDemo({
        bytes: Math.round(mib * 1024 * 1024),
        encrypt: !opts.plaintext,
        pcap: opts.pcap,
        print: (l) => ctx.io.stdout(l + "\n"),
      });
      ctx.exitCode = r.sha256Equal ? EXIT_OK : EXIT_FAILURE;
    });
  return configureCommand(cmd, ctx) as unknown as Command<[], Record<string, unknown>>;
}
