/**
 * tou: TCP over UDP. Every TCP segment travels inside a UDP datagram and a
 * userspace TCP stack (RFC 9293) runs the connections, so two programs can
 * talk TCP wherever UDP gets through.
 *
 * Addressing: a tou address is a UDP address (hostname, UDP port) plus a
 * TCP port inside the tunnel; the TCP port defaults to the UDP port number.
 * One {@linkcode Endpoint} (one UDP socket) holds many listeners and
 * connections. {@linkcode TouConn} satisfies `Deno.Conn` and behaves as a
 * `Deno.TcpConn` (its streams too), and {@linkcode TouListener} satisfies
 * `Deno.Listener`. For Node libraries (`node:http`, `ws`, …),
 * {@linkcode toNodeSocket} makes a connection a `net.Socket`-like `Duplex`
 * and {@linkcode serveNodeServer} feeds a listener to a Node server.
 *
 * @example Echo server and client over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect, listen } from "./mod.ts";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = (async () => {
 *   for await (const conn of listener) {
 *     listener.close(); // one client is enough here
 *     await conn.readable.pipeTo(conn.writable); // echo until the client's FIN
 *     conn.close();
 *     await conn.closed;
 *   }
 * })();
 *
 * const conn = await connect({ hostname: "127.0.0.1", port: listener.touAddr.port });
 * await conn.write(new TextEncoder().encode("hello"));
 * await conn.closeWrite();
 * assert.equal(await new Response(conn.readable).text(), "hello");
 * conn.close();
 * await serving;
 * await conn.closed;
 * ```
 *
 * Connected UDP: the datagram socket tou runs on is exported too
 * ({@linkcode openUdpSocket}, {@linkcode DatagramSocket}), with Linux's
 * connected-UDP rules: `connect()` sends nothing but fixes the peer and
 * filters out every other sender, `connect()` again re-targets, and
 * `disconnect()` (`connect({ family: "unspec" })`, AF_UNSPEC) dissolves the
 * association; errors such as port unreachable reach connected sockets
 * only (docs/udp.md).
 *
 * @example Connected UDP: connect, re-connect, disconnect
 * ```ts
 * import assert from "node:assert/strict";
 * import { DestinationAddressRequiredError, openUdpSocket } from "./mod.ts";
 *
 * const client = await openUdpSocket({ hostname: "127.0.0.1" });
 * const one = await openUdpSocket({ hostname: "127.0.0.1" });
 * const two = await openUdpSocket({ hostname: "127.0.0.1" });
 * client.connect(one.localAddr); // no packet: it records the peer
 * client.send(new TextEncoder().encode("to one"));
 * assert.equal(new TextDecoder().decode((await one.receive()).data), "to one");
 * client.connect(two.localAddr); // re-connect: a new peer
 * client.send(new TextEncoder().encode("to two"));
 * assert.equal(new TextDecoder().decode((await two.receive()).data), "to two");
 * client.disconnect(); // AF_UNSPEC: no peer any more
 * assert.throws(() => client.send(new Uint8Array(1)), DestinationAddressRequiredError);
 * for (const s of [client, one, two]) s.close();
 * await Promise.all([client.closed, one.closed, two.closed]);
 * ```
 *
 * @module
 */

export * from "./src/net/mod.ts";
export type { TcpInfo } from "./src/tcp/info.ts";
export type { Duration } from "./src/time.ts";
export type { TcpState } from "./src/tcp/state.ts";
export type { TimerKind } from "./src/tcp/timers.ts";
export type { StackCounters, TcpDropCounters } from "./src/stack/stack.ts";
export type { ListenerCounters } from "./src/stack/stack_listener.ts";
export {
  DenoUdpSocket,
  type DenoUdpSocketStats,
  openUdpSocket,
  type OpenUdpSocketOptions,
} from "./src/udp/deno_udp_socket.ts";
export { DestinationAddressRequiredError, SocketClosedError } from "./src/udp/errors.ts";
export { ForwardingSocket } from "./src/udp/forwarding_socket.ts";
export {
  capturePcap,
  openPcapFile,
  type PcapSink,
  PcapSocket,
  type PcapSocketOptions,
  PcapWriter,
} from "./src/udp/pcap_socket.ts";
export type {
  Datagram,
  DatagramAddr,
  DatagramBatchOutput,
  DatagramErrorHandler,
  DatagramHandler,
  DatagramSocket,
  UnspecAddr,
} from "./src/udp/datagram_socket.ts";
