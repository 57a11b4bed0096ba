/**
 * The congestion-control interface and the registry that picks an algorithm
 * by name (`TcpConfig.congestionControl`).
 *
 * The connection keeps the loss-recovery state (recovery point, duplicate-ACK
 * count, RFC 6582) and calls these hooks; an algorithm only does window math.
 *
 * @module
 */

import type { Instant } from "../../time.ts";
import { NewReno } from "./new_reno.ts";
import { NoCongestionControl } from "./none.ts";

/** Options every algorithm is created with. */
export interface ControllerOptions {
  /** Sender maximum segment size (SMSS) in bytes. */
  readonly mss: number;
  /** Initial window in segments (RFC 6928; `TcpConfig.initialCwnd`). */
  readonly initialCwnd: number;
}

/**
 * A congestion-control algorithm. Sizes are bytes; every hook takes `now`.
 * `flightSize` is the data outstanding (SND.NXT - SND.UNA, RFC 5681 §2)
 * when the event happens.
 */
export interface CongestionController {
  /** Registry name, e.g. "newreno". */
  readonly name: string;
  /** Congestion window in bytes. */
  readonly cwnd: number;
  /** Slow-start threshold in bytes (Infinity until the first loss). */
  readonly ssthresh: number;
  /** New data acknowledged outside loss recovery. */
  onAck(now: Instant, ackedBytes: number, flightSize: number): void;
  /** Third duplicate ACK: fast retransmit and entry into fast recovery. */
  onFastRetransmit(now: Instant, flightSize: number): void;
  /** Another duplicate ACK during fast recovery. */
  onRecoveryDupAck(now: Instant): void;
  /** An ACK during fast recovery that acknowledges new data but not the recovery point. */
  onPartialAck(now: Instant, ackedBytes: number): void;
  /** An ACK that acknowledges the recovery point: fast recovery ends. */
  onRecoveryExit(now: Instant, flightSize: number): void;
  /** The retransmission timer expired. */
  onRto(now: Instant, flightSize: number): void;
  /** The sender MSS changed (e.g. after the handshake or PMTU). */
  setMss(mss: number): void;
}

/** Makes a controller. */
export type ControllerFactory = (options: ControllerOptions) => CongestionController;

const registry = new Map<string, ControllerFactory>([
  ["newreno", (o) => new NewReno(o)],
  ["none", (o) => new NoCongestionControl(o)],
]);

/**
 * Adds (or replaces) an algorithm under `name`, so later algorithms plug in.
 *
 * @param name The name `createController` accepts.
 * @param factory Makes a fresh controller.
 */
export function registerController(name: string, factory: ControllerFactory): void {
  registry.set(name, factory);
}

/** Names of the registered algorithms, sorted. */
export function knownControllers(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Creates the congestion controller registered under `name`.
 *
 * @param name Algorithm name: "newreno", "none", or one added by `registerController`.
 * @param options Sender MSS and initial window in segments.
 * @returns A fresh controller.
 * @throws {Error} When `name` is not registered; the message lists the known names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createController } from "./controller.ts";
 *
 * const cc = createController("newreno", { mss: 1000, initialCwnd: 10 });
 * assert.equal(cc.cwnd, 10_000);
 * assert.equal(cc.ssthresh, Infinity);
 * assert.throws(() => createController("vegas", { mss: 1000, initialCwnd: 10 }), /newreno/);
 * ```
 */
export function createController(
  name: string,
  options: ControllerOptions,
): CongestionController {
  const factory = registry.get(name);
  if (factory === undefined) {
    throw new Error(
      `Unknown congestion control "${name}": known are ${knownControllers().join(", ")}`,
    );
  }
  return factory(options);
}
