/**
 * The registry that picks a congestion-control algorithm by name
 * (`TcpConfig.congestionControl`). Kept apart from the interface
 * (`congestion_controller.ts`) so that algorithms import the interface and
 * only this file imports the algorithms: no import cycle.
 *
 * @module
 */

import type {
  CongestionController,
  CongestionFactory,
  CongestionOptions,
} from "./congestion_controller.ts";
import { Bbr } from "./bbr.ts";
import { Cubic } from "./cubic.ts";
import { NewReno } from "./new_reno.ts";
import { NoCongestionControl } from "./none.ts";

const registry = new Map<string, CongestionFactory>([
  ["bbr", (o) => new Bbr(o)],
  ["cubic", (o) => new Cubic(o)],
  ["newreno", (o) => new NewReno(o)],
  ["none", (o) => new NoCongestionControl(o)],
]);

/**
 * Adds (or replaces) an algorithm under `name`, so later algorithms plug in.
 *
 * @param name The name `createController` accepts.
 * @param factory Makes a fresh controller.
 */
export function registerController(name: string, factory: CongestionFactory): void {
  registry.set(name, factory);
}

/** Names of the registered algorithms, sorted. */
export function knownControllers(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Creates the congestion controller registered under `name`.
 *
 * @param name Algorithm name: "bbr", "cubic", "newreno", "none", or one added by `registerController`.
 * @param options Sender MSS and initial window in segments.
 * @returns A fresh controller.
 * @throws {Error} When `name` is not registered; the message lists the known names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createController } from "./registry.ts";
 *
 * const cc = createController("newreno", { mss: 1000, initialCwnd: 10 });
 * assert.equal(cc.cwnd, 10_000);
 * assert.equal(cc.ssthresh, Infinity);
 * assert.throws(() => createController("vegas", { mss: 1000, initialCwnd: 10 }), /newreno/);
 * ```
 */
export function createController(
  name: string,
  options: CongestionOptions,
): CongestionController {
  const factory = registry.get(name);
  if (factory === undefined) {
    throw new Error(
      `Unknown congestion control "${name}": known are ${knownControllers().join(", ")}`,
    );
  }
  return factory(options);
}
