import assert from "node:assert/strict";
import { HeldSocket } from "../../src/udp/held_socket.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";

Deno.test("HeldSocket delivers nothing before release(), then what waited, in order; sends pass at once", () => {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock);
  const inner = net.bind({ hostname: "127.0.0.1", port: 7000 });
  const peer = net.bind({ hostname: "127.0.0.2", port: 7000 });
  const s = new HeldSocket(inner);
  const got: number[] = [];
  s.setHandler((d) => got.push(d[0]));
  const peerGot: number[] = [];
  peer.setHandler((d) => peerGot.push(d[0]));
  peer.send(new Uint8Array([1]), s.localAddr);
  peer.send(new Uint8Array([2]), s.localAddr);
  s.send(new Uint8Array([9]), peer.localAddr);
  clock.runUntilIdle();
  assert.deepEqual(got, []);
  assert.deepEqual(peerGot, [9]);
  assert.equal(s.released, false);
  s.release();
  clock.runUntilIdle();
  assert.deepEqual(got, [1, 2]);
  s.release(); // idempotent
  peer.send(new Uint8Array([3]), s.localAddr);
  clock.runUntilIdle();
  assert.deepEqual(got, [1, 2, 3]);
  s.close();
  peer.close();
});
