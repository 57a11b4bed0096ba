/**
 * No congestion control: an unbounded window, for tests that isolate flow
 * control or loss recovery from congestion control.
 *
 * @module
 */

import type { CongestionOptions } from "./congestion_controller.ts";
import { InertController } from "./inert_controller.ts";

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
export class NoCongestionControl extends InertController {
  /** Registry name. */
  readonly name: string = "none";
  /** Always `Infinity`. */
  readonly cwnd: number = Infinity;
  /** Always `Infinity`. */
  readonly ssthresh: number = Infinity;
  /** No PRR: the window stays unbounded during recovery. */
  readonly usesPrr: boolean = false;

  /** @param _options Ignored. */
  constructor(_options?: CongestionOptions) {
    super();
  }
}
