/**
 * V8 flags the tou processes run with (`deno task tou`, `tou server
 * --workers` children, bench/soak.ts).
 *
 * `--max-semi-space-size=1` caps V8's young generation at 1 MB per semi-space
 * (default: grows to 16 MB+). A tunnel allocates mostly short-lived objects
 * per datagram; with the default the young generation grew to fill its cap
 * and stayed there, ≈ 25 MB of heap for nothing. `bench:soak --conns 500
 * --max-size 1mb` (loaded machine, two runs each): server peak RSS 219–229 MB
 * → 196–207 MB, heapTotal 57–59 → 35–36 MB, run time unchanged within noise.
 *
 * @module
 */

/** The V8 flags, as `deno run`'s `--v8-flags=` value. */
export const TOU_V8_FLAGS = "--max-semi-space-size=1";

/**
 * The `deno run` argument that applies {@linkcode TOU_V8_FLAGS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { v8FlagsArg } from "./_v8_flags.ts";
 * assert.equal(v8FlagsArg(), "--v8-flags=--max-semi-space-size=1");
 * ```
 */
export function v8FlagsArg(): string {
  return `--v8-flags=${TOU_V8_FLAGS}`;
}
