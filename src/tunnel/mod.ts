/**
 * The tunnel: proxy kernel TCP streams through tou, as `tou server`,
 * `tou client` and `tou cat` do, for apps that embed it.
 *
 * @example Forward local port 2222 to a server's ssh service
 * ```ts ignore
 * import { TunnelClient, TunnelServer } from "./mod.ts";
 *
 * const server = await TunnelServer.start({
 *   listen: { hostname: "0.0.0.0", port: 7000 },
 *   forwards: [{ tunnelPort: 22, target: { hostname: "127.0.0.1", port: 22 } }],
 *   key,
 * });
 * const client = await TunnelClient.start({
 *   server: { hostname: "203.0.113.5", port: 7000 },
 *   locals: [{ listen: { hostname: "127.0.0.1", port: 2222 }, tunnelPort: 22 }],
 *   key,
 * });
 * ```
 *
 * @module
 */

export {
  AddressError,
  formatHostPort,
  type ForwardSpec,
  type HostPort,
  type LocalSpec,
  parseForwardSpec,
  parseHostPort,
  type ParseHostPortOptions,
  parseLocalSpec,
  parsePort,
} from "./address.ts";
export { type CatOptions, type CatResult, runCat } from "./cat.ts";
export { type LocalListener, TunnelClient, type TunnelClientOptions } from "./client.ts";
export {
  type ClientSettings,
  type CommonSettings,
  ConfigError,
  type ConfigSource,
  mergeConfig,
  type ParsedTouConfig,
  readConfigFile,
  resolveClientSettings,
  resolveServerSettings,
  type ServerSettings,
  type TouConfig,
  touConfigSchema,
  validateConfig,
} from "./config.ts";
export { type KeySource, type LoadedKey, loadKey, newKeyText } from "./key_file.ts";
export { type DemoOptions, type DemoResult, runDemo } from "./demo.ts";
export { resetTcpConn } from "./kernel_reset.ts";
export {
  type LogFields,
  type LogFormat,
  Logger,
  type LoggerOptions,
  type LogLevel,
} from "./log.ts";
export {
  connSide,
  type CopyOptions,
  type CopyResult,
  copyStream,
  Pipe,
  type PipeOptions,
  type PipeResetBy,
  type PipeResult,
  type PipeSide,
} from "./pipe.ts";
export {
  type DrainResult,
  Relay,
  type RelayCounters,
  type RelayRole,
  type Session,
} from "./relay.ts";
export { TunnelServer, type TunnelServerOptions } from "./server.ts";
export {
  type Drainable,
  serveUntilSignal,
  type ServeUntilSignalOptions,
  ShutdownSignals,
} from "./shutdown.ts";
export {
  type ControlServer,
  fetchStat,
  formatPrometheus,
  formatStatTable,
  startControlServer,
  type StatRow,
  type StatSession,
  type StatSnapshot,
  type StatSource,
  takeSnapshot,
} from "./stat.ts";
export {
  type EndpointConnection,
  type EndpointMetrics,
  type ObservableEndpoint,
} from "./tou_endpoint.ts";
export type {
  EndpointFactory,
  OpenEndpointOptions,
  TunnelAddr,
  TunnelConn,
  TunnelEndpoint,
  TunnelListener,
} from "./transport.ts";

export type { ResolvedTouOptions, TouOptions } from "../net/mod.ts";
