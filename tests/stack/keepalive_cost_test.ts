import assert from "node:assert/strict";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type { Runtime } from "../../src/stack/runtime.ts";
import { Stack } from "../../src/stack/stack.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";

/** The virtual clock as a runtime that can `defer` (as setImmediate after a receive batch). */
function deferringRuntime(clock: VirtualClock): Runtime {
  return {
    now: () => clock.now(),
    schedule: (at, fn) => clock.schedule(at, fn),
    cancel: (id) => clock.cancel(id),
    randomBytes: (buf) => clock.randomBytes(buf),
    defer: (fn) => void clock.schedule(clock.now(), fn),
  };
}

interface Pair {
  clock: VirtualClock;
  client: Stack;
  server: Stack;
  c: StackConnection;
  s: StackConnection;
  /** Segments each side sent, with their payload sizes. */
  out: { client: number[]; server: number[] };
  /** The virtual clock's `now()` calls, a drain's first step (a proxy for drains). */
  nows: () => number;
}

function pair(recvBufferSize?: number): Pair {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock, { seed: 1 });
  net.setLink("*", "*", { delay: 5 });
  const rt = deferringRuntime(clock);
  let nows = 0;
  const counted: Runtime = { ...rt, now: () => (nows++, rt.now()) };
  const tcp = recvBufferSize === undefined ? {} : { recvBufferSize };
  const server = new Stack(net.bind({ hostname: "10.0.0.1", port: 7000 }), counted, { tcp });
  const client = new Stack(net.bind({ hostname: "10.0.0.2", port: 7000 }), counted, { tcp });
  const out = { client: [] as number[], server: [] as number[] };
  server.tracer = {
    onSegment: (_n, dir, _t, seg) => void (dir === "out" && out.server.push(seg.payload.length)),
  };
  client.tracer = {
    onSegment: (_n, dir, _t, seg) => void (dir === "out" && out.client.push(seg.payload.length)),
  };
  const l = server.listen(80);
  let s: StackConnection | undefined;
  l.onAcceptable = () => void (s = l.accept());
  const c = client.connect(server.localAddr, 80);
  clock.advance(100);
  assert.ok(s !== undefined && c.state === "ESTABLISHED");
  return { clock, client, server, c, s, out, nows: () => nows };
}

Deno.test("keep-alive exchanges: one data segment each way per request, no pure ACK, and a small read drains nothing", () => {
  const p = pair();
  const req = new Uint8Array(80).fill(1);
  const res = new Uint8Array(150).fill(2);
  const buf = new Uint8Array(4096);
  // each side answers as a relay does: reads what came and writes the answer in a later task
  p.s.onEvent = (ev) => {
    if (ev.type !== "readable") return;
    p.clock.schedule(p.clock.now(), () => {
      const before = p.nows();
      const n = p.s.read(buf);
      assert.equal(n, req.length);
      assert.equal(p.nows(), before, "a small read does not drive the connection");
      p.s.write(res);
    });
  };
  let answers = 0;
  p.c.onEvent = (ev) => {
    if (ev.type !== "readable") return;
    p.clock.schedule(p.clock.now(), () => {
      assert.equal(p.c.read(buf), res.length);
      if (++answers < 50) p.c.write(req);
    });
  };
  const c0 = p.out.client.length, s0 = p.out.server.length;
  p.c.write(req);
  // the answers run as later tasks at the same virtual instant (a relay's next turn)
  p.clock.advance(5_000);
  assert.equal(answers, 50);
  const cSent = p.out.client.slice(c0), sSent = p.out.server.slice(s0);
  // every request and response is one segment, its ACK riding on the next one; only the
  // last response, followed by no request, gets the delayed ACK's pure ACK
  assert.deepEqual(cSent, [...Array(50).fill(req.length), 0], `client sent ${cSent}`);
  assert.deepEqual(sSent, Array(50).fill(res.length), `server sent ${sSent}`);
  p.client.close();
  p.server.close();
});

Deno.test("a read that opens a closed window still sends the window update at once (RFC 1122 4.2.3.3)", () => {
  const p = pair(16 * 1024);
  p.c.write(new Uint8Array(64 * 1024));
  p.clock.advance(200); // the window fills: the server's app has read nothing
  assert.ok(p.s.tcp.rcvWnd < 1448, `window below one MSS: ${p.s.tcp.rcvWnd}`);
  const before = p.out.server.length;
  const buf = new Uint8Array(64 * 1024);
  let got = p.s.read(buf);
  assert.ok(got > 8 * 1024, `read ${got}`);
  // the update leaves in the read's own call, not at a later timer or batch
  assert.deepEqual(p.out.server.slice(before), [0], "one window update");
  assert.ok(p.s.tcp.rcvWnd >= 8 * 1024, `window reopened: ${p.s.tcp.rcvWnd}`);
  p.clock.advance(500);
  for (let n = p.s.read(buf); n > 0; n = p.s.read(buf)) {
    got += n;
    p.clock.advance(500);
  }
  assert.equal(got, 64 * 1024, "the rest arrives after the updates");
  p.client.close();
  p.server.close();
});
