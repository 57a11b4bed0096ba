/**
 * The pure parts of bench/soak.ts and bench/synflood.ts (the benchmarks
 * themselves start real processes and run for minutes; not in CI).
 */
import assert from "node:assert/strict";
import { parseSize } from "../../bench/soak.ts";
import { forgedSyn } from "../../bench/synflood.ts";
import { decodeDatagram } from "../../src/wire/datagram.ts";
import { SYN } from "../../src/wire/tcp_flags.ts";

Deno.test("soak: sizes parse as bytes (kb/mb decimal, kib/mib binary) and junk is refused", () => {
  assert.equal(parseSize("1kb"), 1000);
  assert.equal(parseSize("2mb"), 2_000_000);
  assert.equal(parseSize("64kib"), 65_536);
  assert.equal(parseSize("1.5MiB"), 1_572_864);
  assert.equal(parseSize("1000"), 1000);
  assert.throws(() => parseSize("2 parsecs"), /not a size/);
});

Deno.test("synflood: a forged SYN is a valid tou datagram with a real client's SYN options", () => {
  const buf = new Uint8Array(64);
  const n = forgedSyn(buf, 80, 40000, 0xfffffff0);
  const d = decodeDatagram(buf.subarray(0, n));
  assert.ok(d.ok && d.value.kind === "segment");
  const seg = d.value.segment;
  assert.equal(seg.flags, SYN);
  assert.equal(seg.srcPort, 40000);
  assert.equal(seg.dstPort, 80);
  assert.equal(seg.seq, 0xfffffff0);
  assert.equal(seg.options.mss, 1448);
  assert.equal(seg.options.windowScale, 7);
  assert.equal(seg.options.sackPermitted, true);
  assert.ok(seg.options.timestamps !== undefined);
});
