/**
 * Typed errors raised by datagram sockets (real and simulated). Each is
 * named like its `Deno.errors` counterpart so `err.name` checks and
 * `instanceof Deno.errors.X` checks both work, and each message names the
 * address involved.
 *
 * @module
 */

/**
 * A port-unreachable notice arrived for a connected socket (Linux reports
 * ICMP port unreachable as `ECONNREFUSED`, only on connected sockets).
 *
 * @example Catching it
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionRefusedError } from "./errors.ts";
 *
 * const err = new ConnectionRefusedError(
 *   "Cannot send to 127.0.0.1:9: connection refused (port unreachable)",
 * );
 * assert.equal(err.name, "ConnectionRefused");
 * assert.ok(err instanceof Deno.errors.ConnectionRefused);
 * ```
 */
export class ConnectionRefusedError extends Deno.errors.ConnectionRefused {
  /**
   * Creates the error.
   *
   * @param message Human-readable text naming the address, e.g.
   *   "Cannot send to 127.0.0.1:9: connection refused (port unreachable)".
   */
  constructor(message: string) {
    super(message);
    this.name = "ConnectionRefused";
  }
}

/**
 * `send(data)` without an address on a socket that is not connected
 * (POSIX `EDESTADDRREQ`).
 *
 * @example Recognising it
 * ```ts
 * import assert from "node:assert/strict";
 * import { DestinationAddressRequiredError } from "./errors.ts";
 *
 * const err = new DestinationAddressRequiredError(
 *   "Cannot send from 127.0.0.1:4000: destination address required (socket not connected)",
 * );
 * assert.equal(err.name, "DestinationAddressRequired");
 * assert.ok(err instanceof Error);
 * ```
 */
export class DestinationAddressRequiredError extends Error {
  /**
   * Creates the error.
   *
   * @param message Human-readable text naming the local address.
   */
  constructor(message: string) {
    super(message);
    this.name = "DestinationAddressRequired";
  }
}

/**
 * The requested local address is already bound (POSIX `EADDRINUSE`).
 *
 * @example Recognising it
 * ```ts
 * import assert from "node:assert/strict";
 * import { AddrInUseError } from "./errors.ts";
 *
 * const err = new AddrInUseError("Cannot bind 127.0.0.1:4000: address already in use");
 * assert.equal(err.name, "AddrInUse");
 * assert.ok(err instanceof Deno.errors.AddrInUse);
 * ```
 */
export class AddrInUseError extends Deno.errors.AddrInUse {
  /**
   * Creates the error.
   *
   * @param message Human-readable text naming the address.
   */
  constructor(message: string) {
    super(message);
    this.name = "AddrInUse";
  }
}

/**
 * The socket was closed: `send` after `close()`, or a pending/later
 * `receive()`. Extends `Deno.errors.BadResource`, which is what Deno itself
 * throws for a closed resource.
 *
 * @example Recognising it
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketClosedError } from "./errors.ts";
 *
 * const err = new SocketClosedError("Cannot send from 127.0.0.1:4000: socket closed");
 * assert.equal(err.name, "SocketClosed");
 * assert.ok(err instanceof Deno.errors.BadResource);
 * ```
 */
export class SocketClosedError extends Deno.errors.BadResource {
  /**
   * Creates the error.
   *
   * @param message Human-readable text naming the local address.
   */
  constructor(message: string) {
    super(message);
    this.name = "SocketClosed";
  }
}

/**
 * A malformed address: not an IP literal, a port outside 0..65535, or text
 * that is not "host:port" / "[v6]:port". Extends `TypeError`.
 *
 * @example Recognising it
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidAddrError } from "./errors.ts";
 *
 * const err = new InvalidAddrError('Invalid address "1.2.3.4:99999": port out of range 0..65535');
 * assert.equal(err.name, "InvalidAddr");
 * assert.ok(err instanceof TypeError);
 * ```
 */
export class InvalidAddrError extends TypeError {
  /**
   * Creates the error.
   *
   * @param message Human-readable text quoting the offending input.
   */
  constructor(message: string) {
    super(message);
    this.name = "InvalidAddr";
  }
}
