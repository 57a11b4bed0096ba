/**
 * Many short connections and small requests through the tou tunnel and
 * through kcptun, measured in the same run. Prints a table; no assertions;
 * never run by CI.
 *
 *   deno task bench:requests [--n 5000] [--c 50] [--only direct,tou,tou-mux,kcptun] [--rtt 40] [--timeout 30] [--rounds 1] [--warmup 20000]
 *
 * With `--rounds R` each workload runs R times per tunnel, the tunnels
 * alternating round by round, and every figure is the median of its rounds
 * (one run moves ±15 % on this 2-core machine; R = 3 settles the ratios).
 * Each round starts every tunnel afresh and, on the clean path, first runs
 * `--warmup W` new connections and 2W keep-alive requests through it (not
 * measured; 0 skips it): tou's JavaScript reaches V8's optimizing tier only
 * after some thousands of connections, kcptun's compiled Go is at full speed
 * from the start, and a tunnel that runs for hours is measured in its steady
 * state. Every tunnel, kcptun included, gets the same warm-up.
 *
 * Setup (once, as root): `apt-get install -y apache2-utils kcptun` (the
 * benchmark runs that itself when `ab` or kcptun is missing).
 *
 * A `Deno.serve` "hello" target runs in this process. Each tunnel is a pair
 * of processes: `tou server` + `tou client` (sealed, Fast Open on by
 * default; row "tou": a tunnel connection per TCP connection), the same with
 * `tou client --mux` (row "tou-mux": every TCP connection a stream of one
 * multiplexed tunnel connection, as kcptun's smux does), or kcptun-server +
 * kcptun-client (fast3, aes, no FEC, no compression). Workloads, with `ab`
 * from apache2-utils:
 *
 * - **new conn**: `ab -n N -c C`: a new TCP connection (a new tunnel stream) per request;
 * - **keep-alive**: `ab -k -n 4N -c C`;
 * - **serial**: `ab -n N/5 -c 1`: one new connection at a time.
 *
 * Each row shows requests/s, ab's p50/p99 latency, the CPU seconds both
 * tunnel processes used per 1000 requests, and the ratio to kcptun's
 * requests/s in the same workload. With `--rtt MS` (default 40; 0 skips it)
 * the UDP impairment proxy (bench/impair.ts, a process of its own) adds MS/2
 * each way between the tunnel ends, and the time to the first response byte of a new connection is
 * measured (median of 20, serial): with Fast Open it should be one RTT
 * plus a little. The path's real RTT is measured first (a UDP echo through the
 * same proxy: its timers add ≈ 1 ms per leg to the nominal delay), and the
 * goal lines compare tou's and tou-mux's first byte with that RTT + 5 ms. The machine may be loaded by other work: compare ratios
 * within one run.
 *
 * @module
 */

import { ensureTools, findKcptun, KCPTUN_FAST3, startKcptun } from "./_kcptun.ts";
import {
  cpuSeconds,
  freeTcpPort,
  freeUdpPort,
  ProcessGroup,
  sleep,
  startImpair,
  touV8Args,
  udpBound,
  waitFor,
  which,
} from "./_proc.ts";
import { arg } from "./_cli.ts";

const N = Number(arg("n", "5000"));
const C = Number(arg("c", "50"));
/** The rows: no tunnel, tou, tou with `--mux`, kcptun. */
const KINDS = ["direct", "tou", "tou-mux", "kcptun"];
const ONLY = arg("only", KINDS.join(",")).split(",");
const RTT = Number(arg("rtt", "40"));
const TIMEOUT_S = Number(arg("timeout", "30"));
/** Each workload runs this many times per tunnel, alternating tunnels; the table shows medians. */
const ROUNDS = Math.max(1, Math.floor(Number(arg("rounds", "1"))));
/** New connections (and twice as many keep-alive requests) each tunnel runs before it is measured. */
const WARMUP = Math.max(0, Math.floor(Number(arg("warmup", "20000"))));
const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const CLI = new URL("../cli/main.ts", import.meta.url).pathname;

interface AbResult {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

async function runAb(args: string[]): Promise<AbResult | string> {
  const out = await new Deno.Command("ab", {
    args: ["-q", "-s", String(TIMEOUT_S), "-t", String(TIMEOUT_S), ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((TIMEOUT_S + 15) * 1000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const num = (re: RegExp) => Number(text.match(re)?.[1] ?? NaN);
  const rps = num(/Requests per second:\s+([\d.]+)/);
  if (!Number.isFinite(rps)) {
    return `ab failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`;
  }
  return {
    rps,
    p50: num(/\s50%\s+(\d+)/),
    p99: num(/\s99%\s+(\d+)/),
    failed: num(/Failed requests:\s+(\d+)/),
  };
}

/** Median ms from connect to the first response byte of a new connection, serially. */
async function firstByte(port: number, count: number): Promise<number> {
  const req = new TextEncoder().encode("GET / HTTP/1.0\r\nHost: x\r\n\r\n");
  const times: number[] = [];
  const buf = new Uint8Array(4096);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(req);
    const n = await Promise.race([c.read(buf), sleep(TIMEOUT_S * 1000).then(() => null)]);
    if (n !== null) times.push(performance.now() - t0);
    c.close();
    await sleep(20);
  }
  times.sort((a, b) => a - b);
  return times.length ? times[Math.floor(times.length / 2)] : NaN;
}

/**
 * Median round trip of a 64-byte UDP datagram through bench/impair.ts with `oneWay` ms each
 * way, to an echo socket in this process: the path's real RTT (the proxy's timers add a little
 * to the nominal 2 × `oneWay`), which the first-byte goal is judged against.
 */
async function pathRtt(oneWay: number, count = 20): Promise<number> {
  const group = new ProcessGroup();
  const echo = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const me = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const proxyPort = freeUdpPort();
  const echoPort = (echo.addr as Deno.NetAddr).port;
  const echoing = (async () => {
    try {
      for await (const [data, from] of echo) await echo.send(data, from);
    } catch { /* closed */ }
  })();
  try {
    const p = startImpair(group, proxyPort, echoPort, [
      "--delay",
      String(oneWay),
      "--duration",
      "60",
      "--quiet",
    ], { capture: false });
    await waitFor("impair", () => udpBound(proxyPort), 10_000, p);
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: proxyPort };
    const ping = new Uint8Array(64);
    const times: number[] = [];
    for (let i = 0; i < count + 3; i++) {
      const t0 = performance.now();
      await me.send(ping, to);
      const got = await Promise.race([me.receive(), sleep(2000).then(() => null)]);
      if (got !== null && i >= 3) times.push(performance.now() - t0);
      await sleep(20);
    }
    times.sort((a, b) => a - b);
    return times.length ? times[Math.floor(times.length / 2)] : NaN;
  } finally {
    await group.killAll();
    me.close();
    echo.close();
    await echoing;
  }
}

interface Tunnel {
  entryPort: number;
  pids: number[];
  stop(): Promise<void>;
}

async function startTunnel(kind: string, targetPort: number, oneWay: number): Promise<Tunnel> {
  const group = new ProcessGroup();
  const entryPort = freeTcpPort();
  const serverUdp = freeUdpPort();
  const proxyUdp = oneWay > 0 ? freeUdpPort() : serverUdp;
  if (oneWay > 0) {
    // bench/impair.ts, as bench/lossy.ts uses it: `oneWay` ms each way, nothing else; it
    // exits by itself after the run's bound, and killAll stops it sooner
    startImpair(group, proxyUdp, serverUdp, [
      "--delay",
      String(oneWay),
      "--duration",
      String(4 * TIMEOUT_S + 60),
      "--quiet",
    ], { capture: false });
  }
  let pids: number[];
  let keyFile: string | undefined;
  if (kind === "tou" || kind === "tou-mux") {
    keyFile = await Deno.makeTempFile();
    await Deno.writeTextFile(keyFile, KEY);
    const common = ["--log-level", "error", "--key-file", keyFile];
    const s = group.start("tou server", Deno.execPath(), [
      "run",
      "-A",
      ...touV8Args(),
      CLI,
      "server",
      "--listen",
      `127.0.0.1:${serverUdp}`,
      "--forward",
      `80=127.0.0.1:${targetPort}`,
      ...common,
    ], { capture: false });
    const c = group.start("tou client", Deno.execPath(), [
      "run",
      "-A",
      ...touV8Args(),
      CLI,
      "client",
      "--server",
      `127.0.0.1:${proxyUdp}`,
      "--local",
      `127.0.0.1:${entryPort}=80`,
      ...(kind === "tou-mux" ? ["--mux"] : []),
      ...common,
    ], { capture: false });
    pids = [s.pid, c.pid];
  } else {
    const pair = startKcptun(group, findKcptun()!, {
      udpListen: `127.0.0.1:${serverUdp}`,
      udpRemote: `127.0.0.1:${proxyUdp}`,
      target: `127.0.0.1:${targetPort}`,
      local: `127.0.0.1:${entryPort}`,
      options: { ...KCPTUN_FAST3, crypt: "aes" },
    });
    pids = [pair.server.pid, pair.client.pid];
  }
  const stop = async () => {
    await group.killAll();
    if (keyFile) await Deno.remove(keyFile).catch(() => {});
  };
  try {
    await warmUp(entryPort);
  } catch (e) {
    await stop();
    throw e;
  }
  return { entryPort, pids, stop };
}

/**
 * Brings a tunnel to steady state before it is measured: `WARMUP` new
 * connections and twice as many keep-alive requests, 50 at a time (none on
 * the delayed path, where only latency is measured). tou runs JavaScript: its
 * first few thousand connections run in V8's baseline tiers (one run: 5.3k
 * new connections/s in the first 5000, 7.2–7.4k from the 25 000th on;
 * keep-alive 28.5k in the first 20 000 requests, 39–46k after), while kcptun
 * (compiled Go) is as fast from the start. Every tunnel, kcptun and the
 * direct path included, gets the same warm-up.
 */
async function warmWorkloads(port: number): Promise<void> {
  if (WARMUP <= 0) return;
  const url = `http://127.0.0.1:${port}/`;
  await runAb(["-n", String(WARMUP), "-c", String(C), url]);
  await runAb(["-k", "-n", String(2 * WARMUP), "-c", String(C), url]);
}

/** Waits until a request through the tunnel succeeds (processes started), then warms it up. */
async function warmUp(port: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
      await res.text();
      if (res.ok) break;
    } catch {
      if (performance.now() > deadline) throw new Error(`tunnel on port ${port} never answered`);
      await sleep(200);
    }
  }
  await runAb(["-n", "300", "-c", "10", `http://127.0.0.1:${port}/`]); // JIT, Fast Open cookie
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

async function main(): Promise<void> {
  const unknown = ONLY.filter((k) => !KINDS.includes(k));
  if (unknown.length > 0) {
    console.error(`bench/requests: --only takes ${KINDS.join(", ")}; got ${unknown.join(", ")}`);
    Deno.exit(2);
  }
  const missing = await ensureTools({
    ab: "apache2-utils",
    "kcptun-server": "kcptun",
    "kcptun-client": "kcptun",
  });
  if (missing.includes("ab")) {
    console.error("bench/requests: ab (apache2-utils) is missing; install it with apt-get");
    Deno.exit(1);
  }
  const kinds = ONLY.filter((k) => k !== "kcptun" || which("kcptun-server") !== undefined);
  const ac = new AbortController();
  const target = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    () => new Response("hello"),
  );
  const targetPort = target.addr.port;
  const workloads: [string, string[], number][] = [
    ["new conn", ["-n", String(N), "-c", String(C)], N],
    ["keep-alive", ["-k", "-n", String(4 * N), "-c", String(C)], 4 * N],
    ["serial", ["-n", String(Math.max(1, Math.floor(N / 5))), "-c", "1"], Math.floor(N / 5)],
  ];
  console.log(
    `requests through tunnels, loopback; N=${N}, C=${C}, rounds=${ROUNDS} (medians), ` +
      `each tunnel warmed up with ${WARMUP} new connections and ${
        2 * WARMUP
      } keep-alive requests; ` +
      `load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")} (machine shared: ` +
      `compare ratios within this run)`,
  );
  const paths: [string, number][] = [["clean", 0]];
  if (RTT > 0) paths.push([`${RTT} ms RTT`, RTT / 2]);
  for (const [pathName, oneWay] of paths) {
    const rps = new Map<string, number>();
    const rows: string[][] = [];
    // Rounds alternate the tunnels (tou, tou-mux, kcptun, tou, ...), so a passing load
    // spike hits each about alike; each row shows the median of its rounds. Each round
    // starts every tunnel afresh, warms it up and measures every workload on it.
    const runs = new Map<string, { r: AbResult; cpu: number[] }[]>();
    const failures = new Map<string, string>();
    const measured = workloads.filter(([wname]) => oneWay === 0 || wname === "serial");
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of kinds) {
        if (kind === "direct" && oneWay > 0) continue;
        const t = kind === "direct" ? undefined : await startTunnel(kind, targetPort, oneWay);
        const port = t?.entryPort ?? targetPort;
        try {
          if (oneWay === 0) await warmWorkloads(port);
          for (const [wname, abArgs] of measured) {
            const key = `${wname}/${kind}`;
            const cpu0 = t ? t.pids.map(cpuSeconds) : [];
            const r = await runAb([...abArgs, `http://127.0.0.1:${port}/`]);
            const cpu = t ? t.pids.map((p, i) => cpuSeconds(p) - cpu0[i]) : [];
            if (typeof r === "string") failures.set(key, r);
            else runs.set(key, [...(runs.get(key) ?? []), { r, cpu }]);
          }
        } finally {
          await t?.stop();
        }
      }
    }
    for (const [wname, , count] of measured) {
      for (const kind of kinds) {
        const got = runs.get(`${wname}/${kind}`);
        if (got === undefined) {
          const failed = failures.get(`${wname}/${kind}`);
          if (failed !== undefined) rows.push([wname, kind, failed]);
          continue;
        }
        const med = (f: (x: { r: AbResult; cpu: number[] }) => number) => median(got.map(f));
        const rpsMedian = med((x) => x.r.rps);
        rps.set(`${wname}/${kind}`, rpsMedian);
        const isTunnel = got[0].cpu.length > 0;
        const perK = isTunnel
          ? [0, 1].map((i) => fmt((med((x) => x.cpu[i]) * 1000) / count, 2)).join(" + ")
          : "–";
        rows.push([
          wname,
          kind,
          fmt(rpsMedian),
          fmt(med((x) => x.r.p50)),
          fmt(med((x) => x.r.p99)),
          perK,
          String(got.reduce((a, x) => a + x.r.failed, 0)),
        ]);
      }
    }
    for (const row of rows) {
      const k = rps.get(`${row[0]}/kcptun`);
      const mine = rps.get(`${row[0]}/${row[1]}`);
      row.push(k && mine && row[1] !== "kcptun" ? fmt(mine / k, 2) : "");
    }
    console.log(`\n${pathName}:`);
    console.log(
      "workload    tunnel  req/s    p50ms p99ms CPU s/1000 req (server + client) failed  ×kcptun",
    );
    for (const r of rows) {
      console.log(
        r.length < 5
          ? `${r[0].padEnd(11)} ${r[1].padEnd(7)} ${r[2]}`
          : `${r[0].padEnd(11)} ${r[1].padEnd(7)} ${r[2].padStart(7)} ${r[3].padStart(6)} ${
            r[4].padStart(5)
          } ${r[5].padStart(22)} ${r[6].padStart(13)} ${r[7].padStart(8)}`,
      );
    }
    if (oneWay > 0) {
      const rtt = await pathRtt(oneWay);
      console.log(
        `path RTT (UDP echo through bench/impair.ts, ${oneWay} ms each way): ${
          fmt(rtt, 1)
        } ms median; first-byte goal: <= RTT + 5 ms = ${fmt(rtt + 5, 1)} ms`,
      );
      for (const kind of kinds.filter((k) => k !== "direct")) {
        const t = await startTunnel(kind, targetPort, oneWay);
        try {
          await firstByte(t.entryPort, 3); // warm up (Fast Open cookie)
          const ms = await firstByte(t.entryPort, 20);
          console.log(
            `first response byte of a new connection, ${kind}: ${fmt(ms, 1)} ms median` +
              (kind === "tou" || kind === "tou-mux"
                ? ` (goal <= ${fmt(rtt + 5, 1)}: ${ms <= rtt + 5 ? "met" : "not met"})`
                : ""),
          );
        } finally {
          await t.stop();
        }
      }
    }
  }
  ac.abort();
  await target.finished;
}

if (import.meta.main) await main();
