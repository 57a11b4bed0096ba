/**
 * The tunnel's limits on sessions and memory (issue #11): what a forged or
 * runaway client can hold on a server is bounded, and every refusal and
 * expiry is counted (`tou stat --metrics`).
 *
 * - At most {@linkcode DEFAULT_MAX_SESSIONS} tunnel connections per server
 *   and {@linkcode DEFAULT_MAX_SESSIONS_PER_CLIENT} per client IP address
 *   (handshaking or open; TIME_WAIT does not count). Past either, a new
 *   connection's SYN is answered with a RST at once: the client's local
 *   application sees its connection reset instead of hanging through SYN
 *   retransmissions (`stack_conn_limit_refused_total`,
 *   `stack_conn_limit_per_addr_refused_total`).
 * - A session over which no data went either way for
 *   {@linkcode DEFAULT_IDLE_TIMEOUT_S} s is reset (as nginx's stream
 *   `proxy_timeout`, 10 min); keepalive probes do not count as data
 *   (`stack_idle_expired_total`). 0 turns it off.
 * - Half-open handshakes expire after the user timeout (20 s) or
 *   `synAckRetries` (`stack_half_open_expired_total`); SYN cookies keep a
 *   flood from holding any.
 * - The send and receive buffers of all tunnel connections share
 *   {@linkcode DEFAULT_MEMORY_BUDGET_MIB} MiB: each connection's windows
 *   shrink to an equal share as sessions are added, and a new session is
 *   refused (RST) only when a share would fall below 4 KiB a direction
 *   (`stack_memory_refused_total`). One busy session still gets the full
 *   4 MiB buffers.
 *
 * @module
 */

import type { TouOptions } from "../net/mod.ts";

/** Tunnel connections a server holds at most. */
export const DEFAULT_MAX_SESSIONS = 4096;
/** Tunnel connections a server holds at most per client IP address. */
export const DEFAULT_MAX_SESSIONS_PER_CLIENT = 2048;
/** Seconds without data either way before a session is reset; 0 never. */
export const DEFAULT_IDLE_TIMEOUT_S = 600;
/** MiB of send and receive buffers shared by all tunnel connections of an endpoint. */
export const DEFAULT_MEMORY_BUDGET_MIB = 128;

/** Limits of a tunnel endpoint (server, client, cat). */
export interface SessionLimitOptions {
  /** Tunnel connections at most (a server's); 0 no limit. Default {@linkcode DEFAULT_MAX_SESSIONS}. */
  readonly maxSessions?: number;
  /** Per client IP address; 0 no limit. Default {@linkcode DEFAULT_MAX_SESSIONS_PER_CLIENT}. */
  readonly maxSessionsPerClient?: number;
  /** Idle timeout in ms; 0 never. Default {@linkcode DEFAULT_IDLE_TIMEOUT_S} s. */
  readonly idleTimeoutMs?: number;
  /** Buffer memory budget in bytes; 0 none. Default {@linkcode DEFAULT_MEMORY_BUDGET_MIB} MiB. */
  readonly memoryBudgetBytes?: number;
}

/**
 * The stack and TCP options of the tunnel's limits.
 *
 * @param opts Limits given (flags or config); the rest take the defaults.
 * @returns Options for the endpoint (`tcp` values the user set win over them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tunnelLimits } from "./session_limits.ts";
 * assert.deepEqual(tunnelLimits({ maxSessions: 10 }), {
 *   maxConnections: 10,
 *   maxConnectionsPerAddr: 2048,
 *   idleTimeout: 600_000,
 *   memoryBudget: 128 * 1024 * 1024,
 * });
 * ```
 */
export function tunnelLimits(opts: SessionLimitOptions): TouOptions {
  return {
    maxConnections: opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
    maxConnectionsPerAddr: opts.maxSessionsPerClient ?? DEFAULT_MAX_SESSIONS_PER_CLIENT,
    idleTimeout: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_S * 1000,
    memoryBudget: opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_MIB * 1024 * 1024,
  };
}
