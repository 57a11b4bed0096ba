/**
 * Runs `deno run -A cli/main.ts ...` as a child process for end-to-end
 * tests: JSON log records from its stderr, waiting for one, signals, and a
 * bounded stop that kills by PID.
 */

/** A parsed JSON log record. */
export type LogRecord = Record<string, unknown> & { msg: string; level: string };

const ROOT = new URL("../../", import.meta.url);
const MAIN = new URL("cli/main.ts", ROOT).pathname;

/** Runs the CLI to completion and returns its status and output. */
export async function runTou(
  args: readonly string[],
  opts: { env?: Record<string, string>; stdin?: Uint8Array; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: ROOT.pathname,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, opts.timeoutMs ?? 30_000);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A long-running `tou server|client` child with JSON logs. */
export class TouProcess {
  readonly child: Deno.ChildProcess;
  readonly records: LogRecord[] = [];
  readonly stderrLines: string[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #waiters: { pred: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];
  #pump: Promise<void>;

  /** Starts `tou <args> --log-format json`. */
  constructor(args: readonly string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args, "--log-format", "json"],
      cwd: ROOT.pathname,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.status = this.child.status;
    this.#pump = this.#readLines();
  }

  async #readLines(): Promise<void> {
    let buf = "";
    for await (const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.stderrLines.push(line);
        let rec: LogRecord;
        try {
          rec = JSON.parse(line);
        } catch {
          continue;
        }
        this.records.push(rec);
        for (const w of [...this.#waiters]) {
          if (w.pred(rec)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(rec);
          }
        }
      }
    }
  }

  /** Resolves with the first record (past or future) matching `pred`. */
  waitFor(pred: (r: LogRecord) => boolean, what: string, ms = 20_000): Promise<LogRecord> {
    const found = this.records.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      let pending = true;
      const timer = setTimeout(() => {
        pending = false;
        reject(
          new Error(`${what}: not logged within ${ms} ms; stderr:\n${this.stderrLines.join("\n")}`),
        );
      }, ms);
      this.#waiters.push({
        pred,
        resolve: (r) => {
          pending = false;
          clearTimeout(timer);
          resolve(r);
        },
      });
      // Exited (and its stderr fully read) without logging it: fail fast.
      this.status.then(() => this.#pump).then(() => {
        if (!pending) return;
        pending = false;
        clearTimeout(timer);
        reject(new Error(`${what}: process exited; stderr:\n${this.stderrLines.join("\n")}`));
      });
    });
  }

  /** Waits for a message and returns the port of `field` ("host:port"). */
  async port(msg: string, field: string, where?: (r: LogRecord) => boolean): Promise<number> {
    const r = await this.waitFor((x) => x.msg === msg && (where?.(x) ?? true), msg);
    const v = String(r[field]);
    return Number(v.slice(v.lastIndexOf(":") + 1));
  }

  /** Sends a signal. */
  signal(sig: Deno.Signal): void {
    try {
      this.child.kill(sig);
    } catch { /* exited */ }
  }

  /** Waits up to `ms` for exit, then kills by PID; always drains stderr. */
  async stop(ms = 10_000): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal("SIGKILL");
        resolve();
      }, ms);
    });
    await Promise.race([this.status, killed]);
    clearTimeout(timer);
    const st = await this.status;
    await this.#pump;
    return st;
  }
}
