/**
 * A scripted raw TCP peer: sends hand-built segments to a stack and records,
 * in order, every segment the stack sends back, stamped with virtual time.
 *
 * @module
 */

import { emitSegment } from "../wire/tcp_codec.ts";
import { emitEnvelope, EnvelopeType } from "../wire/envelope.ts";
import { decodeDatagram } from "../wire/datagram.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import type { DatagramAddr } from "../udp/datagram_socket.ts";
import type { SimUdpSocket } from "../sim/sim_udp_socket.ts";
import type { VirtualClock } from "../sim/virtual_clock.ts";
import { formatSegment } from "../stack/trace.ts";
import { buildSegment, type SegmentSpec } from "./segment_spec.ts";

/** A segment received by a raw peer. */
export interface ReceivedSegment {
  /** Virtual time of arrival (equals `sentAt` on a zero-delay link). */
  readonly time: number;
  /**
   * Virtual time at which the stack sent it, also across delaying, reordering
   * or duplicating links (a duplicate carries its original's). Equals `time`
   * for datagrams from senders the testbed does not log.
   */
  readonly sentAt: number;
  /** The decoded segment (payload copied). */
  readonly segment: TcpSegment;
  /** tcpdump-like rendering, handy in assertion messages. */
  readonly text: string;
}

/** A datagram a raw peer received and could not decode as a tou TCP segment. */
export interface UndecodableDatagram {
  /** Virtual time of arrival. */
  readonly time: number;
  /** Virtual time at which the stack sent it (as {@linkcode ReceivedSegment.sentAt}). */
  readonly sentAt: number;
  /** The datagram's bytes (a copy). */
  readonly bytes: Uint8Array;
  /** Why it did not decode: the envelope or segment parser's error, or the envelope type. */
  readonly reason: string;
}

/** A raw peer bound on the simulated network. */
export class RawPeer {
  /** The peer's UDP address. */
  readonly addr: DatagramAddr;
  /** The peer's TCP port (default source port of sent segments). */
  tcpPort: number;
  /** The TCP port segments go to by default. */
  targetPort: number;
  /** Undecodable datagrams received (a count; {@linkcode RawPeer.undecodable} has them). */
  malformed = 0;
  /** Every undecodable datagram received, with its time and bytes, in order. */
  readonly undecodable: UndecodableDatagram[] = [];
  #socket: SimUdpSocket;
  #clock: VirtualClock;
  #target: DatagramAddr;
  #received: ReceivedSegment[] = [];
  #buf = new Uint8Array(70_000);
  #sentAt: ((data: Uint8Array) => number | undefined) | undefined;

  /**
   * Used by the testbed (`Testbed.rawPeer`).
   *
   * @param socket The peer's simulated socket.
   * @param clock The virtual clock.
   * @param target UDP address of the stack under test.
   * @param opts TCP ports, and how to find the send time of a received datagram.
   */
  constructor(
    socket: SimUdpSocket,
    clock: VirtualClock,
    target: DatagramAddr,
    opts: {
      tcpPort: number;
      targetPort: number;
      sentAt?: (data: Uint8Array) => number | undefined;
    },
  ) {
    this.#socket = socket;
    this.#clock = clock;
    this.#target = target;
    this.addr = socket.localAddr;
    this.tcpPort = opts.tcpPort;
    this.targetPort = opts.targetPort;
    this.#sentAt = opts.sentAt;
    socket.setHandler((data) => this.#onDatagram(data));
  }

  /**
   * Sends one segment, or several in one batch (all at the same virtual
   * instant, before the stack runs), then lets everything due now run.
   */
  send(spec: SegmentSpec | readonly SegmentSpec[]): void {
    const list = Array.isArray(spec) ? spec : [spec as SegmentSpec];
    for (const s of list) {
      const seg = buildSegment(s, { srcPort: this.tcpPort, dstPort: this.targetPort });
      this.sendSegment(seg, false);
    }
    this.#clock.advance(0);
  }

  /** Sends a fully built segment. */
  sendSegment(seg: TcpSegment, flush = true): void {
    const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, this.#buf, 0);
    const len = n + emitSegment(seg, this.#buf, n);
    this.#socket.send(this.#buf.subarray(0, len), this.#target);
    if (flush) this.#clock.advance(0);
  }

  /** Sends arbitrary bytes as one datagram (for malformed-input tests). */
  sendRaw(bytes: Uint8Array): void {
    this.#socket.send(bytes, this.#target);
    this.#clock.advance(0);
  }

  /**
   * Number of received segments not yet taken. Like {@linkcode RawPeer.next}
   * and {@linkcode RawPeer.take}, it first runs what is due at the current
   * virtual time, so segments an app call just sent over a zero-delay link
   * are there.
   */
  get pending(): number {
    this.#clock.advance(0);
    return this.#received.length;
  }

  /** Takes the oldest received segment (after running what is due now). */
  next(): ReceivedSegment | undefined {
    this.#clock.advance(0);
    return this.#received.shift();
  }

  /** Takes every received segment, in arrival order (after running what is due now). */
  take(): ReceivedSegment[] {
    this.#clock.advance(0);
    const all = this.#received;
    this.#received = [];
    return all;
  }

  #onDatagram(data: Uint8Array): void {
    const time = this.#clock.now();
    const sentAt = this.#sentAt?.(data) ?? time;
    const d = decodeDatagram(data);
    if (!d.ok) {
      this.#undecodable(time, sentAt, data, `${d.layer}: ${d.error.message}`);
      return;
    }
    if (d.value.kind !== "segment") {
      const type = d.value.envelope.type;
      this.#undecodable(time, sentAt, data, `envelope type ${type}, not a TCP segment`);
      return;
    }
    const segment = { ...d.value.segment, payload: d.value.segment.payload.slice() };
    this.#received.push({ time, sentAt, segment, text: formatSegment(segment) });
  }

  #undecodable(time: number, sentAt: number, data: Uint8Array, reason: string): void {
    this.malformed++;
    this.undecodable.push({ time, sentAt, bytes: data.slice(), reason });
  }
}
