/**
 * The congestion controller of a connection that sends nothing more (our
 * FIN acknowledged: FIN_WAIT_2, TIME_WAIT, CLOSED): the final window as
 * numbers for `info()`, and no algorithm state. A tunnel server holds tens of
 * thousands of short connections in TIME_WAIT for 2·MSL, and BBR's state is
 * about 1 KiB of heap each (bench/heap_per_conn.ts).
 *
 * @module
 */

import type { CongestionController } from "./congestion/congestion_controller.ts";
import { InertController } from "./congestion/inert_controller.ts";

/**
 * A controller frozen at its last window: every event is ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FrozenController } from "./frozen_controller.ts";
 * import { createController } from "./congestion/registry.ts";
 *
 * const bbr = createController("bbr", { mss: 1000, initialCwnd: 10 });
 * const frozen = new FrozenController(bbr);
 * assert.deepEqual([frozen.name, frozen.cwnd], ["bbr", bbr.cwnd]);
 * frozen.onRto(0, 5000);
 * assert.equal(frozen.cwnd, bbr.cwnd);
 * ```
 */
export class FrozenController extends InertController {
  /** The algorithm it was. */
  readonly name: string;
  /** Its last congestion window (bytes). */
  readonly cwnd: number;
  /** Its last slow-start threshold (bytes). */
  readonly ssthresh: number;
  /** No PRR: nothing is sent. */
  readonly usesPrr: boolean = false;

  /** @param from The controller to freeze. */
  constructor(from: CongestionController) {
    super();
    this.name = from.name;
    this.cwnd = from.cwnd;
    this.ssthresh = from.ssthresh;
  }
}
