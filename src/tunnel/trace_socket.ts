/**
 * A {@linkcode DatagramSocket} decorator that reports every TCP segment
 * going through it, decoded, for `tou demo` and debugging. It sits between
 * the stack and the (possibly sealed) UDP socket, so it sees plaintext.
 *
 * @module
 */

import type {
  Datagram,
  DatagramAddr,
  DatagramErrorHandler,
  DatagramHandler,
  DatagramSocket,
} from "../udp/datagram_socket.ts";
import { ForwardingSocket } from "../udp/forwarding_socket.ts";
import { decodeDatagram } from "../wire/datagram.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import { formatSegment } from "../stack/trace.ts";

/** Receives each segment: direction, the peer's UDP address and the segment (valid during the call). */
export type SegmentObserver = (dir: "in" | "out", peer: DatagramAddr, seg: TcpSegment) => void;

/**
 * Renders a segment like tcpdump, e.g. `40000 > 22: Flags [S], seq 1, win 512, length 0`.
 *
 * @param seg The segment.
 * @returns One line.
 */
export function describeSegment(seg: TcpSegment): string {
  return formatSegment(seg);
}

/**
 * Wraps a datagram socket and tells `observe` about every TCP segment sent
 * or received; datagrams pass through unchanged.
 *
 * @example
 * ```ts ignore
 * const traced = new TracingSocket(udp, (dir, peer, seg) => console.log(dir, describeSegment(seg)));
 * ```
 */
export class TracingSocket extends ForwardingSocket {
  readonly #observe: SegmentObserver;

  /**
   * Wraps `inner`.
   *
   * @param inner The socket to wrap; owned from now on.
   * @param observe Called for every decodable TCP segment.
   */
  constructor(inner: DatagramSocket, observe: SegmentObserver) {
    super(inner);
    this.#observe = observe;
  }

  /** Reports, then sends. */
  override send(data: Uint8Array, addr?: DatagramAddr): void {
    const to = addr ?? this.inner.remoteAddr;
    if (to) this.#report("out", to, data);
    this.inner.send(data, addr);
  }

  /** Receives, then reports. */
  override async receive(): Promise<Datagram> {
    const d = await this.inner.receive();
    this.#report("in", d.from, d.data);
    return d;
  }

  /** Reports each datagram before handing it on. */
  override setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.inner.setHandler((data, from) => {
      this.#report("in", from, data);
      onDatagram(data, from);
    }, onError);
  }

  #report(dir: "in" | "out", peer: DatagramAddr, data: Uint8Array): void {
    const d = decodeDatagram(data, { verifyChecksum: false });
    if (d.ok && d.value.kind === "segment") this.#observe(dir, peer, d.value.segment);
  }
}
