/**
 * No congestion control: an unbounded window, for tests that isolate flow
 * control or loss recovery from congestion control.
 *
 * @module
 */

import type { Instant } from "../../time.ts";
import type {
  AckSample,
  CongestionController,
  CongestionEvent,
  CongestionOptions,
} from "./congestion_controller.ts";

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
  /** No PRR: the window stays unbounded during recovery. */
  readonly usesPrr: boolean = false;

  /** @param _options Ignored. */
  constructor(_options?: CongestionOptions) {}

  /** -1: the sender's default (Infinity with an infinite window). */
  pacingRate(_srtt: number): number {
    return -1;
  }
  /** Ignored. */
  onAck(_now: Instant, _sample: AckSample): void {}
  /** Ignored. */
  onCongestionEvent(_now: Instant, _event: CongestionEvent): void {}
  /** Ignored. */
  onRecoveryExit(_now: Instant, _inFlight: number): void {}
  /** Ignored. */
  onRto(_now: Instant, _inFlight: number): void {}
  /** Ignored. */
  onSpuriousCongestion(_now: Instant): void {}
  /** Ignored. */
  setMss(_mss: number): void {}
}
