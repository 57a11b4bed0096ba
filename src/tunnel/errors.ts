/**
 * Short, one-line reasons for the errors the tunnel meets (connect, bind,
 * resolve, reset), and a way to say which address an error is about while
 * keeping its class (`instanceof Deno.errors.AddrInUse` still holds).
 *
 * @module
 */

/**
 * Short reason of a network error, e.g. "connection refused" or "address
 * already in use"; the first line of the message for anything else.
 *
 * @param e The error.
 * @returns One line, lowercase for the known kinds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeError } from "./errors.ts";
 * assert.equal(describeError(new Deno.errors.ConnectionRefused("x")), "connection refused");
 * assert.equal(describeError(new Error("two\nlines")), "two");
 * ```
 */
export function describeError(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (e instanceof Deno.errors.TimedOut) return "timed out";
  if (e instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (e instanceof Deno.errors.AddrInUse) return "address already in use";
  if (e instanceof Deno.errors.AddrNotAvailable) return "address not available on this host";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotFound) return "host not found";
  if (e instanceof Error) {
    const first = e.message.split("\n")[0];
    // "Cannot resolve "x": proto error: no records found for Query { ... }" from the resolver.
    const unresolved = first.match(/^Cannot resolve ("[^"]*")/);
    if (unresolved) return `cannot resolve ${unresolved[1]}: host not found`;
    // Deno's OS errors: "Cannot assign requested address (os error 99)".
    const os = first.match(/^(.*) \(os error \d+\)/);
    if (os) return os[1].charAt(0).toLowerCase() + os[1].slice(1);
    return first.length > 0 ? first : e.name;
  }
  return String(e);
}

/**
 * The error `e` with a message saying what failed, e.g.
 * "cannot listen on tcp 127.0.0.1:2222: address already in use". The
 * result has the same class as `e` when it can be rebuilt (Deno's error
 * classes can), and `e` as its cause.
 *
 * @param e The original error.
 * @param what What was being done, e.g. "cannot listen on tcp 127.0.0.1:2222".
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withContext } from "./errors.ts";
 * const e = withContext(new Deno.errors.AddrInUse("os says"), "cannot listen on tcp 127.0.0.1:1");
 * assert.ok(e instanceof Deno.errors.AddrInUse);
 * assert.equal(e.message, "cannot listen on tcp 127.0.0.1:1: address already in use");
 * ```
 */
export function withContext(e: unknown, what: string): Error {
  const message = `${what}: ${describeError(e)}`;
  if (e instanceof Error) {
    try {
      const Ctor = e.constructor as new (message: string, options?: ErrorOptions) => Error;
      const out = new Ctor(message, { cause: e });
      if (out instanceof Error && out.message === message) {
        out.name = e.name;
        return out;
      }
    } catch {
      // A constructor with another signature: fall through.
    }
  }
  return new Error(message, { cause: e });
}

/**
 * Short reason of a failed file read, e.g. "no such file".
 *
 * @param e The error of `Deno.readTextFile` and friends.
 * @returns One line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeFileError } from "./errors.ts";
 * assert.equal(describeFileError(new Deno.errors.NotFound("x")), "no such file");
 * ```
 */
export function describeFileError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0];
}

/**
 * Why a tunnel connection could not be opened, with the likely causes.
 *
 * @param e The error of the connect.
 * @param port The tunnel (service) port asked for.
 * @returns One line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeConnectError } from "./errors.ts";
 * assert.equal(
 *   describeConnectError(new Deno.errors.TimedOut("x"), 22),
 *   "timed out (server down, UDP blocked, or a different key)",
 * );
 * ```
 */
export function describeConnectError(e: unknown, port: number): string {
  if (e instanceof Deno.errors.ConnectionRefused) {
    return `connection refused (the server forwards no service on port ${port})`;
  }
  if (e instanceof Deno.errors.TimedOut) {
    return "timed out (server down, UDP blocked, or a different key)";
  }
  return describeError(e);
}
