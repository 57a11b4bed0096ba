/**
 * No congestion control: an unbounded window, for tests that isolate flow
 * control or loss recovery from congestion control.
 *
 * @module
 */

import type { Instant } from "../../time.ts";
import type { CongestionController, ControllerOptions } from "./controller.ts";

/**
 * A controller whose window is always `Infinity` and which ignores every event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NoCongestionControl } from "./none.ts";
 *
 * const cc = new NoCongestionControl({ mss: 1000, initialCwnd: 10 });
 * cc.onRto(0, 50_000);
 * assert.equal(cc.cwnd, Infinity);
 * ```
 */
export class NoCongestionControl implements CongestionController {
  /** Registry name. */
  readonly name: string = "none";
  /** Always `Infinity`. */
  readonly cwnd: number = Infinity;
  /** Always `Infinity`. */
  readonly ssthresh: number = Infinity;

  /** @param _options Ignored. */
  constructor(_options?: ControllerOptions) {}

  /** Ignored. */
  onAck(_now: Instant, _ackedBytes: number, _flightSize: number): void {}
  /** Ignored. */
  onFastRetransmit(_now: Instant, _flightSize: number): void {}
  /** Ignored. */
  onRecoveryDupAck(_now: Instant): void {}
  /** Ignored. */
  onPartialAck(_now: Instant, _ackedBytes: number): void {}
  /** Ignored. */
  onRecoveryExit(_now: Instant, _flightSize: number): void {}
  /** Ignored. */
  onRto(_now: Instant, _flightSize: number): void {}
  /** Ignored. */
  setMss(_mss: number): void {}
}
