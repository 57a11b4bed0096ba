// Endpoint.subscribe: segments, state changes and trace events of every
// connection, to any number of subscribers, and nothing once they leave.

import assert from "node:assert/strict";
import type { TcpTraceEvent, TouTuple, TraceSegment, TraceState } from "../../mod.ts";
import { SERVER_HOST, SERVER_PORT, simWorld } from "./_sim.ts";

Deno.test("Endpoint.subscribe reports segments, state changes with their cause and trace events; unsubscribing stops them", async () => {
  const w = await simWorld();
  try {
    const segs: [string, TouTuple, TraceSegment][] = [];
    const states: TraceState[] = [];
    const traces: TcpTraceEvent[] = [];
    const off1 = w.client.subscribe({
      onSegment: (_t, dir, tuple, seg) => segs.push([dir, tuple, seg]),
      onState: (_t, _tuple, ev) => states.push(ev),
    });
    const off2 = w.client.subscribe({ onTrace: (_t, _tuple, ev) => traces.push(ev) });
    const l = w.server.listen({ tcpPort: 80 });
    const a = await w.until(
      w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
      "connect",
    );
    const b = await w.until(l.accept(), "accept");
    await w.until(a.write(new Uint8Array(3000)), "write");
    const buf = new Uint8Array(4096);
    let got = 0;
    while (got < 3000) got += (await w.until(b.read(buf), "read"))!;
    await w.drive(() => a.info().unacked === 0, "acknowledged");

    assert.deepEqual(states[0], { from: "CLOSED", to: "SYN_SENT", cause: "connect()" });
    assert.equal(states[1].to, "ESTABLISHED");
    const [dir, tuple, syn] = segs[0];
    assert.equal(dir, "out");
    assert.equal(syn.flags, "S");
    assert.equal(tuple.remote.tcpPort, 80);
    assert.equal(tuple.remote.port, SERVER_PORT);
    assert.match(syn.text, /Flags \[S\], seq \d+, win \d+, options \[mss \d+/);
    assert.equal(segs[1][0], "in");
    assert.equal(segs[1][2].flags, "S.");
    assert.equal(segs[1][1].local.tcpPort, tuple.local.tcpPort);
    const sent = segs.filter(([d, , s]) => d === "out" && s.length > 0);
    assert.equal(sent.reduce((n, [, , s]) => n + s.length, 0), 3000);
    assert.ok(traces.some((e) => e.type === "timer" && e.action === "armed"));
    assert.ok(traces.some((e) => e.type === "rwnd"));

    off1();
    off1(); // idempotent
    const n = segs.length, t = traces.length;
    await w.until(a.write(new Uint8Array(100)), "write");
    got = 0;
    while (got < 100) got += (await w.until(b.read(buf), "read"))!;
    await w.drive(() => a.info().unacked === 0, "acknowledged");
    assert.equal(segs.length, n, "no segments after unsubscribing");
    assert.ok(traces.length > t, "the other subscriber still gets trace events");
    off2();
    a.close();
    b.close();
  } finally {
    await w.close();
  }
});
