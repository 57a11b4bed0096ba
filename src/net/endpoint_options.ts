/**
 * The option and snapshot types of {@linkcode Endpoint} and the zod
 * schemas that validate the options.
 *
 * @module
 */

import { z } from "zod";
import type { TcpInfo } from "../tcp/info.ts";
import type { TcpState } from "../tcp/state.ts";
import type { DatagramSocket } from "../udp/datagram_socket.ts";
import type { TouTuple } from "./addr.ts";
import {
  booleanOption,
  checkTouOptions,
  functionOption,
  hostnameOption,
  portOption,
  signalOption,
  touOptionsShape,
} from "./options.ts";
import type { TouOptions } from "./option_specs.ts";
import { UDP_BACKENDS, type UdpBackend } from "../udp/open_datagram_socket.ts";

/**
 * Options of {@linkcode openEndpoint}: the local UDP address plus every
 * tunable ({@linkcode TouOptions}).
 *
 * @example Bind loopback with a short TIME_WAIT
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 * import type { EndpointOptions } from "./endpoint_options.ts";
 * const opts: EndpointOptions = { hostname: "127.0.0.1", port: 0, msl: 1_000 };
 * await using ep = await openEndpoint(opts);
 * assert.equal(ep.options.msl, 1_000);
 * ```
 */
export interface EndpointOptions extends TouOptions {
  /** Local IP literal to bind. Default "0.0.0.0". */
  readonly hostname?: string;
  /** Local UDP port; 0 (the default) picks an ephemeral one. */
  readonly port?: number;
  /**
   * UDP backend: "kernel" (libc over FFI: batched sendmmsg/recvmmsg, GSO/GRO,
   * large socket buffers; needs `--allow-ffi` on Linux), "deno"
   * (`Deno.listenDatagram`) or "auto" (the default: kernel when available).
   */
  readonly udpBackend?: UdpBackend;
  /**
   * Set SO_REUSEPORT on the UDP socket, so that several processes can bind
   * the same UDP port and the kernel spreads peers among them by a hash of
   * the 4-tuple (`tou server --workers`). Needs the kernel backend
   * (`--allow-ffi` on Linux): `Deno.listenDatagram` cannot set it. Default false.
   */
  readonly udpReusePort?: boolean;
  /**
   * Wraps the UDP socket before the stack sees it (sealing, tracing, fault
   * injection). See {@linkcode DatagramSocketDecorator}.
   */
  readonly decorate?: DatagramSocketDecorator;
}

/**
 * Wraps an endpoint's UDP socket in another {@linkcode DatagramSocket}
 * that the stack then sends and receives through (a sealing or tracing
 * decorator, usually a `ForwardingSocket` subclass). It is called once,
 * when the endpoint opens, with the bound UDP socket; the returned socket
 * owns `udp` from then on (closing it must close `udp`). When the
 * decorator throws, the endpoint closes `udp` and the open fails.
 * `Endpoint.udpStats()` still reads the UDP socket itself.
 *
 * @example Count the datagrams an endpoint sends
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 * import type { DatagramSocketDecorator } from "./endpoint_options.ts";
 * import { ForwardingSocket } from "../udp/forwarding_socket.ts";
 * import type { DatagramAddr } from "../udp/datagram_socket.ts";
 *
 * let sent = 0;
 * class Counting extends ForwardingSocket {
 *   override send(data: Uint8Array, addr?: DatagramAddr): void {
 *     sent++;
 *     this.inner.send(data, addr);
 *   }
 * }
 * const decorate: DatagramSocketDecorator = (udp) => new Counting(udp);
 * await using server = await openEndpoint({ hostname: "127.0.0.1" });
 * await using client = await openEndpoint({ hostname: "127.0.0.1", decorate });
 * using _l = server.listen();
 * const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * assert.ok(sent >= 2); // SYN and ACK
 * conn.close();
 * ```
 */
export type DatagramSocketDecorator = (udp: DatagramSocket) => DatagramSocket;

/**
 * Options of {@linkcode Endpoint.listen}.
 *
 * @example A listener with a deep accept queue
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 * import type { EndpointListenOptions } from "./endpoint_options.ts";
 * await using ep = await openEndpoint({ hostname: "127.0.0.1" });
 * const opts: EndpointListenOptions = { tcpPort: 80, backlog: 1024 };
 * using l = ep.listen(opts);
 * assert.equal(l.backlog, 1024);
 * ```
 */
export interface EndpointListenOptions {
  /** TCP port to listen on. Default: the endpoint's UDP port number. */
  readonly tcpPort?: number;
  /** Accept-queue bound. Default: the endpoint's `backlog` option (128). */
  readonly backlog?: number;
  /** Listen even while TIME_WAIT connections use the port (SO_REUSEADDR). */
  readonly reuseAddress?: boolean;
  /**
   * Share the port with other listeners that set it too (SO_REUSEPORT):
   * each new connection goes to one of them, chosen by a hash of its 4-tuple.
   */
  readonly reusePort?: boolean;
}

/**
 * Options of {@linkcode Endpoint.connect}: where to connect, and
 * per-connection settings.
 *
 * @example Connect with Nagle off
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 * import type { EndpointConnectOptions } from "./endpoint_options.ts";
 * await using ep = await openEndpoint({ hostname: "127.0.0.1" });
 * using _l = ep.listen({ tcpPort: 22 });
 * const opts: EndpointConnectOptions = {
 *   hostname: "127.0.0.1",
 *   port: ep.addr.port,
 *   tcpPort: 22,
 *   noDelay: true,
 * };
 * const conn = await ep.connect(opts);
 * assert.equal(conn.remoteAddr.port, 22);
 * conn.close();
 * ```
 */
export interface EndpointConnectOptions {
  /** The peer's IP address or host name. */
  readonly hostname: string;
  /** The peer's UDP port. */
  readonly port: number;
  /** The TCP port inside the tunnel. Default: the UDP `port` number. */
  readonly tcpPort?: number;
  /** Our TCP port. Default: an ephemeral one from `portRange`. */
  readonly localTcpPort?: number;
  /** Allow a `localTcpPort` that TIME_WAIT connections still use (SO_REUSEADDR). */
  readonly reuseAddress?: boolean;
  /** Aborts the handshake (the connection is reset and the promise rejects with the reason). */
  readonly signal?: AbortSignal;
  /** TCP_NODELAY for this connection. Default: the endpoint's `noDelay` option. */
  readonly noDelay?: boolean;
  /** SO_KEEPALIVE for this connection. Default: the endpoint's `keepAlive` option. */
  readonly keepAlive?: boolean;
  /**
   * TCP Fast Open (RFC 7413) for this connection, like Linux's
   * `TCP_FASTOPEN_CONNECT`. With a cookie from this server cached (from an
   * earlier connection), `connect` resolves at once, before the handshake:
   * the SYN waits for the first `write` (made in the same task) and carries
   * its bytes, so they reach the server half a round trip later; if nothing
   * is written by the next macrotask the SYN goes alone. Errors of the
   * handshake then show on reads and writes. Without a cookie, the SYN asks
   * for one and `connect` waits for the handshake as usual. The server's
   * endpoint needs `fastOpen: true`; otherwise the data is simply sent
   * again after the handshake. SYN data may be delivered twice only if
   * the server lost its state (RFC 7413 §6.1): use it for requests that
   * are safe to repeat or protocols that tolerate it (the tunnel does). Default false.
   */
  readonly fastOpen?: boolean;
}

/**
 * A snapshot of one connection of an endpoint (`ss -ti`-like), from
 * {@linkcode Endpoint.connections}.
 *
 * @example List connections
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 * import type { ConnectionStats } from "./endpoint_options.ts";
 * await using ep = await openEndpoint({ hostname: "127.0.0.1" });
 * const listener = ep.listen({ tcpPort: 22 });
 * const conn = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port, tcpPort: 22 });
 * const server = await listener.accept();
 * const rows: ConnectionStats[] = ep.connections();
 * assert.deepEqual(rows.map((r) => r.passive).sort(), [false, true]);
 * assert.ok(rows.every((r) => r.state === "ESTABLISHED" && r.info.mss > 0));
 * conn.close();
 * server.close();
 * ```
 */
export interface ConnectionStats {
  /** Both sides with UDP and TCP ports. */
  readonly tuple: TouTuple;
  /** The TCP state, e.g. "TIME_WAIT". */
  readonly state: TcpState;
  /** True when it came from a listener. */
  readonly passive: boolean;
  /** TCP_INFO-like figures. */
  readonly info: TcpInfo;
}

/** Internal: the schema of {@linkcode EndpointOptions}. */
export const endpointSchema = z.strictObject({
  ...touOptionsShape,
  hostname: hostnameOption().optional(),
  port: portOption(0).optional(),
  udpBackend: z.enum(UDP_BACKENDS).optional(),
  udpReusePort: booleanOption().optional(),
  decorate: functionOption<DatagramSocketDecorator>("(udp) => DatagramSocket").optional(),
}).superRefine(checkTouOptions);

/** Internal: the schema of {@linkcode EndpointListenOptions}. */
export const endpointListenSchema = z.strictObject({
  tcpPort: portOption(1).optional(),
  backlog: touOptionsShape.backlog.optional(),
  reuseAddress: booleanOption().optional(),
  reusePort: booleanOption().optional(),
});

/** Internal: the schema of {@linkcode EndpointConnectOptions}. */
export const endpointConnectSchema = z.strictObject({
  hostname: hostnameOption(),
  port: portOption(1),
  tcpPort: portOption(1).optional(),
  localTcpPort: portOption(1).optional(),
  reuseAddress: booleanOption().optional(),
  signal: signalOption().optional(),
  noDelay: booleanOption().optional(),
  keepAlive: booleanOption().optional(),
  fastOpen: booleanOption().optional(),
});
