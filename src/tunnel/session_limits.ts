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

/** How often the limit counters are read (ms). */
const REPORT_POLL_MS = 1_000;
/** At most one log line per kind in this long (ms). */
const REPORT_WINDOW_MS = 10_000;

/** The limits in force, for the log lines. */
export interface LimitsInForce {
  /** Session cap (0 none). */
  readonly maxSessions: number;
  /** Per-client cap (0 none). */
  readonly maxSessionsPerClient: number;
  /** Budget in bytes (0 none). */
  readonly memoryBudgetBytes: number;
}

/**
 * Logs refusals by the session caps and the memory budget, rate-limited:
 * the counters (`stack_conn_limit_refused`, ...) are read once a second;
 * the first refusal after a quiet 10 s is logged at once (within a second),
 * later ones summed into at most one line per kind per 10 s, e.g. "12
 * tunnel connections refused in the last 10 s: the server holds
 * --max-sessions (4096)". Keeps no per-address state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LimitReporter } from "./session_limits.ts";
 * const lines: string[] = [];
 * let refused = 0;
 * const r = new LimitReporter(
 *   () => ({ stack_conn_limit_refused: refused }),
 *   (msg) => lines.push(msg),
 *   { maxSessions: 2, maxSessionsPerClient: 0, memoryBudgetBytes: 0 },
 * );
 * refused = 3;
 * r.poll(1_000);
 * refused = 5;
 * r.poll(2_000); // within the window: summed
 * r.poll(11_000);
 * assert.deepEqual(lines, [
 *   "3 tunnel connections refused in the last 1 s: the server holds --max-sessions (2)",
 *   "2 tunnel connections refused in the last 10 s: the server holds --max-sessions (2)",
 * ]);
 * r.close();
 * ```
 */
export class LimitReporter {
  readonly #read: () => Readonly<Record<string, number>>;
  readonly #warn: (msg: string) => void;
  readonly #why: Readonly<Record<string, string>>;
  /** Per counter: value last logged, when. */
  #logged = new Map<string, { value: number; at: number }>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #start: number;

  /**
   * @param read Reads the endpoint's metrics (names without `_total`).
   * @param warn Writes one log line.
   * @param limits The limits in force, named in the lines.
   * @param start Time the counters start from (ms; default 0).
   */
  constructor(
    read: () => Readonly<Record<string, number>>,
    warn: (msg: string) => void,
    limits: LimitsInForce,
    start = 0,
  ) {
    this.#read = read;
    this.#warn = warn;
    this.#start = start;
    const mib = Math.round(limits.memoryBudgetBytes / (1024 * 1024));
    this.#why = {
      stack_conn_limit_refused: `the server holds --max-sessions (${limits.maxSessions})`,
      stack_conn_limit_per_addr_refused:
        `a client address holds --max-sessions-per-client (${limits.maxSessionsPerClient})`,
      stack_memory_refused:
        `--memory-budget (${mib} MiB) has no 4 KiB share left per direction for another`,
    };
  }

  /** Reads the counters every second with a real, unref'ed timer. */
  start(): this {
    this.#start = performance.now();
    this.#timer = setInterval(() => this.poll(performance.now()), REPORT_POLL_MS);
    Deno.unrefTimer(this.#timer);
    return this;
  }

  /** Reads the counters now and logs what is due. */
  poll(now: number): void {
    const m = this.#read();
    for (const [key, why] of Object.entries(this.#why)) {
      const value = m[key] ?? 0;
      const last = this.#logged.get(key) ?? { value: 0, at: this.#start - REPORT_WINDOW_MS };
      const n = value - last.value;
      if (n <= 0 || now - last.at < REPORT_WINDOW_MS) continue;
      const secs = Math.max(1, Math.round(Math.min(now - last.at, now - this.#start) / 1000));
      this.#warn(
        `${n} tunnel connection${n === 1 ? "" : "s"} refused in the last ${secs} s: ${why}`,
      );
      this.#logged.set(key, { value, at: now });
    }
  }

  /** Stops reading. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
