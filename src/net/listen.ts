/**
 * `listen(options)`: the one-call server, like `Deno.listen`. It opens an
 * endpoint of its own on the UDP port and listens on a TCP port of it.
 *
 * @module
 */

import { z } from "zod";
import { openEndpoint, setAutoClose } from "./endpoint.ts";
import type { TouListener } from "./listener.ts";
import {
  booleanOption,
  checkTouOptions,
  hostnameOption,
  parseOptions,
  pickTouOptions,
  portOption,
  touOptionsShape,
} from "./options.ts";
import { type TouOptions } from "./option_specs.ts";

/**
 * Options of {@linkcode listen}: the local address plus every tunable
 * ({@linkcode TouOptions}).
 *
 * @example UDP port 0, TCP port 22
 * ```ts
 * import assert from "node:assert/strict";
 * import { listen, type ListenOptions } from "./listen.ts";
 * const opts: ListenOptions = { hostname: "127.0.0.1", port: 0, tcpPort: 22, backlog: 16 };
 * const listener = await listen(opts);
 * assert.equal(listener.addr.port, 22);
 * listener.close();
 * ```
 */
export interface ListenOptions extends TouOptions {
  /** Local IP literal to bind. Default "0.0.0.0". */
  readonly hostname?: string;
  /** Local UDP port; 0 (the default) picks an ephemeral one. */
  readonly port?: number;
  /** TCP port to listen on. Default: the UDP port number. */
  readonly tcpPort?: number;
  /** Listen even while TIME_WAIT connections use the TCP port (SO_REUSEADDR). */
  readonly reuseAddress?: boolean;
}

const listenSchema = z.strictObject({
  ...touOptionsShape,
  hostname: hostnameOption().optional(),
  port: portOption(0).optional(),
  tcpPort: portOption(1).optional(),
  reuseAddress: booleanOption().optional(),
}).superRefine(checkTouOptions);

/**
 * Opens an endpoint on `hostname:port` (UDP) and listens on `tcpPort`
 * inside it. The endpoint belongs to the listener: it closes by itself once
 * the listener is closed and every connection accepted from it has
 * finished.
 *
 * @param options Local address, TCP port, backlog and tunables.
 * @returns The listener; `listener.touAddr.port` is the UDP port.
 * @throws {InvalidOptionError} When an option is out of range.
 * @throws {AddrInUseError} When the UDP address is already bound.
 *
 * @example Listen and accept
 * ```ts
 * import assert from "node:assert/strict";
 * import { listen } from "./listen.ts";
 * import { connect } from "./connect.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = listener.touAddr;
 * assert.equal(listener.addr.port, port); // TCP port defaults to the UDP port
 * const conn = await connect({ hostname: "127.0.0.1", port });
 * const server = await listener.accept();
 * listener.close();
 * conn.close();
 * server.close();
 * await Promise.all([conn.closed, server.closed]);
 * ```
 */
export async function listen(options: ListenOptions = {}): Promise<TouListener> {
  const o = parseOptions(listenSchema, options);
  // Leave an unset segmentBudget unset: openEndpoint picks the loopback size for a loopback address.
  const { segmentBudget, ...tunables } = pickTouOptions(o);
  const ep = await openEndpoint({
    ...tunables,
    ...(options.segmentBudget === undefined ? {} : { segmentBudget }),
    hostname: o.hostname,
    port: o.port,
  });
  try {
    const l = ep.listen({ tcpPort: o.tcpPort, backlog: o.backlog, reuseAddress: o.reuseAddress });
    setAutoClose(ep);
    return l;
  } catch (err) {
    ep.close();
    await ep.closed;
    throw err;
  }
}
