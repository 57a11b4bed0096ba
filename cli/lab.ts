/**
 * `tou lab`: watch TCP at work, one scripted scenario at a time, on the
 * simulator (virtual time: TIME_WAIT's 60 s take no time at all).
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import {
  findScenario,
  formatReport,
  type LabWorldOptions,
  runScenario,
  SCENARIOS,
} from "../src/lab/mod.ts";
import { ConfigError } from "../src/tunnel/config.ts";
import { openPcapFile } from "../src/udp/pcap_socket.ts";
import { labFigure } from "../src/lab/figure.ts";
import { type CliContext, configureCommand, EXIT_OK, EXIT_USAGE } from "./_common.ts";

/** A number flag within [min, max], or a usage error naming the flag. */
function numberFlag(name: string, text: string | undefined, min: number, max: number, int = false) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))
  ) {
    throw new ConfigError(
      `--${name}: must be ${int ? "an integer" : "a number"} from ${min} to ${max}, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return n;
}

function listing(): string {
  const w = Math.max(...SCENARIOS.map((s) => s.name.length));
  return SCENARIOS.map((s) => `  ${s.name.padEnd(w)}  ${s.title}`).join("\n");
}

/**
 * Builds the `lab` command.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function labCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("lab")
    .summary("watch TCP states and segments in scripted scenarios (simulated, virtual time)")
    .description(
      "Run a scripted scenario with tou's own TCP stack on a simulated network in virtual time " +
        "and print every segment (tcpdump style) and every state change, then what the run " +
        "measured. Without a scenario, list them (with --json, as a JSON array of {name, title}).",
    )
    .argument("[scenario]", 'a scenario name, or "all"')
    .option("--json", "print the reports as JSON")
    .option("--loss <p>", "probability that the network loses a datagram, 0..1 (default: 0)")
    .option("--delay <ms>", "one-way delay of every link in ms (default: 10)")
    .option(
      "--reorder <p>",
      "probability that a datagram is held back by 2·delay, 0..1 (default: 0)",
    )
    .option("--seed <n>", "seed of the simulated network (default: 1); same seed, same run")
    .option(
      "--pcap <file>",
      "write the segments the client host sends (lost ones too) and receives to this pcap file",
    )
    .option(
      "--trace",
      "also show each connection's trace events: timers armed, stopped and fired, " +
        "retransmissions, cwnd and window changes",
    )
    .option(
      "--svg <file>",
      "draw the run: ladder diagram and RFC 9293 state diagram (one scenario)",
    )
    .addHelpText(
      "after",
      `\nScenarios:\n${listing()}\n\nExamples:\n  tou lab time-wait\n` +
        "  tou lab retransmission --loss 0.1 --seed 7 --pcap lab.pcap   # then: wireshark lab.pcap\n" +
        "  tou lab retransmission --trace   # timers, retransmissions, cwnd on the timeline",
    )
    .action((name, opts) => {
      if (name === undefined && opts.json) {
        const list = SCENARIOS.map((s) => ({ name: s.name, title: s.title }));
        ctx.io.stdout(JSON.stringify(list, null, 2) + "\n");
        ctx.exitCode = EXIT_OK;
        return;
      }
      if (name === undefined) {
        ctx.io.stdout(
          `Scenarios (run one with: tou lab <scenario>, or tou lab all):\n${listing()}\n`,
        );
        ctx.exitCode = EXIT_OK;
        return;
      }
      const chosen = name === "all" ? SCENARIOS : [findScenario(name)];
      if (chosen[0] === undefined) {
        ctx.io.stderr(
          `tou: unknown lab scenario "${name}"; one of: ${
            SCENARIOS.map((s) => s.name).join(", ")
          }\n`,
        );
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      const world: LabWorldOptions = {
        loss: numberFlag("loss", opts.loss, 0, 1),
        delay: numberFlag("delay", opts.delay, 0, 60_000),
        reorder: numberFlag("reorder", opts.reorder, 0, 1),
        seed: numberFlag("seed", opts.seed, 0, 2 ** 32 - 1, true),
        trace: opts.trace === true,
      };
      const pcap = opts.pcap === undefined ? undefined : openPcapFile(opts.pcap);
      let reports;
      try {
        reports = chosen.map((s) => {
          try {
            return runScenario(s!, { ...world, pcap });
          } catch (e) {
            // A script can give up under heavy --loss (e.g. a handshake that never completes).
            throw new Error(`scenario ${s!.name} did not finish: ${(e as Error).message}`);
          }
        });
      } finally {
        pcap?.close();
      }
      if (opts.svg !== undefined) {
        if (reports.length !== 1) throw new ConfigError("--svg: give one scenario, not all");
        Deno.writeTextFileSync(opts.svg, labFigure(reports[0]));
      }
      if (opts.json) {
        ctx.io.stdout(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) + "\n");
      } else ctx.io.stdout(reports.map(formatReport).join("\n\n") + "\n");
      ctx.exitCode = EXIT_OK;
    });
  return configureCommand(cmd, ctx) as unknown as Command<[], Record<string, unknown>>;
}
