/**
 * Packet capture for Wireshark/tshark: a {@linkcode DatagramSocket}
 * decorator that writes every TCP segment sent and received to a classic
 * pcap file as native TCP over IPv4/IPv6 (IP header made from the UDP
 * addresses, TCP checksum valid for it; see `src/wire/pcap.ts`).
 *
 * Put it between the stack and any sealing socket so that it records the
 * plaintext segments: `decorate: (udp) => new PcapSocket(new SealedSocket(udp, …), writer)`.
 *
 * @module
 */

import type {
  Datagram,
  DatagramAddr,
  DatagramErrorHandler,
  DatagramHandler,
  DatagramSocket,
} from "./datagram_socket.ts";
import { ForwardingSocket } from "./forwarding_socket.ts";
import { EnvelopeType, parseEnvelope } from "../wire/envelope.ts";
import {
  ipBytes,
  ipPacketLength,
  PCAP_RECORD_HEADER_LEN,
  pcapFileHeader,
  writeIpTcpPacket,
  writePcapRecordHeader,
} from "../wire/pcap.ts";
import { TCP_HEADER_MIN_LEN } from "../wire/tcp_header_view.ts";

/**
 * Where a {@linkcode PcapWriter} puts its bytes (the file header first,
 * then records); the bytes are valid during the call only.
 *
 * @example Keep a capture in memory
 * ```ts
 * import type { PcapSink } from "./pcap_socket.ts";
 * const chunks: Uint8Array[] = [];
 * const sink: PcapSink = (bytes) => chunks.push(bytes.slice());
 * void sink;
 * ```
 */
export type PcapSink = (bytes: Uint8Array) => void;

const CHUNK = 64 * 1024;
const ZERO4 = new Uint8Array(4);
const ZERO16 = new Uint8Array(16);

/**
 * Turns segments into pcap records, buffered; several sockets may share one
 * writer (the lab captures all its hosts into one file).
 *
 * @example Capture one segment to memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { PcapWriter } from "./pcap_socket.ts";
 * const chunks: Uint8Array[] = [];
 * const w = new PcapWriter((b) => chunks.push(b.slice()));
 * const seg = new Uint8Array(20);
 * seg[12] = 0x50;
 * w.segment(1000, { hostname: "10.0.0.1", port: 1 }, { hostname: "10.0.0.2", port: 2 }, seg);
 * w.close();
 * const bytes = chunks.reduce((n, c) => n + c.length, 0);
 * assert.equal(bytes, 24 + 16 + 20 + 20); // file header, record header, IPv4, TCP
 * assert.equal(w.packets, 1);
 * ```
 */
export class PcapWriter {
  readonly #sink: PcapSink;
  #buf = new Uint8Array(CHUNK);
  #len = 0;
  #ipId = 0;
  #closed = false;
  #packets = 0;

  /**
   * Starts a capture: the file header goes to `sink` at the first flush.
   *
   * @param sink Receives the bytes (valid during the call only).
   */
  constructor(sink: PcapSink) {
    this.#sink = sink;
    const h = pcapFileHeader();
    this.#buf.set(h);
    this.#len = h.length;
  }

  /** Records written so far. */
  get packets(): number {
    return this.#packets;
  }

  /** Bytes buffered and not yet handed to the sink. */
  get buffered(): number {
    return this.#len;
  }

  /**
   * Records one TCP segment travelling from `src` to `dst` (UDP addresses;
   * their IPs become the IP header's, the UDP ports are not shown).
   *
   * @param timeMs Capture time, ms since the Unix epoch.
   * @param src Sender's UDP address.
   * @param dst Receiver's UDP address.
   * @param segment The TCP segment bytes as tou carries them.
   * @param computeChecksum Compute the TCP checksum from scratch (the
   *   segment travelled sealed, its checksum field is 0) instead of
   *   updating the one it carries. Default `false`.
   */
  segment(
    timeMs: number,
    src: DatagramAddr,
    dst: DatagramAddr,
    segment: Uint8Array,
    computeChecksum = false,
  ): void {
    if (this.#closed) return;
    let s = ipBytes(src.hostname);
    let d = ipBytes(dst.hostname);
    if (s === undefined && d === undefined) return;
    // An unspecified or odd local address takes the peer's family (e.g. "::" talking to IPv4).
    if (s === undefined || (d !== undefined && s.length !== d.length)) {
      s = d!.length === 4 ? ZERO4 : ZERO16;
    }
    if (d === undefined || d.length !== s.length) d = s.length === 4 ? ZERO4 : ZERO16;
    const plen = ipPacketLength(s.length as 4 | 16, segment.length);
    const need = PCAP_RECORD_HEADER_LEN + plen;
    if (this.#len + need > this.#buf.length) {
      this.flush();
      if (need > this.#buf.length) this.#buf = new Uint8Array(need);
    }
    writePcapRecordHeader(this.#buf, this.#len, timeMs, plen);
    this.#ipId = (this.#ipId + 1) & 0xffff;
    writeIpTcpPacket(
      this.#buf,
      this.#len + PCAP_RECORD_HEADER_LEN,
      s,
      d,
      segment,
      this.#ipId,
      computeChecksum,
    );
    this.#len += need;
    this.#packets++;
  }

  /** Hands everything buffered to the sink. */
  flush(): void {
    if (this.#len === 0) return;
    const out = this.#buf.subarray(0, this.#len);
    this.#len = 0;
    this.#sink(out);
  }

  /** Flushes; later segments are ignored. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
  }
}

/**
 * A {@linkcode PcapWriter} on a file (created or truncated), flushed when
 * 64 KiB are buffered, 200 ms after the first unflushed record (so that
 * `tshark -r` on a running capture sees recent segments) and on close.
 *
 * @param path File to write.
 * @returns The writer; close it (or the socket owning it) to finish the file.
 * @throws {Deno.errors.NotFound} and other `Deno.openSync` errors when the file cannot be created.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openPcapFile } from "./pcap_socket.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".pcap" });
 * const w = openPcapFile(path);
 * w.close();
 * assert.equal(Deno.statSync(path).size, 24);
 * Deno.removeSync(path);
 * ```
 */
export function openPcapFile(path: string): PcapWriter {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const write = (bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  };
  const writer = new (class extends PcapWriter {
    override segment(
      t: number,
      s: DatagramAddr,
      d: DatagramAddr,
      seg: Uint8Array,
      computeChecksum?: boolean,
    ): void {
      super.segment(t, s, d, seg, computeChecksum);
      if (timer === undefined && !closed) {
        timer = setTimeout(() => {
          timer = undefined;
          if (!closed) this.flush();
        }, 200);
        Deno.unrefTimer(timer as unknown as number);
      }
    }
    override close(): void {
      if (closed) return;
      super.close();
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      file.close();
    }
  })(write);
  return writer;
}

/**
 * Options of {@linkcode PcapSocket}.
 *
 * @example Record only what this socket sends, on a virtual clock
 * ```ts
 * import type { PcapSocketOptions } from "./pcap_socket.ts";
 * let now = 0;
 * const opts: PcapSocketOptions = { capture: "out", now: () => now, ownsWriter: false };
 * void opts;
 * ```
 */
export interface PcapSocketOptions {
  /** The capture clock, ms since the Unix epoch. Default: the wall clock (µs resolution). */
  readonly now?: () => number;
  /**
   * "both" (default): segments sent and received, as tcpdump on this host
   * would see them. "out": only those sent (several sockets sharing one
   * writer then record each segment once, as a tap on the wire would).
   */
  readonly capture?: "both" | "out";
  /** Whether closing the socket closes the writer too. Default true. */
  readonly ownsWriter?: boolean;
  /** Records only while this says so (e.g. one host of several sharing a writer). Default: always. */
  readonly when?: () => boolean;
}

const wallClock = (): number => performance.timeOrigin + performance.now();

/**
 * Records every TCP segment sent or received through it into a
 * {@linkcode PcapWriter}; datagrams pass through unchanged. Datagrams that
 * do not carry a TCP segment (sealed, control) are not recorded. Above a
 * seal (the inner socket is `authenticated`) the segments carry no checksum
 * (docs/wire-format.md), so each record gets one computed from scratch.
 *
 * @example Capture an endpoint's traffic
 * ```ts ignore
 * import { openEndpoint } from "../net/endpoint.ts";
 * await using ep = await openEndpoint({
 *   decorate: (udp) => new PcapSocket(udp, openPcapFile("tou.pcap")),
 * });
 * ```
 */
export class PcapSocket extends ForwardingSocket {
  readonly #writer: PcapWriter;
  readonly #now: () => number;
  readonly #in: boolean;
  readonly #owns: boolean;
  readonly #when: (() => boolean) | undefined;

  /**
   * Wraps `inner`.
   *
   * @param inner The socket to wrap; owned from now on.
   * @param writer Where the records go.
   * @param opts Clock, directions captured, writer ownership.
   */
  constructor(inner: DatagramSocket, writer: PcapWriter, opts: PcapSocketOptions = {}) {
    super(inner);
    this.#writer = writer;
    this.#now = opts.now ?? wallClock;
    this.#in = (opts.capture ?? "both") === "both";
    this.#owns = opts.ownsWriter ?? true;
    this.#when = opts.when;
  }

  /** The writer this socket records into. */
  get writer(): PcapWriter {
    return this.#writer;
  }

  /** Records, then sends. */
  override send(data: Uint8Array, addr?: DatagramAddr): void {
    const to = addr ?? this.inner.remoteAddr;
    if (to) this.#record(this.inner.localAddr, to, data);
    this.inner.send(data, addr);
  }

  /** Receives, then records. */
  override async receive(): Promise<Datagram> {
    const d = await this.inner.receive();
    if (this.#in) this.#record(d.from, this.inner.localAddr, d.data);
    return d;
  }

  /** Records each datagram before handing it on. */
  override setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    if (!this.#in) return this.inner.setHandler(onDatagram, onError);
    this.inner.setHandler((data, from) => {
      this.#record(from, this.inner.localAddr, data);
      onDatagram(data, from);
    }, onError);
  }

  /** Closes the inner socket, then (when owned) the writer. */
  override close(): void {
    this.inner.close();
    if (this.#owns) this.#writer.close();
  }

  #record(src: DatagramAddr, dst: DatagramAddr, data: Uint8Array): void {
    if (this.#when !== undefined && !this.#when()) return;
    const env = parseEnvelope(data);
    if (!env.ok || env.value.type !== EnvelopeType.TCP_SEGMENT) return;
    const body = env.value.body;
    if (body.length < TCP_HEADER_MIN_LEN) return;
    // Under a seal the stack sends no checksum (field 0): the capture computes one.
    this.#writer.segment(this.#now(), src, dst, body, this.inner.authenticated === true);
  }
}

/**
 * A socket decorator (for `openEndpoint({ decorate })`) that captures to
 * the pcap file `path`, optionally on top of another decorator (e.g. the
 * seal: the capture then holds the plaintext segments).
 *
 * @param path The pcap file (created or truncated).
 * @param below A decorator applied first, nearer the UDP socket.
 * @returns The decorator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { capturePcap } from "./pcap_socket.ts";
 * import { openEndpoint } from "../net/endpoint.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".pcap" });
 * {
 *   await using server = await openEndpoint({ hostname: "127.0.0.1", decorate: capturePcap(path) });
 *   await using client = await openEndpoint({ hostname: "127.0.0.1" });
 *   const l = server.listen();
 *   const c = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
 *   (await l.accept()).close();
 *   c.close();
 * }
 * assert.ok(Deno.statSync(path).size > 24 + 3 * 56); // at least the handshake
 * Deno.removeSync(path);
 * ```
 */
export function capturePcap(
  path: string,
  below?: (udp: DatagramSocket) => DatagramSocket,
): (udp: DatagramSocket) => DatagramSocket {
  return (udp) => {
    const inner = below ? below(udp) : udp;
    return new PcapSocket(inner, openPcapFile(path));
  };
}
