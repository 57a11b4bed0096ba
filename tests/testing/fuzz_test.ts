import assert from "node:assert/strict";
import { FUZZ_KINDS, runFuzz } from "../../src/testing/fuzz.ts";

// A short run of `deno task fuzz` (bench/fuzz.ts runs the long one).
for (const seed of [1, 2]) {
  Deno.test(`fuzz (seed ${seed}): 6000 random and mutated datagrams beside a transfer: no crash, every round byte-exact, state bounded and gone after`, () => {
    const r = runFuzz({ seed, iterations: 6000 });
    console.log(JSON.stringify(r));
    assert.equal(r.crashes, 0, r.crash);
    assert.equal(r.failedRounds, 0, r.failure);
    assert.ok(r.rounds >= 10, `${r.rounds} rounds`);
    for (const k of FUZZ_KINDS) assert.ok(r.byKind[k] > 500, `${k}: ${r.byKind[k]}`);
    assert.ok(r.rejected > 1000); // the mutations reached the decoder
    // TIME_WAIT of finished rounds plus a few forged half-open connections, no more
    assert.ok(r.maxConnections <= r.rounds + 64, `${r.maxConnections} connections`);
    assert.ok(r.maxQueueBytes <= 4 * 1024 * 1024);
    assert.equal(r.finalConnections, 0);
  });
}
