/**
 * The tou test seam (exported as `@tou/tou/testing`): a stack on a simulated
 * network with a virtual clock, scripted raw peers that send hand-built
 * segments and record what the stack emits, and access to every
 * connection's state, including embryonic and orphaned ones.
 *
 * @example Script a handshake against a listener
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestbed } from "./mod.ts";
 * const tb = createTestbed({ tcp: { timestamps: false } });
 * const l = tb.stack.listen(80);
 * const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 80 });
 * tb.setNextIsn(1000);
 * peer.send({ flags: "S", seq: 0, options: { mss: 1400 } });
 * assert.equal(peer.next()?.text.startsWith("80 > 40000: Flags [S.], seq 1000, ack 1"), true);
 * peer.send({ flags: ".", seq: 1, ack: 1001 });
 * const conn = l.accept()!;
 * assert.equal(conn.state, "ESTABLISHED");
 * peer.send({ flags: "P.", seq: 1, ack: 1001, payload: "hi" });
 * assert.equal(new TextDecoder().decode(tb.app(conn).data), "hi");
 * tb.close();
 * ```
 *
 * @example Send times, state events and orphaned connections
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestbed } from "./mod.ts";
 * const tb = createTestbed({ tcp: { timestamps: false }, link: { delay: 10 } });
 * const l = tb.stack.listen(80);
 * const peer = tb.rawPeer({ targetPort: 80 });
 * tb.setNextIsn(1000);
 * peer.send({ flags: "S", seq: 0 });
 * tb.advance(20);
 * const synAck = peer.next()!;
 * assert.deepEqual([synAck.sentAt, synAck.time], [10, 20]); // sent on arrival of the SYN
 * peer.send({ flags: ".", seq: 1, ack: 1001 });
 * tb.advance(10);
 * const conn = l.accept()!;
 * conn.close(); // orphaned: the stack finishes the close
 * tb.advance(10);
 * peer.send({ flags: ".", seq: 1, ack: 1002 });
 * tb.advance(10);
 * assert.equal(tb.state(peer, 80, 40000), "FIN_WAIT_2");
 * assert.deepEqual(tb.stateEvents(conn).map((e) => e.to), [
 *   "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
 * ]);
 * assert.equal(tb.nextTimeout(), 50 + 60_000); // FIN_WAIT_2 since 50: tcp_fin_timeout
 * tb.close();
 * ```
 *
 * @module
 */

export { createTestbed, Testbed } from "./testbed.ts";
export type { AppView, TestbedOptions } from "./testbed.ts";
export { RawPeer } from "./raw_peer.ts";
export type { ReceivedSegment, UndecodableDatagram } from "./raw_peer.ts";
export { TestConn } from "./test_conn.ts";
export { batchRuntime } from "./batch_runtime.ts";
export { buildSegment, parseFlags } from "./segment_spec.ts";
export type { SegmentSpec } from "./segment_spec.ts";
export { formatSegment } from "../stack/trace.ts";
export type { StackTracer, StateEvent } from "../stack/trace.ts";
export type { IsnTuple, StackCounters, StackReconfigure } from "../stack/stack.ts";
export type { ListenerCounters } from "../stack/stack_listener.ts";
