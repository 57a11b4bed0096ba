/**
 * Records what `Deno.TcpConn`'s streams and calls do at the edges on this
 * Deno, as JSON: `deno run -A tests/compat/probe_deno_tcp.ts [kernel|tou]`.
 * The kernel record is kept in `stream_facts.json` (checked by
 * `stream_semantics_test.ts`); run it again after a Deno upgrade.
 *
 * @module
 */

import { type Observations, SCENARIOS } from "./_stream_facts.ts";
import { kernelTransport, onTransport, touTransport, within } from "./_transports.ts";

/**
 * Runs every scenario on one transport.
 *
 * @param which "kernel" or "tou".
 * @returns Scenario name → observations.
 */
export async function probe(which: "kernel" | "tou"): Promise<Record<string, Observations>> {
  const out: Record<string, Observations> = {};
  for (const s of SCENARIOS) {
    try {
      out[s.name] = await onTransport(
        which === "tou" ? touTransport : kernelTransport,
        (t) => within(s.run(t), 15_000, s.name),
      );
    } catch (e) {
      out[s.name] = { failed: String(e) };
    }
  }
  return out;
}

if (import.meta.main) {
  const which = Deno.args[0] === "tou" ? "tou" : "kernel";
  const facts = await probe(which);
  console.log(JSON.stringify({ deno: Deno.version.deno, os: Deno.build.os, facts }, null, 2));
}
