import assert from "node:assert/strict";
import { runSimDemo } from "../../src/sim/demo.ts";

Deno.test("runSimDemo reports the same thing when run twice with the same seed", () => {
  const a = runSimDemo({ seed: 9, datagrams: 300 });
  assert.equal(a, runSimDemo({ seed: 9, datagrams: 300 }));
  assert.notEqual(a, runSimDemo({ seed: 10, datagrams: 300 }));
});

Deno.test("runSimDemo names the seed and every impairment when it reports", () => {
  const report = runSimDemo({ seed: 5, datagrams: 1000 });
  assert.match(report, /seed 5 \(replay: runSimDemo\(\{ seed: 5, datagrams: 1000 \}\)\)/);
  for (
    const label of [
      /^sent\s+1000\s+\d+$/m,
      /by reason\s+loss \d+/,
      /partition \d+/,
      /duplicated \(link \/ seen\)\s+(\d+) \/ \1/,
      /corrupted \(flipped \/ caught\)\s+(\d+) \/ \1/,
      /reordered/,
      /latency min\/avg\/max ms\s+\d+\.\d \/ \d+\.\d \/ \d+\.\d/,
      /round trips completed: \d+ of 1000/,
      /ConnectionRefused: Cannot send to 10\.0\.0\.2:7/,
    ]
  ) {
    assert.match(report, label);
  }
});

Deno.test("runSimDemo throws RangeError when datagrams is not a positive integer", () => {
  assert.throws(() => runSimDemo({ datagrams: 0 }), RangeError);
  assert.throws(() => runSimDemo({ datagrams: 1.5 }), RangeError);
});
