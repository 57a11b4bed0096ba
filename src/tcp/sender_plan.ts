/**
 * What the sender hands its connection: the plan of the next segment, the
 * construction options and the result bits of ACK processing. Split from
 * `sender.ts` to keep that file to the send logic.
 *
 * @module
 */

import type { Seq } from "../wire/seq.ts";
import type { TcpConfig } from "./config.ts";
import type { TimerTable } from "./timers.ts";

/** {@linkcode Sender.processAck} result bit: SEG.ACK outside the RFC 5961 §5.2 range. */
export const ACK_UNACCEPTABLE = 1;
/** Result bit: the ACK acknowledged our SYN. */
export const ACK_SYN_ACKED = 2;
/** Result bit: the ACK acknowledged our FIN. */
export const ACK_FIN_ACKED = 4;
/** Result bit: SND.UNA advanced. */
export const ACK_ADVANCED = 8;
/** Result bit: send-buffer space opened after a short write. */
export const ACK_WRITABLE = 16;

/** What {@linkcode Sender.next} decided to send; reused between calls. */
export interface TxPlan {
  /** SEG.SEQ. */
  seq: Seq;
  /** Payload bytes. */
  len: number;
  /** Offset of the payload in the send buffer. */
  offset: number;
  /** Carries the SYN. */
  syn: boolean;
  /** Carries the FIN. */
  fin: boolean;
}

/** Construction options of {@linkcode Sender}. */
export interface SenderOptions {
  /** Initial send sequence number. */
  readonly iss: Seq;
  /** Connection configuration. */
  readonly config: TcpConfig;
  /** The connection's timer table (this uses "retransmit" and "persist"). */
  readonly timers: TimerTable;
  /** Passive open: SYN-ACK retries apply instead of SYN retries. */
  readonly passive: boolean;
}
