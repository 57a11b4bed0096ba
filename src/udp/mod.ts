/**
 * UDP transport for tou: the {@linkcode DatagramSocket} interface shared
 * with the simulator, the real sockets (libc over FFI with batched calls
 * and GSO/GRO, and `Deno.listenDatagram`), backend selection, typed errors
 * and address helpers. Semantics and measurements: docs/udp.md.
 *
 * @example Two sockets on loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { openUdpSocket } from "./mod.ts";
 *
 * const a = await openUdpSocket({ hostname: "127.0.0.1" });
 * const b = await openUdpSocket({ hostname: "127.0.0.1" });
 * b.connect(a.localAddr);
 * b.send(new TextEncoder().encode("hi"));
 * const d = await a.receive();
 * assert.equal(new TextDecoder().decode(d.data), "hi");
 * a.close();
 * b.close();
 * await Promise.all([a.closed, b.closed]);
 * ```
 *
 * @module
 */

export type {
  Datagram,
  DatagramAddr,
  DatagramBatchOutput,
  DatagramErrorHandler,
  DatagramHandler,
  DatagramSocket,
  UnspecAddr,
} from "./datagram_socket.ts";
export {
  DenoUdpSocket,
  type DenoUdpSocketStats,
  openUdpSocket,
  type OpenUdpSocketOptions,
} from "./deno_udp_socket.ts";
export {
  DEFAULT_RECEIVE_BUFFER_BYTES,
  DEFAULT_SEND_BUFFER_BYTES,
  DEFAULT_SPIN_TURNS,
  kernelUdpAvailable,
  KernelUdpSocket,
  type KernelUdpSocketOptions,
  type KernelUdpSocketStats,
  openKernelUdpSocket,
} from "./kernel_udp_socket.ts";
export {
  openDatagramSocket,
  type OpenDatagramSocketOptions,
  type OpenedDatagramSocket,
  pickUdpBackend,
  UDP_BACKENDS,
  type UdpBackend,
} from "./open_datagram_socket.ts";
export {
  AddrInUseError,
  ConnectionRefusedError,
  DestinationAddressRequiredError,
  InvalidAddrError,
  SocketClosedError,
} from "./errors.ts";
export {
  canonicalIp,
  formatAddr,
  ipFamily,
  isValidPort,
  MAX_PORT,
  parseAddr,
  type ParseAddrOptions,
  sameAddr,
  validateAddr,
  type ValidateAddrOptions,
} from "./addr.ts";
