/**
 * The event half of a controller that reacts to nothing: shared by "none"
 * (no congestion control) and by the frozen controller of a connection that
 * sends nothing more (`../frozen_controller.ts`).
 *
 * @module
 */

import type { Instant } from "../../time.ts";
import type { AckSample, CongestionController, CongestionEvent } from "./congestion_controller.ts";

/**
 * Ignores every event and leaves the pacing rate to the sender; a subclass
 * gives the window (`name`, `cwnd`, `ssthresh`, `usesPrr`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InertController } from "./inert_controller.ts";
 *
 * class Fixed extends InertController {
 *   readonly name = "fixed";
 *   readonly cwnd = 10_000;
 *   readonly ssthresh = Infinity;
 *   readonly usesPrr = false;
 * }
 * const cc = new Fixed();
 * cc.onRto(0, 5000);
 * assert.equal(cc.cwnd, 10_000);
 * assert.equal(cc.pacingRate(50), -1);
 * ```
 */
export abstract class InertController implements CongestionController {
  /** Registry name. */
  abstract readonly name: string;
  /** Congestion window (bytes). */
  abstract readonly cwnd: number;
  /** Slow-start threshold (bytes). */
  abstract readonly ssthresh: number;
  /** Whether PRR sizes recovery. */
  abstract readonly usesPrr: boolean;

  /** -1: the sender's default. */
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
