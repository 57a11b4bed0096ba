/**
 * The sans-I/O TCP core (RFC 9293): one connection's state machine plus its
 * configuration, events and errors. The stack (`src/stack/`) feeds it
 * segments and time and drains its output.
 *
 * @example A handshake between two connections
 * ```ts
 * import assert from "node:assert/strict";
 * import { TcpConnection, tcpConfig } from "./mod.ts";
 * import { seq } from "../wire/seq.ts";
 *
 * const config = tcpConfig({ timestamps: false });
 * const a = TcpConnection.connect(0, { localPort: 1, remotePort: 2, iss: seq(1), config });
 * const b = TcpConnection.accept(0, { localPort: 2, remotePort: 1, iss: seq(9), config }, a.pollTransmit(0)!);
 * a.handleSegment(1, b.pollTransmit(0)!);
 * b.handleSegment(2, a.pollTransmit(1)!);
 * assert.equal(a.state, "ESTABLISHED");
 * assert.equal(b.state, "ESTABLISHED");
 * ```
 *
 * @module
 */

export {
  type ArrivalVerdict,
  type ConnectionParams,
  type KeepAliveOptions,
  TcpConnection,
} from "./connection.ts";
export { TcpUsageError } from "./errors.ts";
export type { TcpInfo } from "./info.ts";
export { DEFAULT_TCP_CONFIG, ENVELOPE_HEADER_LEN, type TcpConfig, tcpConfig } from "./config.ts";
export type { TcpErrorKind, TcpEvent } from "./events.ts";
export {
  isLegalTransition,
  isSynchronized,
  TCP_STATES,
  TCP_TRANSITIONS,
  type TcpState,
} from "./state.ts";
export { TIMER_KINDS, type TimerKind } from "./timers.ts";
export { formatTraceEvent, type TcpTraceEvent, type TraceCause } from "./trace_events.ts";
export type {
  AckSample,
  CongestionController,
  CongestionEvent,
  CongestionFactory,
  CongestionOptions,
} from "./congestion/congestion_controller.ts";
export { createController, knownControllers, registerController } from "./congestion/registry.ts";
