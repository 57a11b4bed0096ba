/**
 * A zero-copy view of a TCP header (smoltcp's `TcpPacket`): field getters
 * read straight from the datagram bytes through a `DataView`.
 *
 * One view can be re-pointed at every received datagram with
 * {@linkcode TcpHeaderView.prototype.reset}; while the datagrams share one
 * receive buffer the view keeps a single `DataView` over that buffer, so
 * decoding allocates nothing.
 *
 * @module
 */

import type { Seq } from "./seq.ts";
import { verifyTcpChecksum } from "./checksum.ts";
import { WireError } from "./wire_error.ts";

/** Bytes of a TCP header without options (RFC 9293 §3.1). */
export const TCP_HEADER_MIN_LEN = 20;

/** Largest TCP header: data offset 15 words (RFC 9293 §3.1). */
export const TCP_HEADER_MAX_LEN = 60;

const EMPTY = new Uint8Array(0);

/**
 * A zero-copy, re-pointable view of a TCP segment's header.
 *
 * Getters do no bounds checking beyond the `DataView`'s own: call
 * {@linkcode TcpHeaderView.prototype.check} first when the bytes come from
 * the network.
 *
 * @example Read fields of a received segment
 * ```ts
 * import assert from "node:assert/strict";
 * import { TcpHeaderView } from "./tcp_header_view.ts";
 * const bytes = new Uint8Array(20);
 * bytes.set([0x1f, 0x90, 0x00, 0x50]); // ports 8080 -> 80
 * bytes[12] = 0x50; // data offset 5
 * bytes[13] = 0x12; // SYN|ACK
 * const view = new TcpHeaderView();
 * view.reset(bytes);
 * assert.equal(view.check(), undefined);
 * assert.equal(view.srcPort, 8080);
 * assert.equal(view.dstPort, 80);
 * assert.equal(view.flags, 0x12);
 * assert.equal(view.payload.length, 0);
 * ```
 */
export class TcpHeaderView {
  #bytes: Uint8Array = EMPTY;
  #buffer: ArrayBufferLike = EMPTY.buffer;
  #dv: DataView = new DataView(EMPTY.buffer);
  #base = 0;

  /**
   * Creates a view, optionally already pointed at a segment.
   *
   * @param bytes The segment to view; empty (re-point it later with `reset`) when omitted.
   */
  constructor(bytes?: Uint8Array) {
    if (bytes !== undefined) this.reset(bytes);
  }

  /**
   * Points the view at another segment. Reuses its `DataView` when `bytes`
   * lives in the same `ArrayBuffer` as the previous segment.
   *
   * @param bytes The whole TCP segment (header, options, payload).
   * @returns This view.
   */
  reset(bytes: Uint8Array): this {
    if (bytes.buffer !== this.#buffer) {
      this.#buffer = bytes.buffer;
      this.#dv = new DataView(bytes.buffer);
    }
    this.#bytes = bytes;
    this.#base = bytes.byteOffset;
    return this;
  }

  /**
   * Checks that the header is complete: at least 20 bytes, a data offset of
   * at least 5 words, and no more header than bytes. Options and checksum are
   * not checked here.
   *
   * @returns The problem, or `undefined` when the getters are safe to use.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TcpHeaderView } from "./tcp_header_view.ts";
   * assert.equal(new TcpHeaderView(new Uint8Array(19)).check()?.reason, "truncated-header");
   * ```
   */
  check(): WireError | undefined {
    const len = this.#bytes.length;
    // RFC 9293 §3.1: the fixed header is 20 bytes.
    if (len < TCP_HEADER_MIN_LEN) {
      return new WireError(
        "truncated-header",
        `${len} bytes is shorter than the ${TCP_HEADER_MIN_LEN}-byte TCP header`,
      );
    }
    const dataOffset = this.dataOffset;
    if (dataOffset < 5) {
      return new WireError("bad-data-offset", `data offset ${dataOffset} is below 5 words`);
    }
    if (dataOffset * 4 > len) {
      return new WireError(
        "data-offset-overrun",
        `data offset ${dataOffset} words (${dataOffset * 4} bytes) exceeds the ${len}-byte segment`,
      );
    }
    return undefined;
  }

  /** The viewed bytes (the whole segment). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Source port. */
  get srcPort(): number {
    return this.#dv.getUint16(this.#base);
  }

  /** Destination port. */
  get dstPort(): number {
    return this.#dv.getUint16(this.#base + 2);
  }

  /** SEG.SEQ. */
  get seq(): Seq {
    return this.#dv.getUint32(this.#base + 4) as Seq;
  }

  /** SEG.ACK. */
  get ack(): Seq {
    return this.#dv.getUint32(this.#base + 8) as Seq;
  }

  /** Data offset in 32-bit words (header length / 4). */
  get dataOffset(): number {
    return this.#dv.getUint8(this.#base + 12) >>> 4;
  }

  /** Header length in bytes, options included. */
  get headerLength(): number {
    return (this.#dv.getUint8(this.#base + 12) >>> 4) * 4;
  }

  /** Control bits CWR..FIN (byte 13); the four reserved bits of byte 12 are not included. */
  get flags(): number {
    return this.#dv.getUint8(this.#base + 13);
  }

  /** The raw 16-bit window field. */
  get window(): number {
    return this.#dv.getUint16(this.#base + 14);
  }

  /** The checksum field as stored. */
  get checksum(): number {
    return this.#dv.getUint16(this.#base + 16);
  }

  /** Urgent pointer. */
  get urgentPointer(): number {
    return this.#dv.getUint16(this.#base + 18);
  }

  /** The option bytes (header bytes 20 up to the data offset), a view, not a copy. */
  get options(): Uint8Array {
    return this.#bytes.subarray(TCP_HEADER_MIN_LEN, this.headerLength);
  }

  /** The payload after the header, a view, not a copy. */
  get payload(): Uint8Array {
    return this.#bytes.subarray(this.headerLength);
  }

  /** Whether the stored checksum verifies under tou's rule (see `checksum.ts`). */
  verifyChecksum(): boolean {
    return verifyTcpChecksum(this.#bytes);
  }
}
