/**
 * The TCP issue's acceptance run: over 5% loss, 1% duplication, 5% reordering
 * and 50 ms RTT, 10 MB each way arrives byte-exact for 100 seeds, and both
 * sides end in CLOSED/TIME_WAIT as expected. Seeds are spread over four test
 * files so `--parallel` uses both cores; TOU_LOSSY_SEEDS narrows the count
 * (e.g. 5 for a quick local run), TOU_LOSSY_MB the size.
 */
import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import { firstDiff, patternBytes, pump } from "./sim_pair.ts";

const MB = Number(Deno.env.get("TOU_LOSSY_MB") ?? 10);

/** Runs one seed; returns a one-line summary. */
export function lossyTransfer(seed: number): string {
  const size = Math.round(MB * 1024 * 1024);
  const tb = createTestbed({
    seed,
    link: { loss: 0.05, duplicate: 0.01, reorder: 0.05, reorderDelay: 10, delay: 25 },
  });
  const server = tb.stack;
  const client = tb.addStack();
  const l = server.listen(80);
  const up = patternBytes(size, seed), down = patternBytes(size, seed + 7);
  const c = client.connect(server.localAddr, 80);
  const cr = pump(c, up, size, { closeWhenDone: true });
  let sr: ReturnType<typeof pump> | undefined;
  let s: typeof c | undefined;
  l.onAcceptable = () => {
    s = l.accept()!;
    sr = pump(s, down, size, { closeWhenDone: true });
  };
  // Run until both applications are done, then check the close states.
  const deadline = 3_600_000;
  while (!(cr.eof && sr?.eof && cr.sent === size && sr.sent === size)) {
    if (tb.now > deadline || (cr.error ?? sr?.error)) break;
    tb.advance(100);
  }
  const msg = `seed ${seed}`;
  assert.equal(cr.error, undefined, `${msg}: client ${cr.error}`);
  assert.equal(sr?.error, undefined, `${msg}: server ${sr?.error}`);
  assert.equal(firstDiff(cr.received, down, size), -1, `${msg}: client data differs`);
  assert.equal(firstDiff(sr!.received, up, size), -1, `${msg}: server data differs`);
  const doneAt = tb.now;
  const info = c.info();
  // Both called close() after EOF: one side ends in TIME_WAIT (the active
  // closer, or both after a simultaneous close), the other goes CLOSED.
  tb.advance(5_000);
  const states = [c.state, s!.state].sort().join("/");
  assert.ok(
    ["CLOSED/TIME_WAIT", "TIME_WAIT/TIME_WAIT"].includes(states) ||
      (c.released && s!.released),
    `${msg}: end states ${states}`,
  );
  tb.runUntilIdle({ until: tb.now + 600_000 });
  assert.equal(client.connections().length + server.connections().length, 0, msg);
  const stats = tb.network.stats();
  tb.close();
  return `${msg}: ${MB} MB each way in ${(doneAt / 1000).toFixed(1)} s virtual, ` +
    `${info.retransmits} client retransmits, ${info.timeouts} timeouts, ${info.lost} loss events, ` +
    `${stats.dropped} dropped, ${stats.duplicated} dup`;
}

/** Registers the seeds `[from, to)` as one test each. */
export function registerSeeds(from: number, to: number): void {
  const limit = Number(Deno.env.get("TOU_LOSSY_SEEDS") ?? 100);
  for (let seed = from; seed < Math.min(to, limit); seed++) {
    Deno.test(`TcpConnection transfers ${MB} MB each way byte-exact over a lossy link (seed ${seed})`, () => {
      const line = lossyTransfer(seed);
      if (Deno.env.get("TOU_VERBOSE")) console.log(line);
    });
  }
}

if (import.meta.main) {
  for (const a of Deno.args) console.log(lossyTransfer(Number(a)));
}
