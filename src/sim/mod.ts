/**
 * The deterministic network simulator: a virtual clock, seeded randomness,
 * impaired links and simulated UDP sockets with Linux connected-UDP rules.
 * Same seed and same inputs give the same trace, byte for byte.
 *
 * @example Two sockets over a lossy, delayed link
 * ```ts
 * import assert from "node:assert/strict";
 * import { SimNetwork, VirtualClock } from "./mod.ts";
 * const clock = new VirtualClock({ seed: 1 });
 * const net = new SimNetwork(clock, { seed: 1 });
 * net.setPath("10.0.0.1", "10.0.0.2", { delay: 10, loss: 0.5 });
 * const a = net.bind({ hostname: "10.0.0.1", port: 0 });
 * const b = net.bind({ hostname: "10.0.0.2", port: 9000 });
 * let received = 0;
 * b.setHandler(() => received++);
 * for (let i = 0; i < 100; i++) a.send(new Uint8Array([i]), b.localAddr);
 * clock.runUntilIdle();
 * const s = net.stats();
 * assert.equal(received + s.drops.loss, 100);
 * assert.equal(clock.now(), 10);
 * ```
 *
 * @module
 */

export type { Duration, Instant } from "../time.ts";
export type { Runtime, TimerId } from "../stack/runtime.ts";
export type {
  Datagram,
  DatagramAddr,
  DatagramErrorHandler,
  DatagramHandler,
  DatagramSocket,
  UnspecAddr,
} from "../udp/datagram_socket.ts";
export { EventQueue, type QueuedEvent } from "./event_queue.ts";
export {
  DEFAULT_REORDER_DELAY,
  type GilbertElliott,
  gilbertElliottLossRate,
  type JitterDistribution,
  Link,
  type LinkConfig,
  type LinkDropReason,
  type LinkSink,
  type Partition,
  validateLinkConfig,
} from "./link.ts";
export { deriveSeed, Prng } from "./prng.ts";
export { emptyStats, SimNetwork, type SimNetworkOptions, type SimStats } from "./sim_network.ts";
export {
  DEFAULT_RECV_QUEUE_LIMIT,
  type SimAdmission,
  type SimSocketHost,
  SimUdpSocket,
  type SimUdpSocketOptions,
} from "./sim_udp_socket.ts";
export {
  DEFAULT_TRACE_CAPACITY,
  DROP_REASONS,
  type DropReason,
  formatAddr,
  formatRecord,
  Trace,
  type TraceKind,
  type TraceOptions,
  type TraceRecord,
} from "./trace.ts";
export {
  DEFAULT_MAX_EVENTS,
  type RunUntilIdleOptions,
  VirtualClock,
  type VirtualClockOptions,
} from "./virtual_clock.ts";
export { runSimDemo, type SimDemoOptions } from "./demo.ts";
