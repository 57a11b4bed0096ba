/**
 * The life of many short tunnelled connections, for profiling: a sealed
 * tunnel server and client on loopback, a `Deno.serve` target, and `--n`
 * connections (`--c` at a time), each: accept on the client, tunnel connect
 * (Fast Open after the first), relay setup, a small HTTP/1.0 request and its
 * answer, close, TIME_WAIT.
 *
 * Two modes:
 *
 * - default: everything in this one process (`deno run -A --cpu-prof
 *   --cpu-prof-dir=prof bench/conn_profile.ts`); prints the process CPU time
 *   per connection (both tunnel sides, the target and the load together);
 * - `--split`: the tunnel server and client run as `tou server` / `tou
 *   client` processes (as bench/requests.ts runs them) and the CPU time of
 *   each is printed per connection: the figure the goal "≤ 0.1 ms per
 *   tunnelled connection per side" is about. With `--prof DIR` each writes a
 *   `.cpuprofile` there (`--cpu-prof`) when it exits.
 *
 * With `--mux` the client carries the connections as streams of one
 * multiplexed tunnel connection (`mux: true`, `tou client --mux`) instead of
 * a tunnel connection each.
 *
 *   deno run -A bench/conn_profile.ts [--n 3000] [--c 20] [--mux] [--split [--prof DIR]]
 *
 * The machine may be loaded by other work: CPU per connection holds up
 * better under load than connections per second does.
 *
 * @module
 */

import { TunnelServer } from "../src/tunnel/server.ts";
import { TunnelClient } from "../src/tunnel/client.ts";
import { Logger } from "../src/tunnel/log.ts";
import { cpuSeconds, freeTcpPort, freeUdpPort, ProcessGroup, sleep } from "./_proc.ts";
import { arg } from "./_cli.ts";

const N = Number(arg("n", "3000"));
const C = Number(arg("c", "20"));
const SPLIT = Deno.args.includes("--split");
const MUX = Deno.args.includes("--mux");
const PROF = arg("prof", "");
const KEY = new Uint8Array(32).fill(7);
const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const CLI = new URL("../cli/main.ts", import.meta.url).pathname;

const ac = new AbortController();
const target = Deno.serve(
  { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
  () => new Response("hello"),
);
const req = new TextEncoder().encode("GET / HTTP/1.0\r\nHost: x\r\n\r\n");

async function one(port: number): Promise<void> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(req);
  const buf = new Uint8Array(1024);
  while ((await c.read(buf)) !== null) { /* to EOF */ }
  c.close();
}

async function run(port: number, n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: C }, async () => {
    while (next++ < n) await one(port);
  }));
}

/** Waits until a connection through the tunnel gets its answer. */
async function ready(port: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      await one(port);
      return;
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

async function inProcess(): Promise<void> {
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
    mux: MUX,
  });
  const port = client.listeners[0].addr.port;
  type Metrics = { metrics(): Record<string, number> };
  const KEYS = ["stack_segments_out", "udp_send_calls", "udp_receive_calls"];
  const segs = () =>
    [server, client].flatMap((t) => {
      const m = (t.endpoint as unknown as Metrics).metrics();
      return KEYS.map((k) => m[k] ?? NaN);
    });
  await run(port, 200); // warm up (JIT, Fast Open cookie)
  const segs0 = segs();
  const cpu0 = cpuSeconds(Deno.pid);
  const t0 = performance.now();
  await run(port, N);
  const wall = performance.now() - t0;
  const cpu = cpuSeconds(Deno.pid) - cpu0;
  const perConn = segs().map((v, i) => ((v - segs0[i]) / N).toFixed(2));
  console.log(
    `${N} connections${MUX ? " (mux)" : ""}, ${C} at a time: ` +
      `${(N / (wall / 1000)).toFixed(0)} conn/s, ` +
      `${((cpu * 1000) / N).toFixed(3)} ms CPU per connection (client + server + target), ` +
      `per connection (server, client): segments ${perConn[0]}, ${perConn[3]}; ` +
      `sendmmsg calls ${perConn[1]}, ${perConn[4]}; receive calls ${perConn[2]}, ${perConn[5]}; ` +
      `load average ${Deno.loadavg()[0].toFixed(1)}`,
  );
  await client.close();
  await server.close();
}

async function split(): Promise<void> {
  const group = new ProcessGroup();
  const keyFile = await Deno.makeTempFile();
  await Deno.writeTextFile(keyFile, KEY_HEX);
  const udp = freeUdpPort();
  const entry = freeTcpPort();
  const deno = (name: string) => [
    "run",
    "-A",
    ...(PROF ? ["--cpu-prof", `--cpu-prof-dir=${PROF}`, `--cpu-prof-name=${name}.cpuprofile`] : []),
    CLI,
  ];
  const common = ["--log-level", "error", "--key-file", keyFile];
  try {
    const s = group.start("tou server", Deno.execPath(), [
      ...deno("server"),
      "server",
      "--listen",
      `127.0.0.1:${udp}`,
      "--forward",
      `80=127.0.0.1:${target.addr.port}`,
      ...common,
    ]);
    const c = group.start("tou client", Deno.execPath(), [
      ...deno("client"),
      "client",
      "--server",
      `127.0.0.1:${udp}`,
      "--local",
      `127.0.0.1:${entry}=80`,
      ...(MUX ? ["--mux"] : []),
      ...common,
    ]);
    try {
      await ready(entry);
    } catch (e) {
      console.error(`${s.stderr()}${c.stderr()}`);
      throw e;
    }
    await run(entry, 200); // warm up (JIT, Fast Open cookie)
    const cpu0 = [cpuSeconds(s.pid), cpuSeconds(c.pid), cpuSeconds(Deno.pid)];
    const t0 = performance.now();
    await run(entry, N);
    const wall = performance.now() - t0;
    const cpu = [cpuSeconds(s.pid), cpuSeconds(c.pid), cpuSeconds(Deno.pid)]
      .map((v, i) => (((v - cpu0[i]) * 1000) / N).toFixed(3));
    console.log(
      `${N} connections${MUX ? " (mux)" : ""}, ${C} at a time: ` +
        `${(N / (wall / 1000)).toFixed(0)} conn/s; ` +
        `ms CPU per connection: server ${cpu[0]}, client ${cpu[1]} ` +
        `(load + target ${cpu[2]}); load average ${Deno.loadavg()[0].toFixed(1)}`,
    );
    await group.killAll(5_000); // SIGTERM: the profiles are written on exit
  } finally {
    await group.killAll();
    await Deno.remove(keyFile).catch(() => {});
  }
}

if (SPLIT) await split();
else await inProcess();
ac.abort();
await target.finished;
