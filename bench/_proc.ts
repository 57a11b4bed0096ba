/**
 * Process and port helpers shared by the benchmarks that start real
 * processes (bench/lossy.ts, bench/impair.ts's self-measurement, and the
 * kcptun helpers in bench/_kcptun.ts): free loopback ports, CPU seconds from
 * `/proc/PID/stat`, and a registry that kills every process it started by
 * PID, also on error or timeout.
 *
 * @module
 */

import { v8FlagsArg } from "../cli/_v8_flags.ts";

/** CLOCK_TICKS of `/proc/PID/stat` (USER_HZ; 100 on Linux x86_64). */
const USER_HZ = 100;

/**
 * The V8 flags argument tou's own processes run with (`deno task tou`), for
 * benchmarks that start `cli/main.ts`: none when `TOU_BENCH_V8_DEFAULT=1`
 * asks for V8's defaults (to measure what the flags cost).
 */
export function touV8Args(): string[] {
  return Deno.env.get("TOU_BENCH_V8_DEFAULT") === "1" ? [] : [v8FlagsArg()];
}

/**
 * User + system CPU seconds of a running process, from `/proc/PID/stat`
 * (NaN when it is gone or /proc is unreadable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cpuSeconds } from "./_proc.ts";
 * assert.ok(cpuSeconds(Deno.pid) >= 0);
 * ```
 */
export function cpuSeconds(pid: number): number {
  const [user, system] = cpuTimes(pid);
  return user + system;
}

/** User and system CPU seconds of a running process (NaN, NaN when it is gone). */
export function cpuTimes(pid: number): [number, number] {
  try {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return [Number(f[11]) / USER_HZ, Number(f[12]) / USER_HZ];
  } catch {
    return [Number.NaN, Number.NaN];
  }
}

/** A free TCP port on 127.0.0.1 (bound then released: racy, fine for a benchmark). */
export function freeTcpPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
}

/** A free UDP port on 127.0.0.1 (bound then released). */
export function freeUdpPort(): number {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const p = (s.addr as Deno.NetAddr).port;
  s.close();
  return p;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A started process with its captured output. */
export interface Started {
  /** Label for messages. */
  readonly name: string;
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** Its PID. */
  readonly pid: number;
  /** Everything it wrote to stdout so far (when captured). */
  readonly stdout: () => string;
  /** Everything it wrote to stderr so far (when captured). */
  readonly stderr: () => string;
  /** Resolves when it exited (and its output was drained). */
  readonly exited: Promise<Deno.CommandStatus>;
}

async function drain(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const dec = new TextDecoder();
  for await (const chunk of stream) {
    into.push(dec.decode(chunk, { stream: true }));
    // Keep memory bounded: a chatty process keeps only its last ~1 MB.
    if (into.length > 4096) into.splice(0, into.length - 2048);
  }
}

/**
 * Starts processes and kills each by PID on {@linkcode ProcessGroup.killAll}
 * (SIGTERM, then SIGKILL after a grace period). Nothing is killed by name.
 */
export class ProcessGroup {
  #procs: Started[] = [];

  /**
   * Starts `cmd args…` with stdin closed and stdout/stderr captured (or
   * discarded).
   */
  start(
    name: string,
    cmd: string,
    args: readonly string[],
    opts: { capture?: boolean } = {},
  ): Started {
    const capture = opts.capture ?? true;
    const child = new Deno.Command(cmd, {
      args: [...args],
      stdin: "null",
      stdout: capture ? "piped" : "null",
      stderr: capture ? "piped" : "null",
    }).spawn();
    const out: string[] = [];
    const err: string[] = [];
    const drained = capture
      ? Promise.all([drain(child.stdout, out), drain(child.stderr, err)]).catch(() => {})
      : Promise.resolve();
    const exited = child.status.then(async (s) => {
      await drained;
      return s;
    });
    const p: Started = {
      name,
      child,
      pid: child.pid,
      stdout: () => out.join(""),
      stderr: () => err.join(""),
      exited,
    };
    this.#procs.push(p);
    return p;
  }

  /** Processes started and not yet removed by killAll. */
  get processes(): readonly Started[] {
    return this.#procs;
  }

  /**
   * Stops one process: `signal` first (default SIGTERM), SIGKILL if it is
   * still alive after `graceMs`; resolves when it exited.
   */
  async stop(p: Started, graceMs = 1000, signal: Deno.Signal = "SIGTERM"): Promise<void> {
    try {
      p.child.kill(signal);
    } catch { /* already exited */ }
    const t = setTimeout(() => {
      try {
        p.child.kill("SIGKILL");
      } catch { /* exited */ }
    }, graceMs);
    try {
      await p.exited;
    } finally {
      clearTimeout(t);
    }
    this.#procs = this.#procs.filter((x) => x !== p);
  }

  /** Stops every process still in the group (in reverse start order). */
  async killAll(graceMs = 1000): Promise<void> {
    for (const p of [...this.#procs].reverse()) await this.stop(p, graceMs);
  }
}

/** Path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    const path = `${dir}/${name}`;
    try {
      const st = Deno.statSync(path);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Datagrams the kernel dropped on the UDP sockets bound to `port` (receive
 * buffer full), summed over IPv4 and IPv6, from the `drops` column of
 * `/proc/net/udp{,6}` (Linux; 0 when the port is not bound, undefined when
 * the tables cannot be read).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { udpSocketDrops } from "./_proc.ts";
 * const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * assert.equal(udpSocketDrops((s.addr as Deno.NetAddr).port), 0);
 * s.close();
 * ```
 */
export function udpSocketDrops(port: number): number | undefined {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let drops = 0;
  let readAny = false;
  for (const f of ["/proc/net/udp", "/proc/net/udp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(f);
    } catch {
      continue;
    }
    readAny = true;
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 12 && cols[1].endsWith(hex)) drops += Number(cols[cols.length - 1]) || 0;
    }
  }
  return readAny ? drops : undefined;
}

/** Whether a TCP port is in LISTEN state on this host (/proc/net/tcp{,6}); no connection made. */
export function tcpListening(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of Deno.readTextFileSync(f).split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length > 3 && cols[1].endsWith(hex) && cols[3] === "0A") return true;
      }
    } catch { /* no such table */ }
  }
  return false;
}

/** A kernel TCP sink on 127.0.0.1 that counts the bytes of its first connection until EOF. */
export interface CountingSink {
  /** The port it listens on. */
  readonly port: number;
  /** Bytes received so far. */
  readonly received: number;
  /** Settles at the connection's EOF. */
  readonly done: Promise<void>;
  /** Stops listening. */
  close(): void;
}

/**
 * Starts a {@linkcode CountingSink} (the far end of the tunnel benchmarks).
 *
 * @param readSize Bytes per read.
 */
export function countingSink(readSize = 64 * 1024): CountingSink {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = 0;
  const done = (async () => {
    const c = await l.accept();
    const buf = new Uint8Array(readSize);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      received += n;
    }
    c.close();
  })();
  return {
    port: l.addr.port,
    get received() {
      return received;
    },
    done,
    close: () => l.close(),
  };
}

/**
 * Connects to 127.0.0.1:`port`, retrying every 200 ms while the processes
 * that will listen there start (a loaded machine may need several seconds).
 *
 * @param port The TCP port.
 * @param attempts Tries before the last error is thrown.
 */
export async function connectRetrying(port: number, attempts: number): Promise<Deno.TcpConn> {
  for (let i = 0;; i++) {
    try {
      return await Deno.connect({ hostname: "127.0.0.1", port });
    } catch (e) {
      if (i >= attempts) throw e;
      await sleep(200);
    }
  }
}

/** Whether a UDP port is bound on this host (/proc/net/udp{,6}). */
export function udpBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const f of ["/proc/net/udp", "/proc/net/udp6"]) {
    try {
      for (const line of Deno.readTextFileSync(f).split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length > 1 && cols[1].endsWith(hex)) return true;
      }
    } catch { /* no such table */ }
  }
  return false;
}

/** Waits until `ok()`; fails early, with the last line it printed, when `proc` exits first. */
export async function waitFor(
  what: string,
  ok: () => boolean,
  timeoutMs: number,
  proc?: Started,
): Promise<void> {
  const t0 = performance.now();
  let exited = false;
  void proc?.exited.then(() => (exited = true));
  const said = () => {
    const last = proc?.stderr().trim().split("\n").at(-1);
    return last ? `: ${last.slice(0, 300)}` : "";
  };
  while (!ok()) {
    if (exited) throw new Error(`${what} exited before it was ready${said()}`);
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`${what} not ready after ${timeoutMs} ms${said()}`);
    }
    await sleep(50);
  }
}

/**
 * Waits until a tou process's control endpoint answers `/metrics` (the CLI
 * starts it after every listener is registered, so the process is then
 * ready; a bound UDP port alone is not: SYNs that come before the listeners
 * draw RSTs). Fails early when `proc` exits.
 */
export async function waitForControl(
  what: string,
  port: number,
  timeoutMs: number,
  proc?: Started,
): Promise<void> {
  const { fetchStat } = await import("../src/tunnel/stat.ts");
  let ready = false;
  const poll = async () => {
    while (!ready) {
      ready = await fetchStat({ hostname: "127.0.0.1", port }, "metrics").then(
        () => true,
        () => false,
      );
      if (!ready) await sleep(50);
    }
  };
  const polling = poll();
  try {
    await waitFor(what, () => ready, timeoutMs, proc);
  } finally {
    ready = true;
    await polling;
  }
}

/** bench/impair.ts, the UDP impairment proxy. */
const IMPAIR_SCRIPT = new URL("./impair.ts", import.meta.url).pathname;

/**
 * Starts bench/impair.ts in `group`: a proxy on 127.0.0.1:`listenPort` that
 * forwards to 127.0.0.1:`upstreamPort` with the impairment `flags`
 * (`--delay`, `--loss`, `--stats-json`, ...; see impair.ts).
 */
export function startImpair(
  group: ProcessGroup,
  listenPort: number,
  upstreamPort: number,
  flags: readonly string[],
  opts: { capture?: boolean } = {},
): Started {
  return group.start("impair", Deno.execPath(), [
    "run",
    "-A",
    IMPAIR_SCRIPT,
    "--listen",
    `127.0.0.1:${listenPort}`,
    "--upstream",
    `127.0.0.1:${upstreamPort}`,
    ...flags,
  ], opts);
}
