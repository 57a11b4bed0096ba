/**
 * The congestion-control names users may pick and the defaults of the
 * library and of the tunnel (issue 9): CUBIC for the library, as Linux,
 * BBR for the tunnel, whose paths have random loss that BBR's model ignores.
 *
 * @module
 */

/**
 * ISSUE 9 SWITCH. True once `registry.ts` registers "cubic" and "bbr" (the
 * sender wired to the new congestion interface). While false, only
 * "newreno" and "none" are selectable and both defaults stay "newreno", so
 * no option names an algorithm the stack cannot create. Flip it, then
 * regenerate docs/api.md and docs/tou.schema.json (`deno run -A cli/gen_docs.ts`,
 * `cli/gen_schema.ts`).
 */
export const MODEL_CONTROLLERS_REGISTERED: boolean = true;

/** Every congestion-control name tou knows. */
export const CONGESTION_NAMES = ["bbr", "cubic", "newreno", "none"] as const;

/** A congestion-control name. */
export type CongestionName = typeof CONGESTION_NAMES[number];

/** The names an option may take now (all of them once the switch is on). */
export const SELECTABLE_CONGESTION: readonly [CongestionName, ...CongestionName[]] =
  MODEL_CONTROLLERS_REGISTERED ? CONGESTION_NAMES : ["newreno", "none"];

/**
 * The library's default: CUBIC (RFC 9438), the kernel-like choice for paths
 * shared with other TCP.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LIBRARY_DEFAULT_CONGESTION, SELECTABLE_CONGESTION } from "./defaults.ts";
 * assert.ok(SELECTABLE_CONGESTION.includes(LIBRARY_DEFAULT_CONGESTION));
 * ```
 */
export const LIBRARY_DEFAULT_CONGESTION: CongestionName = MODEL_CONTROLLERS_REGISTERED
  ? "cubic"
  : "newreno";

/**
 * The tunnel's loss tolerance in percent (`TcpConfig.lossTolerance`): BBR reads
 * a round's loss as congestion only above 10 %, not its own 2 %. A tunnel is
 * chosen for paths with random loss: at 5 % random loss each way (40 ms,
 * 100 Mbit/s) BBR with 2 % moved 5.5 Mbit/s, kcptun (no congestion control at
 * all) 51 (bench/lossy.ts). A bottleneck that overflows still shows up as
 * rounds losing far more than 10 %, and as the queueing BBR's model bounds.
 */
export const TUNNEL_DEFAULT_LOSS_TOLERANCE = 10;

/** The tunnel's default: BBR, which does not read random loss as congestion. */
export const TUNNEL_DEFAULT_CONGESTION: CongestionName = MODEL_CONTROLLERS_REGISTERED
  ? "bbr"
  : "newreno";
