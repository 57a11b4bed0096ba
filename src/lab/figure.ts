/**
 * A lab run as a picture: the ladder diagram of its segments and state
 * changes next to the RFC 9293 state diagram with each connection's path
 * highlighted (`tou lab SCENARIO --svg FILE`).
 *
 * @module
 */

import { renderLadder } from "../viz/ladder.ts";
import { renderStateDiagram, type StatePath } from "../viz/state_diagram.ts";
import { sideBySide } from "../viz/svg.ts";
import type { LabReport } from "./scenario.ts";

/**
 * The state paths of a report: one per host and connection, in order of
 * first appearance (at most five, the diagram's colours).
 */
export function labStatePaths(report: Pick<LabReport, "states">): StatePath[] {
  const paths = new Map<string, [string, string][]>();
  for (const s of report.states) {
    const key = `${s.who} ${s.conn}`;
    const p = paths.get(key) ?? [];
    p.push([s.from, s.to]);
    paths.set(key, p);
  }
  return [...paths].slice(0, 5).map(([who, transitions]) => ({ who, transitions }));
}

/**
 * Renders a lab report: ladder diagram, then the state diagram.
 *
 * @param report A report of `runScenario`.
 * @returns One SVG document.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findScenario, runScenario } from "./mod.ts";
 * import { labFigure } from "./figure.ts";
 * const svg = labFigure(runScenario(findScenario("handshake")!));
 * assert.ok(svg.includes("SYN, ACK seq=5000 ack=1001"));
 * ```
 */
export function labFigure(report: LabReport): string {
  const ladder = renderLadder({
    title: `tou lab ${report.name}`,
    segments: report.segments,
    states: report.states.map((s) => ({ time: s.time, who: s.who, to: s.to })),
  });
  return sideBySide([ladder, renderStateDiagram(labStatePaths(report))], 30);
}
