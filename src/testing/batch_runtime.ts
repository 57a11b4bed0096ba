/**
 * Receive batches on virtual time: a {@linkcode Runtime} over a
 * {@linkcode VirtualClock} that can `defer`, as the real runtime does with
 * `setImmediate` after its receive loop. Datagrams that arrive at the same
 * virtual instant are one batch: the stack handles each, and the drains it
 * deferred (end-of-batch ACK coalescing) run once they all have.
 *
 * @module
 */

import type { VirtualClock } from "../sim/virtual_clock.ts";
import type { Runtime } from "../stack/runtime.ts";

/**
 * The clock as a runtime with `defer`: a deferred callback runs at the same
 * virtual instant, after every event already queued for it (the datagrams of
 * the batch), like `setImmediate` after a receive batch in `RealRuntime`.
 * Datagrams scheduled for that instant later (answers on a zero-delay
 * link) form the next batch.
 *
 * @param clock The virtual clock.
 * @returns A runtime for a `Stack` (or an endpoint) on that clock.
 *
 * @example Three segments at one instant, one cumulative ACK
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestbed } from "./testbed.ts";
 * const tb = createTestbed({ batch: true, tcp: { timestamps: false, sack: false } });
 * const l = tb.stack.listen(80);
 * const peer = tb.rawPeer({ targetPort: 80 });
 * tb.setNextIsn(1000);
 * peer.send({ flags: "S", seq: 0 });
 * peer.next();
 * peer.send({ flags: ".", seq: 1, ack: 1001 });
 * l.accept();
 * peer.send([1, 1401, 2801].map((seq) => ({ flags: ".", seq, ack: 1001, payload: new Uint8Array(1400) })));
 * assert.deepEqual(peer.take().map((r) => r.segment.ack), [4201]);
 * tb.close();
 * ```
 */
export function batchRuntime(clock: VirtualClock): Runtime {
  return {
    now: () => clock.now(),
    schedule: (at, fn) => clock.schedule(at, fn),
    cancel: (id) => clock.cancel(id),
    randomBytes: (buf) => clock.randomBytes(buf),
    defer: (fn) => void clock.schedule(clock.now(), fn),
  };
}
