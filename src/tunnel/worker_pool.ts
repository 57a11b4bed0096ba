/**
 * The worker processes of `tou server --workers N`, seen from the parent:
 * each is a child process that binds the same UDP port with SO_REUSEPORT
 * (the kernel then gives every datagram of one client address and port to
 * the same worker) and runs a whole tunnel server.
 *
 * The protocol between parent and worker is lines of text:
 * - parent → worker (stdin): first one JSON line {@linkcode WorkerInit};
 *   then `drain <reason>` (graceful drain, as SIGTERM) and `reset` (reset
 *   every session now, as a second SIGTERM). End of input (the parent is
 *   gone) means drain.
 * - worker → parent (stdout): one line {@linkcode READY_PREFIX} + JSON
 *   {@linkcode WorkerReady} once it serves.
 * - the worker's stderr (its log) is passed on line by line.
 *
 * @module
 */

import type { HostPort } from "./address.ts";

/** The first word of the line a worker prints on stdout once it serves. */
export const READY_PREFIX = "tou-worker-ready ";

/** What the parent tells a worker when it starts it. */
export interface WorkerInit {
  /** The worker's index, 0 to N-1. */
  readonly index: number;
  /** The server's flags by config key (`listen` and `control` set for this worker). */
  readonly flags: Readonly<Record<string, unknown>>;
}

/** What a worker reports once it serves. */
export interface WorkerReady {
  /** The bound UDP address. */
  readonly udp: HostPort;
  /** Its own control endpoint (loopback, ephemeral port). */
  readonly control?: HostPort;
}

/** How a worker process is started. */
export interface WorkerSpawnOptions {
  /** Its index. */
  readonly index: number;
  /** The executable (the Deno binary). */
  readonly command: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** The flags it serves with. */
  readonly flags: Readonly<Record<string, unknown>>;
  /** Receives each line of the worker's stderr. */
  readonly onStderr: (line: string) => void;
}

const encoder = new TextEncoder();

/** A running worker process. */
export class WorkerProcess {
  /** Its index, 0 to N-1. */
  readonly index: number;
  /** Its process id. */
  readonly pid: number;
  /** Resolves once it serves; rejects when it ends before. */
  readonly ready: Promise<WorkerReady>;
  /** Resolves when it has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** True once it has exited. */
  exited = false;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #pumps: Promise<void>;

  private constructor(opts: WorkerSpawnOptions) {
    this.index = opts.index;
    this.#child = new Deno.Command(opts.command, {
      args: [...opts.args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.status = this.#child.status.then((st) => {
      this.exited = true;
      return st;
    });
    this.#stdin = this.#child.stdin.getWriter();
    const { promise, resolve, reject } = Promise.withResolvers<WorkerReady>();
    this.ready = promise;
    this.ready.catch(() => {}); // observed by whoever awaits it
    const stdout = forEachLine(this.#child.stdout, (line) => {
      if (line.startsWith(READY_PREFIX)) resolve(JSON.parse(line.slice(READY_PREFIX.length)));
    }).finally(() => reject(new Error(`worker ${this.index} ended before it was ready`)));
    const stderr = forEachLine(this.#child.stderr, opts.onStderr);
    this.#pumps = Promise.all([stdout, stderr]).then(() => {});
    const init: WorkerInit = { index: opts.index, flags: opts.flags };
    this.#write(JSON.stringify(init));
  }

  /**
   * Starts a worker process and sends it its flags.
   *
   * @param opts Executable, arguments, index, flags and the stderr sink.
   * @returns The running worker.
   */
  static spawn(opts: WorkerSpawnOptions): WorkerProcess {
    return new WorkerProcess(opts);
  }

  /** Asks the worker to drain gracefully (`reason` is logged by it). */
  drain(reason: string): void {
    this.#write(`drain ${reason}`);
  }

  /** Asks the worker to reset every session now. */
  reset(): void {
    this.#write("reset");
  }

  /** Kills the worker with SIGKILL (the last resort of a stuck shutdown). */
  kill(): void {
    if (this.exited) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Waits for its exit and for the last lines of its output. */
  async finished(): Promise<Deno.CommandStatus> {
    const st = await this.status;
    await this.#stdin.close().catch(() => {});
    await this.#pumps;
    return st;
  }

  #write(line: string): void {
    if (this.exited) return;
    this.#stdin.write(encoder.encode(line + "\n")).catch(() => {});
  }
}

/** Calls `fn` for every line of a byte stream (the last one even without a newline). */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  fn: (line: string) => void,
): Promise<void> {
  let buf = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        fn(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  } catch {
    // the process is gone
  }
  if (buf !== "") fn(buf);
}

/** One line saying how a process ended: "exit code 3" or "signal SIGKILL". */
export function describeExit(st: Deno.CommandStatus): string {
  return st.signal !== null ? `signal ${st.signal}` : `exit code ${st.code}`;
}
