// TouConn's streams and calls behave as a Deno.TcpConn's at the edges: every probe scenario
// (tests/compat/_stream_facts.ts) runs on kernel TCP and on tou and must observe the same, and the
// kernel must still observe what stream_facts.json recorded on Deno 2.9 (re-record after an upgrade:
// `deno run -A tests/compat/probe_deno_tcp.ts > tests/compat/stream_facts.json`).

import assert from "node:assert/strict";
import { SCENARIOS } from "./_stream_facts.ts";
import { kernelTransport, onTransport, touTransport, within } from "./_transports.ts";

const recorded = JSON.parse(
  await Deno.readTextFile(new URL("./stream_facts.json", import.meta.url)),
) as { deno: string; facts: Record<string, Record<string, string>> };

for (const s of SCENARIOS) {
  Deno.test(`TouConn matches Deno.TcpConn: ${s.name}`, async () => {
    const kernel = await onTransport(kernelTransport, (t) => within(s.run(t), 20_000, "kernel"));
    const tou = await onTransport(touTransport, (t) => within(s.run(t), 20_000, "tou"));
    assert.deepEqual(tou, kernel, "tou observed something else than kernel TCP");
    assert.deepEqual(
      kernel,
      recorded.facts[s.name],
      `kernel TCP no longer behaves as recorded on Deno ${recorded.deno}`,
    );
  });
}

Deno.test("stream_facts.json records every probe scenario", () => {
  assert.deepEqual(Object.keys(recorded.facts).sort(), SCENARIOS.map((s) => s.name).sort());
});
