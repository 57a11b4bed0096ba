/**
 * Typed errors of the public API. Each extends the matching `Deno.errors`
 * class and carries the same `name`, so code written for `Deno.connect`
 * (`err instanceof Deno.errors.ConnectionReset`, `err.name ===
 * "ConnectionReset"`) works unchanged. Messages name the tou address, e.g.
 * "Cannot connect to 127.0.0.1:9000 tcp 22: timed out after 6 SYN
 * retransmissions" or "Connection to 127.0.0.1:9000 tcp 22 reset by peer".
 *
 * `AddrInUseError`, `ConnectionRefusedError` and `InvalidAddrError` are
 * shared with the UDP layer and re-exported here.
 *
 * @module
 */

import type { TcpErrorKind } from "../tcp/events.ts";
import { AddrInUseError, ConnectionRefusedError, InvalidAddrError } from "../udp/errors.ts";

export { AddrInUseError, ConnectionRefusedError, InvalidAddrError };

/**
 * The peer reset an established connection (`ECONNRESET`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionResetError } from "./errors.ts";
 * const e = new ConnectionResetError("Connection to 127.0.0.1:9000 tcp 22 reset by peer");
 * assert.ok(e instanceof Deno.errors.ConnectionReset);
 * assert.equal(e.name, "ConnectionReset");
 * ```
 */
export class ConnectionResetError extends Deno.errors.ConnectionReset {
  /**
   * Creates the error.
   *
   * @param message Text naming the connection.
   * @param options `cause`, when another error led to this one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionReset";
  }
}

/**
 * A connect, retransmission or keepalive gave up (`ETIMEDOUT`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimedOutError } from "./errors.ts";
 * const e = new TimedOutError(
 *   "Cannot connect to 127.0.0.1:9000 tcp 22: timed out after 6 SYN retransmissions",
 * );
 * assert.ok(e instanceof Deno.errors.TimedOut);
 * assert.equal(e.name, "TimedOut");
 * ```
 */
export class TimedOutError extends Deno.errors.TimedOut {
  /**
   * Creates the error.
   *
   * @param message Text naming the connection and what timed out.
   * @param options `cause`, when another error led to this one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimedOut";
  }
}

/**
 * The connection was aborted locally (`abort()`, or its endpoint closed)
 * (`ECONNABORTED`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionAbortedError } from "./errors.ts";
 * const e = new ConnectionAbortedError("Connection to 127.0.0.1:9000 tcp 22 aborted");
 * assert.ok(e instanceof Deno.errors.ConnectionAborted);
 * ```
 */
export class ConnectionAbortedError extends Deno.errors.ConnectionAborted {
  /**
   * Creates the error.
   *
   * @param message Text naming the connection.
   * @param options `cause`, when another error led to this one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionAborted";
  }
}

/**
 * An operation needs a connected socket (`ENOTCONN`), e.g. `closeWrite()`
 * after the connection was reset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotConnectedError } from "./errors.ts";
 * const e = new NotConnectedError("Cannot shut down 127.0.0.1:9000 tcp 22: not connected");
 * assert.ok(e instanceof Deno.errors.NotConnected);
 * ```
 */
export class NotConnectedError extends Deno.errors.NotConnected {
  /**
   * Creates the error.
   *
   * @param message Text naming the connection.
   * @param options `cause`, when another error led to this one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NotConnected";
  }
}

/**
 * A write after the write side was shut down (`EPIPE`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BrokenPipeError } from "./errors.ts";
 * const e = new BrokenPipeError("Cannot write to 127.0.0.1:9000 tcp 22: write side closed");
 * assert.ok(e instanceof Deno.errors.BrokenPipe);
 * ```
 */
export class BrokenPipeError extends Deno.errors.BrokenPipe {
  /**
   * Creates the error.
   *
   * @param message Text naming the connection.
   * @param options `cause`, when another error led to this one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BrokenPipe";
  }
}

/**
 * An operation on a connection, listener or endpoint the application
 * already closed (Deno throws `BadResource` for a closed resource).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClosedError } from "./errors.ts";
 * const e = new ClosedError("Cannot read from 127.0.0.1:9000 tcp 22: connection closed");
 * assert.ok(e instanceof Deno.errors.BadResource);
 * assert.equal(e.name, "BadResource");
 * ```
 */
export class ClosedError extends Deno.errors.BadResource {
  /**
   * Creates the error.
   *
   * @param message Text naming the resource.
   * @param options `cause`, when another error led to this one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BadResource";
  }
}

/**
 * A pending read or write was cut short because the connection was closed
 * under it (`close()`, or one of its streams ending or being cancelled),
 * as Deno's own connections report it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InterruptedError } from "./errors.ts";
 * const e = new InterruptedError("Read from 127.0.0.1:9000 tcp 22 interrupted: connection closed");
 * assert.ok(e instanceof Deno.errors.Interrupted);
 * assert.equal(e.name, "Interrupted");
 * ```
 */
export class InterruptedError extends Deno.errors.Interrupted {
  /**
   * Creates the error.
   *
   * @param message Text naming the connection and the operation.
   * @param options `cause`, when another error led to this one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "Interrupted";
  }
}

/**
 * An option failed validation. `option` names the field; the message reads
 * like "Invalid option msl: must be between 1 and 600000 ms, got -5".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidOptionError } from "./errors.ts";
 * const e = new InvalidOptionError("msl", "must be between 1 and 600000 ms, got -5");
 * assert.equal(e.message, "Invalid option msl: must be between 1 and 600000 ms, got -5");
 * assert.equal(e.option, "msl");
 * assert.ok(e instanceof TypeError);
 * ```
 */
export class InvalidOptionError extends TypeError {
  /** The option's name (a dotted path for nested values). */
  readonly option: string;
  /** What is wrong with it. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param option The option's name.
   * @param reason What is wrong, e.g. "must be between 1 and 600000 ms, got -5".
   */
  constructor(option: string, reason: string) {
    super(`Invalid option ${option}: ${reason}`);
    this.name = "InvalidOption";
    this.option = option;
    this.reason = reason;
  }
}

/** The error classes a connection can fail with. */
export type ConnectionError =
  | ConnectionRefusedError
  | ConnectionResetError
  | TimedOutError
  | ConnectionAbortedError;

/**
 * Maps a TCP error event to its typed error. `phase` tells whether the
 * handshake was still running ("connect": "Cannot connect to …") or the
 * connection was established ("Connection to … reset by peer").
 *
 * @param kind The event's error kind.
 * @param detail The event's human sentence, e.g. "timed out after 6 SYN retransmissions".
 * @param addr The peer as text, e.g. "127.0.0.1:9000 tcp 22".
 * @param phase Whether the connection was still connecting.
 * @returns The typed error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionError, TimedOutError } from "./errors.ts";
 * const e = connectionError(
 *   "timed_out",
 *   "timed out after 6 SYN retransmissions",
 *   "127.0.0.1:9000 tcp 22",
 *   "connect",
 * );
 * assert.ok(e instanceof TimedOutError);
 * assert.equal(
 *   e.message,
 *   "Cannot connect to 127.0.0.1:9000 tcp 22: timed out after 6 SYN retransmissions",
 * );
 * assert.equal(
 *   connectionError("reset", "", "127.0.0.1:9000 tcp 22", "established").message,
 *   "Connection to 127.0.0.1:9000 tcp 22 reset by peer",
 * );
 * ```
 */
export function connectionError(
  kind: TcpErrorKind | string,
  detail: string,
  addr: string,
  phase: "connect" | "established",
): ConnectionError {
  const d = detail.trim();
  switch (kind) {
    case "refused":
      return new ConnectionRefusedError(
        `Cannot connect to ${addr}: ${d || "connection refused"}${
          /refused/i.test(d) ? "" : " (connection refused)"
        }`,
      );
    case "reset":
      return new ConnectionResetError(
        phase === "connect"
          ? `Cannot connect to ${addr}: connection reset by peer`
          : `Connection to ${addr} reset by peer`,
      );
    case "timed_out": {
      const what = d === "" ? "timed out" : /^timed out/i.test(d) ? d : `timed out (${d})`;
      return new TimedOutError(
        phase === "connect"
          ? `Cannot connect to ${addr}: ${what}`
          : `Connection to ${addr} ${what}`,
      );
    }
    default:
      return new ConnectionAbortedError(
        phase === "connect"
          ? `Cannot connect to ${addr}: ${d || "aborted"}`
          : `Connection to ${addr} aborted${d ? ` (${d})` : ""}`,
      );
  }
}
