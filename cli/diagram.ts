/**
 * `tou diagram`: draw a TCP conversation as an SVG ladder diagram next to
 * the RFC 9293 state diagram, from a pcap file (`--pcap` of any command, or
 * tcpdump's) or from a lab report (`tou lab SCENARIO --json`).
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { labFigure } from "../src/lab/figure.ts";
import type { LabReport } from "../src/lab/mod.ts";
import { ConfigError } from "../src/tunnel/config.ts";
import { ladderFromPcap } from "../src/viz/from_pcap.ts";
import { renderLadder } from "../src/viz/ladder.ts";
import { renderStateDiagram } from "../src/viz/state_diagram.ts";
import { sideBySide } from "../src/viz/svg.ts";
import { parsePcap } from "../src/wire/pcap.ts";
import { type CliContext, configureCommand, EXIT_OK } from "./_common.ts";

/**
 * The SVG of a capture or lab report file's bytes.
 *
 * @throws {ConfigError} When the file is neither a pcap nor a lab report.
 */
export function diagramOf(bytes: Uint8Array, name: string): string {
  if (parsePcap(bytes).ok) {
    const { ladder, paths } = ladderFromPcap(bytes);
    return sideBySide([renderLadder(ladder), renderStateDiagram(paths)], 30);
  }
  let report: unknown;
  try {
    report = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    report = undefined;
  }
  const reports = Array.isArray(report) ? report : [report];
  const r = reports[0] as Partial<LabReport> | undefined;
  if (!r || !Array.isArray(r.segments) || !Array.isArray(r.states)) {
    throw new ConfigError(
      `${name}: neither a pcap file nor a lab report (make one with: tou lab SCENARIO --json)`,
    );
  }
  return labFigure(r as LabReport);
}

/**
 * Builds the `diagram` command.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function diagramCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("diagram")
    .summary("draw a TCP conversation (pcap or lab report) as an SVG ladder diagram")
    .description(
      "Draw the first TCP connection of a pcap file (from --pcap, or tcpdump -w) or a lab report " +
        "(tou lab SCENARIO --json) as an SVG: one timeline per host, one arrow per segment with " +
        "its flags and seq/ack/len, the states along each timeline, lost segments as arrows that " +
        "stop short, and the RFC 9293 state diagram with the path each side took. States of a " +
        "capture are inferred from its segments.",
    )
    .argument("<file>", "a pcap file or a lab report (JSON)")
    .option("-o, --output <file>", "write the SVG here (default: standard output)")
    .addHelpText(
      "after",
      "\nExamples:\n  tou lab close --json > close.json && tou diagram close.json -o close.svg\n" +
        "  tou cat --listen 7000 --pcap cat.pcap; tou diagram cat.pcap -o cat.svg",
    )
    .action(async (file, opts) => {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(file);
      } catch (e) {
        throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
      }
      const svg = diagramOf(bytes, file);
      if (opts.output !== undefined) await Deno.writeTextFile(opts.output, svg);
      else ctx.io.stdout(svg);
      ctx.exitCode = EXIT_OK;
    });
  return configureCommand(cmd, ctx) as unknown as Command<[], Record<string, unknown>>;
}
