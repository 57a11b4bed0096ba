/**
 * The one error the connection throws: misuse of its application API.
 *
 * @module
 */

/**
 * Thrown by {@linkcode TcpConnection} app calls used out of order, such as
 * `write()` after `closeWrite()` or on a closed connection. Peer behaviour
 * never throws; it becomes `error` events instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TcpUsageError } from "./errors.ts";
 * const err = new TcpUsageError("Cannot write after closeWrite()");
 * assert.equal(err.name, "TcpUsageError");
 * assert.ok(err instanceof Error);
 * ```
 */
export class TcpUsageError extends Error {
  /**
   * Makes the error.
   *
   * @param message What was misused, e.g. "Cannot write: connection is CLOSED".
   */
  constructor(message: string) {
    super(message);
    this.name = "TcpUsageError";
  }
}
