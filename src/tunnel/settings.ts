/**
 * The tunnel config's shape ({@linkcode TouConfig}, validated by the schema
 * in `config.ts`, which re-exports all of this) and what the long-running
 * commands take from it: defaults filled in, addresses and specs parsed,
 * seconds made milliseconds.
 *
 * @module
 */

import type { TouOptions } from "../net/mod.ts";
import type { CipherChoice } from "../seal/cipher_choice.ts";
import type { CongestionName } from "../tcp/congestion/defaults.ts";
import {
  type ForwardSpec,
  type HostPort,
  type LocalSpec,
  parseForwardSpec,
  parseHostPort,
  parseLocalSpec,
} from "./address.ts";
import { ConfigError } from "./config_error.ts";
import type { LogFormat, LogLevel } from "./log.ts";
import {
  DEFAULT_CONNECT_TIMEOUT_S,
  DEFAULT_KEEPALIVE_S,
  DEFAULT_USER_TIMEOUT_S,
} from "./dead_peer.ts";

/** Where a server listens when neither `--listen` nor the file says. */
export const DEFAULT_LISTEN = "0.0.0.0:7000";

/** Seconds open streams may drain after SIGINT/SIGTERM before they are reset. */
export const DEFAULT_DRAIN_TIMEOUT_S = 10;

/**
 * A validated config (file, flags, or both merged). `tcp` keeps the user's
 * values only (validated, defaults not filled in), so that the endpoint can
 * tell a value the user chose from a default.
 */
export interface TouConfig {
  /** Path or URL of the JSON Schema (ignored). */
  readonly $schema?: string;
  /** `host:port` to listen on (server, `cat --listen`). */
  readonly listen?: string;
  /** `TUNNELPORT=HOST:PORT` services (server). */
  readonly forward?: readonly string[];
  /** The server's `host:port` (client). */
  readonly server?: string;
  /** `[HOST:]PORT=TUNNELPORT` listeners (client). */
  readonly local?: readonly string[];
  /** Key file path. */
  readonly keyFile?: string;
  /** Accept a key file others can read. */
  readonly allowReadableKeyFile?: boolean;
  /** Run without a key on purpose. */
  readonly plaintext?: boolean;
  /** AEAD this side seals with (it opens both). */
  readonly cipher?: CipherChoice;
  /** Loopback `host:port` of the control endpoint. */
  readonly control?: string;
  /** Drain timeout in seconds. */
  readonly drainTimeout?: number;
  /** Keepalive idle time in seconds (0 off). */
  readonly keepalive?: number;
  /** User timeout in seconds (0 off). */
  readonly userTimeout?: number;
  /** Connect timeout in seconds (client, cat). */
  readonly connectTimeout?: number;
  /** Carry local connections as streams of one multiplexed tunnel connection (client). */
  readonly mux?: boolean;
  /** Tunnel connections a server holds at most (0 no limit). */
  readonly maxSessions?: number;
  /** Per client IP address (0 no limit). */
  readonly maxSessionsPerClient?: number;
  /** Idle timeout in seconds (0 never). */
  readonly idleTimeout?: number;
  /** Buffer memory budget in MiB (0 none). */
  readonly memoryBudget?: number;
  /** Log level. */
  readonly logLevel?: LogLevel;
  /** Log format. */
  readonly logFormat?: LogFormat;
  /** Congestion control (overrides `tcp.congestionControl`). */
  readonly congestion?: CongestionName;
  /** Worker processes sharing the UDP port (server); absent: one process. */
  readonly workers?: number;
  /** TCP tunables as the user wrote them. */
  readonly tcp?: TouOptions;
}

/** The settings of every long-running command. */
export interface CommonSettings {
  /** Path of the key file, if any. */
  readonly keyFile?: string;
  /** Accept a key file others can read. */
  readonly allowReadableKeyFile: boolean;
  /** Run without a key on purpose. */
  readonly plaintext: boolean;
  /** AEAD this side seals with (it opens both); default "auto". */
  readonly cipher?: CipherChoice;
  /** Control endpoint address, if any. */
  readonly control?: HostPort;
  /** Drain timeout in ms. */
  readonly drainTimeoutMs: number;
  /** Keepalive idle time in ms (0 off). */
  readonly keepAliveMs: number;
  /** User timeout in ms (0 off). */
  readonly userTimeoutMs: number;
  /** Log level. */
  readonly logLevel: LogLevel;
  /** Log format. */
  readonly logFormat: LogFormat;
  /** TCP tunables the user set (validated; the endpoint fills in the defaults). */
  readonly tcp: TouOptions;
  /** Session cap, when given (default in `session_limits.ts`). */
  readonly maxSessions?: number;
  /** Per-client session cap, when given. */
  readonly maxSessionsPerClient?: number;
  /** Idle timeout in ms, when given. */
  readonly idleTimeoutMs?: number;
  /** Buffer memory budget in bytes, when given. */
  readonly memoryBudgetBytes?: number;
}

/** Everything `tou server` needs. */
export interface ServerSettings extends CommonSettings {
  /** UDP address to listen on. */
  readonly listen: HostPort;
  /** The services. */
  readonly forwards: readonly ForwardSpec[];
}

/** Everything `tou client` needs. */
export interface ClientSettings extends CommonSettings {
  /** The server's UDP address. */
  readonly server: HostPort;
  /** The local listeners. */
  readonly locals: readonly LocalSpec[];
  /** Connect timeout in ms. */
  readonly connectTimeoutMs: number;
  /** Carry every local connection as a stream of one multiplexed tunnel connection. */
  readonly mux: boolean;
}

function common(cfg: TouConfig): CommonSettings {
  return {
    keyFile: cfg.keyFile,
    allowReadableKeyFile: cfg.allowReadableKeyFile ?? false,
    plaintext: cfg.plaintext ?? false,
    cipher: cfg.cipher,
    control: cfg.control === undefined
      ? undefined
      : parseHostPort(cfg.control, { defaultHost: "127.0.0.1", allowZeroPort: true }),
    drainTimeoutMs: Math.round((cfg.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT_S) * 1000),
    keepAliveMs: Math.round((cfg.keepalive ?? DEFAULT_KEEPALIVE_S) * 1000),
    userTimeoutMs: Math.round((cfg.userTimeout ?? DEFAULT_USER_TIMEOUT_S) * 1000),
    logLevel: cfg.logLevel ?? "info",
    logFormat: cfg.logFormat ?? "text",
    tcp: tcpOptionsOf(cfg),
    maxSessions: cfg.maxSessions,
    maxSessionsPerClient: cfg.maxSessionsPerClient,
    idleTimeoutMs: cfg.idleTimeout === undefined ? undefined : Math.round(cfg.idleTimeout * 1000),
    memoryBudgetBytes: cfg.memoryBudget === undefined ? undefined : cfg.memoryBudget * 1024 * 1024,
  };
}

/**
 * The TCP tunables of a config: `tcp`, with `congestion` (the `--congestion`
 * flag) as its congestion control when given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tcpOptionsOf } from "./config.ts";
 * assert.deepEqual(tcpOptionsOf({ congestion: "newreno", tcp: { msl: 1000 } }), {
 *   msl: 1000,
 *   congestionControl: "newreno",
 * });
 * assert.deepEqual(tcpOptionsOf({}), {});
 * ```
 */
export function tcpOptionsOf(cfg: TouConfig): TouOptions {
  const tcp = cfg.tcp ?? {};
  return cfg.congestion === undefined ? tcp : { ...tcp, congestionControl: cfg.congestion };
}

/**
 * The settings of `tou server` from a validated config.
 *
 * @throws {ConfigError} When no forward is configured.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveServerSettings } from "./config.ts";
 * const s = resolveServerSettings({ forward: ["22=127.0.0.1:22"] });
 * assert.deepEqual(s.listen, { hostname: "0.0.0.0", port: 7000 });
 * assert.equal(s.forwards[0].target.port, 22);
 * ```
 */
export function resolveServerSettings(cfg: TouConfig): ServerSettings {
  if (!cfg.forward || cfg.forward.length === 0) {
    throw new ConfigError(
      "missing --forward: a server needs at least one TUNNELPORT=HOST:PORT (e.g. 22=127.0.0.1:22)",
    );
  }
  return {
    ...common(cfg),
    listen: parseHostPort(cfg.listen ?? DEFAULT_LISTEN, {
      defaultHost: "0.0.0.0",
      allowZeroPort: true,
    }),
    forwards: cfg.forward.map(parseForwardSpec),
  };
}

/**
 * The settings of `tou client` from a validated config.
 *
 * @throws {ConfigError} When the server or the local listeners are missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveClientSettings } from "./config.ts";
 * const s = resolveClientSettings({ server: "10.0.0.1:7000", local: ["2222=22"] });
 * assert.equal(s.server.hostname, "10.0.0.1");
 * assert.equal(s.locals[0].listen.port, 2222);
 * assert.equal(s.mux, false);
 * const m = resolveClientSettings({ server: "10.0.0.1:7000", local: ["2222=22"], mux: true });
 * assert.equal(m.mux, true);
 * ```
 */
export function resolveClientSettings(cfg: TouConfig): ClientSettings {
  if (cfg.server === undefined) {
    throw new ConfigError("missing --server: the tou server's UDP address, host:port");
  }
  if (!cfg.local || cfg.local.length === 0) {
    throw new ConfigError(
      "missing --local: a client needs at least one [HOST:]PORT=TUNNELPORT (e.g. 127.0.0.1:2222=22)",
    );
  }
  return {
    ...common(cfg),
    server: parseHostPort(cfg.server),
    locals: cfg.local.map(parseLocalSpec),
    connectTimeoutMs: Math.round((cfg.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_S) * 1000),
    mux: cfg.mux ?? false,
  };
}
