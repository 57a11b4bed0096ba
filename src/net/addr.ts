/**
 * The tou addressing model. A tou address is a UDP address (hostname and
 * UDP port: where the datagrams go) plus a TCP port inside the tunnel (which
 * connection or listener of that endpoint). One UDP socket (an
 * {@linkcode Endpoint}) can hold many TCP ports, like one host holds many
 * TCP ports. When a TCP port is not given it defaults to the UDP port
 * number, so `{ hostname: "127.0.0.1", port: 9000 }` means "UDP
 * 127.0.0.1:9000, TCP port 9000".
 *
 * Written as text: `127.0.0.1:9000 tcp 22` (`[::1]:9000 tcp 22` for IPv6).
 *
 * @module
 */

import { canonicalIp, formatAddr, ipFamily } from "../udp/addr.ts";
import { InvalidAddrError } from "../udp/errors.ts";

/**
 * One side of a tou connection: the UDP address and the TCP port inside
 * the tunnel.
 *
 * @example Written as text
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTouAddr, type TouAddr } from "./addr.ts";
 * const server: TouAddr = { hostname: "127.0.0.1", port: 9000, tcpPort: 22 };
 * assert.equal(formatTouAddr(server), "127.0.0.1:9000 tcp 22");
 * ```
 */
export interface TouAddr {
  /** IP address literal of the UDP socket. */
  readonly hostname: string;
  /** UDP port. */
  readonly port: number;
  /** TCP port inside the tunnel. */
  readonly tcpPort: number;
}

/**
 * Both sides of a tou connection: the demux key of a connection.
 *
 * @example A connection's tuple
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TouTuple } from "./addr.ts";
 * const t: TouTuple = {
 *   local: { hostname: "0.0.0.0", port: 40001, tcpPort: 33000 },
 *   remote: { hostname: "127.0.0.1", port: 9000, tcpPort: 22 },
 * };
 * assert.equal(t.remote.tcpPort, 22);
 * ```
 */
export interface TouTuple {
  /** Our side (the local hostname is the endpoint's bound address, e.g. "0.0.0.0"). */
  readonly local: TouAddr;
  /** The peer's side. */
  readonly remote: TouAddr;
}

/**
 * Formats a tou address: `127.0.0.1:9000 tcp 22`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTouAddr } from "./addr.ts";
 * assert.equal(formatTouAddr({ hostname: "127.0.0.1", port: 9000, tcpPort: 22 }), "127.0.0.1:9000 tcp 22");
 * assert.equal(formatTouAddr({ hostname: "::1", port: 9000, tcpPort: 22 }), "[::1]:9000 tcp 22");
 * ```
 */
export function formatTouAddr(addr: TouAddr): string {
  return `${formatAddr(addr)} tcp ${addr.tcpPort}`;
}

/**
 * Resolves a hostname to an IP literal: literals come back canonical,
 * "localhost" is 127.0.0.1 (or ::1 for an IPv6 endpoint), other names go
 * through `Deno.resolveDns` (A first, then AAAA). On an IPv6 endpoint an
 * IPv4 address is returned IPv4-mapped (`::ffff:a.b.c.d`), since that is
 * how a dual-stack socket reports its peers.
 *
 * @param hostname A literal or DNS name.
 * @param family The endpoint's address family (4 or 6).
 * @returns A canonical IP literal.
 * @throws {InvalidAddrError} When the name does not resolve.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveHostname } from "./addr.ts";
 * assert.equal(await resolveHostname("localhost", 4), "127.0.0.1");
 * assert.equal(await resolveHostname("0:0::1", 6), "::1");
 * assert.equal(await resolveHostname("127.0.0.1", 6), "::ffff:127.0.0.1");
 * ```
 */
export async function resolveHostname(hostname: string, family: 4 | 6): Promise<string> {
  if (typeof hostname !== "string" || hostname === "") {
    throw new InvalidAddrError(`Invalid hostname ${JSON.stringify(hostname)}`);
  }
  // The last literal and its canonical form: a tunnel client connects to one server address
  // many times a second, and parsing it each time showed in a short connection's profile.
  let ip = hostname === lastLiteral ? lastCanonical : canonicalIp(hostname);
  if (ip !== undefined && hostname !== lastLiteral) {
    lastLiteral = hostname;
    lastCanonical = ip;
  }
  if (ip === undefined) {
    const name = hostname.toLowerCase();
    if (name === "localhost") {
      ip = family === 6 ? "::1" : "127.0.0.1";
    } else {
      ip = await lookup(name, family);
    }
  }
  if (family === 6 && ipFamily(ip) === 4) return `::ffff:${ip}`;
  return ip;
}

let lastLiteral = "";
let lastCanonical: string | undefined;

async function lookup(name: string, family: 4 | 6): Promise<string> {
  const order: ("A" | "AAAA")[] = family === 6 ? ["AAAA", "A"] : ["A"];
  let last: unknown;
  for (const type of order) {
    try {
      const found = await Deno.resolveDns(name, type);
      const ip = found.map((a) => canonicalIp(a)).find((a) => a !== undefined);
      if (ip !== undefined) return ip;
    } catch (err) {
      last = err;
    }
  }
  throw new InvalidAddrError(
    `Cannot resolve ${JSON.stringify(name)}${last instanceof Error ? `: ${last.message}` : ""}`,
  );
}

/**
 * Whether `hostname` is a loopback IP literal: 127.0.0.0/8, `::1`, or an
 * IPv4-mapped 127.x address. Names (even "localhost") are not literals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopbackIp } from "./addr.ts";
 * assert.equal(isLoopbackIp("127.0.0.1"), true);
 * assert.equal(isLoopbackIp("0:0::1"), true);
 * assert.equal(isLoopbackIp("::ffff:127.1.2.3"), true);
 * assert.equal(isLoopbackIp("0.0.0.0"), false);
 * assert.equal(isLoopbackIp("localhost"), false);
 * ```
 */
export function isLoopbackIp(hostname: string): boolean {
  const ip = canonicalIp(hostname);
  if (ip === undefined) return false;
  if (ip === "::1") return true;
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return ipFamily(v4) === 4 && v4.startsWith("127.");
}

/**
 * The family of an endpoint bound to `hostname` (a literal).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { familyOf } from "./addr.ts";
 * assert.equal(familyOf("0.0.0.0"), 4);
 * assert.equal(familyOf("::"), 6);
 * ```
 */
export function familyOf(hostname: string): 4 | 6 {
  return ipFamily(hostname) === 6 ? 6 : 4;
}
