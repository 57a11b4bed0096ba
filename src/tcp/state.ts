/**
 * The eleven TCP connection states of RFC 9293 §3.3.2, named as users see
 * them in `netstat`/`ss` traces.
 *
 * @module
 */

/**
 * A TCP state name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TcpState } from "./state.ts";
 * const closing: TcpState[] = ["FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT"];
 * assert.ok(closing.includes("TIME_WAIT"));
 * ```
 */
export type TcpState =
  | "CLOSED"
  | "LISTEN"
  | "SYN_SENT"
  | "SYN_RCVD"
  | "ESTABLISHED"
  | "FIN_WAIT_1"
  | "FIN_WAIT_2"
  | "CLOSE_WAIT"
  | "CLOSING"
  | "LAST_ACK"
  | "TIME_WAIT";

/** Every state, in RFC order. */
export const TCP_STATES: readonly TcpState[] = [
  "CLOSED",
  "LISTEN",
  "SYN_SENT",
  "SYN_RCVD",
  "ESTABLISHED",
  "FIN_WAIT_1",
  "FIN_WAIT_2",
  "CLOSE_WAIT",
  "CLOSING",
  "LAST_ACK",
  "TIME_WAIT",
];

/**
 * The legal state transitions (RFC 9293 §3.3.2 figure 5, plus RST/abort and
 * timeout edges to CLOSED, and SYN_RCVD → LISTEN for a passive open reset).
 */
export const TCP_TRANSITIONS: ReadonlyMap<TcpState, readonly TcpState[]> = new Map<
  TcpState,
  readonly TcpState[]
>([
  ["CLOSED", ["LISTEN", "SYN_SENT", "SYN_RCVD"]],
  ["LISTEN", ["SYN_RCVD", "SYN_SENT", "CLOSED"]],
  ["SYN_SENT", ["SYN_RCVD", "ESTABLISHED", "CLOSED"]],
  ["SYN_RCVD", ["ESTABLISHED", "FIN_WAIT_1", "CLOSE_WAIT", "LISTEN", "CLOSED"]],
  ["ESTABLISHED", ["FIN_WAIT_1", "CLOSE_WAIT", "CLOSED"]],
  ["FIN_WAIT_1", ["FIN_WAIT_2", "CLOSING", "TIME_WAIT", "CLOSED"]],
  ["FIN_WAIT_2", ["TIME_WAIT", "CLOSED"]],
  ["CLOSE_WAIT", ["LAST_ACK", "CLOSED"]],
  ["CLOSING", ["TIME_WAIT", "CLOSED"]],
  ["LAST_ACK", ["CLOSED"]],
  ["TIME_WAIT", ["CLOSED"]],
]);

/**
 * Whether `from → to` is an edge of the RFC 9293 state diagram.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLegalTransition } from "./state.ts";
 * assert.ok(isLegalTransition("FIN_WAIT_1", "CLOSING"));
 * assert.ok(!isLegalTransition("LISTEN", "ESTABLISHED"));
 * ```
 */
export function isLegalTransition(from: TcpState, to: TcpState): boolean {
  return TCP_TRANSITIONS.get(from)?.includes(to) ?? false;
}

/** States in which the connection is synchronized (RFC 9293 §3.5.2). */
export function isSynchronized(state: TcpState): boolean {
  return state !== "CLOSED" && state !== "LISTEN" && state !== "SYN_SENT" &&
    state !== "SYN_RCVD";
}
