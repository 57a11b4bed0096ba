/**
 * `tou lab`: watch TCP at work, one scripted scenario at a time, on the
 * simulator (virtual time: TIME_WAIT's 60 s take no time at all).
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { findScenario, formatReport, runScenario, SCENARIOS } from "../src/lab/mod.ts";
import { type CliContext, configureCommand, EXIT_OK, EXIT_USAGE } from "./_common.ts";

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
    .addHelpText("after", `\nScenarios:\n${listing()}\n\nExample:\n  tou lab time-wait`)
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
      const reports = chosen.map((s) => runScenario(s!));
      if (opts.json) {
        ctx.io.stdout(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) + "\n");
      } else ctx.io.stdout(reports.map(formatReport).join("\n\n") + "\n");
      ctx.exitCode = EXIT_OK;
    });
  return configureCommand(cmd, ctx) as unknown as Command<[], Record<string, unknown>>;
}
