import assert from "node:assert/strict";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import type { SimUdpSocket } from "../../src/sim/sim_udp_socket.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type { DatagramAddr } from "../../src/udp/datagram_socket.ts";
import {
  ConnectionRefusedError,
  DestinationAddressRequiredError,
  SocketClosedError,
} from "../../src/udp/errors.ts";

interface World {
  clock: VirtualClock;
  net: SimNetwork;
  a: SimUdpSocket;
  b: SimUdpSocket;
  c: SimUdpSocket;
}

/** Three sockets on three hosts, 5 ms apart. */
function world(): World {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock, { seed: 1 });
  net.setLink("*", "*", { delay: 5 });
  return {
    clock,
    net,
    a: net.bind({ hostname: "10.0.0.1", port: 1000 }),
    b: net.bind({ hostname: "10.0.0.2", port: 2000 }),
    c: net.bind({ hostname: "10.0.0.3", port: 3000 }),
  };
}

/** Collects what a socket receives in push mode. */
function collect(s: SimUdpSocket): { data: number[]; from: string }[] {
  const got: { data: number[]; from: string }[] = [];
  s.setHandler((data, from) =>
    got.push({ data: [...data], from: `${from.hostname}:${from.port}` })
  );
  return got;
}

const DEAD: DatagramAddr = { hostname: "10.0.0.9", port: 9 };

Deno.test("SimUdpSocket connect sends nothing and records the peer", () => {
  const { clock, net, a, b } = world();
  a.connect(b.localAddr);
  clock.runUntilIdle();
  assert.deepEqual(a.remoteAddr, { hostname: "10.0.0.2", port: 2000 });
  assert.equal(net.stats().sent, 0);
  assert.equal(net.trace.length, 0);
});

Deno.test("SimUdpSocket send without an address goes to the peer when connected", () => {
  const { clock, a, b } = world();
  const got = collect(b);
  a.connect(b.localAddr);
  a.send(new Uint8Array([1, 2]));
  clock.runUntilIdle();
  assert.deepEqual(got, [{ data: [1, 2], from: "10.0.0.1:1000" }]);
});

Deno.test("SimUdpSocket drops datagrams from other sources and counts them when connected", () => {
  const { clock, net, a, b, c } = world();
  const got = collect(a);
  a.connect(b.localAddr);
  c.send(new Uint8Array([3]), a.localAddr);
  b.send(new Uint8Array([2]), a.localAddr);
  clock.runUntilIdle();
  assert.deepEqual(got, [{ data: [2], from: "10.0.0.2:2000" }]);
  assert.equal(net.stats().drops.filtered, 1);
  assert.equal(net.linkStats("10.0.0.3", "10.0.0.1").drops.filtered, 1);
});

Deno.test("SimUdpSocket filters by port as well as host when connected", () => {
  const { clock, net, a, b } = world();
  const b2 = net.bind({ hostname: "10.0.0.2", port: 2001 });
  const got = collect(a);
  a.connect(b.localAddr);
  b2.send(new Uint8Array([9]), a.localAddr);
  clock.runUntilIdle();
  assert.deepEqual(got, []);
  assert.equal(net.stats().drops.filtered, 1);
});

Deno.test("SimUdpSocket connect again re-targets both sending and filtering", () => {
  const { clock, a, b, c } = world();
  const gotA = collect(a);
  const gotB = collect(b);
  const gotC = collect(c);
  a.connect(b.localAddr);
  a.connect(c.localAddr);
  assert.deepEqual(a.remoteAddr, c.localAddr);
  a.send(new Uint8Array([1]));
  b.send(new Uint8Array([2]), a.localAddr);
  c.send(new Uint8Array([3]), a.localAddr);
  clock.runUntilIdle();
  assert.equal(gotB.length, 0);
  assert.deepEqual(gotC, [{ data: [1], from: "10.0.0.1:1000" }]);
  assert.deepEqual(gotA, [{ data: [3], from: "10.0.0.3:3000" }]);
});

Deno.test("SimUdpSocket connect to unspec dissolves the association and accepts everyone again", () => {
  const { clock, a, b, c } = world();
  const got = collect(a);
  a.connect(b.localAddr);
  a.connect({ family: "unspec" });
  assert.equal(a.remoteAddr, undefined);
  assert.throws(() => a.send(new Uint8Array(1)), DestinationAddressRequiredError);
  c.send(new Uint8Array([3]), a.localAddr);
  clock.runUntilIdle();
  assert.deepEqual(got, [{ data: [3], from: "10.0.0.3:3000" }]);
});

Deno.test("SimUdpSocket disconnect dissolves the association like connect unspec", () => {
  const { a, b } = world();
  a.connect(b.localAddr);
  a.disconnect();
  assert.equal(a.remoteAddr, undefined);
  a.disconnect(); // idempotent
  assert.throws(
    () => a.send(new Uint8Array(1)),
    (e: unknown) =>
      e instanceof DestinationAddressRequiredError && e.message.includes("10.0.0.1:1000"),
  );
});

Deno.test("SimUdpSocket send without an address throws DestinationAddressRequiredError when never connected", () => {
  const { net, a } = world();
  assert.throws(() => a.send(new Uint8Array(1)), DestinationAddressRequiredError);
  assert.equal(net.stats().sent, 0);
});

Deno.test("SimUdpSocket send with an explicit address goes there even when connected (Linux)", () => {
  const { clock, a, b, c } = world();
  const gotB = collect(b);
  const gotC = collect(c);
  a.connect(b.localAddr);
  a.send(new Uint8Array([7]), c.localAddr);
  clock.runUntilIdle();
  assert.equal(gotB.length, 0);
  assert.deepEqual(gotC, [{ data: [7], from: "10.0.0.1:1000" }]);
});

Deno.test("SimUdpSocket send copies the bytes when the sender reuses its buffer", () => {
  const { clock, a, b } = world();
  const got = collect(b);
  const buf = new Uint8Array([1, 1, 1]);
  a.send(buf, b.localAddr);
  buf.fill(9);
  a.send(buf.subarray(0, 2), b.localAddr);
  buf.fill(0);
  clock.runUntilIdle();
  assert.deepEqual(got.map((g) => g.data), [[1, 1, 1], [9, 9]]);
});

Deno.test("SimUdpSocket send throws SocketClosedError after close and close is idempotent", () => {
  const { a, b } = world();
  a.connect(b.localAddr);
  a.close();
  a.close();
  assert.equal(a.closed, true);
  assert.equal(a.remoteAddr, undefined);
  assert.throws(
    () => a.send(new Uint8Array(1), b.localAddr),
    (e: unknown) =>
      e instanceof SocketClosedError && e instanceof Deno.errors.BadResource &&
      e.message.includes("10.0.0.1:1000"),
  );
  assert.throws(() => a.connect(b.localAddr), SocketClosedError);
});

Deno.test("SimUdpSocket close frees the port so later datagrams draw a port-unreachable notice", () => {
  const { clock, net, a, b } = world();
  b.close();
  assert.equal(net.isBound({ hostname: "10.0.0.2", port: 2000 }), false);
  a.send(new Uint8Array(1), { hostname: "10.0.0.2", port: 2000 });
  clock.runUntilIdle();
  assert.equal(net.stats().unreachable, 1);
});

Deno.test("SimUdpSocket receive returns queued datagrams in arrival order in pull mode", async () => {
  const { clock, a, b } = world();
  for (let i = 0; i < 3; i++) a.send(new Uint8Array([i]), b.localAddr);
  clock.runUntilIdle();
  assert.equal(b.queued, 3);
  const got = [await b.receive(), await b.receive(), await b.receive()];
  assert.deepEqual(got.map((d) => d.data[0]), [0, 1, 2]);
  assert.deepEqual(got[0].from, a.localAddr);
});

Deno.test("SimUdpSocket receive resolves from the clock event when called before arrival", async () => {
  const { clock, a, b } = world();
  const p1 = b.receive();
  const p2 = b.receive();
  a.send(new Uint8Array([1]), b.localAddr);
  a.send(new Uint8Array([2]), b.localAddr);
  clock.advance(4);
  assert.equal(b.queued, 0);
  clock.advance(1);
  assert.deepEqual([(await p1).data[0], (await p2).data[0]], [1, 2]);
});

Deno.test("SimUdpSocket receive rejects with ConnectionRefusedError when the connected peer is unreachable", async () => {
  const { clock, a } = world();
  a.connect(DEAD);
  const p = a.receive();
  a.send(new Uint8Array(1));
  clock.runUntilIdle();
  await assert.rejects(
    p,
    (e: unknown) =>
      e instanceof ConnectionRefusedError && e instanceof Deno.errors.ConnectionRefused &&
      e.message.includes("10.0.0.9:9"),
  );
});

Deno.test("SimUdpSocket reports a pending refusal once and ahead of queued datagrams (Linux sk_err)", async () => {
  const { clock, a, b } = world();
  a.connect(DEAD);
  a.send(new Uint8Array(1)); // refused at t=10
  clock.advance(1);
  a.connect(b.localAddr);
  b.send(new Uint8Array([5]), a.localAddr); // arrives at t=6, queued
  clock.runUntilIdle();
  // The notice came back while connected to b, not DEAD: ignored.
  assert.equal(a.queued, 1);
  a.connect(DEAD);
  b.send(new Uint8Array([6]), a.localAddr); // filtered now
  a.send(new Uint8Array(1)); // refused again, this time while connected to DEAD
  clock.runUntilIdle();
  await assert.rejects(a.receive(), ConnectionRefusedError);
  assert.equal((await a.receive()).data[0], 5);
});

Deno.test("SimUdpSocket ignores a refusal for an explicit destination when connected elsewhere", () => {
  const { clock, net, a, b } = world();
  const errors: Error[] = [];
  a.setHandler(() => {}, (e) => errors.push(e));
  a.connect(b.localAddr);
  a.send(new Uint8Array(1), DEAD);
  clock.runUntilIdle();
  assert.equal(errors.length, 0);
  assert.equal(net.stats().refusedIgnored, 1);
});

Deno.test("SimUdpSocket ignores a refusal and keeps receiving when not connected", async () => {
  const { clock, net, a, b } = world();
  const p = a.receive();
  a.send(new Uint8Array(1), DEAD);
  clock.runUntilIdle();
  assert.equal(net.stats().refusedIgnored, 1);
  b.send(new Uint8Array([4]), a.localAddr);
  clock.runUntilIdle();
  assert.equal((await p).data[0], 4);
});

Deno.test("SimUdpSocket receive rejects with SocketClosedError when pending at close and after close", async () => {
  const { a } = world();
  const pending = a.receive();
  a.close();
  await assert.rejects(pending, SocketClosedError);
  await assert.rejects(a.receive(), SocketClosedError);
});

Deno.test("SimUdpSocket close discards queued datagrams", async () => {
  const { clock, a, b } = world();
  a.send(new Uint8Array(1), b.localAddr);
  clock.runUntilIdle();
  assert.equal(b.queued, 1);
  b.close();
  assert.equal(b.queued, 0);
  await assert.rejects(b.receive(), SocketClosedError);
});

Deno.test("SimUdpSocket push mode delivers synchronously inside the clock event at arrival time", () => {
  const { clock, a, b } = world();
  const at: number[] = [];
  b.setHandler(() => at.push(clock.now()));
  a.send(new Uint8Array(1), b.localAddr);
  clock.advance(4.9);
  assert.deepEqual(at, []);
  clock.advance(0.1);
  assert.deepEqual(at, [5]); // no await needed: delivered during advance()
});

Deno.test("SimUdpSocket push mode sends the refusal to the error handler when connected", () => {
  const { clock, a } = world();
  const errors: Error[] = [];
  a.setHandler(() => {}, (e) => errors.push(e));
  a.connect(DEAD);
  a.send(new Uint8Array(1));
  clock.runUntilIdle();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ConnectionRefusedError);
  assert.equal(clock.now(), 10);
});

Deno.test("SimUdpSocket setHandler hands over datagrams queued before it", () => {
  const { clock, a, b } = world();
  a.send(new Uint8Array([1]), b.localAddr);
  a.send(new Uint8Array([2]), b.localAddr);
  clock.runUntilIdle();
  const got = collect(b);
  assert.deepEqual(got.map((g) => g.data[0]), [1, 2]);
  assert.equal(b.queued, 0);
});

Deno.test("SimUdpSocket setHandler again replaces the handlers", () => {
  const { clock, a, b } = world();
  const first = collect(b);
  const second = collect(b);
  a.send(new Uint8Array([1]), b.localAddr);
  clock.runUntilIdle();
  assert.equal(first.length, 0);
  assert.equal(second.length, 1);
});

Deno.test("SimUdpSocket drops datagrams beyond its receive queue limit in pull mode", () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { recvQueueLimit: 3 });
  const a = net.bind({ hostname: "a", port: 1 });
  const b = net.bind({ hostname: "b", port: 1 });
  for (let i = 0; i < 5; i++) a.send(new Uint8Array([i]), b.localAddr);
  clock.runUntilIdle();
  assert.equal(b.queued, 3);
  assert.equal(net.stats().drops.rcvbuf, 2);
});

Deno.test("SimUdpSocket throws RangeError when a destination address is malformed", () => {
  const { a } = world();
  assert.throws(() => a.send(new Uint8Array(1), { hostname: "x", port: 0 }), RangeError);
  assert.throws(() => a.send(new Uint8Array(1), { hostname: "", port: 1 }), RangeError);
  assert.throws(() => a.connect({ hostname: "x", port: 65536 }), RangeError);
  assert.throws(() => a.connect({ family: "inet" as "unspec" }), RangeError);
});

Deno.test("SimUdpSocket sends empty datagrams when given zero bytes", () => {
  const { clock, a, b } = world();
  const got = collect(b);
  a.send(new Uint8Array(0), b.localAddr);
  clock.runUntilIdle();
  assert.deepEqual(got, [{ data: [], from: "10.0.0.1:1000" }]);
});

Deno.test("SimUdpSocket localAddr is a frozen copy that callers cannot alter", () => {
  const { a } = world();
  assert.ok(Object.isFrozen(a.localAddr));
  const peer = { hostname: "10.0.0.2", port: 2000 };
  a.connect(peer);
  peer.port = 1;
  assert.equal(a.remoteAddr?.port, 2000);
});
