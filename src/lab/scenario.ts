/**
 * A lab scenario: a scripted TCP (or UDP) situation from the seeds, run on
 * the simulator in virtual time, that prints every segment and state change
 * and ends with findings the run itself measured.
 *
 * @module
 */

import { type LabSegment, type LabStateChange, LabWorld, type LabWorldOptions } from "./world.ts";

/** One scenario of `tou lab`. */
export interface LabScenario {
  /** Name on the command line, e.g. "handshake". */
  readonly name: string;
  /** One-line title. */
  readonly title: string;
  /** What to watch for, one sentence per line. */
  readonly watch: readonly string[];
  /**
   * Scripts the scenario on `world` and returns its findings: facts read off
   * the run (states reached, times, counters), one per line.
   */
  run(world: LabWorld): string[];
}

/** The outcome of one scenario run. */
export interface LabReport {
  /** Scenario name. */
  readonly name: string;
  /** Title. */
  readonly title: string;
  /** What to watch for. */
  readonly watch: readonly string[];
  /** The rendered timeline. */
  readonly timeline: readonly string[];
  /** Findings measured by the run. */
  readonly findings: readonly string[];
  /** Every segment sent (with when it arrived, or why it was lost), for diagrams. */
  readonly segments: readonly LabSegment[];
  /** Every state change, for diagrams. */
  readonly states: readonly LabStateChange[];
}

/**
 * Runs a scenario on a fresh world and collects its report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runScenario } from "./scenario.ts";
 * const r = runScenario({
 *   name: "nothing", title: "Nothing happens", watch: [],
 *   run: (w) => { w.note("quiet"); return ["ok"]; },
 * });
 * assert.deepEqual(r.findings, ["ok"]);
 * assert.equal(r.timeline.length, 1);
 * ```
 */
export function runScenario(scenario: LabScenario, opts: LabWorldOptions = {}): LabReport {
  const world = new LabWorld({ ...opts, seed: opts.seed ?? 1 });
  try {
    const findings = scenario.run(world);
    return {
      name: scenario.name,
      title: scenario.title,
      watch: scenario.watch,
      timeline: world.render(),
      findings,
      // Copies: closing the world below may still add segments (resets).
      segments: world.segments.map((x) => ({ ...x })),
      states: [...world.states],
    };
  } finally {
    world.close();
  }
}

/**
 * Formats a report for a terminal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatReport } from "./scenario.ts";
 * const text = formatReport({
 *   name: "x", title: "X", watch: ["w"], timeline: ["t"], findings: ["f"], segments: [], states: [],
 * });
 * assert.ok(text.includes("What happened"));
 * ```
 */
export function formatReport(r: LabReport): string {
  const out = [`tou lab ${r.name}: ${r.title}`, ""];
  if (r.watch.length) {
    out.push("Watch for:");
    for (const w of r.watch) out.push(`  - ${w}`);
    out.push("");
  }
  out.push(
    "Timeline (virtual time; ──► a segment sent, ✗ one lost; states as RFC 9293 names them):",
  );
  out.push(...r.timeline.map((l) => "  " + l), "");
  out.push("What happened:");
  for (const f of r.findings) out.push(`  - ${f}`);
  return out.join("\n");
}
