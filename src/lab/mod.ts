/**
 * `tou lab`: scripted TCP and UDP situations from the seeds (handshake,
 * close, TIME_WAIT, backlog, SYN flood, half-close, SO_REUSEADDR,
 * keepalive, connected UDP, ...) run by tou's own stack on the simulator in
 * virtual time, printing every segment and state change.
 *
 * @example Run one scenario and read its findings
 * ```ts
 * import assert from "node:assert/strict";
 * import { findScenario, runScenario } from "./mod.ts";
 * const report = runScenario(findScenario("close")!);
 * assert.ok(report.timeline.some((l) => l.includes("FIN_WAIT_2 → TIME_WAIT")));
 * ```
 *
 * @module
 */

import type { LabScenario } from "./scenario.ts";
import { handshake, refused, simultaneousOpen, synRetries } from "./scenarios_open.ts";
import { close, halfClose, reuseAddr, simultaneousClose, timeWait } from "./scenarios_close.ts";
import { backlog, synFlood } from "./scenarios_queues.ts";
import { keepalive, resets, retransmission, zeroWindow } from "./scenarios_flow.ts";
import { udpConnect } from "./scenarios_udp.ts";
import { isn, oldDuplicate, selfConnect, shortTimeWait } from "./scenarios_why.ts";
import { orphanRetries, twReuse } from "./scenarios_knobs.ts";

export { formatReport, runScenario } from "./scenario.ts";
export type { LabReport, LabScenario } from "./scenario.ts";
export { LabWorld } from "./world.ts";
export type { LabLine, LabLineKind, LabSegment, LabStateChange, LabWorldOptions } from "./world.ts";

/** Every scenario, in the order a course on TCP would take them. */
export const SCENARIOS: readonly LabScenario[] = [
  handshake,
  isn,
  simultaneousOpen,
  selfConnect,
  synRetries,
  refused,
  close,
  simultaneousClose,
  halfClose,
  timeWait,
  shortTimeWait,
  oldDuplicate,
  reuseAddr,
  twReuse,
  orphanRetries,
  backlog,
  synFlood,
  retransmission,
  zeroWindow,
  keepalive,
  resets,
  udpConnect,
];

/**
 * The scenario called `name`, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findScenario } from "./mod.ts";
 * assert.equal(findScenario("backlog")?.name, "backlog");
 * assert.equal(findScenario("nope"), undefined);
 * ```
 */
export function findScenario(name: string): LabScenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
