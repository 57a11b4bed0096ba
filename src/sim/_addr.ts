/**
 * Address helpers shared by the simulator files (internal).
 *
 * @module
 */

import type { DatagramAddr } from "../udp/datagram_socket.ts";

/** Throws a RangeError unless `addr` is a usable destination (non-empty hostname, port 1..65535). */
export function checkDestination(addr: DatagramAddr, what: string): void {
  if (typeof addr.hostname !== "string" || addr.hostname.length === 0) {
    throw new RangeError(`${what}: hostname must be a non-empty string`);
  }
  if (!Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65535) {
    throw new RangeError(`${what}: port must be an integer in 1..65535, got ${addr.port}`);
  }
}

/** A frozen copy of an address, safe to share. */
export function freezeAddr(addr: DatagramAddr): DatagramAddr {
  return Object.freeze({ hostname: addr.hostname, port: addr.port });
}

/** Whether two addresses are the same (exact hostname string and port). */
export function sameAddr(a: DatagramAddr, b: DatagramAddr): boolean {
  return a.hostname === b.hostname && a.port === b.port;
}
