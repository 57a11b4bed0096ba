/**
 * JS heap per connection in each phase of its life, in one process: N
 * connections between two simulated stacks (virtual clock, no sockets),
 * each moving a little data both ways, measured with `Deno.memoryUsage()`
 * after a forced GC. Needs `--v8-flags=--expose-gc`:
 *
 *   deno run -A --v8-flags=--expose-gc bench/heap_per_conn.ts [--conns 2000]
 *
 * Prints bytes of heap (and external memory) per connection: ESTABLISHED
 * (counted per side), TIME_WAIT (the active closer only; the passive
 * closer is gone), and after 2·MSL (nothing left).
 *
 * @module
 */

import { Stack } from "../src/stack/stack.ts";
import type { StackConnection } from "../src/stack/stack_connection.ts";
import { SimNetwork } from "../src/sim/sim_network.ts";
import { VirtualClock } from "../src/sim/virtual_clock.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("run with --v8-flags=--expose-gc");
  Deno.exit(2);
}
const argIdx = Deno.args.indexOf("--conns");
const N = argIdx >= 0 ? Number(Deno.args[argIdx + 1]) : 2000;

function mem(): { heap: number; ext: number } {
  for (let i = 0; i < 4; i++) gc!();
  const m = Deno.memoryUsage();
  return { heap: m.heapUsed, ext: m.external };
}

// A bare stack pair: no trace ring, no send log, no state-event recorder (the testbed keeps all three).
const clock = new VirtualClock({ seed: 1 });
const network = new SimNetwork(clock, { seed: 1, trace: { capacity: 0 } });
network.setLink("*", "*", { delay: 1 });
const tcp = { msl: 10_000 };
const server = new Stack(network.bind({ hostname: "127.0.0.1", port: 7000 }), clock, { tcp });
const client = new Stack(network.bind({ hostname: "127.0.0.2", port: 7000 }), clock, { tcp });
const tb = {
  advance: (ms: number) => clock.advance(ms),
  close: () => {
    server.close();
    client.close();
  },
};
const l = server.listen(80, { backlog: N + 10 });
const payload = new Uint8Array(1000).fill(7);
const buf = new Uint8Array(4096);
tb.advance(10);
const m0 = mem();

let cs: StackConnection[] = [];
let ss: StackConnection[] = [];
for (let i = 0; i < N; i++) {
  cs.push(client.connect(server.localAddr, 80));
  if (i % 100 === 99) tb.advance(5);
}
tb.advance(50);
for (let s = l.accept(); s !== undefined; s = l.accept()) ss.push(s);
for (const c of cs) c.write(payload);
for (const s of ss) s.write(payload);
tb.advance(300);
for (const c of cs) while (c.read(buf) > 0) { /* drain */ }
for (const s of ss) while (s.read(buf) > 0) { /* drain */ }
tb.advance(300);
const m1 = mem();
const est = { heap: (m1.heap - m0.heap) / (2 * N), ext: (m1.ext - m0.ext) / (2 * N) };

// The client closes first and ends in TIME_WAIT; the server follows and ends CLOSED.
for (const c of cs) c.close();
tb.advance(100);
for (const s of ss) {
  while (s.read(buf) > 0) { /* drain */ }
  s.close();
}
tb.advance(300);
const states = new Map<string, number>();
for (const c of client.connections()) states.set(c.state, (states.get(c.state) ?? 0) + 1);
for (const c of server.connections()) {
  states.set(`server ${c.state}`, (states.get(`server ${c.state}`) ?? 0) + 1);
}
cs = [];
ss = [];
const m2 = mem();
const tw = { heap: (m2.heap - m0.heap) / N, ext: (m2.ext - m0.ext) / N };
tb.advance(25_000);
const m3 = mem();
const gone = { heap: (m3.heap - m0.heap) / N, ext: (m3.ext - m0.ext) / N };

const f = (x: { heap: number; ext: number }) =>
  `heap ${(x.heap / 1024).toFixed(2)} KiB, external ${(x.ext / 1024).toFixed(2)} KiB`;
console.log(
  `${N} connections; states before TIME_WAIT measure: ${
    JSON.stringify(Object.fromEntries(states))
  }`,
);
console.log(`ESTABLISHED (per side):        ${f(est)}`);
console.log(`TIME_WAIT (per closer):        ${f(tw)}`);
console.log(`after 2·MSL (per connection):  ${f(gone)}`);
tb.close();
