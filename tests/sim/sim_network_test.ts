import assert from "node:assert/strict";
import { type LinkConfig } from "../../src/sim/link.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type { DatagramAddr } from "../../src/udp/datagram_socket.ts";
import { AddrInUseError, ConnectionRefusedError, SocketClosedError } from "../../src/udp/errors.ts";
import { withSeed } from "./_util.ts";

function setup(seed = 1): { clock: VirtualClock; net: SimNetwork } {
  const clock = new VirtualClock({ seed });
  return { clock, net: new SimNetwork(clock, { seed }) };
}

Deno.test("SimNetwork bind picks ephemeral ports from 49152 per host when port is 0", () => {
  const { net } = setup();
  const a = net.bind({ hostname: "10.0.0.1", port: 0 });
  const b = net.bind({ hostname: "10.0.0.1", port: 0 });
  const c = net.bind({ hostname: "10.0.0.2", port: 0 });
  assert.deepEqual([a.localAddr.port, b.localAddr.port, c.localAddr.port], [49152, 49153, 49152]);
  net.bind({ hostname: "10.0.0.1", port: 49154 });
  assert.equal(net.bind({ hostname: "10.0.0.1", port: 0 }).localAddr.port, 49155);
});

Deno.test("SimNetwork bind throws AddrInUseError naming the address when it is taken", () => {
  const { net } = setup();
  const s = net.bind({ hostname: "10.0.0.1", port: 5000 });
  assert.throws(
    () => net.bind({ hostname: "10.0.0.1", port: 5000 }),
    (e: unknown) =>
      e instanceof AddrInUseError && e instanceof Deno.errors.AddrInUse &&
      e.message.includes("10.0.0.1:5000"),
  );
  s.close();
  assert.equal(net.isBound({ hostname: "10.0.0.1", port: 5000 }), false);
  net.bind({ hostname: "10.0.0.1", port: 5000 });
  assert.equal(net.isBound({ hostname: "10.0.0.1", port: 5000 }), true);
});

Deno.test("SimNetwork bind throws AddrInUseError when every ephemeral port is taken", () => {
  const { net } = setup();
  for (let p = 49152; p <= 65535; p++) net.bind({ hostname: "h", port: p });
  assert.throws(() => net.bind({ hostname: "h", port: 0 }), AddrInUseError);
});

Deno.test("SimNetwork bind throws RangeError when the address is malformed", () => {
  const { net } = setup();
  assert.throws(() => net.bind({ hostname: "", port: 1 }), RangeError);
  assert.throws(() => net.bind({ hostname: "h", port: 70000 }), RangeError);
  assert.throws(() => net.bind({ hostname: "h", port: 1.5 }), RangeError);
});

Deno.test("SimNetwork setLink uses the most specific pattern when several match", () => {
  const { clock, net } = setup();
  net.setLink("*", "*", { delay: 1 });
  net.setLink("a", "*", { delay: 2 });
  net.setLink("*", "b", { delay: 3 });
  net.setLink("a", "b", { delay: 4 });
  const hosts = ["a", "b", "c"];
  const socks = new Map(hosts.map((h) => [h, net.bind({ hostname: h, port: 9 })]));
  const latency = new Map<string, number>();
  for (const [h, s] of socks) {
    s.setHandler((data, from) => latency.set(`${from.hostname}>${h}`, clock.now() - data[0]));
  }
  for (const from of hosts) {
    for (const to of hosts) {
      if (from === to) continue;
      const t = clock.now();
      socks.get(from)!.send(new Uint8Array([t]), socks.get(to)!.localAddr);
      clock.runUntilIdle();
    }
  }
  assert.deepEqual(Object.fromEntries(latency), {
    "a>b": 4, // exact
    "a>c": 2, // (from, *)
    "c>b": 3, // (*, to)
    "b>a": 1, // (*, *)
    "b>c": 1,
    "c>a": 1,
  });
  assert.deepEqual(net.linkConfig("x", "y"), { delay: 1 });
});

Deno.test("SimNetwork setLink applies at once to a link already in use", () => {
  const { clock, net } = setup();
  const a = net.bind({ hostname: "a", port: 1 });
  const b = net.bind({ hostname: "b", port: 2 });
  const at: number[] = [];
  b.setHandler(() => at.push(clock.now()));
  a.send(new Uint8Array(1), b.localAddr);
  clock.runUntilIdle();
  net.setLink("a", "b", { delay: 7 });
  a.send(new Uint8Array(1), b.localAddr);
  clock.runUntilIdle();
  assert.deepEqual(at, [0, 7]);
  assert.throws(() => net.setLink("a", "b", { loss: 2 }), RangeError);
});

Deno.test("SimNetwork sends a port-unreachable notice back after the reverse delay when nothing is bound", () => {
  const { clock, net } = setup();
  net.setLink("a", "b", { delay: 10 });
  net.setLink("b", "a", { delay: 30 });
  const s = net.bind({ hostname: "a", port: 1000 });
  const dead: DatagramAddr = { hostname: "b", port: 4242 };
  s.connect(dead);
  let errAt = -1;
  let err: Error | undefined;
  s.setHandler(() => assert.fail("no data expected"), (e) => {
    err = e;
    errAt = clock.now();
  });
  s.send(new Uint8Array(3));
  clock.runUntilIdle();
  assert.ok(err instanceof ConnectionRefusedError);
  assert.match(err.message, /b:4242/);
  assert.equal(errAt, 40);
  const stats = net.stats();
  assert.equal(stats.unreachable, 1);
  assert.equal(stats.refused, 1);
  assert.deepEqual(
    net.trace.records().map((r) => `${r.time} ${r.kind} ${r.reason ?? ""}`),
    ["0 send ", "10 unreachable ", "40 notice refused"],
  );
});

Deno.test("SimNetwork loses the notice when the reverse link is partitioned at that moment", async () => {
  const { clock, net } = setup();
  net.setLink("a", "b", { delay: 10 });
  net.setLink("b", "a", { partitions: [{ from: 5, to: 15 }] });
  const s = net.bind({ hostname: "a", port: 1000 });
  s.connect({ hostname: "b", port: 1 });
  const p = s.receive();
  s.send(new Uint8Array(3));
  clock.runUntilIdle();
  assert.equal(net.stats().noticesLost, 1);
  assert.equal(s.queued, 0);
  s.close();
  await assert.rejects(p, SocketClosedError);
});

Deno.test("SimNetwork counts the notice as ignored when the sender is not connected", () => {
  const { clock, net } = setup();
  const s = net.bind({ hostname: "a", port: 1000 });
  s.send(new Uint8Array(3), { hostname: "b", port: 1 });
  clock.runUntilIdle();
  const st = net.stats();
  assert.equal(st.unreachable, 1);
  assert.equal(st.refused, 0);
  assert.equal(st.refusedIgnored, 1);
  assert.equal(net.trace.records().at(-1)?.reason, "ignored");
});

Deno.test("SimNetwork delivers to whatever is bound at arrival time when the port changes hands in flight", () => {
  const { clock, net } = setup();
  net.setLink("*", "*", { delay: 10 });
  const a = net.bind({ hostname: "a", port: 1 });
  const b1 = net.bind({ hostname: "b", port: 2 });
  a.send(new Uint8Array([1]), b1.localAddr);
  clock.advance(5);
  b1.close();
  const b2 = net.bind({ hostname: "b", port: 2 });
  clock.runUntilIdle();
  assert.equal(b2.queued, 1);
});

Deno.test("SimNetwork keeps per-direction counters when asked for linkStats", () => {
  const { clock, net } = setup();
  net.setLink("a", "b", { loss: 1 });
  const a = net.bind({ hostname: "a", port: 1 });
  const b = net.bind({ hostname: "b", port: 2 });
  for (let i = 0; i < 3; i++) a.send(new Uint8Array(10), b.localAddr);
  b.send(new Uint8Array(20), a.localAddr);
  clock.runUntilIdle();
  const ab = net.linkStats("a", "b");
  const ba = net.linkStats("b", "a");
  assert.equal(ab.sent, 3);
  assert.equal(ab.bytesSent, 30);
  assert.equal(ab.drops.loss, 3);
  assert.equal(ba.delivered, 1);
  assert.equal(ba.bytesDelivered, 20);
  assert.equal(net.linkStats("x", "y").sent, 0);
  const all = net.stats();
  assert.equal(all.sent, 4);
  assert.equal(all.dropped, 3);
  all.drops.loss = 99; // a snapshot, not the live counters
  assert.equal(net.stats().drops.loss, 3);
});

Deno.test("SimNetwork trace formats one readable line per record with the describe hook", () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { describe: (d) => `first=${d[0]}` });
  net.setLink("10.0.0.1", "10.0.0.2", { delay: 2.5 });
  const a = net.bind({ hostname: "10.0.0.1", port: 1 });
  const b = net.bind({ hostname: "10.0.0.2", port: 2 });
  a.send(new Uint8Array([42, 0]), b.localAddr);
  clock.runUntilIdle();
  assert.equal(
    net.trace.format(),
    [
      "     0.000 ms  #1  send        10.0.0.1:1 > 10.0.0.2:2  2 B  | first=42",
      "     2.500 ms  #1  deliver     10.0.0.1:1 > 10.0.0.2:2  2 B",
    ].join("\n"),
  );
});

Deno.test("SimNetwork records nothing when tracing is disabled", () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { trace: { capacity: 0 } });
  const a = net.bind({ hostname: "a", port: 1 });
  a.send(new Uint8Array(1), { hostname: "b", port: 1 });
  clock.runUntilIdle();
  assert.equal(net.trace.length, 0);
  assert.equal(net.stats().sent, 1);
});

const ROUGH: LinkConfig = {
  delay: 20,
  jitter: 8,
  loss: 0.05,
  burstLoss: { p: 0.01, r: 0.3 },
  reorder: 0.05,
  duplicate: 0.05,
  corrupt: 0.05,
  bandwidth: 200_000,
  queueLimit: 8000,
  partitions: [{ from: 300, to: 400 }],
};

/** A two-host ping/echo scenario with every impairment; returns the formatted trace. */
function scenario(seed: number): string {
  const clock = new VirtualClock({ seed });
  const net = new SimNetwork(clock, { seed });
  net.setPath("10.0.0.1", "10.0.0.2", ROUGH);
  const a = net.bind({ hostname: "10.0.0.1", port: 0 });
  const b = net.bind({ hostname: "10.0.0.2", port: 7 });
  b.setHandler((data, from) => b.send(data, from));
  a.setHandler(() => {});
  a.connect(b.localAddr);
  const buf = new Uint8Array(500);
  for (let i = 0; i < 300; i++) {
    clock.schedule(i * 2, () => {
      buf[0] = i;
      clock.randomBytes(buf.subarray(1, 9));
      a.send(buf);
    });
  }
  // Something sent to a dead port too.
  clock.schedule(100, () => a.send(buf, { hostname: "10.0.0.2", port: 9 }));
  clock.runUntilIdle({ maxEvents: 10_000 });
  return net.trace.format();
}

Deno.test("SimNetwork produces the same trace byte for byte when the seed and inputs are the same", () => {
  withSeed(2024, (seed) => {
    const first = scenario(seed);
    const second = scenario(seed);
    assert.equal(first, second);
    for (const kind of ["send", "deliver", "drop", "dup", "corrupt", "reorder", "unreachable"]) {
      assert.match(first, new RegExp(` ${kind} `), `trace has a ${kind} record`);
    }
    assert.notEqual(scenario(seed + 1), first);
  });
});

Deno.test("SimNetwork gives each direction its own random stream when traffic changes elsewhere", () => {
  // Adding traffic on c>d must not change what happens on a>b.
  const run = (extra: boolean): string => {
    const clock = new VirtualClock();
    const net = new SimNetwork(clock, { seed: 5 });
    net.setLink("*", "*", { loss: 0.3, jitter: 5, delay: 10 });
    const a = net.bind({ hostname: "a", port: 1 });
    const b = net.bind({ hostname: "b", port: 1 });
    const c = net.bind({ hostname: "c", port: 1 });
    const d = net.bind({ hostname: "d", port: 1 });
    const got: string[] = [];
    b.setHandler((data) => got.push(`${data[0]}@${clock.now().toFixed(6)}`));
    d.setHandler(() => {});
    for (let i = 0; i < 100; i++) {
      clock.schedule(i, () => {
        a.send(new Uint8Array([i]), b.localAddr);
        if (extra) c.send(new Uint8Array([i]), d.localAddr);
      });
    }
    clock.runUntilIdle();
    return got.join(",");
  };
  assert.equal(run(false), run(true));
});
