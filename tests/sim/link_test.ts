import assert from "node:assert/strict";
import {
  gilbertElliottLossRate,
  Link,
  type LinkConfig,
  type LinkDropReason,
  validateLinkConfig,
} from "../../src/sim/link.ts";
import { Prng } from "../../src/sim/prng.ts";
import { assertNear, blast, payloadFor, popcount8, withSeed } from "./_util.ts";

const N = 20_000;

/** Mean length of runs of consecutive lost sequence numbers. */
function meanLossBurst(delivered: Set<number>, count: number): number {
  let bursts = 0;
  let lost = 0;
  let inBurst = false;
  for (let i = 0; i < count; i++) {
    if (!delivered.has(i)) {
      lost++;
      if (!inBurst) bursts++;
      inBurst = true;
    } else {
      inBurst = false;
    }
  }
  return bursts === 0 ? 0 : lost / bursts;
}

Deno.test("Link drops 10% ± 1% when loss is 0.1", () => {
  withSeed(101, (seed) => {
    const r = blast({ loss: 0.1 }, { seed, count: N });
    assertNear(r.stats.drops.loss / N, 0.1, 0.01, "loss fraction");
    assert.equal(r.stats.dropped, r.stats.drops.loss);
    assert.equal(r.arrivals.length + r.stats.drops.loss, N);
  });
});

Deno.test("Link loses nothing when loss is 0 and everything when loss is 1", () => {
  withSeed(102, (seed) => {
    assert.equal(blast({ loss: 0 }, { seed, count: 1000 }).arrivals.length, 1000);
    assert.equal(blast({ loss: 1 }, { seed, count: 1000 }).arrivals.length, 0);
  });
});

Deno.test("Link burst loss matches the Gilbert–Elliott stationary rate and is bursty when p=0.02 r=0.2", () => {
  withSeed(103, (seed) => {
    const count = 50_000;
    const ge = { p: 0.02, r: 0.2 };
    const expected = gilbertElliottLossRate(ge); // 0.0909...
    const r = blast({ burstLoss: ge }, { seed, count });
    assertNear(r.stats.drops.burst / count, expected, 0.015, "burst loss fraction");
    const burst = meanLossBurst(new Set(r.arrivals.map((a) => a.seq)), count);
    assertNear(burst, 1 / ge.r, 1, "mean burst length");

    const u = blast({ loss: expected }, { seed, count });
    const uniformBurst = meanLossBurst(new Set(u.arrivals.map((a) => a.seq)), count);
    assert.ok(uniformBurst < 1.3, `uniform mean burst ${uniformBurst}`);
    assert.ok(burst > 3 * uniformBurst, `burst ${burst} vs uniform ${uniformBurst}`);
  });
});

Deno.test("Link burst loss matches the stationary rate when both states lose some datagrams", () => {
  withSeed(104, (seed) => {
    const count = 50_000;
    const ge = { p: 0.05, r: 0.25, goodLoss: 0.01, badLoss: 0.5 };
    const expected = gilbertElliottLossRate(ge); // (0.25·0.01 + 0.05·0.5) / 0.3 ≈ 0.0917
    assertNear(expected, 0.0917, 0.0001, "formula");
    const r = blast({ burstLoss: ge }, { seed, count });
    assertNear(r.stats.drops.burst / count, expected, 0.01, "burst loss fraction");
  });
});

Deno.test("Link delays every datagram by delay ± jitter when jitter is uniform", () => {
  withSeed(105, (seed) => {
    const r = blast({ delay: 50, jitter: 10 }, { seed, count: N });
    const lat = r.arrivals.map((a) => a.at - r.sentAt[a.seq]);
    const min = Math.min(...lat);
    const max = Math.max(...lat);
    const mean = lat.reduce((s, x) => s + x, 0) / lat.length;
    assert.ok(min >= 40 && min < 40.1, `min ${min}`);
    assert.ok(max <= 60 && max > 59.9, `max ${max}`);
    assertNear(mean, 50, 0.3, "mean latency");
    // Jitter larger than the send gap reorders datagrams naturally.
    let late = 0;
    for (let i = 1; i < r.arrivals.length; i++) {
      if (r.arrivals[i].seq < r.arrivals[i - 1].seq) late++;
    }
    assert.ok(late > N / 10, `reordered by jitter: ${late}`);
  });
});

Deno.test("Link jitter has the configured standard deviation when jitter is normal", () => {
  withSeed(106, (seed) => {
    const r = blast({ delay: 100, jitter: 10, jitterDistribution: "normal" }, { seed, count: N });
    const lat = r.arrivals.map((a) => a.at - r.sentAt[a.seq]);
    const mean = lat.reduce((s, x) => s + x, 0) / lat.length;
    const sd = Math.sqrt(lat.reduce((s, x) => s + (x - mean) ** 2, 0) / lat.length);
    assertNear(mean, 100, 0.3, "mean latency");
    assertNear(sd, 10, 0.3, "latency sd");
    assert.ok(Math.min(...lat) >= 0);
  });
});

Deno.test("Link never reorders when preserveOrder is set despite jitter", () => {
  withSeed(107, (seed) => {
    const r = blast({ delay: 20, jitter: 10, preserveOrder: true }, { seed, count: 5000 });
    assert.equal(r.arrivals.length, 5000);
    r.arrivals.forEach((a, i) => assert.equal(a.seq, i));
    for (const a of r.arrivals) {
      const lat = a.at - r.sentAt[a.seq];
      assert.ok(lat >= 10 && lat <= 30, `latency ${lat}`);
    }
  });
});

Deno.test("Link holds back the configured fraction of datagrams when reorder is 0.05", () => {
  withSeed(108, (seed) => {
    const r = blast({ delay: 10, reorder: 0.05, reorderDelay: 20 }, { seed, count: N, gap: 5 });
    assert.equal(r.arrivals.length, N);
    assertNear(r.stats.reordered / N, 0.05, 0.005, "held-back fraction");
    // A held-back datagram arrives after the next (sent 5 ms later, not held).
    let maxSeen = -1;
    let late = 0;
    for (const a of r.arrivals) {
      if (a.seq < maxSeen) late++;
      else maxSeen = a.seq;
    }
    assertNear(late / N, 0.05, 0.006, "arrived-late fraction");
    for (const a of r.arrivals) {
      const lat = a.at - r.sentAt[a.seq];
      assert.ok(lat === 10 || lat === 30, `latency ${lat}`);
    }
  });
});

Deno.test("Link delivers the configured fraction of duplicates when duplicate is 0.03", () => {
  withSeed(109, (seed) => {
    const r = blast({ duplicate: 0.03 }, { seed, count: N });
    assertNear(r.stats.duplicated / N, 0.03, 0.004, "duplicate fraction");
    assert.equal(r.arrivals.length, N + r.stats.duplicated);
    const copies = new Map<number, Uint8Array[]>();
    for (const a of r.arrivals) copies.set(a.seq, [...(copies.get(a.seq) ?? []), a.data]);
    let dups = 0;
    for (const [seq, list] of copies) {
      assert.ok(list.length <= 2);
      if (list.length === 2) {
        dups++;
        assert.deepEqual(list[0], list[1]);
        assert.deepEqual(list[0], payloadFor(seq, 64));
        assert.notEqual(list[0].buffer, list[1].buffer); // distinct buffers
      }
    }
    assert.equal(dups, r.stats.duplicated);
  });
});

Deno.test("Link flips exactly one bit in the configured fraction of datagrams when corrupt is 0.05", () => {
  withSeed(110, (seed) => {
    const r = blast({ corrupt: 0.05 }, { seed, count: N });
    assert.equal(r.arrivals.length, N);
    let corrupted = 0;
    for (const a of r.arrivals) {
      const want = payloadFor(a.seq, 64);
      let bits = 0;
      for (let i = 0; i < 64; i++) bits += popcount8(a.data[i] ^ want[i]);
      assert.ok(bits <= 1, `seq ${a.seq}: ${bits} bits differ`);
      corrupted += bits;
    }
    assert.equal(corrupted, r.stats.corrupted);
    assertNear(corrupted / N, 0.05, 0.005, "corrupted fraction");
  });
});

Deno.test("Link drops datagrams larger than the MTU with reason mtu", () => {
  withSeed(111, (seed) => {
    const sizes = [999, 1000, 1001, 1500];
    const r = blast({ mtu: 1000 }, { seed, count: 400, size: (i) => sizes[i % 4] });
    assert.equal(r.stats.drops.mtu, 200);
    assert.equal(r.stats.dropped, 200);
    assert.equal(r.arrivals.length, 200);
    for (const a of r.arrivals) assert.ok(a.data.length <= 1000);
  });
});

Deno.test("Link serializes at the configured bandwidth and drops at the queue limit when overloaded", () => {
  withSeed(112, (seed) => {
    // 100 kB/s with 1000-byte datagrams = one per 10 ms; offered: one per 5 ms.
    const count = 4000;
    const r = blast(
      { bandwidth: 100_000, queueLimit: 10_000, delay: 5 },
      { seed, count, gap: 5, size: () => 1000 },
    );
    const delivered = r.arrivals.length;
    assertNear(r.stats.drops.queue / count, 0.5, 0.01, "queue drop fraction");
    assert.equal(delivered + r.stats.drops.queue, count);
    const first = r.arrivals[0].at;
    const last = r.arrivals[delivered - 1].at;
    const rate = ((delivered - 1) * 1000) / ((last - first) / 1000);
    assertNear(rate, 100_000, 1000, "delivery rate (B/s)");
    // Queueing delay never exceeds limit/bandwidth (+ serialization + propagation).
    for (const a of r.arrivals) {
      const lat = a.at - r.sentAt[a.seq];
      assert.ok(lat <= 5 + 10 + 100 + 1e-9, `latency ${lat}`);
    }
    r.arrivals.forEach((a, i) => i === 0 || assert.ok(a.seq > r.arrivals[i - 1].seq));
  });
});

Deno.test("Link adds only serialization delay and drops nothing when under capacity", () => {
  withSeed(113, (seed) => {
    const r = blast(
      { bandwidth: 100_000, queueLimit: 2000, delay: 5 },
      { seed, count: 500, gap: 20, size: () => 1000 },
    );
    assert.equal(r.arrivals.length, 500);
    for (const a of r.arrivals) assertNear(a.at - r.sentAt[a.seq], 15, 1e-9, "latency");
  });
});

Deno.test("Link drops everything sent inside a partition and nothing outside it", () => {
  withSeed(114, (seed) => {
    const r = blast(
      { delay: 30, partitions: [{ from: 1000, to: 2000 }, { from: 2500, to: 2600 }] },
      { seed, count: 3000, gap: 1 },
    );
    assert.equal(r.stats.drops.partition, 1100);
    assert.equal(r.stats.dropped, 1100);
    const got = new Set(r.arrivals.map((a) => a.seq));
    for (let i = 0; i < 3000; i++) {
      const t = r.sentAt[i];
      const cut = (t >= 1000 && t < 2000) || (t >= 2500 && t < 2600);
      assert.equal(got.has(i), !cut, `seq ${i} sent at ${t}`);
    }
  });
});

Deno.test("Link reports stage drops in pipeline order when several impairments apply", () => {
  const reasons: LinkDropReason[] = [];
  const sink = { drop: (r: LinkDropReason) => reasons.push(r), deliver: () => {} };
  const cfg: LinkConfig = { loss: 1, mtu: 10, partitions: [{ from: 0, to: 5 }] };
  const link = new Link(cfg, new Prng(1));
  link.transmit(1, new Uint8Array(20), sink); // partition first
  link.transmit(6, new Uint8Array(20), sink); // then MTU
  link.transmit(6, new Uint8Array(5), sink); // then loss
  assert.deepEqual(reasons, ["partition", "mtu", "loss"]);
});

Deno.test("Link keeps its burst state and queue when its config is replaced", () => {
  const link = new Link({ bandwidth: 1000 }, new Prng(1));
  link.transmit(0, new Uint8Array(500), { drop: () => assert.fail(), deliver: () => {} });
  assert.equal(link.backlog(0), 500);
  link.config = { bandwidth: 1000, delay: 1 };
  assert.equal(link.backlog(100), 400);
});

Deno.test("validateLinkConfig throws RangeError naming the field when a value is out of range", () => {
  const bad: [LinkConfig, RegExp][] = [
    [{ loss: -0.1 }, /loss/],
    [{ duplicate: 2 }, /duplicate/],
    [{ corrupt: Number.NaN }, /corrupt/],
    [{ reorder: 1.1 }, /reorder/],
    [{ delay: -1 }, /delay/],
    [{ jitter: Infinity }, /jitter/],
    [{ bandwidth: 0 }, /bandwidth/],
    [{ burstLoss: { p: 0.1, r: 1.5 } }, /burstLoss\.r/],
    [{ partitions: [{ from: 5, to: 1 }] }, /partitions/],
    [{ jitterDistribution: "pareto" as "normal" }, /jitterDistribution/],
  ];
  for (const [cfg, re] of bad) assert.throws(() => validateLinkConfig(cfg), re);
  validateLinkConfig({ mtu: Infinity, queueLimit: Infinity, loss: 0, reorder: 1 });
});

Deno.test("gilbertElliottLossRate returns the stationary loss when given p, r and state losses", () => {
  assert.equal(gilbertElliottLossRate({ p: 0.1, r: 0.3 }), 0.25);
  assertNear(gilbertElliottLossRate({ p: 0.02, r: 0.2 }), 1 / 11, 1e-12, "rate");
  assert.equal(gilbertElliottLossRate({ p: 0, r: 0, goodLoss: 0.2 }), 0.2);
});

Deno.test("Link drops at the packet limit when queuePackets is set and the bottleneck is overloaded", () => {
  // 1 MB/s, 1000-byte datagrams: 1 ms each. 10 sent at once: 4 fit (the one
  // being serialized and three waiting), 6 are dropped.
  const link = new Link({ bandwidth: 1_000_000, queuePackets: 4 }, new Prng(1));
  const reasons: LinkDropReason[] = [];
  const arrivals: number[] = [];
  const sink = {
    drop: (r: LinkDropReason) => reasons.push(r),
    deliver: (at: number) => arrivals.push(at),
  };
  for (let i = 0; i < 10; i++) link.transmit(0, new Uint8Array(1000), sink);
  assert.deepEqual(arrivals, [1, 2, 3, 4]);
  assert.equal(reasons.length, 6);
  assert.ok(reasons.every((r) => r === "queue"));
  assert.equal(link.queuedPackets(0), 4);
  // After 1.5 ms one has left and one is half serialized: three in the queue, room for one.
  assert.equal(link.queuedPackets(1.5), 3);
  link.transmit(1.5, new Uint8Array(1000), sink);
  link.transmit(1.5, new Uint8Array(1000), sink);
  assert.deepEqual(arrivals, [1, 2, 3, 4, 5]);
  assert.equal(reasons.length, 7);
  assert.equal(link.queuedPackets(100), 0);
});

Deno.test("Link applies both limits when queueLimit and queuePackets are set", () => {
  const link = new Link({ bandwidth: 1000, queueLimit: 250, queuePackets: 100 }, new Prng(1));
  let delivered = 0;
  const sink = { drop: () => {}, deliver: () => delivered++ };
  for (let i = 0; i < 10; i++) link.transmit(0, new Uint8Array(100), sink);
  assert.equal(delivered, 2); // bytes bind first: 100 + 100, a third would make 300 > 250
  const l2 = new Link({ bandwidth: 1000, queueLimit: 10_000, queuePackets: 3 }, new Prng(1));
  delivered = 0;
  for (let i = 0; i < 10; i++) l2.transmit(0, new Uint8Array(100), sink);
  assert.equal(delivered, 3);
});

Deno.test("Link keeps the packet queue bounded in memory over a long overloaded run", () => {
  const link = new Link({ bandwidth: 100_000, queuePackets: 50 }, new Prng(1));
  let delivered = 0;
  const sink = { drop: () => {}, deliver: () => delivered++ };
  for (let i = 0; i < 200_000; i++) link.transmit(i * 5, new Uint8Array(1000), sink);
  // 1000 s at 100 datagrams/s: ~100k delivered (plus the 50 still queued at the end).
  assertNear(delivered, 100_000, 60, "delivered");
  assert.ok(link.queuedPackets(1_000_000) <= 50);
});
