/**
 * A stack on a simulated network with a virtual clock, plus scripted raw
 * peers and extra stacks: the packetdrill-style test seam.
 *
 * @module
 */

import { VirtualClock } from "../sim/virtual_clock.ts";
import { SimNetwork } from "../sim/sim_network.ts";
import type { LinkConfig } from "../sim/link.ts";
import {
  Stack,
  type StackCounters,
  type StackOptions,
  type StackReconfigure,
} from "../stack/stack.ts";
import type { StackConnection } from "../stack/stack_connection.ts";
import type { StackListener } from "../stack/stack_listener.ts";
import { describeDatagram, type StackTracer, type StateEvent } from "../stack/trace.ts";
import type { TcpConfig } from "../tcp/config.ts";
import type { TcpState } from "../tcp/state.ts";
import type { DatagramAddr } from "../udp/datagram_socket.ts";
import { RawPeer } from "./raw_peer.ts";
import { LoggingSocket, SendLog } from "./_send_log.ts";
import { batchRuntime } from "./batch_runtime.ts";
import { TestConn } from "./test_conn.ts";

/** Options of {@linkcode createTestbed}. */
export interface TestbedOptions {
  /** Seed of the clock and network. Default 1. */
  readonly seed?: number;
  /** TCP tunables of the stack under test. */
  readonly tcp?: Partial<TcpConfig>;
  /** Other stack options (ISN secret, port range, SYN queue limit, ...). */
  readonly stack?: Omit<StackOptions, "tcp">;
  /** UDP address of the stack under test. Default 127.0.0.1:7000. */
  readonly stackAddr?: DatagramAddr;
  /** Link impairments applied in both directions between all hosts. Default: none, zero delay. */
  readonly link?: LinkConfig;
  /**
   * Receive batches as the real runtime has them: datagrams that arrive at
   * the same virtual instant are handled as one batch, connections drained
   * once at its end (one cumulative ACK for in-order data; `coalesceAcks`).
   * Default false: every datagram is drained on its own.
   */
  readonly batch?: boolean;
}

/** What the application saw on a connection (non-blocking). */
export interface AppView {
  /** Every byte read so far. */
  readonly data: Uint8Array;
  /** True once EOF was read. */
  readonly eof: boolean;
  /** The connection's error, if any ("reset: ..."). */
  readonly error: string | undefined;
}

/**
 * The testbed: `clock`, `network`, the `stack` under test, raw peers.
 *
 * @example A SYN to a listener is answered with SYN-ACK
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestbed } from "./testbed.ts";
 * const tb = createTestbed();
 * tb.stack.listen(22);
 * const peer = tb.rawPeer({ tcpPort: 40000, targetPort: 22 });
 * tb.setNextIsn(1000);
 * peer.send({ flags: "S", seq: 500, options: { mss: 1400 } });
 * const synAck = peer.next()!;
 * assert.equal(synAck.segment.flags, 0x12);
 * assert.equal(synAck.segment.seq, 1000);
 * assert.equal(synAck.segment.ack, 501);
 * assert.equal(tb.state(peer, 22, 40000), "SYN_RCVD");
 * tb.close();
 * ```
 */
export class Testbed {
  /** The virtual clock (also the stack's runtime). */
  readonly clock: VirtualClock;
  /** The simulated network. */
  readonly network: SimNetwork;
  /** The stack under test. */
  readonly stack: Stack;
  #tracer: StackTracer | undefined;
  #link: LinkConfig | undefined;
  #nextHost = 2;
  #stacks: Stack[] = [];
  #sendLog = new SendLog();
  #stateEvents = new WeakMap<StackConnection | StackListener, StateEvent[]>();

  /**
   * Also sees everything the stack under test does. The testbed owns
   * `stack.tracer` (it records state events and forwards to this; trace
   * events too when this has `onTrace`); replacing `stack.tracer` stops
   * {@linkcode Testbed.stateEvents}.
   */
  get tracer(): StackTracer | undefined {
    return this.#tracer;
  }
  set tracer(t: StackTracer | undefined) {
    this.#tracer = t;
    this.stack.tracer = this.#recorder(); // trace events on only when `t` has onTrace
  }

  /** Use {@linkcode createTestbed}. */
  constructor(opts: TestbedOptions = {}) {
    const seed = opts.seed ?? 1;
    this.clock = new VirtualClock({ seed });
    this.network = new SimNetwork(this.clock, { seed, describe: describeDatagram });
    this.#link = opts.link;
    if (opts.link) this.network.setLink("*", "*", opts.link);
    const addr = opts.stackAddr ?? { hostname: "127.0.0.1", port: 7000 };
    const socket = new LoggingSocket(
      this.network.bind(addr),
      (to, data) => this.#sendLog.record(to, data, this.clock.now()),
    );
    const runtime = opts.batch ? batchRuntime(this.clock) : this.clock;
    this.stack = new Stack(socket, runtime, { ...opts.stack, tcp: opts.tcp });
    this.stack.tracer = this.#recorder();
    this.#stacks.push(this.stack);
  }

  #recorder(): StackTracer {
    const log = (owner: StackConnection | StackListener, ev: StateEvent) => {
      const list = this.#stateEvents.get(owner);
      if (list) list.push(ev);
      else this.#stateEvents.set(owner, [ev]);
    };
    const onTrace = this.#tracer?.onTrace;
    return {
      ...(onTrace === undefined ? {} : { onTrace: onTrace.bind(this.#tracer) }),
      onSegment: (now, dir, peer, seg, conn) => this.tracer?.onSegment?.(now, dir, peer, seg, conn),
      onEvent: (now, conn, ev) => {
        if (ev.type === "state") log(conn, ev);
        this.tracer?.onEvent?.(now, conn, ev);
      },
      onListenerEvent: (now, l, ev) => {
        log(l, ev);
        this.tracer?.onListenerEvent?.(now, l, ev);
      },
    };
  }

  /** Current virtual time in ms. */
  get now(): number {
    return this.clock.now();
  }

  /** A raw peer on its own host (127.0.0.N), aimed at the stack under test. */
  rawPeer(
    opts: { hostname?: string; port?: number; tcpPort?: number; targetPort?: number } = {},
  ): RawPeer {
    const hostname = opts.hostname ?? `127.0.0.${this.#nextHost++}`;
    const socket = this.network.bind({ hostname, port: opts.port ?? 7000 });
    const addr = socket.localAddr;
    this.#sendLog.watch(addr);
    return new RawPeer(socket, this.clock, this.stack.localAddr, {
      tcpPort: opts.tcpPort ?? 40000,
      targetPort: opts.targetPort ?? 80,
      sentAt: (data) => this.#sendLog.sentAt(addr, data),
    });
  }

  /** Another full stack on its own host, on the same network and clock (`batch`: as in {@linkcode TestbedOptions}). */
  addStack(
    opts:
      & { hostname?: string; port?: number; tcp?: Partial<TcpConfig>; batch?: boolean }
      & Omit<
        StackOptions,
        "tcp"
      > = {},
  ): Stack {
    const hostname = opts.hostname ?? `127.0.0.${this.#nextHost++}`;
    const { hostname: _h, port, batch, ...rest } = opts;
    const runtime = batch ? batchRuntime(this.clock) : this.clock;
    const s = new Stack(this.network.bind({ hostname, port: port ?? 7000 }), runtime, rest);
    this.#stacks.push(s);
    return s;
  }

  /**
   * Fixes ISNs of the stack under test: of the next connection it creates
   * (the SYN of its next `connect()` or the SYN-ACK of its next passive
   * open), of the next ones in order when given a list, or of the next
   * connection with `peer` on `localPort`/`remotePort` when `on` is given
   * (that binding wins over the queue). See `Stack.setNextIsn`.
   *
   * @param iss One ISN or a queue of them.
   * @param on The 4-tuple the ISN is for.
   */
  setNextIsn(
    iss: number | readonly number[],
    on?: { peer: RawPeer | DatagramAddr; localPort: number; remotePort: number },
  ): void {
    if (on === undefined) {
      this.stack.setNextIsn(iss);
      return;
    }
    const remote = on.peer instanceof RawPeer ? on.peer.addr : on.peer;
    this.stack.setNextIsn(iss, { remote, localPort: on.localPort, remotePort: on.remotePort });
  }

  /**
   * Changes tunables of the live stack under test (see `Stack.reconfigure`):
   * TCP tunables apply to connections opened afterwards.
   *
   * @param options TCP tunables and stack options to change.
   */
  reconfigure(options: StackReconfigure): void {
    this.stack.reconfigure(options);
  }

  /**
   * The application calls of `TouConn` on a connection of the stack under
   * test, with its typed errors (one wrapper per connection).
   *
   * @param sc The connection (from `connect()`, `accept()` or {@linkcode Testbed.connection}).
   * @returns Its {@linkcode TestConn}.
   */
  conn(sc: StackConnection): TestConn {
    let c = conns.get(sc);
    if (c === undefined) {
      c = new TestConn(sc);
      conns.set(sc, c);
    }
    return c;
  }

  /** The stack under test's counters (live object). */
  get counters(): Readonly<StackCounters> {
    return this.stack.counters;
  }

  /**
   * The next deadline of the stack under test's connection timers
   * (retransmission, persist, delayed ACK, keepalive, TIME_WAIT, FIN_WAIT_2),
   * or `Infinity`. {@linkcode Testbed.nextDeadline} also counts datagrams in flight.
   */
  nextTimeout(): number {
    return this.stack.nextTimeout();
  }

  /**
   * Every state change `{ from, to, cause }` of a connection or listener of
   * the stack under test, in order (RFC 9293 §3.3.2), also after it closed.
   */
  stateEvents(of: StackConnection | StackListener): StateEvent[] {
    return [...(this.#stateEvents.get(of) ?? [])];
  }

  /** Runs everything due in the next `ms` of virtual time. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Runs until no event is left (bounded; throws instead of hanging). */
  runUntilIdle(opts?: { maxEvents?: number; until?: number }): void {
    this.clock.runUntilIdle(opts);
  }

  /** The next virtual time at which anything happens (Infinity when idle). */
  nextDeadline(): number {
    return this.clock.nextDeadline();
  }

  /**
   * The connection of the stack under test with this peer and ports:
   * embryonic (SYN queue), established, or orphaned (FIN_WAIT_2, TIME_WAIT).
   */
  connection(
    peer: RawPeer | DatagramAddr,
    localPort: number,
    remotePort: number,
  ): StackConnection | undefined {
    const addr = peer instanceof RawPeer ? peer.addr : peer;
    return this.stack.find(addr, localPort, remotePort);
  }

  /** The state of that connection, or undefined when there is none (CLOSED and gone). */
  state(peer: RawPeer | DatagramAddr, localPort: number, remotePort: number): TcpState | undefined {
    return this.connection(peer, localPort, remotePort)?.state;
  }

  /** Reads what is available on `conn` without blocking and returns everything seen so far. */
  app(conn: StackConnection): AppView {
    let rec = views.get(conn);
    if (!rec) {
      rec = { chunks: [], eof: false };
      views.set(conn, rec);
    }
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = conn.read(buf);
      if (n > 0) rec.chunks.push(buf.slice(0, n));
      else {
        if (n < 0) rec.eof = true;
        break;
      }
    }
    const total = rec.chunks.reduce((a, c) => a + c.length, 0);
    const data = new Uint8Array(total);
    let o = 0;
    for (const c of rec.chunks) {
      data.set(c, o);
      o += c.length;
    }
    return {
      data,
      eof: rec.eof,
      error: conn.error ? `${conn.error.kind}: ${conn.error.detail}` : undefined,
    };
  }

  /** Link impairments in force. */
  get link(): LinkConfig | undefined {
    return this.#link;
  }

  /** Closes every stack. */
  close(): void {
    for (const s of this.#stacks) s.close();
  }
}

const views = new WeakMap<StackConnection, { chunks: Uint8Array[]; eof: boolean }>();
const conns = new WeakMap<StackConnection, TestConn>();

/** Creates a {@linkcode Testbed}. */
export function createTestbed(opts: TestbedOptions = {}): Testbed {
  return new Testbed(opts);
}
