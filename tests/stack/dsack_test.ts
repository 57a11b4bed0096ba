import assert from "node:assert/strict";
import { createTestbed } from "../../src/testing/mod.ts";
import { firstDiff, patternBytes, pump } from "../_harness/sim_pair.ts";

// RFC 2883 between two tou stacks: a path that duplicates datagrams makes the
// receiver report each duplicate data segment in a D-SACK, and the sender counts them.
Deno.test("Stack pair over a duplicating path: the receiver's D-SACKs reach the sender (RFC 2883)", () => {
  const size = 2 * 1024 * 1024;
  const tb = createTestbed({ seed: 7, link: { duplicate: 0.02, delay: 10 } });
  const server = tb.stack;
  const client = tb.addStack();
  const l = server.listen(80);
  const up = patternBytes(size, 7);
  const c = client.connect(server.localAddr, 80);
  pump(c, up, 0);
  let sr: ReturnType<typeof pump> | undefined;
  l.onAcceptable = () => {
    sr = pump(l.accept()!, new Uint8Array(0), size);
  };
  while (!(sr !== undefined && sr.receivedLength === size) && tb.now < 120_000) tb.advance(50);
  assert.equal(firstDiff(sr!.received, up, size), -1, "data differs");
  const info = c.info();
  const duplicated = tb.network.stats().duplicated;
  assert.ok(duplicated > 0);
  // every duplicated data segment draws one D-SACK; duplicated pure ACKs draw none
  assert.ok(info.dsackDups > 0, `no D-SACK seen (${duplicated} duplicated datagrams)`);
  assert.ok(info.dsackDups <= duplicated, `${info.dsackDups} > ${duplicated}`);
  assert.equal(info.retransmits, 0, "duplicates alone cause no retransmission");
  tb.close();
});
