// The lab scenarios of the Linux knobs (src/lab/scenarios_knobs.ts) show what they claim.
import assert from "node:assert/strict";
import { findScenario, runScenario } from "../../src/lab/mod.ts";

Deno.test("tou lab tw-reuse: the retry at once fails, the one 1 s later reuses the TIME_WAIT 4-tuple", () => {
  const r = runScenario(findScenario("tw-reuse")!);
  assert.match(r.findings[0], /first retry failed: .*no free ephemeral port/);
  assert.match(
    r.findings[1],
    /took port 40000 \(timeWaitReused = 1\).*\+ 65537, and reached ESTABLISHED/,
  );
});

Deno.test("tou lab orphan-retries: an orphaned FIN is sent 1 + 8 times, then the connection is dropped", () => {
  const r = runScenario(findScenario("orphan-retries")!);
  assert.match(
    r.findings[0],
    /FIN 9 times \(1 \+ 8 retransmissions; orphanRetries = 0, retries = 15\)/,
  );
  assert.match(r.findings[1], /error timed_out/);
});
