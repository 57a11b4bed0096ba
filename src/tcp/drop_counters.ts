/**
 * What one connection dropped or held back, by cause (like Linux's
 * `TcpExt` counters in `netstat -s`). The stack sums them over its
 * connections, live and gone, and the tunnel exports the sums as metrics.
 *
 * @module
 */

/**
 * Drops and rate-limited answers of one connection.
 *
 * @example A segment far outside the window is dropped and counted
 * ```ts
 * import assert from "node:assert/strict";
 * import { TcpConnection } from "./connection.ts";
 * import { tcpConfig } from "./config.ts";
 * import { seq } from "../wire/seq.ts";
 * const config = tcpConfig({ timestamps: false });
 * const client = TcpConnection.connect(0, { localPort: 1, remotePort: 2, iss: seq(100), config });
 * const server = TcpConnection.accept(0, { localPort: 2, remotePort: 1, iss: seq(500), config }, client.pollTransmit(0)!);
 * client.handleSegment(1, server.pollTransmit(0)!);
 * server.handleSegment(2, client.pollTransmit(1)!);
 * client.write(new Uint8Array([1]));
 * const data = client.pollTransmit(2)!;
 * server.handleSegment(3, { ...data, seq: seq(100 + 2 ** 30) });
 * assert.equal(server.dropCounters().outOfWindow, 1);
 * ```
 */
export interface TcpDropCounters {
  /** Segments dropped by PAWS: an old timestamp (RFC 7323 §5; Linux PAWSEstabRejected). */
  pawsRejected: number;
  /** Segments dropped as unacceptable: outside the receive window (RFC 9293 §3.10.7.4; Linux OFODrop-like). */
  outOfWindow: number;
  /** Challenge ACKs sent for RST, SYN or ACK guesses (RFC 5961; Linux TCPChallengeACK). */
  challengeAcks: number;
  /** Challenge ACKs not sent: over `challengeAckLimit` per second (RFC 5961 §7). */
  challengeAcksLimited: number;
  /** ACKs to unacceptable data-less segments not sent (tcp_invalid_ratelimit; Linux TCPACKSkipped*). */
  invalidAcksLimited: number;
  /** ACKs dropped because they acknowledge data never sent (RFC 5961 §5.2; Linux TCPACKSkippedChallenge-like). */
  unacceptableAcks: number;
  /** Out-of-order segments dropped: reassembly already holds `maxOutOfOrderRanges` ranges. */
  reassemblyDrops: number;
}

/** The counter names of {@linkcode TcpDropCounters}, in a fixed order. */
export const TCP_DROP_COUNTER_NAMES: readonly (keyof TcpDropCounters)[] = [
  "pawsRejected",
  "outOfWindow",
  "challengeAcks",
  "challengeAcksLimited",
  "invalidAcksLimited",
  "unacceptableAcks",
  "reassemblyDrops",
];

/**
 * A set of drop counters, all zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zeroDropCounters } from "./drop_counters.ts";
 * assert.equal(zeroDropCounters().challengeAcks, 0);
 * ```
 */
export function zeroDropCounters(): TcpDropCounters {
  return {
    pawsRejected: 0,
    outOfWindow: 0,
    challengeAcks: 0,
    challengeAcksLimited: 0,
    invalidAcksLimited: 0,
    unacceptableAcks: 0,
    reassemblyDrops: 0,
  };
}

/**
 * Adds `b` into `a`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addDropCounters, zeroDropCounters } from "./drop_counters.ts";
 * const a = zeroDropCounters();
 * addDropCounters(a, { ...zeroDropCounters(), outOfWindow: 2 });
 * assert.equal(a.outOfWindow, 2);
 * ```
 */
export function addDropCounters(a: TcpDropCounters, b: Readonly<TcpDropCounters>): void {
  for (const k of TCP_DROP_COUNTER_NAMES) a[k] += b[k];
}
