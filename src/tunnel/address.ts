/**
 * Parsing of the address forms the tunnel takes on its command line and in
 * its config file: `host:port`, a server's forward spec `22=127.0.0.1:22`
 * and a client's local spec `127.0.0.1:2222=22`. Each parser returns a plain
 * object or throws an {@linkcode AddressError} whose message names the input
 * and the problem, ready to print as the one line of a usage error.
 *
 * @module
 */

import { parseIpv4, parseIpv6 } from "../wire/pcap.ts";
import { MUX_PORT } from "./mux_frame.ts";

/** The byte parsers of IP literals live in the wire layer (pcap.ts uses them too). */
export { parseIpv4, parseIpv6 };

/** A host (IP literal or DNS name) and a port. */
export interface HostPort {
  /** IP literal ("127.0.0.1", "::1") or DNS name; IPv6 without brackets. */
  readonly hostname: string;
  /** Port number. */
  readonly port: number;
}

/** One service of a tunnel server: a tunnel port mapped to a real TCP target. */
export interface ForwardSpec {
  /** The TCP port inside the tunnel that clients connect to. */
  readonly tunnelPort: number;
  /** Where the server connects with kernel TCP. */
  readonly target: HostPort;
}

/** One local listener of a tunnel client: a kernel TCP address carried to a tunnel port. */
export interface LocalSpec {
  /** Kernel TCP address the client listens on. */
  readonly listen: HostPort;
  /** The tunnel port on the server it connects each TCP connection to. */
  readonly tunnelPort: number;
}

/**
 * Malformed address, port or spec. The message is one line naming the input,
 * e.g. `invalid port "70000" in "127.0.0.1:70000": must be 0..65535`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AddressError, parseHostPort } from "./address.ts";
 * assert.throws(() => parseHostPort("nope"), AddressError);
 * ```
 */
export class AddressError extends TypeError {
  /**
   * Creates the error.
   *
   * @param message One line naming the input and the problem.
   */
  constructor(message: string) {
    super(message);
    this.name = "AddressError";
  }
}

/** Options of {@linkcode parseHostPort}. */
export interface ParseHostPortOptions {
  /** Host used when the text is only a port (e.g. "7000"); without it a bare port is an error. */
  readonly defaultHost?: string;
  /** Whether port 0 (ephemeral) is accepted. Default false. */
  readonly allowZeroPort?: boolean;
}

const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Parses a port number written in decimal.
 *
 * @param text The port text.
 * @param opts `allowZero` to accept 0; `context` names the whole input in messages.
 * @returns The port.
 * @throws {AddressError} When the text is not a decimal integer in range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePort } from "./address.ts";
 * assert.equal(parsePort("22"), 22);
 * assert.throws(() => parsePort("0"), /must be 1\.\.65535/);
 * assert.equal(parsePort("0", { allowZero: true }), 0);
 * ```
 */
export function parsePort(
  text: string,
  opts: { readonly allowZero?: boolean; readonly context?: string } = {},
): number {
  const min = opts.allowZero ? 0 : 1;
  const where = opts.context !== undefined && opts.context !== text
    ? ` in ${JSON.stringify(opts.context)}`
    : "";
  if (!/^[0-9]{1,5}$/.test(text)) {
    throw new AddressError(
      `invalid port ${JSON.stringify(text)}${where}: must be a number ${min}..65535`,
    );
  }
  const port = Number(text);
  if (port < min || port > 65535) {
    throw new AddressError(`invalid port ${JSON.stringify(text)}${where}: must be ${min}..65535`);
  }
  return port;
}

/**
 * Whether `text` is an IPv4 dotted-quad literal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isIpv4 } from "./address.ts";
 * assert.ok(isIpv4("10.0.0.1"));
 * assert.ok(!isIpv4("10.0.0.256"));
 * ```
 */
export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== undefined;
}

/**
 * Whether `text` is an IPv6 literal (without brackets or zone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isIpv6 } from "./address.ts";
 * assert.ok(isIpv6("::1"));
 * assert.ok(isIpv6("::ffff:127.0.0.1"));
 * assert.ok(!isIpv6("1::2::3"));
 * ```
 */
export function isIpv6(text: string): boolean {
  return parseIpv6(text) !== undefined;
}

/**
 * Whether `hostname` is a loopback address or "localhost".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopback } from "./address.ts";
 * assert.ok(isLoopback("127.0.0.1"));
 * assert.ok(isLoopback("::1"));
 * assert.ok(!isLoopback("0.0.0.0"));
 * ```
 */
export function isLoopback(hostname: string): boolean {
  if (hostname === "localhost") return true;
  const v4 = parseIpv4(hostname);
  if (v4) return v4[0] === 127;
  const v6 = parseIpv6(hostname);
  if (!v6) return false;
  for (let i = 0; i < 15; i++) if (v6[i] !== 0) return false;
  return v6[15] === 1;
}

function checkHost(host: string, input: string): string {
  if (host.length === 0) {
    throw new AddressError(`missing host in ${JSON.stringify(input)}: expected host:port`);
  }
  if (isIpv4(host) || isIpv6(host)) return host;
  // Something that looks numeric but is not a valid IPv4 literal is a typo, not a DNS name.
  if (/^[0-9.]+$/.test(host)) {
    throw new AddressError(
      `invalid IPv4 address ${JSON.stringify(host)} in ${JSON.stringify(input)}`,
    );
  }
  const labels = host.replace(/\.$/, "").split(".");
  if (host.length > 253 || !labels.every((l) => DNS_LABEL.test(l))) {
    throw new AddressError(`invalid host ${JSON.stringify(host)} in ${JSON.stringify(input)}`);
  }
  return host;
}

/**
 * Parses `host:port`, `[v6]:port`, or (with `defaultHost`) a bare `port`.
 *
 * @param text The address text.
 * @param opts Default host and whether port 0 is allowed.
 * @returns The host and port.
 * @throws {AddressError} When the text is malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHostPort } from "./address.ts";
 * assert.deepEqual(parseHostPort("0.0.0.0:7000"), { hostname: "0.0.0.0", port: 7000 });
 * assert.deepEqual(parseHostPort("[::1]:7000"), { hostname: "::1", port: 7000 });
 * assert.deepEqual(parseHostPort("7000", { defaultHost: "0.0.0.0" }), {
 *   hostname: "0.0.0.0",
 *   port: 7000,
 * });
 * assert.throws(() => parseHostPort("host:99999"), /invalid port "99999"/);
 * ```
 */
export function parseHostPort(text: string, opts: ParseHostPortOptions = {}): HostPort {
  const allowZero = opts.allowZeroPort ?? false;
  if (text.length === 0) throw new AddressError("empty address: expected host:port");
  if (/^[0-9]+$/.test(text)) {
    if (opts.defaultHost === undefined) {
      throw new AddressError(`missing host in ${JSON.stringify(text)}: expected host:port`);
    }
    return { hostname: opts.defaultHost, port: parsePort(text, { allowZero, context: text }) };
  }
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") {
      throw new AddressError(`invalid address ${JSON.stringify(text)}: expected [ipv6]:port`);
    }
    const host = text.slice(1, close);
    if (!isIpv6(host)) {
      throw new AddressError(
        `invalid IPv6 address ${JSON.stringify(host)} in ${JSON.stringify(text)}`,
      );
    }
    return { hostname: host, port: parsePort(text.slice(close + 2), { allowZero, context: text }) };
  }
  const colon = text.lastIndexOf(":");
  if (colon < 0) {
    throw new AddressError(`missing port in ${JSON.stringify(text)}: expected host:port`);
  }
  const host = text.slice(0, colon);
  if (host.includes(":")) {
    throw new AddressError(
      `invalid address ${JSON.stringify(text)}: write IPv6 addresses in brackets, like [::1]:7000`,
    );
  }
  return {
    hostname: checkHost(host, text),
    port: parsePort(text.slice(colon + 1), { allowZero, context: text }),
  };
}

/**
 * Parses a server forward spec `TUNNELPORT=HOST:PORT`, e.g. `22=127.0.0.1:22`.
 *
 * @param text The spec.
 * @returns The tunnel port and its target.
 * @throws {AddressError} When the spec is malformed, or its tunnel port is
 *   `MUX_PORT` (65535), which multiplexed sessions (`tou client --mux`) connect to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseForwardSpec } from "./address.ts";
 * assert.deepEqual(parseForwardSpec("80=web:8080"), {
 *   tunnelPort: 80,
 *   target: { hostname: "web", port: 8080 },
 * });
 * assert.throws(() => parseForwardSpec("65535=web:8080"), {
 *   message: 'invalid forward "65535=web:8080": tunnel port 65535 is reserved for ' +
 *     "multiplexed sessions (tou client --mux)",
 * });
 * ```
 */
export function parseForwardSpec(text: string): ForwardSpec {
  const eq = text.indexOf("=");
  if (eq < 0) {
    throw new AddressError(
      `invalid forward ${
        JSON.stringify(text)
      }: expected TUNNELPORT=HOST:PORT, like 22=127.0.0.1:22`,
    );
  }
  const tunnelPort = parsePort(text.slice(0, eq), { context: text });
  checkNotMuxPort(tunnelPort, "forward", text);
  const targetText = text.slice(eq + 1);
  if (targetText.length === 0) {
    throw new AddressError(`invalid forward ${JSON.stringify(text)}: missing target HOST:PORT`);
  }
  return { tunnelPort, target: parseHostPort(targetText) };
}

/**
 * Parses a client local spec `[HOST:]PORT=TUNNELPORT`, e.g. `127.0.0.1:2222=22`
 * (HOST defaults to 127.0.0.1; PORT 0 picks a free port).
 *
 * @param text The spec.
 * @returns The local listen address and tunnel port.
 * @throws {AddressError} When the spec is malformed, or its tunnel port is
 *   `MUX_PORT` (65535), which no service can use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLocalSpec } from "./address.ts";
 * assert.deepEqual(parseLocalSpec("2222=22"), {
 *   listen: { hostname: "127.0.0.1", port: 2222 },
 *   tunnelPort: 22,
 * });
 * ```
 */
export function parseLocalSpec(text: string): LocalSpec {
  const eq = text.lastIndexOf("=");
  if (eq < 0) {
    throw new AddressError(
      `invalid local ${
        JSON.stringify(text)
      }: expected [HOST:]PORT=TUNNELPORT, like 127.0.0.1:2222=22`,
    );
  }
  const listenText = text.slice(0, eq);
  if (listenText.length === 0) {
    throw new AddressError(`invalid local ${JSON.stringify(text)}: missing local [HOST:]PORT`);
  }
  const listen = parseHostPort(listenText, { defaultHost: "127.0.0.1", allowZeroPort: true });
  const tunnelPort = parsePort(text.slice(eq + 1), { context: text });
  checkNotMuxPort(tunnelPort, "local", text);
  return { listen, tunnelPort };
}

/** Refuses the tunnel port of multiplexed sessions in a forward or local spec. */
function checkNotMuxPort(tunnelPort: number, kind: "forward" | "local", text: string): void {
  if (tunnelPort !== MUX_PORT) return;
  throw new AddressError(
    `invalid ${kind} ${JSON.stringify(text)}: tunnel port ${MUX_PORT} is reserved for ` +
      "multiplexed sessions (tou client --mux)",
  );
}

/**
 * Formats a host and port, bracketing IPv6.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatHostPort } from "./address.ts";
 * assert.equal(formatHostPort({ hostname: "::1", port: 7 }), "[::1]:7");
 * assert.equal(formatHostPort({ hostname: "127.0.0.1", port: 7 }), "127.0.0.1:7");
 * ```
 */
export function formatHostPort(addr: HostPort): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}
