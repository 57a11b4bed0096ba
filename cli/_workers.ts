/**
 * `tou server --workers N`: N worker processes share the server's one UDP
 * port through SO_REUSEPORT. This is the parent; `_worker_main.ts` is
 * the worker.
 *
 * - **Port.** Worker 0 binds `--listen` (port 0: an ephemeral one), the
 *   others then bind the port it got. The kernel picks the worker of each
 *   datagram by a hash of its 4-tuple, so every datagram of one tunnel
 *   client (one UDP address and port) reaches the same worker while the set
 *   of workers stays the same. SO_REUSEPORT needs the kernel UDP backend
 *   (libc over FFI: `--allow-ffi` on Linux); without it `--workers` refuses
 *   to start and says why.
 * - **Stop.** SIGINT/SIGTERM to the parent drains every worker gracefully
 *   (as `tou server` alone does); a second one resets their sessions at
 *   once. A worker whose parent is gone (its stdin closed) drains too.
 * - **Stat.** The parent serves `--control`: it fetches each worker's own
 *   control endpoint (loopback, ephemeral port) and serves the merge: every
 *   connection with its worker's index, counters summed, each worker's own
 *   figures (`tou stat`, `--json`, `--metrics`).
 * - **A worker that dies** is not restarted: the parent logs it, drains the
 *   other workers and exits 1, for a supervisor (systemd, ...) to restart the
 *   service. A restarted worker would join the port's SO_REUSEPORT group at
 *   another position, and the kernel's hash (index = hash × N / 2³²) would
 *   then send many clients of the *surviving* workers to a worker that does
 *   not know them, breaking their sessions too.
 *
 * @module
 */

import { ConfigError, resolveServerSettings } from "../src/tunnel/config.ts";
import { formatHostPort, type HostPort } from "../src/tunnel/address.ts";
import { type ControlServer, fetchStat, startControlServer } from "../src/tunnel/stat.ts";
import { mergeSnapshots, type WorkerSnapshot } from "../src/tunnel/stat_merge.ts";
import { ShutdownSignals } from "../src/tunnel/shutdown.ts";
import { kernelUdpAvailable } from "../src/udp/kernel_udp_socket.ts";
import { describeExit, WorkerProcess } from "../src/tunnel/worker_pool.ts";
import { v8FlagsArg } from "./_v8_flags.ts";
import {
  type CliContext,
  type ConfigFlags,
  configFromFlags,
  EXIT_FAILURE,
  EXIT_OK,
  Interrupted,
  keyFromConfig,
  makeLogger,
} from "./_common.ts";

/** Time a worker gets to start before the parent gives up (ms). */
const START_TIMEOUT_MS = 60_000;

/** Time beyond the drain timeout after which a worker still running is killed (ms). */
const STOP_SLACK_MS = 10_000;

/**
 * Runs `tou server` as `count` worker processes until SIGINT/SIGTERM.
 *
 * @param ctx CLI context (its exit code is set).
 * @param flags The server's flags by config key (`workers` and `pcap` included).
 * @param count Number of workers (1 to 64, validated by the config schema).
 */
export async function runWorkers(
  ctx: CliContext,
  flags: ConfigFlags,
  count: number,
): Promise<void> {
  const signals = new ShutdownSignals();
  const workers: WorkerProcess[] = [];
  try {
    await supervise(ctx, flags, count, signals, workers);
  } finally {
    signals.dispose();
    for (const w of workers) w.kill(); // only ones still running after an error
  }
}

async function supervise(
  ctx: CliContext,
  flags: ConfigFlags,
  count: number,
  signals: ShutdownSignals,
  workers: WorkerProcess[],
): Promise<void> {
  const { workers: _count, pcap, ...configFlags } = flags;
  const trigger = ctx.shutdownTrigger ?? signals.requested;
  // Usage errors (flags, config file, key) once, here, before any worker starts.
  const settings = resolveServerSettings(await configFromFlags(configFlags));
  const key = await keyFromConfig(settings, ctx.io);
  key.key?.fill(0);
  const kernel = kernelUdpAvailable();
  if (!kernel.ok) {
    throw new ConfigError(
      "--workers needs the kernel UDP backend to share the UDP port (SO_REUSEPORT; " +
        `Deno.listenDatagram cannot set it), and it is unavailable: ${kernel.reason}`,
    );
  }
  const log = makeLogger(ctx, {
    level: settings.logLevel,
    format: settings.logFormat,
    role: "server",
  });
  const run = denoRunArgs(new URL("./_worker_main.ts", import.meta.url));
  const spawn = (index: number, listen: string) => {
    const w = WorkerProcess.spawn({
      index,
      command: Deno.execPath(),
      args: run,
      flags: {
        ...configFlags,
        listen,
        control: "127.0.0.1:0",
        ...(pcap === undefined ? {} : { pcap: `${pcap}.${index}` }),
      },
      onStderr: (line) => ctx.io.stderr(line + "\n"),
    });
    workers.push(w);
    return w;
  };
  const ready: { worker: WorkerProcess; control?: HostPort }[] = [];
  const started = async (w: WorkerProcess) => {
    const r = await startedOrFailed(w, trigger);
    ready.push({ worker: w, control: r.control });
    return r;
  };
  // Worker 0 binds --listen (maybe port 0); the others the port it got.
  const first = await started(spawn(0, formatHostPort(settings.listen)));
  const udp = formatHostPort(first.udp);
  const rest = [];
  for (let i = 1; i < count; i++) rest.push(spawn(i, udp));
  await Promise.all(rest.map(started));
  let control: ControlServer | undefined;
  if (settings.control !== undefined) {
    control = await startControlServer(settings.control, () => merged(ready, udp), log);
  }
  log.info("server workers running", {
    udp,
    workers: count,
    pids: workers.map((w) => w.pid).join(","),
  });
  const exited = Promise.race(workers.map((w) => w.status.then((st) => ({ w, st }))));
  const ended = await Promise.race([trigger.then((sig) => ({ sig })), exited]);
  let code = EXIT_OK;
  let reason: string;
  if ("sig" in ended) {
    reason = ended.sig;
    log.info(`${reason}: draining ${count} workers (send ${reason} again to reset their sessions)`);
  } else {
    code = EXIT_FAILURE;
    reason = "SIGTERM"; // what the other workers are told: drain as on a SIGTERM
    log.error(
      `worker ${ended.w.index} (pid ${ended.w.pid}) ended unexpectedly (${
        describeExit(ended.st)
      }); draining the other workers and exiting (not restarted: see docs/cli.md)`,
    );
  }
  signals.onRepeat((sig) => {
    log.warn(`${sig} again: workers reset every open session now`);
    for (const w of workers) w.reset();
  });
  for (const w of workers) w.drain(reason);
  const statuses = await stopAll(workers, settings.drainTimeoutMs + STOP_SLACK_MS, log);
  await control?.close();
  for (const [i, st] of statuses.entries()) {
    if (!st.success && !("w" in ended && ended.w.index === i)) {
      log.error(`worker ${i} (pid ${workers[i].pid}) ended with ${describeExit(st)}`);
      code = EXIT_FAILURE;
    }
  }
  workers.length = 0;
  log.info("stopped");
  ctx.exitCode = code;
}

/** Waits for a worker to serve; rejects when it exits first, the start times out, or a signal comes. */
async function startedOrFailed(
  w: WorkerProcess,
  trigger: Promise<string>,
): Promise<{ udp: HostPort; control?: HostPort }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`worker ${w.index} did not start within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      w.ready,
      w.status.then((st) => {
        // Its own error line (e.g. "tou: cannot listen on udp …") came through its stderr.
        throw new WorkerStartError(`worker ${w.index} failed to start (${describeExit(st)})`, st);
      }),
      trigger.then((sig) => {
        throw new Interrupted(`${sig} while starting the workers: not started`);
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A worker that exited before it served; the CLI exits with the worker's own status. */
export class WorkerStartError extends Error {
  /** The worker's exit status. */
  readonly status: Deno.CommandStatus;
  /**
   * Creates the error.
   *
   * @param message One line.
   * @param status The worker's exit status.
   */
  constructor(message: string, status: Deno.CommandStatus) {
    super(message);
    this.name = "WorkerStartError";
    this.status = status;
  }
}

/** Waits for every worker to exit, killing those still running after `limitMs`. */
async function stopAll(
  workers: readonly WorkerProcess[],
  limitMs: number,
  log: ReturnType<typeof makeLogger>,
): Promise<Deno.CommandStatus[]> {
  const timer = setTimeout(() => {
    for (const w of workers) {
      if (!w.exited) {
        log.error(`worker ${w.index} (pid ${w.pid}) still running after ${limitMs} ms: killed`);
        w.kill();
      }
    }
  }, limitMs);
  try {
    return await Promise.all(workers.map((w) => w.finished()));
  } finally {
    clearTimeout(timer);
  }
}

/** The merged snapshot of every worker that answers. */
async function merged(
  ready: readonly { worker: WorkerProcess; control?: HostPort }[],
  udp: string,
) {
  const parts = await Promise.all(ready.map(async ({ worker, control }) => {
    if (control === undefined || worker.exited) return undefined;
    try {
      const snapshot = await fetchStat(control, "connections");
      return { worker: worker.index, pid: worker.pid, snapshot } satisfies WorkerSnapshot;
    } catch {
      return undefined; // exiting
    }
  }));
  const got = parts.filter((p) => p !== undefined);
  return mergeSnapshots(got, {
    role: "server",
    udp,
    encrypted: got.some((p) => p.snapshot.encrypted),
  });
}

/** Permissions a worker gets: each one this process holds in full. */
const PERMISSIONS = ["net", "read", "write", "env", "ffi", "sys"] as const;

/**
 * `deno run` arguments that start the worker module with this process's
 * permissions (each held in full; a permission granted only for some
 * paths or hosts is not passed on) and the project's deno.json.
 */
export function denoRunArgs(module: URL): string[] {
  const args = ["run", "--no-prompt", v8FlagsArg()];
  for (const name of PERMISSIONS) {
    if (Deno.permissions.querySync({ name }).state === "granted") args.push(`--allow-${name}`);
  }
  const config = module.protocol === "file:" ? findDenoJson(module) : undefined;
  if (config !== undefined) args.push("--config", config);
  args.push(module.href);
  return args;
}

function findDenoJson(module: URL): string | undefined {
  let dir = new URL("./", module);
  for (;;) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const path = new URL(name, dir).pathname;
      try {
        if (Deno.statSync(path).isFile) return path;
      } catch {
        // not here
      }
    }
    const up = new URL("../", dir);
    if (up.href === dir.href) return undefined;
    dir = up;
  }
}
