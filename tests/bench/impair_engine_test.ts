import assert from "node:assert/strict";
import { ImpairEngine, totalDrops } from "../../bench/_impair_engine.ts";
import {
  ImpairOptionsSchema,
  linkConfigs,
  parseBurstLoss,
  parseHostPort,
  parseProbability,
  parseQueue,
  parseRate,
  perDirection,
} from "../../bench/_impair_config.ts";
import { gilbertElliottLossRate } from "../../src/sim/link.ts";

type Sent = { at: number; id: number; to: string; dir: string };

/** Offers `count` datagrams (byte 0..3 = id) at `gap` ms intervals in `dir`, returns what came out by `until`. */
function run(
  e: ImpairEngine<string>,
  opts: { dir: "up" | "down"; count: number; gap: number; size?: number; until: number },
): Sent[] {
  const out: Sent[] = [];
  const send = (d: Uint8Array, to: string, dir: string) =>
    out.push({ at: now, id: new DataView(d.buffer, d.byteOffset).getUint32(0), to, dir });
  let now = 0;
  for (let i = 0; i < opts.count; i++) {
    now = i * opts.gap;
    e.popDue(now, send);
    const d = new Uint8Array(opts.size ?? 100);
    new DataView(d.buffer).setUint32(0, i);
    e.offer(now, opts.dir, d, opts.dir === "up" ? "server" : "client");
  }
  // Drain on a 0.1 ms grid, as a timer would.
  while (now < opts.until) {
    now = Math.min(opts.until, Math.max(now + 0.1, Math.min(e.nextDeadline(), opts.until)));
    e.popDue(now, send);
  }
  return out;
}

Deno.test("ImpairEngine delivers each datagram at offer time + delay and not before", () => {
  const e = new ImpairEngine<string>({ up: { delay: 20 }, down: {} }, 1);
  const out: number[] = [];
  e.offer(5, "up", new Uint8Array(10), "server");
  assert.equal(e.nextDeadline(), 25);
  assert.equal(e.popDue(24.9, () => out.push(1)), 0);
  assert.equal(e.popDue(25, () => out.push(1)), 1);
  assert.equal(e.pending, 0);
  assert.equal(e.nextDeadline(), Infinity);
  assert.equal(e.stats("up").forwarded, 1);
  assert.equal(e.stats("up").forwardedBytes, 10);
});

Deno.test("ImpairEngine hands out due datagrams earliest first across directions, ties in offer order", () => {
  const e = new ImpairEngine<string>({ up: { delay: 10 }, down: { delay: 3 } }, 1);
  e.offer(0, "up", new Uint8Array([1]), "s"); // due 10
  e.offer(2, "down", new Uint8Array([2]), "c"); // due 5
  e.offer(7, "down", new Uint8Array([3]), "c"); // due 10, offered after #1
  e.offer(8, "up", new Uint8Array([4]), "s"); // due 18
  const got: [number, string, string][] = [];
  e.popDue(100, (d, to, dir) => got.push([d[0], to, dir]));
  assert.deepEqual(got, [[2, "c", "down"], [1, "s", "up"], [3, "c", "down"], [4, "s", "up"]]);
});

Deno.test("ImpairEngine impairs each direction with its own config when up loses everything and down nothing", () => {
  const e = new ImpairEngine<string>({ up: { loss: 1 }, down: { loss: 0 } }, 7);
  const up = run(e, { dir: "up", count: 100, gap: 1, until: 200 });
  const down = run(e, { dir: "down", count: 100, gap: 1, until: 200 });
  assert.equal(up.length, 0);
  assert.equal(down.length, 100);
  assert.equal(e.stats("up").drops.loss, 100);
  assert.equal(totalDrops(e.stats("down")), 0);
  assert.equal(e.stats("down").received, 100);
});

Deno.test("ImpairEngine gives the same decisions for the same seed and independent streams per direction", () => {
  const cfg = { up: { loss: 0.2, jitter: 5, delay: 10 }, down: { loss: 0.2 } };
  const a = new ImpairEngine<string>(cfg, 42);
  const b = new ImpairEngine<string>(cfg, 42);
  // b also carries traffic the other way first: it must not perturb b's up decisions.
  run(b, { dir: "down", count: 500, gap: 1, until: 600 });
  const ra = run(a, { dir: "up", count: 2000, gap: 1, until: 3000 });
  const rb = run(b, { dir: "up", count: 2000, gap: 1, until: 3000 });
  assert.deepEqual(ra.map((x) => x.id), rb.map((x) => x.id));
  const c = new ImpairEngine<string>(cfg, 43);
  const rc = run(c, { dir: "up", count: 2000, gap: 1, until: 3000 });
  assert.notDeepEqual(ra.map((x) => x.id), rc.map((x) => x.id));
  assert.ok(Math.abs(ra.length / 2000 - 0.8) < 0.04, `delivered ${ra.length}`);
});

Deno.test("ImpairEngine bottleneck forwards at the rate, drops at the packet queue and records queueing delay", () => {
  // 1 Mbit/s = 125 B/ms; 1250-byte datagrams take 10 ms; offered one per 5 ms (2× the rate).
  const e = new ImpairEngine<string>(
    { up: { bandwidth: 125_000, queuePackets: 10, delay: 20 }, down: {} },
    1,
  );
  const out = run(e, { dir: "up", count: 1000, gap: 5, size: 1250, until: 6000 });
  const s = e.stats("up");
  assert.equal(out.length + s.drops.queue, 1000);
  assert.ok(Math.abs(s.drops.queue / 1000 - 0.5) < 0.02, `queue drops ${s.drops.queue}`);
  // Departures 10 ms apart once the queue is standing.
  const tail = out.slice(100, 200).map((x) => x.at);
  for (let i = 1; i < tail.length; i++) assert.ok(Math.abs(tail[i] - tail[i - 1] - 10) < 0.2);
  // A standing queue of 9 waiting ahead: ≈ 90 ms, never more than 10 × 10 ms.
  assert.ok(s.queueDelayMax <= 100 + 1e-9 && s.queueDelayMax > 80, `max ${s.queueDelayMax}`);
  assert.equal(s.queueDelayCount, out.length);
  assert.ok(s.queueDelaySum / s.queueDelayCount > 70);
});

Deno.test("ImpairEngine counts duplicates, reordering and burst drops", () => {
  const e = new ImpairEngine<string>({
    up: { duplicate: 0.1, reorder: 0.1, reorderDelay: 5, delay: 1 },
    down: { burstLoss: { p: 0.05, r: 0.25 } },
  }, 3);
  const up = run(e, { dir: "up", count: 5000, gap: 1, until: 6000 });
  const su = e.stats("up");
  assert.equal(up.length, 5000 + su.duplicated);
  assert.ok(Math.abs(su.duplicated / 5000 - 0.1) < 0.015);
  assert.ok(Math.abs(su.reordered / up.length - 0.1) < 0.015);
  let late = 0;
  for (let i = 1; i < up.length; i++) if (up[i].id < up[i - 1].id) late++;
  assert.ok(late > 300, `arrived out of order: ${late}`);
  const down = run(e, { dir: "down", count: 20_000, gap: 1, until: 21_000 });
  const expected = gilbertElliottLossRate({ p: 0.05, r: 0.25 });
  assert.ok(Math.abs(e.stats("down").drops.burst / 20_000 - expected) < 0.02);
  assert.equal(down.length + e.stats("down").drops.burst, 20_000);
});

Deno.test("impair flag values parse into probabilities, rates, queues and burst loss", () => {
  assert.equal(parseProbability("1%"), 0.01);
  assert.equal(parseProbability("0.25"), 0.25);
  assert.equal(parseProbability("100%"), 1);
  assert.throws(() => parseProbability("3"), /out of/);
  assert.throws(() => parseProbability("abc"), /probability/);
  assert.equal(parseRate("100mbit"), 12_500_000);
  assert.equal(parseRate("1gbit"), 125_000_000);
  assert.equal(parseRate("800kbit"), 100_000);
  assert.equal(parseRate("10mbps"), 10_000_000);
  assert.throws(() => parseRate("100"), /rate/);
  assert.deepEqual(parseQueue("1000"), { packets: 1000 });
  assert.deepEqual(parseQueue("50p"), { packets: 50 });
  assert.deepEqual(parseQueue("64kb"), { bytes: 64_000 });
  assert.deepEqual(parseQueue("1500000b"), { bytes: 1_500_000 });
  assert.throws(() => parseQueue("1.5p"), /integer/);
  assert.deepEqual(parseBurstLoss("0.51%,25%"), { p: 0.0051, r: 0.25 });
  assert.deepEqual(parseBurstLoss("0.1,0.5,0,0.9"), { p: 0.1, r: 0.5, goodLoss: 0, badLoss: 0.9 });
  assert.throws(() => parseBurstLoss("0.1"), /p,r/);
  assert.deepEqual(perDirection("1%/2%", parseProbability), [0.01, 0.02]);
  assert.deepEqual(perDirection("20", Number), [20, 20]);
  assert.throws(() => perDirection("1/2/3", Number), /UP\/DOWN/);
  assert.deepEqual(parseHostPort("9000"), { hostname: "127.0.0.1", port: 9000 });
  assert.deepEqual(parseHostPort("[::1]:53"), { hostname: "::1", port: 53 });
  assert.throws(() => parseHostPort("host:99999"), /port/);
});

Deno.test("impair options validate with zod into per-direction link configs", () => {
  const o = ImpairOptionsSchema.parse({
    listen: "127.0.0.1:9000",
    upstream: "7000",
    delay: "20/10",
    loss: "1%",
    burstLoss: "0.51%,25%",
    rate: "100mbit",
    queue: "1500kb/200",
    reorder: "1%",
    duplicate: "0.5%",
  });
  assert.equal(o.seed, 1);
  assert.equal(o.duration, 0);
  const { up, down } = linkConfigs(o);
  assert.deepEqual(up, {
    delay: 20,
    loss: 0.01,
    burstLoss: { p: 0.0051, r: 0.25 },
    reorder: 0.01,
    duplicate: 0.005,
    bandwidth: 12_500_000,
    queueLimit: 1_500_000,
  });
  assert.equal(down.delay, 10);
  assert.equal(down.queuePackets, 200);
  const bad = ImpairOptionsSchema.safeParse({ listen: "x", upstream: "7000", loss: "5" });
  assert.equal(bad.success, false);
  const paths = bad.error?.issues.map((i) => i.path.join(".")).sort();
  assert.deepEqual(paths, ["listen", "loss"]);
});

Deno.test("ImpairEngine spreads delivery over delay ± jitter and reorders unless preserveOrder is set", () => {
  const lateness = (preserveOrder: boolean) => {
    const e = new ImpairEngine<string>(
      { up: { delay: 20, jitter: 5, preserveOrder }, down: {} },
      5,
    );
    const out = run(e, { dir: "up", count: 4000, gap: 0.1, until: 500 });
    assert.equal(out.length, 4000);
    let outOfOrder = 0;
    for (let i = 1; i < out.length; i++) if (out[i].id < out[i - 1].id) outOfOrder++;
    return { delays: out.map((x) => x.at - x.id * 0.1), outOfOrder }; // offered at id / 10 ms
  };
  const { delays, outOfOrder } = lateness(false);
  // uniform in [15, 25], handed out on the 0.1 ms offer and drain grid
  assert.ok(
    delays.every((d) => d >= 15 && d <= 25.1),
    `${Math.min(...delays)}..${Math.max(...delays)}`,
  );
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  const sd = Math.sqrt(delays.reduce((a, d) => a + (d - mean) ** 2, 0) / delays.length);
  assert.ok(Math.abs(mean - 20) < 0.3, `mean ${mean}`);
  assert.ok(Math.abs(sd - 10 / Math.sqrt(12)) < 0.3, `sd ${sd}`); // uniform over 10 ms
  assert.ok(outOfOrder > 400, `out of order: ${outOfOrder}`);
  assert.equal(lateness(true).outOfOrder, 0);
});

Deno.test("ImpairEngine drops at the random loss rate when loss is 1%", () => {
  const e = new ImpairEngine<string>({ up: { loss: 0.01 }, down: {} }, 9);
  const out = run(e, { dir: "up", count: 50_000, gap: 0.1, until: 5100 });
  const drops = e.stats("up").drops.loss;
  assert.equal(out.length + drops, 50_000);
  assert.ok(Math.abs(drops / 50_000 - 0.01) < 0.0015, `${drops} dropped`);
});
