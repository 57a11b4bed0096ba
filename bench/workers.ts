/**
 * Aggregate throughput of `tou server --workers N`: for each N (default 1
 * and 2), one server and C `tou client` processes (default 4, each its own
 * UDP port, so the kernel's SO_REUSEPORT hash spreads them over the
 * workers), each client carrying one stream of M MiB (default 200) from
 * this process to a TCP sink in this process, all at once. Prints MiB/s
 * over all streams, when the first and the last stream ended, how the clients were spread over
 * the workers (from `tou stat`) and the server's CPU seconds (parent and
 * workers). No assertions; never run by CI. Needs a quiet machine for
 * figures that mean anything. Which worker a client reaches is the kernel's
 * hash of its address and port (with 4 clients and 2 workers: 2+2 in 3
 * runs of 8); so that rows compare, a client that lands on a worker that
 * already has its share (C/N) is replaced by a new one, found by a 1-byte
 * warm-up stream, before the timed streams start.
 *
 *   deno task bench:workers [--workers 1,2] [--clients 4] [--mib 200] [--plaintext]
 *
 * @module
 */

import {
  cpuSeconds,
  freeTcpPort,
  freeUdpPort,
  ProcessGroup,
  sleep,
  type Started,
} from "./_proc.ts";
import { arg } from "./_cli.ts";

const WORKERS = arg("workers", "1,2").split(",").map(Number);
const CLIENTS = Number(arg("clients", "4"));
const MIB = Number(arg("mib", "200"));
const PLAINTEXT = Deno.args.includes("--plaintext");
const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
// The server and the clients (children) take the key from the environment.
if (!PLAINTEXT) Deno.env.set("TOU_KEY", KEY);
const CHUNK = new Uint8Array(256 * 1024).map((_, i) => i * 7);

for (const [name, v] of [["workers", WORKERS], ["clients", [CLIENTS]], ["mib", [MIB]]] as const) {
  if (v.some((n) => !Number.isInteger(n) || n < 1)) {
    console.error(`bench/workers: --${name}: must be whole numbers >= 1`);
    Deno.exit(2);
  }
}

/**
 * A TCP sink: counts bytes of the connections accepted after `arm()`;
 * resolves `done` once `expect` bytes arrived in all.
 */
function sink(expect: number) {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let got = 0;
  let armed = false;
  let accepted = 0;
  const ends: number[] = [];
  const { promise: done, resolve } = Promise.withResolvers<number>();
  (async () => {
    for await (const c of ln) {
      accepted++;
      const counted = armed;
      (async () => {
        const buf = new Uint8Array(256 * 1024);
        try {
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            if (!counted) continue;
            got += n;
            if (got >= expect) resolve(performance.now());
          }
        } catch { /* reset */ }
        if (counted) ends.push(performance.now());
        c.close();
      })();
    }
  })().catch(() => {});
  /** Counts from now on, once the `warmups` streams before have been accepted (not counted). */
  const arm = async (warmups: number) => {
    for (let i = 0; i < 500 && accepted < warmups; i++) await sleep(10);
    armed = true;
  };
  return { port: ln.addr.port, done, ends, arm, close: () => ln.close() };
}

async function waitFor(p: Started, text: string, ms = 60_000): Promise<string> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const line = p.stderr().split("\n").find((l) => l.includes(text));
    if (line !== undefined) return line;
    const exited = await Promise.race([p.exited.then(() => true), sleep(100).then(() => false)]);
    if (exited) break;
  }
  throw new Error(`${p.name}: no "${text}" (stderr: ${p.stderr().slice(-2000)})`);
}

interface Row {
  workers: number;
  mibs: number;
  /** When the first and the last stream ended at the sink, s after the start. */
  firstEnd: number;
  spread: string;
  cpu: number;
  seconds: number;
}

async function run(workers: number): Promise<Row> {
  const group = new ProcessGroup();
  const bytes = MIB * 1024 * 1024;
  const target = sink(bytes * CLIENTS);
  const udp = freeUdpPort();
  const control = freeTcpPort();
  const secret = PLAINTEXT ? ["--plaintext"] : [];
  const deno = (args: string[]) => ["run", "-A", CLI, ...args];
  try {
    const server = group.start(
      "server",
      Deno.execPath(),
      deno([
        "server",
        "--listen",
        `127.0.0.1:${udp}`,
        "--forward",
        `80=127.0.0.1:${target.port}`,
        "--control",
        `127.0.0.1:${control}`,
        "--workers",
        String(workers),
        "--log-level",
        "warn",
        ...secret,
      ]),
    );
    // "--log-level warn" hides "server workers running": wait for the control endpoint instead.
    await waitControl(control, server);
    // Balanced: each worker gets at most ceil(C/N) clients. A client placed on a full worker (by
    // the kernel's hash of its UDP port) is replaced by a new one (a new port), at most 10 times.
    const cap = Math.ceil(CLIENTS / workers);
    const perWorker = new Array<number>(workers).fill(0);
    const locals: number[] = [];
    let warmups = 0;
    for (let i = 0; i < CLIENTS; i++) {
      for (let attempt = 0;; attempt++) {
        const port = freeTcpPort();
        const client = group.start(
          `client ${i}`,
          Deno.execPath(),
          deno([
            "client",
            "--server",
            `127.0.0.1:${udp}`,
            "--local",
            `127.0.0.1:${port}=80`,
            ...secret,
          ]),
        );
        await waitFor(client, "client listening");
        const w = await workerOf(control, port);
        warmups++;
        if (perWorker[w] < cap || attempt >= 10) {
          perWorker[w]++;
          locals.push(port);
          break;
        }
        await group.stop(client, 5_000);
      }
    }
    await target.arm(warmups);
    const openedBefore = await openedPerWorker(control);
    const pids = await serverPids(control, server.pid);
    const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
    const t0 = performance.now();
    const conns = await stallGuard(
      Promise.all(locals.map(async (port) => {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        let left = bytes;
        while (left > 0) {
          const n = await c.write(CHUNK.subarray(0, Math.min(CHUNK.length, left)));
          left -= n;
        }
        await c.closeWrite();
        return c;
      })),
      control,
    );
    const done = await stallGuard(target.done, control);
    const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
    const spread = await spreadOf(control, openedBefore);
    for (const c of conns) c.close();
    const seconds = (done - t0) / 1000;
    for (let i = 0; i < 50 && target.ends.length < CLIENTS; i++) await sleep(20);
    return {
      workers,
      mibs: (MIB * CLIENTS) / seconds,
      firstEnd: (Math.min(...target.ends) - t0) / 1000,
      spread,
      cpu,
      seconds,
    };
  } finally {
    await group.killAll(15_000);
    target.close();
  }
}

async function waitControl(port: number, server: Started): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/connections`);
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not yet */ }
    if (await Promise.race([server.exited.then(() => true), sleep(100).then(() => false)])) break;
  }
  throw new Error(`server did not start: ${server.stderr().slice(-2000)}`);
}

async function serverPids(control: number, parent: number): Promise<number[]> {
  const r = await fetch(`http://127.0.0.1:${control}/connections`);
  const snap = await r.json() as { workers?: { pid: number }[] };
  return [parent, ...(snap.workers ?? []).map((w) => w.pid)];
}

/** Time without progress after which a run is reported as stalled (ms). */
const STALL_MS = 60_000;

/** `p`, or an error with the server's connections when the run makes no progress for STALL_MS. */
async function stallGuard<T>(p: Promise<T>, control: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      let rows = "";
      try {
        const r = await fetch(`http://127.0.0.1:${control}/connections`);
        const snap = await r.json() as {
          connections: {
            worker?: number;
            state: string;
            peer: string;
            sendQ: number;
            recvQ: number;
          }[];
        };
        rows = snap.connections.map((c) =>
          `  worker ${c.worker} ${c.state} ${c.peer} send-Q ${c.sendQ} recv-Q ${c.recvQ}`
        ).join("\n");
      } catch (e) {
        rows = String(e);
      }
      reject(new Error(`stalled for ${STALL_MS / 1000} s; server connections:\n${rows}`));
    }, STALL_MS);
  });
  try {
    return await Promise.race([p, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

async function openedPerWorker(control: number): Promise<number[]> {
  const r = await fetch(`http://127.0.0.1:${control}/connections`);
  const snap = await r.json() as { workers?: { counters: Record<string, number> }[] };
  return (snap.workers ?? []).map((w) => w.counters.sessions_opened_total ?? 0);
}

/** The worker that holds a client: the one whose session count grows with a short stream through it. */
async function workerOf(control: number, local: number): Promise<number> {
  const before = await openedPerWorker(control);
  const c = await Deno.connect({ hostname: "127.0.0.1", port: local });
  await c.write(new Uint8Array(1));
  await c.closeWrite();
  try {
    for (let i = 0; i < 200; i++) {
      const now = await openedPerWorker(control);
      const w = now.findIndex((n, k) => n > (before[k] ?? 0));
      if (w >= 0) return w;
      await sleep(50);
    }
    throw new Error("the warm-up stream opened no session");
  } finally {
    c.close();
  }
}

/** Timed sessions per worker, e.g. "2+2" (the warm-up streams left out). */
async function spreadOf(control: number, warmups: number[]): Promise<string> {
  return (await openedPerWorker(control)).map((n, k) => n - (warmups[k] ?? 0)).join("+");
}

console.log(
  `tou server --workers N: ${CLIENTS} clients × ${MIB} MiB at once, ${
    PLAINTEXT ? "plaintext" : "sealed"
  }, loopback; the source and the sink run in this process`,
);
console.log(
  "| workers | MiB/s (all streams) | first stream done (s) | last done (s) | sessions per worker | server CPU s |",
);
console.log("|--:|--:|--:|--:|:-:|--:|");
for (const w of WORKERS) {
  const r = await run(w);
  console.log(
    `| ${r.workers} | ${r.mibs.toFixed(1)} | ${r.firstEnd.toFixed(1)} | ${
      r.seconds.toFixed(1)
    } | ${r.spread} | ${r.cpu.toFixed(2)} |`,
  );
}
