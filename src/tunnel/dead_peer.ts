/**
 * Dead-peer detection of the tunnel: the TCP defaults that make a vanished
 * peer (killed, rebooted, unplugged, its key changed) noticed within
 * seconds instead of the ≈ 15 minutes of Linux-like retransmission limits.
 *
 * - Keepalive: after {@linkcode DEFAULT_KEEPALIVE_S} s without a segment
 *   from the peer, probe every half of that; {@linkcode KEEPALIVE_PROBES}
 *   unanswered probes declare the peer dead. An idle (or only receiving)
 *   side thus notices within 2.5 × the keepalive time (25 s by default).
 * - User timeout (TCP_USER_TIMEOUT): data sent and not acknowledged for
 *   {@linkcode DEFAULT_USER_TIMEOUT_S} s aborts the connection (20 s by default).
 * - Connect timeout: a tunnel connection whose handshake has not completed
 *   after {@linkcode DEFAULT_CONNECT_TIMEOUT_S} s fails (SYNs at 0, 1, 3, 7 s).
 *
 * A tunnel connection that dies this way resets its kernel TCP side at once
 * (see `pipe.ts`, `relay.ts`), so the application sees ECONNRESET, not a hang.
 *
 * Also a tunnel default: a passive open sends at most
 * {@linkcode TUNNEL_AMPLIFICATION_LIMIT} times the bytes it received before
 * the peer acknowledged its SYN, so a replayed first datagram draws little.
 *
 * @module
 */

import type { TouOptions } from "../net/mod.ts";
import { SharedTimeoutSignals } from "./timeout_signals.ts";

/** Seconds of silence before the first keepalive probe; 0 turns keepalive off. */
export const DEFAULT_KEEPALIVE_S = 10;
/** Seconds sent data may stay unacknowledged before the connection is aborted; 0 off. */
export const DEFAULT_USER_TIMEOUT_S = 20;
/** Seconds a new tunnel connection may take to open. */
export const DEFAULT_CONNECT_TIMEOUT_S = 8;
/** Anti-amplification factor of the tunnel's passive opens (TCP `amplificationLimit`). */
export const TUNNEL_AMPLIFICATION_LIMIT = 3;
/** Unanswered keepalive probes, sent half a keepalive time apart, before the peer is dead. */
export const KEEPALIVE_PROBES = 3;

/** Dead-peer settings of a tunnel endpoint, in ms. */
export interface DeadPeerOptions {
  /** Keepalive idle time (ms); 0 off. Default {@linkcode DEFAULT_KEEPALIVE_S} s. */
  readonly keepAliveMs?: number;
  /** User timeout (ms); 0 off. Default {@linkcode DEFAULT_USER_TIMEOUT_S} s. */
  readonly userTimeoutMs?: number;
}

/**
 * The TCP tunables of a tunnel endpoint: the dead-peer and
 * anti-amplification defaults, then `tcp` (tunables the user set explicitly win).
 *
 * @param tcp The user's tunables.
 * @param opts Keepalive and user timeout.
 * @returns Tunables for the endpoint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tunnelTcp } from "./dead_peer.ts";
 * const t = tunnelTcp({}, {});
 * assert.equal(t.keepAlive, true);
 * assert.equal(t.keepAliveIdle! + 3 * t.keepAliveInterval!, 25_000);
 * assert.equal(t.userTimeout, 20_000);
 * assert.equal(tunnelTcp({}, { keepAliveMs: 0 }).keepAlive, false);
 * assert.equal(tunnelTcp({ userTimeout: 5 }, {}).userTimeout, 5);
 * ```
 */
export function tunnelTcp(tcp: TouOptions | undefined, opts: DeadPeerOptions): TouOptions {
  const ka = opts.keepAliveMs ?? DEFAULT_KEEPALIVE_S * 1000;
  const ut = opts.userTimeoutMs ?? DEFAULT_USER_TIMEOUT_S * 1000;
  const base: TouOptions = ka > 0
    ? {
      keepAlive: true,
      keepAliveIdle: ka,
      keepAliveInterval: Math.max(1, Math.round(ka / 2)),
      keepAliveCount: KEEPALIVE_PROBES,
      userTimeout: ut,
      amplificationLimit: TUNNEL_AMPLIFICATION_LIMIT,
    }
    : { keepAlive: false, userTimeout: ut, amplificationLimit: TUNNEL_AMPLIFICATION_LIMIT };
  return { ...base, ...(tcp ?? {}) };
}

const connectTimeouts = new SharedTimeoutSignals((ms) =>
  new Deno.errors.TimedOut(`no answer within ${ms / 1000} s`)
);

/**
 * An abort signal that fires after `ms` (plus at most a tenth, ≤ 100 ms)
 * with a {@linkcode Deno.errors.TimedOut} naming the connect timeout, so the
 * caller's message reads "timed out". The connects of one such window share
 * it (one timer, not one per connection: see `timeout_signals.ts`).
 *
 * @param ms The connect timeout.
 * @returns The signal.
 */
export function connectTimeoutSignal(ms: number): AbortSignal {
  return connectTimeouts.get(ms);
}
