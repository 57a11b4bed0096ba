/**
 * `connect(options)`: the one-call client, like `Deno.connect`. It opens an
 * endpoint of its own on an ephemeral UDP port, connects, and closes the
 * endpoint once the connection has finished.
 *
 * @module
 */

import { z } from "zod";
import { canonicalIp, ipFamily } from "../udp/addr.ts";
import type { TouConn } from "./conn.ts";
import { isLoopbackIp } from "./addr.ts";
import { LOOPBACK_SEGMENT_BUDGET, openEndpoint, setAutoClose } from "./endpoint.ts";
import {
  booleanOption,
  checkTouOptions,
  hostnameOption,
  parseOptions,
  pickTouOptions,
  portOption,
  signalOption,
  touOptionsShape,
} from "./options.ts";
import { type TouOptions } from "./option_specs.ts";

/**
 * Options of {@linkcode connect}: the peer, our local address, and every
 * tunable ({@linkcode TouOptions}).
 *
 * @example A connect with a short SYN budget
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ConnectOptions } from "./connect.ts";
 * const opts: ConnectOptions = {
 *   hostname: "127.0.0.1",
 *   port: 9000, // UDP
 *   tcpPort: 22, // inside the tunnel
 *   synRetries: 2,
 *   signal: AbortSignal.timeout(5_000),
 * };
 * assert.equal(opts.tcpPort, 22);
 * ```
 */
export interface ConnectOptions extends TouOptions {
  /** The peer's IP address or host name. */
  readonly hostname: string;
  /** The peer's UDP port. */
  readonly port: number;
  /** The TCP port inside the tunnel. Default: the UDP `port` number. */
  readonly tcpPort?: number;
  /** Local IP to bind. Default "0.0.0.0" ("::" for an IPv6 peer). */
  readonly localHostname?: string;
  /** Local UDP port. Default 0 (ephemeral). */
  readonly localPort?: number;
  /** Our TCP port. Default: an ephemeral one from `portRange`. */
  readonly localTcpPort?: number;
  /** Aborts the handshake. */
  readonly signal?: AbortSignal;
}

const connectSchema = z.strictObject({
  ...touOptionsShape,
  hostname: hostnameOption(),
  port: portOption(1),
  tcpPort: portOption(1).optional(),
  localHostname: hostnameOption().optional(),
  localPort: portOption(0).optional(),
  localTcpPort: portOption(1).optional(),
  signal: signalOption().optional(),
  noDelay: booleanOption().optional(),
  keepAlive: booleanOption().optional(),
}).superRefine(checkTouOptions);

/**
 * Connects to a tou listener: opens an endpoint on an ephemeral UDP port,
 * runs the handshake, and resolves with the connection. The endpoint
 * belongs to the connection and closes by itself once the connection has
 * finished (TIME_WAIT reached or closed), so TIME_WAIT does not hold the
 * process; `conn.closed` resolves after the UDP socket is released.
 *
 * @param options The peer (hostname, UDP port, TCP port) and tunables.
 * @returns The established connection.
 * @throws {TimedOutError} When the SYN retries run out.
 * @throws {ConnectionRefusedError} When nothing listens on that TCP port.
 * @throws {InvalidOptionError} When an option is out of range.
 *
 * @example A refused connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 * import { connect } from "./connect.ts";
 *
 * await using ep = await openEndpoint({ hostname: "127.0.0.1" }); // no listener
 * await assert.rejects(
 *   connect({ hostname: "127.0.0.1", port: ep.addr.port, tcpPort: 22 }),
 *   Deno.errors.ConnectionRefused,
 * );
 * ```
 */
export async function connect(options: ConnectOptions): Promise<TouConn> {
  const o = parseOptions(connectSchema, options);
  const literal = canonicalIp(o.hostname);
  const localHostname = o.localHostname ??
    (literal !== undefined && ipFamily(literal) === 6 ? "::" : "0.0.0.0");
  // A loopback peer means a loopback path: size segments for it, as
  // openEndpoint does for a loopback-bound endpoint.
  const loopback = options.segmentBudget === undefined &&
    (isLoopbackIp(o.hostname) || o.hostname.toLowerCase() === "localhost");
  const tunables: TouOptions = {
    ...pickTouOptions(o),
    ...(loopback ? { segmentBudget: LOOPBACK_SEGMENT_BUDGET } : {}),
  };
  const ep = await openEndpoint({ ...tunables, hostname: localHostname, port: o.localPort ?? 0 });
  try {
    const conn = await ep.connect({
      hostname: o.hostname,
      port: o.port,
      tcpPort: o.tcpPort,
      localTcpPort: o.localTcpPort,
      signal: o.signal,
      fastOpen: o.fastOpen,
    });
    setAutoClose(ep);
    return conn;
  } catch (err) {
    ep.close();
    await ep.closed;
    throw err;
  }
}
