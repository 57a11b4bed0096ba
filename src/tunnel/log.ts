/**
 * A small structured logger for the tunnel: readable lines by default
 * (`12:00:01.123 INFO  listening udp=0.0.0.0:7000`), one JSON object per
 * line with `format: "json"`, filtered by level. Lines go to a sink
 * (standard error by default) synchronously so they keep their order with
 * the process's other output and survive an immediate exit.
 *
 * @module
 */

/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Output formats. */
export type LogFormat = "text" | "json";

/** Every level, most verbose first. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Every format. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** Extra key/value pairs of a log record. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** Least severe level written. Default "info". */
  readonly level?: LogLevel;
  /** Output format. Default "text". */
  readonly format?: LogFormat;
  /** Receives each complete line (with its trailing newline). Default: synchronous stderr. */
  readonly sink?: (line: string) => void;
  /** Clock for timestamps. Default `Date.now`. */
  readonly now?: () => number;
  /** Fields added to every record (e.g. `{ role: "server" }`). */
  readonly fields?: LogFields;
}

/** Most distinct keys {@linkcode Logger.once} remembers (bounded memory). */
export const MAX_ONCE_KEYS = 64;

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };
const encoder = new TextEncoder();

/** Writes `line` to standard error synchronously, retrying short writes. */
export function stderrSink(line: string): void {
  const bytes = encoder.encode(line);
  let off = 0;
  try {
    while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
  } catch {
    // stderr closed: nowhere left to report to.
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function formatValue(v: string | number | boolean): string {
  const s = String(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

/**
 * A leveled logger.
 *
 * @example Text and JSON lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger } from "./log.ts";
 *
 * const lines: string[] = [];
 * const log = new Logger({ sink: (l) => lines.push(l), now: () => 0, level: "info" });
 * log.debug("hidden");
 * log.info("listening", { udp: "0.0.0.0:7000" });
 * assert.equal(lines.length, 1);
 * assert.match(lines[0], /INFO  listening udp=0\.0\.0\.0:7000\n$/);
 *
 * const json: string[] = [];
 * new Logger({ format: "json", sink: (l) => json.push(l), now: () => 0 }).warn("x", { n: 1 });
 * assert.deepEqual(JSON.parse(json[0]), {
 *   time: "1970-01-01T00:00:00.000Z",
 *   level: "warn",
 *   msg: "x",
 *   n: 1,
 * });
 * ```
 */
export class Logger {
  #rank: number;
  #format: LogFormat;
  #sink: (line: string) => void;
  #now: () => number;
  #fields: LogFields;
  #once = new Set<string>();

  /**
   * Creates a logger.
   *
   * @param opts Level, format, sink, clock and fixed fields.
   */
  constructor(opts: LoggerOptions = {}) {
    this.#rank = RANK[opts.level ?? "info"];
    this.#format = opts.format ?? "text";
    this.#sink = opts.sink ?? stderrSink;
    this.#now = opts.now ?? Date.now;
    this.#fields = opts.fields ?? {};
  }

  /** Whether records of `level` are written. */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#rank;
  }

  /** Writes a debug record. */
  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }

  /** Writes an info record. */
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }

  /** Writes a warning. */
  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }

  /** Writes an error record. */
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }

  /**
   * Writes a record only the first time `key` is seen by this logger (and
   * its children); later calls with the same key are ignored. For a fixed
   * set of keys only (never one per peer: use `drop_reports.ts`); at most
   * {@linkcode MAX_ONCE_KEYS} are remembered, later new keys are ignored.
   *
   * @returns Whether the record was written (or would have been, if filtered).
   */
  once(key: string, level: LogLevel, msg: string, fields?: LogFields): boolean {
    if (this.#once.has(key) || this.#once.size >= MAX_ONCE_KEYS) return false;
    this.#once.add(key);
    this.log(level, msg, fields);
    return true;
  }

  /** A logger writing to the same sink with extra fixed fields. */
  child(fields: LogFields): Logger {
    const c = new Logger({
      format: this.#format,
      sink: this.#sink,
      now: this.#now,
      fields: { ...this.#fields, ...fields },
    });
    c.#rank = this.#rank;
    c.#once = this.#once;
    return c;
  }

  /** Writes a record at `level`. */
  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < this.#rank) return;
    const t = this.#now();
    const all: Record<string, string | number | boolean> = {};
    for (const src of [this.#fields, fields ?? {}]) {
      for (const [k, v] of Object.entries(src)) if (v !== undefined) all[k] = v;
    }
    if (this.#format === "json") {
      this.#sink(
        JSON.stringify({ time: new Date(t).toISOString(), level, msg, ...all }) + "\n",
      );
      return;
    }
    const d = new Date(t);
    const stamp = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${
      String(d.getMilliseconds()).padStart(3, "0")
    }`;
    let line = `${stamp} ${level.toUpperCase().padEnd(5)} ${msg}`;
    for (const [k, v] of Object.entries(all)) line += ` ${k}=${formatValue(v)}`;
    this.#sink(line + "\n");
  }
}
