/**
 * Ephemeral port selection for active opens (Linux `ip_local_port_range`).
 *
 * @module
 */

/** The default ephemeral range, as Linux: 32768–60999. */
export const DEFAULT_EPHEMERAL_RANGE: readonly [number, number] = [32768, 60999];

/**
 * Picks a free ephemeral port: starts at a random offset in `[lo, hi]` and
 * probes upward (wrapping) until `isFree(port)` holds, like Linux's
 * `__inet_hash_connect`. Returns `undefined` when the range is exhausted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pickEphemeralPort } from "./ports.ts";
 * assert.equal(pickEphemeralPort([100, 102], 0, (p) => p === 102), 102);
 * assert.equal(pickEphemeralPort([100, 102], 7, () => false), undefined);
 * ```
 */
export function pickEphemeralPort(
  range: readonly [number, number],
  random: number,
  isFree: (port: number) => boolean,
): number | undefined {
  const [lo, hi] = range;
  const span = hi - lo + 1;
  const start = (random >>> 0) % span;
  for (let i = 0; i < span; i++) {
    const port = lo + ((start + i) % span);
    if (isFree(port)) return port;
  }
  return undefined;
}
