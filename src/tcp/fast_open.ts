/**
 * TCP Fast Open in the connection (RFC 7413): what our SYN or SYN-ACK
 * carries, data in the SYN, and what the SYN-ACK tells the client. Cookie
 * generation and checking belong to the stack's listener (the server's
 * secret) and the client's cookie cache; the connection only carries
 * cookies and data.
 *
 * Client (RFC 7413 §4.1): without a cookie the SYN carries an empty Fast
 * Open option (a cookie request); with one, the SYN carries the cookie and
 * the first bytes the application wrote (up to the segment budget and the
 * server's MSS last seen). With `holdSyn` the SYN waits for the first
 * write, `closeWrite` or {@linkcode FastOpenState.release} (Linux's
 * `TCP_FASTOPEN_CONNECT`). A SYN-ACK that acknowledges only the SYN
 * (cookie refused, or the server does not do Fast Open) rewinds SND.NXT so
 * the data goes again at once, after the handshake (§4.2.2). A retransmitted
 * SYN carries the same data (tou ends have no middlebox dropping SYN data).
 *
 * Server (RFC 7413 §4.2): with a valid cookie the SYN's data is taken in
 * SYN_RCVD and acknowledged by the SYN-ACK, and the server may send data
 * before the handshake completes (§4.2.2 "the server MAY send data ...").
 *
 * @module
 */

import { seqLt, seqSub } from "../wire/seq.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";
import type { Sender } from "./sender.ts";

/** Fast Open settings of one connection, given by the stack at open time. */
export interface FastOpenParams {
  /**
   * Client: the cookie cached for this server (the SYN carries it and the
   * first data), or an empty array to request one (RFC 7413 §4.1.2).
   * Server: the cookie for the SYN-ACK (sent when the client asked for one
   * or sent an invalid one), or undefined.
   */
  readonly cookie?: Uint8Array;
  /** Client: most data bytes the SYN may carry (0: none). */
  readonly synDataMax?: number;
  /** Client: keep the SYN until the first write, closeWrite or release. */
  readonly holdSyn?: boolean;
  /** Server: the client's cookie was valid; take the SYN's data (RFC 7413 §4.2.2). */
  readonly acceptData?: boolean;
}

/** Fast Open state of one connection. */
export interface FastOpenState {
  /** The option our SYN or SYN-ACK carries (undefined: none). */
  readonly cookieOut: Uint8Array | undefined;
  /** Client: data bytes our SYN carried. */
  synData: number;
  /** Client: the cookie the server's SYN-ACK carried, if any. */
  cookieIn: Uint8Array | undefined;
  /** Client: whether the SYN-ACK acknowledged the SYN's data (undefined before it came). */
  dataAcked: boolean | undefined;
  /** Server: bytes taken from the SYN. */
  dataAccepted: number;
}

/**
 * The Fast Open state for `params`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fastOpenState } from "./fast_open.ts";
 * const s = fastOpenState({ cookie: new Uint8Array(0) });
 * assert.equal(s.cookieOut?.length, 0);
 * assert.equal(s.dataAcked, undefined);
 * ```
 */
export function fastOpenState(params: FastOpenParams): FastOpenState {
  return {
    cookieOut: params.cookie,
    synData: 0,
    cookieIn: undefined,
    dataAcked: undefined,
    dataAccepted: 0,
  };
}

/**
 * The client's SYN-ACK (RFC 7413 §4.2.2, SYN_SENT): keeps the server's
 * cookie and, when the SYN's data was not acknowledged, sends it again at
 * once instead of waiting for the retransmission timer.
 *
 * @param snd The send half (SND.UNA already moved by the SYN-ACK).
 * @param tfo Its Fast Open state.
 * @param seg The SYN-ACK.
 */
export function fastOpenSynAcked(snd: Sender, tfo: FastOpenState, seg: TcpSegment): void {
  const cookie = seg.options.fastOpen;
  if (cookie !== undefined && cookie.length > 0) tfo.cookieIn = cookie;
  if (tfo.synData === 0) return;
  const acked = seqSub(seg.ack, snd.iss) - 1;
  tfo.dataAcked = acked >= tfo.synData;
  if (seqLt(snd.sndNxt, snd.sndMax) || seqLt(seg.ack, snd.sndMax)) snd.rewind();
}
