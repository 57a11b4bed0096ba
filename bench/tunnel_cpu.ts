/**
 * CPU seconds per GB of the two tunnel processes during one bulk plaintext
 * transfer, without their start-up: a smaller, bounded sibling of
 * `bench/tunnel.ts`'s plaintext row for profiling (issue 10).
 *
 *   deno run -A bench/tunnel_cpu.ts [--mb 200] [--runs 1] [--prof DIR] [--timeout 60]
 *
 * Starts `tou server` and `tou client` as `deno task tou` does (its V8 flags;
 * `TOU_BENCH_V8_DEFAULT=1` leaves them out) (`--plaintext`, each with a control
 * endpoint), pushes `--mb` MiB from this process over kernel TCP into the
 * client and counts them at a kernel TCP sink behind the server. Prints per
 * run: MiB/s, CPU seconds of each process during the transfer (from
 * `/proc/<pid>/stat`, read right before the first byte and right after the
 * sink's EOF) and their sum per GB, and from each process's `/metrics` the
 * UDP datagrams sent and received, `recvmmsg` calls, readiness waits and
 * GSO messages: so the ACKs per data datagram across processes
 * (server sent / client sent) and the batch sizes achieved.
 *
 * `--prof DIR`: both processes run with `--cpu-prof` and write
 * `server.cpuprofile` / `client.cpuprofile` into DIR when stopped with
 * SIGINT at the end (summarise with `bench/prof_top.ts`).
 *
 * @module
 */

import {
  connectRetrying,
  countingSink,
  cpuSeconds,
  cpuTimes,
  freeTcpPort,
  freeUdpPort,
  touV8Args,
} from "./_proc.ts";
import { arg } from "./_cli.ts";

const MIB = 1024 * 1024;
const MB = Number(arg("mb", "200"));
const RUNS = Number(arg("runs", "1"));
const PROF = arg("prof", "");
const TIMEOUT_S = Number(arg("timeout", "60"));
const CLI = new URL("../cli/main.ts", import.meta.url).pathname;

async function metrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^tou_(udp_[a-z_]+?)(?:_total)?(?:\{[^}]*\})?\s+([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

function spawn(name: string, args: string[]): Deno.ChildProcess {
  const prof = PROF
    ? ["--cpu-prof", `--cpu-prof-dir=${PROF}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...touV8Args(), ...prof, CLI, ...args],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

async function run(): Promise<void> {
  const sink = countingSink(256 * 1024);
  const udpPort = freeUdpPort();
  const entryPort = freeTcpPort();
  const sCtl = freeTcpPort(), cCtl = freeTcpPort();
  const common = ["--log-level", "error", "--plaintext"];
  const server = spawn("server", [
    "server",
    "--listen",
    `127.0.0.1:${udpPort}`,
    "--forward",
    `7=127.0.0.1:${sink.port}`,
    "--control",
    `127.0.0.1:${sCtl}`,
    ...common,
  ]);
  const client = spawn("client", [
    "client",
    "--server",
    `127.0.0.1:${udpPort}`,
    "--local",
    `127.0.0.1:${entryPort}=7`,
    "--control",
    `127.0.0.1:${cCtl}`,
    ...common,
  ]);
  const conn = await connectRetrying(entryPort, 150);
  // one small exchange first: the tunnel connection is set up before the clock starts
  const chunk = new Uint8Array(64 * 1024).fill(7);
  await conn.write(chunk.subarray(0, 1));
  while (sink.received < 1) await new Promise((r) => setTimeout(r, 20));
  const m0 = [await metrics(sCtl), await metrics(cCtl)];
  const c0 = [cpuSeconds(server.pid), cpuSeconds(client.pid)];
  const sys0 = [cpuTimes(server.pid)[1], cpuTimes(client.pid)[1]];
  const t0 = performance.now();
  const total = MB * MIB;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, TIMEOUT_S * 1000);
  try {
    for (let sent = 0; sent < total && !timedOut;) {
      sent += await conn.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
    }
    await conn.closeWrite();
    await sink.done;
  } catch {
    timedOut = true;
  }
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const c1 = [cpuSeconds(server.pid), cpuSeconds(client.pid)];
  const sys1 = [cpuTimes(server.pid)[1], cpuTimes(client.pid)[1]];
  const m1 = [await metrics(sCtl), await metrics(cCtl)];
  const d = (i: number, k: string) => (m1[i][k] ?? 0) - (m0[i][k] ?? 0);
  const cpu = [c1[0] - c0[0], c1[1] - c0[1]];
  const gb = (sink.received - 1) / 1e9;
  try {
    conn.close();
  } catch { /* closed */ }
  for (const p of [server, client]) {
    try {
      p.kill(PROF ? "SIGINT" : "SIGKILL");
    } catch { /* exited */ }
  }
  const killer = setTimeout(() => {
    for (const p of [server, client]) {
      try {
        p.kill("SIGKILL");
      } catch { /* exited */ }
    }
  }, 10_000);
  await Promise.all([server.status, client.status]);
  clearTimeout(killer);
  sink.close();
  const load = Deno.loadavg()[0];
  console.log(
    `${(sink.received / MIB / seconds).toFixed(0)} MiB/s  cpu-s/GB server ${
      (cpu[0] / gb).toFixed(2)
    } ` +
      `client ${(cpu[1] / gb).toFixed(2)} sum ${((cpu[0] + cpu[1]) / gb).toFixed(2)}  ` +
      `load ${load.toFixed(1)}${timedOut ? "  TIMED OUT" : ""}`,
  );
  console.log(
    `  of which system: server ${((sys1[0] - sys0[0]) / gb).toFixed(2)} client ${
      ((sys1[1] - sys0[1]) / gb).toFixed(2)
    }; CPU s before the first byte (start-up, connection): server ${c0[0].toFixed(2)} client ${
      c0[1].toFixed(2)
    }`,
  );
  const dataSent = d(1, "udp_sent"), acksSent = d(0, "udp_sent");
  console.log(
    `  client sent ${dataSent} dgrams (${d(1, "udp_gso_messages")} gso msgs, ` +
      `${d(1, "udp_send_calls")} sendmmsg); server sent ${acksSent} ` +
      `(ack ratio 1/${(dataSent / Math.max(1, acksSent)).toFixed(1)}); ` +
      `server recv ${d(0, "udp_received")} in ${d(0, "udp_receive_calls")} recvmmsg ` +
      `(${(d(0, "udp_received") / Math.max(1, d(0, "udp_receive_calls"))).toFixed(1)}/call), ` +
      `${d(0, "udp_polls")} polls; client recv ${d(1, "udp_received")} in ` +
      `${d(1, "udp_receive_calls")} calls, ${d(1, "udp_polls")} polls`,
  );
}

for (let i = 0; i < RUNS; i++) await run();
