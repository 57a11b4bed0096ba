/**
 * UDP address helpers: parse "host:port" / "[v6]:port", validate ports,
 * canonicalise IP literals (RFC 5952 for IPv6, the same text Deno reports
 * for a datagram's sender) and format addresses for messages.
 *
 * Malformed input never throws anything but {@linkcode InvalidAddrError}.
 *
 * @module
 */

import type { DatagramAddr } from "./datagram_socket.ts";
import { InvalidAddrError } from "./errors.ts";

/** Largest UDP port number. */
export const MAX_PORT = 65535;

/**
 * Whether `port` is an integer in 0..65535 (0 means "any" when binding).
 *
 * @example Checking ports
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidPort } from "./addr.ts";
 *
 * assert.equal(isValidPort(0), true);
 * assert.equal(isValidPort(65535), true);
 * assert.equal(isValidPort(65536), false);
 * assert.equal(isValidPort(1.5), false);
 * ```
 */
export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= MAX_PORT;
}

/**
 * The IP family of a literal: 4, 6, or `undefined` when `hostname` is not an
 * IP literal.
 *
 * @example Families
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipFamily } from "./addr.ts";
 *
 * assert.equal(ipFamily("127.0.0.1"), 4);
 * assert.equal(ipFamily("::1"), 6);
 * assert.equal(ipFamily("localhost"), undefined);
 * ```
 */
export function ipFamily(hostname: string): 4 | 6 | undefined {
  if (parseIpv4(hostname) !== undefined) return 4;
  if (parseIpv6(hostname) !== undefined) return 6;
  return undefined;
}

/**
 * The canonical text of an IP literal, or `undefined` when `text` is not
 * one. IPv4 must be a strict dotted quad (no leading zeros). IPv6 is
 * printed per RFC 5952 (lower case, longest run of two or more zero groups
 * as "::", IPv4-mapped as "::ffff:a.b.c.d"); a "%zone" suffix is kept.
 *
 * @example Canonical forms
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalIp } from "./addr.ts";
 *
 * assert.equal(canonicalIp("0:0:0:0:0:0:0:1"), "::1");
 * assert.equal(canonicalIp("2001:DB8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
 * assert.equal(canonicalIp("::FFFF:7f00:1"), "::ffff:127.0.0.1");
 * assert.equal(canonicalIp("10.0.0.1"), "10.0.0.1");
 * assert.equal(canonicalIp("010.0.0.1"), undefined);
 * ```
 */
export function canonicalIp(text: string): string | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return v4.join(".");
  const zoneAt = text.indexOf("%");
  const body = zoneAt < 0 ? text : text.slice(0, zoneAt);
  const zone = zoneAt < 0 ? "" : text.slice(zoneAt);
  if (zone !== "" && !ZONE_RE.test(zone)) return undefined;
  const groups = parseIpv6(body);
  if (groups === undefined) return undefined;
  return formatIpv6(groups) + zone;
}

/**
 * Whether two addresses name the same endpoint: equal ports and equal
 * canonical hosts, treating an IPv4-mapped IPv6 host ("::ffff:1.2.3.4") as
 * the IPv4 host it maps. Both hosts must already be canonical (as Deno
 * reports them and as {@linkcode validateAddr} returns them).
 *
 * @example Comparing
 * ```ts
 * import assert from "node:assert/strict";
 * import { sameAddr } from "./addr.ts";
 *
 * assert.equal(sameAddr({ hostname: "127.0.0.1", port: 9 }, { hostname: "::ffff:127.0.0.1", port: 9 }), true);
 * assert.equal(sameAddr({ hostname: "127.0.0.1", port: 9 }, { hostname: "127.0.0.1", port: 10 }), false);
 * ```
 */
export function sameAddr(a: DatagramAddr, b: DatagramAddr): boolean {
  if (a.port !== b.port) return false;
  const ha = a.hostname;
  const hb = b.hostname;
  return ha === hb || unmapped(ha) === unmapped(hb);
}

/**
 * Formats an address for messages and logs: "127.0.0.1:9" or "[::1]:9".
 *
 * @example Formatting
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAddr } from "./addr.ts";
 *
 * assert.equal(formatAddr({ hostname: "127.0.0.1", port: 9 }), "127.0.0.1:9");
 * assert.equal(formatAddr({ hostname: "::1", port: 9 }), "[::1]:9");
 * ```
 */
export function formatAddr(addr: DatagramAddr): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/** Options for {@linkcode parseAddr}. */
export interface ParseAddrOptions {
  /** Port to use when the text has none; without it a port is required. */
  defaultPort?: number;
  /** Accept DNS names ("example.com:80") as well as IP literals. Default false. */
  allowNames?: boolean;
}

/**
 * Parses "host:port", "[v6]:port" (or a bare host when `defaultPort` is
 * given; a bare IPv6 literal needs no brackets then). IP literals come back
 * canonical; DNS names (with `allowNames`) come back lower-cased.
 *
 * @param text The address text.
 * @param opts Default port and whether names are allowed.
 * @returns The address.
 * @throws {InvalidAddrError} When the text is malformed or the port is out of range.
 *
 * @example Parsing
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAddr } from "./addr.ts";
 *
 * assert.deepEqual(parseAddr("127.0.0.1:9000"), { hostname: "127.0.0.1", port: 9000 });
 * assert.deepEqual(parseAddr("[0::1]:53"), { hostname: "::1", port: 53 });
 * assert.deepEqual(parseAddr("::1", { defaultPort: 7 }), { hostname: "::1", port: 7 });
 * assert.throws(() => parseAddr("127.0.0.1:70000"), { name: "InvalidAddr" });
 * ```
 */
export function parseAddr(text: string, opts: ParseAddrOptions = {}): DatagramAddr {
  const fail = (why: string): never => {
    throw new InvalidAddrError(`Invalid address ${JSON.stringify(text)}: ${why}`);
  };
  if (typeof text !== "string") return fail("not a string");
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return fail('missing "]"');
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return fail('expected ":port" after "]"');
      portText = rest.slice(1);
    }
    if (ipFamilyWithZone(host) !== 6) return fail("brackets must hold an IPv6 literal");
  } else {
    const colons = countColons(text);
    if (colons === 1) {
      const at = text.indexOf(":");
      host = text.slice(0, at);
      portText = text.slice(at + 1);
    } else if (colons === 0 || opts.defaultPort !== undefined) {
      host = text;
    } else {
      return fail('an IPv6 address with a port must be written "[addr]:port"');
    }
  }
  let port: number;
  if (portText === undefined) {
    if (opts.defaultPort === undefined) return fail("missing port");
    if (!isValidPort(opts.defaultPort)) return fail("default port out of range 0..65535");
    port = opts.defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText)) return fail("port must be a decimal number");
    port = Number(portText);
    if (port > MAX_PORT) return fail("port out of range 0..65535");
  }
  const ip = canonicalIp(host);
  if (ip !== undefined) return { hostname: ip, port };
  if (opts.allowNames === true && isDnsName(host)) return { hostname: host.toLowerCase(), port };
  return fail(opts.allowNames === true ? "not an IP literal or host name" : "not an IP literal");
}

/** Options for {@linkcode validateAddr}. */
export interface ValidateAddrOptions {
  /** Accept port 0 (only meaningful for a local bind). Default false. */
  allowPortZero?: boolean;
}

/**
 * Checks an address object given by a caller and returns it with a
 * canonical hostname (a new object only when the hostname changes).
 *
 * @param addr The address to check.
 * @param opts Whether port 0 is acceptable.
 * @returns The address with a canonical IP literal.
 * @throws {InvalidAddrError} When the hostname is not an IP literal or the port is invalid.
 *
 * @example Validating
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateAddr } from "./addr.ts";
 *
 * assert.deepEqual(validateAddr({ hostname: "0:0::1", port: 5 }), { hostname: "::1", port: 5 });
 * assert.throws(() => validateAddr({ hostname: "127.0.0.1", port: 0 }), { name: "InvalidAddr" });
 * assert.throws(() => validateAddr({ hostname: "example.com", port: 80 }), { name: "InvalidAddr" });
 * ```
 */
export function validateAddr(addr: DatagramAddr, opts: ValidateAddrOptions = {}): DatagramAddr {
  const hostname: unknown = addr?.hostname;
  const port: unknown = addr?.port;
  const shown = typeof hostname === "string" && typeof port === "number"
    ? formatAddr({ hostname, port })
    : JSON.stringify(addr) ?? String(addr);
  if (typeof port !== "number" || !isValidPort(port)) {
    throw new InvalidAddrError(`Invalid address ${shown}: port must be an integer 0..65535`);
  }
  if (port === 0 && opts.allowPortZero !== true) {
    throw new InvalidAddrError(`Invalid address ${shown}: port 0 is not a destination`);
  }
  const canon = typeof hostname === "string" ? canonicalIp(hostname) : undefined;
  if (canon === undefined) {
    throw new InvalidAddrError(`Invalid address ${shown}: hostname must be an IP literal`);
  }
  return canon === hostname ? addr : { hostname: canon, port };
}

// ---- internals ----

const ZONE_RE = /^%[A-Za-z0-9_.\-]{1,64}$/;
const V4_RE =
  /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP_RE = /^[0-9A-Fa-f]{1,4}$/;
const DNS_LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function parseIpv4(text: string): number[] | undefined {
  const m = V4_RE.exec(text);
  if (m === null) return undefined;
  const out = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  return out.every((b) => b <= 255) ? out : undefined;
}

/** Eight 16-bit groups, or undefined. No zone allowed here. */
function parseIpv6(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const dbl = text.indexOf("::");
  if (dbl >= 0 && text.indexOf("::", dbl + 1) >= 0) return undefined;
  const headText = dbl < 0 ? text : text.slice(0, dbl);
  const tailText = dbl < 0 ? "" : text.slice(dbl + 2);
  const head = headText === "" ? [] : headText.split(":");
  const tail = tailText === "" ? [] : tailText.split(":");
  const parts = dbl < 0 ? head : tail;
  const groups: number[] = [];
  const tailGroups: number[] = [];
  const decode = (list: string[], into: number[], mayEndInV4: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (mayEndInV4 && i === list.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return false;
        into.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!HEX_GROUP_RE.test(p)) return false;
        into.push(parseInt(p, 16));
      }
    }
    return true;
  };
  if (dbl < 0) {
    if (!decode(parts, groups, true) || groups.length !== 8) return undefined;
    return groups;
  }
  if (!decode(head, groups, false) || !decode(tail, tailGroups, true)) return undefined;
  const missing = 8 - groups.length - tailGroups.length;
  if (missing < 1) return undefined;
  for (let i = 0; i < missing; i++) groups.push(0);
  return groups.concat(tailGroups);
}

function formatIpv6(g: number[]): string {
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
  }
  // RFC 5952 §4.2: compress the longest run (>= 2 groups, first on a tie) of zeros.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((x) => x.toString(16)).join(":");
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

function ipFamilyWithZone(host: string): 4 | 6 | undefined {
  const zoneAt = host.indexOf("%");
  if (zoneAt >= 0 && !ZONE_RE.test(host.slice(zoneAt))) return undefined;
  return ipFamily(zoneAt < 0 ? host : host.slice(0, zoneAt));
}

function unmapped(host: string): string {
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}

function countColons(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 58) n++;
  return n;
}

function isDnsName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  const labels = host.endsWith(".") ? host.slice(0, -1).split(".") : host.split(".");
  if (!labels.every((l) => DNS_LABEL_RE.test(l))) return false;
  // RFC 3696 §2: a top-level label is not all-numeric (so "1.2.3" is not a name).
  return !/^[0-9]+$/.test(labels[labels.length - 1]);
}
