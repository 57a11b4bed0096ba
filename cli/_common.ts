/**
 * Shared pieces of the `tou` subcommands: I/O, exit codes, option texts,
 * turning flags into a validated config, loading the key, the logger and
 * the plaintext warning.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import { KNOB_FLAGS, takeKnobFlags } from "../src/tunnel/knob_flags.ts";
import {
  ConfigError,
  KEY_ENV,
  mergeConfig,
  readConfigFile,
  SELECTABLE_CONGESTION,
  type TouConfig,
  TUNNEL_DEFAULT_CONGESTION,
  validateConfig,
} from "../src/tunnel/config.ts";
import { type LoadedKey, loadKey } from "../src/tunnel/key_file.ts";
import {
  DEFAULT_CONNECT_TIMEOUT_S,
  DEFAULT_KEEPALIVE_S,
  DEFAULT_USER_TIMEOUT_S,
} from "../src/tunnel/dead_peer.ts";
import { type LogFormat, Logger, type LogLevel } from "../src/tunnel/log.ts";
import {
  DEFAULT_IDLE_TIMEOUT_S,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_CLIENT,
  DEFAULT_MEMORY_BUDGET_MIB,
} from "../src/tunnel/session_limits.ts";

/** Exit status: success. */
export const EXIT_OK = 0;
/** Exit status: runtime failure (cannot bind, connection reset, ...). */
export const EXIT_FAILURE = 1;
/** Exit status: usage error (bad flag, address, port, config or key). */
export const EXIT_USAGE = 2;

/** Where the CLI reads and writes; replaced in tests. */
export interface CliIo {
  /** Writes text to standard output. */
  stdout(text: string): void;
  /** Writes text to standard error. */
  stderr(text: string): void;
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** Standard input as bytes. */
  readonly stdin: { read(p: Uint8Array): Promise<number | null> };
  /** Standard output as bytes. */
  readonly stdoutBytes: { write(p: Uint8Array): Promise<number> };
}

/** State shared by the subcommands of one run. */
export interface CliContext {
  /** I/O. */
  readonly io: CliIo;
  /** The exit status the run ends with. */
  exitCode: number;
  /** Resolves to a reason to shut down; default: SIGINT/SIGTERM. Tests pass their own. */
  readonly shutdownTrigger?: Promise<string>;
}

const encoder = new TextEncoder();

function writeSync(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  try {
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  } catch {
    // closed pipe: nothing to do
  }
}

/** The process's real standard streams and environment. */
export function denoIo(): CliIo {
  return {
    stdout: (t) => writeSync(Deno.stdout, t),
    stderr: (t) => writeSync(Deno.stderr, t),
    env: (name) => Deno.env.get(name),
    stdin: Deno.stdin,
    stdoutBytes: Deno.stdout,
  };
}

/** Help text of shared options, so every subcommand says the same. */
export const OPTION_HELP = {
  config: "read settings from a JSON file (schema: docs/tou.schema.json); flags override it",
  keyFile:
    `read the pre-shared key from this file (hex or base64, >= 32 bytes, mode 600; also ${KEY_ENV})`,
  allowReadableKeyFile: "accept a key file that other users can read (refused by default)",
  plaintext: "run without a key: traffic is neither encrypted nor authenticated",
  cipher:
    "AEAD this side seals with: auto, aes-256-gcm, chacha20-poly1305; each side opens both (default: auto, AES-256-GCM when libcrypto loads, else ChaCha20-Poly1305)",
  keepalive:
    `probe a silent peer after this many seconds, then every half of it; 3 unanswered probes reset the connection; 0 off (default: ${DEFAULT_KEEPALIVE_S})`,
  userTimeout:
    `reset a connection whose sent data stays unacknowledged this many seconds; 0 off (default: ${DEFAULT_USER_TIMEOUT_S})`,
  connectTimeout:
    `give up opening a tunnel connection after this many seconds (default: ${DEFAULT_CONNECT_TIMEOUT_S})`,
  mux:
    "carry all local connections as streams of one multiplexed tunnel connection (like kcptun/smux): no handshake per connection; fastest for many short connections, but one loss stalls every stream",
  maxSessions:
    `refuse (reset) new tunnel connections beyond this many; 0 no limit (default: ${DEFAULT_MAX_SESSIONS})`,
  maxSessionsPerClient:
    `refuse (reset) new tunnel connections beyond this many per client IP address; 0 no limit (default: ${DEFAULT_MAX_SESSIONS_PER_CLIENT})`,
  idleTimeout:
    `reset a session that carried no data either way for this many seconds; 0 never (default: ${DEFAULT_IDLE_TIMEOUT_S})`,
  memoryBudget:
    `MiB of send/receive buffers all tunnel connections share; windows shrink as connections are added; 0 none (default: ${DEFAULT_MEMORY_BUDGET_MIB})`,
  control:
    "serve live figures for `tou stat` and a live web dashboard on this loopback address (host:port or port)",
  drainTimeout: "on SIGINT/SIGTERM, let open streams finish for this long, then reset them",
  congestion: `congestion control: ${
    SELECTABLE_CONGESTION.join(", ")
  } (default: ${TUNNEL_DEFAULT_CONGESTION}; see docs/stack.md)`,
  logLevel: "least severe log level: debug, info, warn, error (default: info)",
  logFormat: "log format: text or json (default: text)",
  pcap: "write every TCP segment (plaintext) to this pcap file, for Wireshark/tshark",
} as const;

/** Text appended to the help of the long-running commands. */
export const FOOTER = `
Environment:
  ${KEY_ENV}  the pre-shared key (hex or base64), when --key-file is not given

Without a key (--key-file or ${KEY_ENV}) tou refuses to start unless --plaintext is given.
A silent peer is noticed within 2.5 x --keepalive when idle, within --user-timeout when data is
unacknowledged; its connections are then reset (the local TCP application sees a reset).

Exit status: 0 success, 1 runtime failure, 2 usage error.`;

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parses a number flag, keeping the text when it is not a number (the schema then names it). */
export function numberOrText(value: string): number | string {
  return /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : value;
}

/** The heading of the Linux knob flags in `--help`. */
export const KNOB_HELP_GROUP = "Linux TCP knobs (Linux's units; docs/linux-knobs.md):";

/**
 * Adds the Linux knob flags (`--syn-retries`, `--fin-timeout`, ...; generated
 * from the option table, see src/tunnel/knob_flags.ts) to a command.
 */
export function addKnobFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C): C {
  for (const k of KNOB_FLAGS) {
    cmd.addOption(
      new Option(`${k.flag} ${k.arg}`, k.help).argParser(numberOrText).helpGroup(KNOB_HELP_GROUP),
    );
  }
  return cmd;
}

/** Applies the settings every command shares: errors thrown not printed, stable help width. */
export function configureCommand<C extends Command<unknown[], Record<string, unknown>>>(
  cmd: C,
  ctx: CliContext,
): C {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => ctx.io.stdout(s),
    writeErr: (s) => ctx.io.stderr(s),
    outputError: () => {},
    getOutHelpWidth: () => 100,
    getErrHelpWidth: () => 100,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  });
  cmd.configureHelp({ helpWidth: 100, showGlobalOptions: false });
  return cmd;
}

/** The flags every config-backed command accepts, by config key. */
export interface ConfigFlags {
  readonly config?: string;
  readonly keyFile?: string;
  readonly logLevel?: string;
  readonly logFormat?: string;
  readonly [key: string]: unknown;
}

/**
 * Validates the flags, reads `--config` if given, and merges (flags win).
 *
 * @param flags Commander's options, by config key (`config` is the file path).
 * @returns The merged config.
 * @throws {ConfigError} On any invalid value.
 */
export async function configFromFlags(flags: ConfigFlags): Promise<TouConfig> {
  const { config: path, ...all } = flags;
  const { rest, tcp } = takeKnobFlags(all);
  const defined: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) defined[k] = v;
  if (Object.keys(tcp).length > 0) defined.tcp = tcp;
  const fromFlags = validateConfig(defined, { kind: "flags" });
  if (path === undefined) return fromFlags;
  const fromFile = await readConfigFile(path);
  return mergeConfig(fromFile, fromFlags);
}

/**
 * Loads the key named by the config, or from `TOU_KEY`, and fails closed:
 * without a key, only an explicit `--plaintext` lets the command run.
 *
 * @throws {ConfigError} When the key file is missing, unsafe or the key
 *   malformed or short; when there is no key and no `--plaintext`, or both.
 */
export async function keyFromConfig(
  cfg: { keyFile?: string; allowReadableKeyFile?: boolean; plaintext?: boolean },
  io: CliIo,
): Promise<LoadedKey> {
  const key = await loadKey({
    keyFile: cfg.keyFile,
    env: io.env(KEY_ENV),
    allowReadable: cfg.allowReadableKeyFile ?? false,
  });
  if (key.key === undefined && !cfg.plaintext) {
    throw new ConfigError(
      `no key: give --key-file or set ${KEY_ENV} (create a key with \`tou keygen\`), ` +
        "or pass --plaintext to run without encryption",
    );
  }
  if (key.key !== undefined && cfg.plaintext) {
    key.key.fill(0);
    throw new ConfigError(
      `--plaintext conflicts with the key from ${
        key.source === "env" ? KEY_ENV : "--key-file"
      }: give one or the other`,
    );
  }
  return key;
}

/** A logger writing to the CLI's stderr. */
export function makeLogger(
  ctx: CliContext,
  opts: { level: LogLevel; format: LogFormat; role?: string; worker?: number },
): Logger {
  const fields: Record<string, string | number> = {};
  if (opts.role) fields.role = opts.role;
  if (opts.worker !== undefined) fields.worker = opts.worker;
  return new Logger({
    level: opts.level,
    format: opts.format,
    sink: (line) => ctx.io.stderr(line),
    fields: Object.keys(fields).length > 0 ? fields : undefined,
  });
}

/** Warns, once per process, that traffic is not protected. */
export function warnIfPlaintext(log: Logger, key: LoadedKey): void {
  if (key.key !== undefined) return;
  // Shown even with --log-level error: it is the one warning nobody should miss.
  log.once(
    "plaintext",
    log.enabled("warn") ? "warn" : "error",
    "NO KEY: tunnel traffic is PLAINTEXT (--plaintext), neither encrypted nor authenticated; " +
      `anyone on the path can read and inject data. Use --key-file or ${KEY_ENV} (create a key ` +
      "with `tou keygen`).",
  );
}

/**
 * Warns, once per process, when the key file can be read by other users
 * (only reached with --allow-readable-key-file: otherwise it is refused).
 */
export function warnIfKeyFileOpen(log: Logger, key: LoadedKey, path: string | undefined): void {
  if (key.fileMode === undefined || (key.fileMode & 0o077) === 0) return;
  log.once(
    "key-file-mode",
    "warn",
    `key file ${path} is accessible by other users (mode ${
      key.fileMode.toString(8).padStart(3, "0")
    }); restrict it with: chmod 600 ${path}`,
  );
}

/** A command stopped by SIGINT/SIGTERM before it started (exit 1, one line). */
export class Interrupted extends Error {
  /**
   * Creates the error.
   *
   * @param message One line saying what was interrupted.
   */
  constructor(message: string) {
    super(message);
    this.name = "Interrupted";
  }
}

/** Whether an error is a usage error (exit 2). */
export function isUsageError(e: unknown): boolean {
  return e instanceof ConfigError || (e instanceof Error && e.name === "AddressError") ||
    (e instanceof Error && e.name === "InvalidOptionError");
}
