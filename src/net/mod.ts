/**
 * The public API of tou over real UDP: endpoints, listeners, connections,
 * options and errors.
 *
 * @example Echo
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect, listen } from "./mod.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await connect({ hostname: "127.0.0.1", port: listener.touAddr.port });
 * const server = await listener.accept();
 * listener.close();
 * await conn.write(new TextEncoder().encode("hi"));
 * await conn.closeWrite();
 * const echoed = server.readable.pipeTo(server.writable);
 * assert.equal(await new Response(conn.readable).text(), "hi");
 * await echoed;
 * conn.close();
 * server.close();
 * await Promise.all([conn.closed, server.closed]);
 * ```
 *
 * @module
 */

export { formatTouAddr, type TouAddr, type TouTuple } from "./addr.ts";
export { type ConnCloseInfo, type ConnCloseReason, TouConn } from "./conn.ts";
export { connect, type ConnectOptions } from "./connect.ts";
export { Endpoint, openEndpoint } from "./endpoint.ts";
export type { UdpBackend } from "../udp/open_datagram_socket.ts";
export type { TraceSegment, TraceState, TraceSubscriber } from "./trace_hub.ts";
export type { TcpTraceEvent, TraceCause } from "../tcp/trace_events.ts";
export type {
  ConnectionStats,
  DatagramSocketDecorator,
  EndpointConnectOptions,
  EndpointListenOptions,
  EndpointOptions,
} from "./endpoint_options.ts";
export {
  AddrInUseError,
  BrokenPipeError,
  ClosedError,
  ConnectionAbortedError,
  ConnectionRefusedError,
  ConnectionResetError,
  InterruptedError,
  InvalidAddrError,
  InvalidOptionError,
  NotConnectedError,
  TimedOutError,
} from "./errors.ts";
export { listen, type ListenOptions } from "./listen.ts";
export {
  type NodeConnectionSink,
  NodeSocket,
  type NodeSocketOptions,
  serveNodeServer,
  toNodeSocket,
} from "./node_socket.ts";
export { TouListener } from "./listener.ts";
export {
  type OptionLayer,
  type OptionSpec,
  type OptionUnit,
  type ResolvedTouOptions,
  TOU_OPTION_SPECS,
  type TouOptionName,
  type TouOptions,
} from "./option_specs.ts";
export { resolveTouOptions, touOptionsJsonSchema } from "./options.ts";
