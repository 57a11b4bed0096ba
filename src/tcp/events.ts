/**
 * What a connection tells the layer above (`pollEvent()`).
 *
 * @module
 */

import type { TcpState } from "./state.ts";

/** Why a connection failed. */
export type TcpErrorKind =
  /** RST in answer to our SYN. */
  | "refused"
  /** RST in a synchronized state. */
  | "reset"
  /** Retransmission / SYN retries / keepalive probes exhausted, or user timeout. */
  | "timed_out"
  /** The application called abort(). */
  | "aborted";

/** An event for the application / stack. */
export type TcpEvent =
  /** A state change (RFC 9293 §3.3.2), with what caused it, for traces. */
  | {
    readonly type: "state";
    readonly from: TcpState;
    readonly to: TcpState;
    readonly cause: string;
  }
  /** The handshake completed (ESTABLISHED reached). */
  | { readonly type: "connected" }
  /** New in-order data can be read. */
  | { readonly type: "readable" }
  /** Send-buffer space opened up. */
  | { readonly type: "writable" }
  /** The peer's FIN was reached in the byte stream: reads return EOF after the buffered data. */
  | { readonly type: "eof" }
  /** The connection failed. `detail` is a human sentence such as "timed out after 6 SYN retransmissions". */
  | { readonly type: "error"; readonly kind: TcpErrorKind; readonly detail: string }
  /** The connection reached CLOSED and can be forgotten by the stack. */
  | { readonly type: "closed" };
