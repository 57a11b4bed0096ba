/**
 * The error of every usage problem of the tunnel (flags, config file, key),
 * in its own file so that readers of files can throw it without importing
 * the config schema.
 *
 * @module
 */

/**
 * A usage problem in flags, the config file or the key: the message is one
 * line naming the problem (the CLI prints it and exits with status 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "./config.ts";
 * const e = new ConfigError("--forward: invalid forward \"22\"");
 * assert.equal(e.name, "ConfigError");
 * ```
 */
export class ConfigError extends Error {
  /**
   * Creates the error.
   *
   * @param message One line naming the problem.
   */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
