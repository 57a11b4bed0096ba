/**
 * The life of many short tunnelled connections in one process, for
 * profiling (`deno run -A --cpu-prof --cpu-prof-dir=prof bench/conn_profile.ts`):
 * a sealed `TunnelServer` and `TunnelClient` on loopback, a `Deno.serve`
 * target, and `--n` connections (`--c` at a time), each: accept on the
 * client, tunnel connect (Fast Open after the first), relay setup, a small
 * HTTP/1.0 request and its answer, close, TIME_WAIT. Prints the process
 * CPU time per connection (both tunnel sides and the target together).
 *
 *   deno run -A bench/conn_profile.ts [--n 3000] [--c 20]
 *
 * @module
 */

import { TunnelServer } from "../src/tunnel/server.ts";
import { TunnelClient } from "../src/tunnel/client.ts";
import { Logger } from "../src/tunnel/log.ts";
import { cpuSeconds } from "./_proc.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const N = Number(arg("n", "3000"));
const C = Number(arg("c", "20"));
const KEY = new Uint8Array(32).fill(7);

const ac = new AbortController();
const target = Deno.serve(
  { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
  () => new Response("hello"),
);
const logger = new Logger({ level: "error" });
const server = await TunnelServer.start({
  listen: { hostname: "127.0.0.1", port: 0 },
  forwards: [{ tunnelPort: 80, target: { hostname: "127.0.0.1", port: target.addr.port } }],
  key: KEY,
  logger,
});
const client = await TunnelClient.start({
  server: { hostname: "127.0.0.1", port: server.addr.port },
  locals: [{ listen: { hostname: "127.0.0.1", port: 0 }, tunnelPort: 80 }],
  key: KEY,
  logger,
});
const port = client.listeners[0].addr.port;
const req = new TextEncoder().encode("GET / HTTP/1.0\r\nHost: x\r\n\r\n");

async function one(): Promise<void> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(req);
  const buf = new Uint8Array(1024);
  while ((await c.read(buf)) !== null) { /* to EOF */ }
  c.close();
}

async function run(n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: C }, async () => {
    while (next++ < n) await one();
  }));
}

type Metrics = { metrics(): Record<string, number> };
const segs = () =>
  [server, client].map((t) => (t.endpoint as unknown as Metrics).metrics().stack_segments_out);
await run(200); // warm up (JIT, Fast Open cookie)
const segs0 = segs();
const cpu0 = cpuSeconds(Deno.pid);
const t0 = performance.now();
await run(N);
const wall = performance.now() - t0;
const cpu = cpuSeconds(Deno.pid) - cpu0;
const perConn = segs().map((v, i) => ((v - segs0[i]) / N).toFixed(1));
console.log(
  `${N} connections, ${C} at a time: ${(N / (wall / 1000)).toFixed(0)} conn/s, ` +
    `${((cpu * 1000) / N).toFixed(3)} ms CPU per connection (client + server + target), ` +
    `segments per connection: server ${perConn[0]}, client ${perConn[1]}, ` +
    `load average ${Deno.loadavg()[0].toFixed(1)}`,
);
await client.close();
await server.close();
ac.abort();
await target.finished;
