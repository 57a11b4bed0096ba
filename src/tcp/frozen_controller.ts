/**
 * The congestion controller of a connection that sends nothing more (our
 * FIN acknowledged: FIN_WAIT_2, TIME_WAIT, CLOSED): the final window as
 * numbers for `info()`, and no algorithm state. A tunnel server holds tens of
 * thousands of short connections in TIME_WAIT for 2·MSL, and BBR's state is
 * about 1 KiB of heap each (bench/heap_per_conn.ts).
 *
 * @module
 */

import type {
  AckSample,
  CongestionController,
  CongestionEvent,
} from "./congestion/congestion_controller.ts";
import type { Instant } from "../time.ts";

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
export class FrozenController implements CongestionController {
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
    this.name = from.name;
    this.cwnd = from.cwnd;
    this.ssthresh = from.ssthresh;
  }

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
