/**
 * The tunnel's configuration: one zod schema validates both the command-line
 * flags and the `--config` JSON file (flags override the file, lists
 * included), and is the source of docs/tou.schema.json. Secrets never
 * appear in it: the key comes from `keyFile` or the `TOU_KEY` environment
 * variable only (see `key_file.ts`). The config's type and what the commands
 * take from it (defaults filled in, specs parsed) are `settings.ts`,
 * re-exported here.
 *
 * @module
 */

import { z } from "zod";
import type { ResolvedTouOptions, TouOptions } from "../net/mod.ts";
import { touOptionsSchema } from "../net/options.ts";
import {
  AddressError,
  isLoopback,
  parseForwardSpec,
  parseHostPort,
  type ParseHostPortOptions,
  parseLocalSpec,
} from "./address.ts";
import { readSmallFile } from "./small_file.ts";
import { DEFAULT_DRAIN_TIMEOUT_S, DEFAULT_LISTEN, type TouConfig } from "./settings.ts";
import { ConfigError } from "./config_error.ts";
import {
  DEFAULT_IDLE_TIMEOUT_S,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_CLIENT,
  DEFAULT_MEMORY_BUDGET_MIB,
} from "./session_limits.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";
import { CIPHER_CHOICES } from "../seal/cipher_choice.ts";
import { SELECTABLE_CONGESTION, TUNNEL_DEFAULT_CONGESTION } from "../tcp/congestion/defaults.ts";
import {
  DEFAULT_CONNECT_TIMEOUT_S,
  DEFAULT_KEEPALIVE_S,
  DEFAULT_USER_TIMEOUT_S,
} from "./dead_peer.ts";

export { ConfigError } from "./config_error.ts";
export { SELECTABLE_CONGESTION, TUNNEL_DEFAULT_CONGESTION };
export {
  type ClientSettings,
  type CommonSettings,
  DEFAULT_DRAIN_TIMEOUT_S,
  DEFAULT_LISTEN,
  resolveClientSettings,
  resolveServerSettings,
  type ServerSettings,
  tcpOptionsOf,
  type TouConfig,
} from "./settings.ts";

/** Most worker processes of `tou server --workers`. */
export const MAX_WORKERS = 64;

/** Largest config file accepted, in bytes. */
export const CONFIG_FILE_MAX_BYTES = 64 * 1024;

/** The environment variable holding the pre-shared key. */
export const KEY_ENV = "TOU_KEY";

function show(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function parsed<T>(parse: (text: string) => T) {
  return (text: string, ctx: z.RefinementCtx) => {
    try {
      parse(text);
    } catch (e) {
      if (!(e instanceof AddressError)) throw e;
      ctx.addIssue({ code: "custom", input: text, message: e.message });
    }
  };
}

function stringField(what: string) {
  return z.string({ error: (iss) => `must be a string ${what}, got ${show(iss.input)}` });
}

function hostPortField(what: string, opts: ParseHostPortOptions) {
  return stringField(what).superRefine(parsed((t) => parseHostPort(t, opts)));
}

/** A bare port number in a config file, e.g. `"listen": 17200`, as the text "17200". */
function portOrHostPort(field: z.ZodType<string>) {
  const port = z.number().int().min(0).max(65535).transform((n) => String(n));
  return z.union([port, field], {
    error: (iss) => `must be a host:port string or a port number, got ${show(iss.input)}`,
  });
}

const listenField = portOrHostPort(
  hostPortField("host:port", { defaultHost: "0.0.0.0", allowZeroPort: true }),
).describe(
  "server and `cat --listen`: UDP address to listen on, host:port or a bare port " +
    `(host 0.0.0.0). Default ${DEFAULT_LISTEN}.`,
);

const forwardField = z.array(
  stringField("TUNNELPORT=HOST:PORT").superRefine(parsed(parseForwardSpec)),
  { error: (iss) => `must be a list of TUNNELPORT=HOST:PORT strings, got ${show(iss.input)}` },
).describe(
  "server: services reachable through the tunnel, each TUNNELPORT=HOST:PORT (e.g. 22=127.0.0.1:22). " +
    "Only these targets can be reached. Tunnel port 65535 is reserved for multiplexed sessions " +
    "(client mux), which a server always accepts.",
);

const serverField = hostPortField("host:port", {}).describe(
  "client: the tou server's UDP address, host:port.",
);

const localField = z.array(
  stringField("[HOST:]PORT=TUNNELPORT").superRefine(parsed(parseLocalSpec)),
  { error: (iss) => `must be a list of [HOST:]PORT=TUNNELPORT strings, got ${show(iss.input)}` },
).describe(
  "client: local TCP listeners, each [HOST:]PORT=TUNNELPORT (e.g. 127.0.0.1:2222=22; HOST " +
    "defaults to 127.0.0.1).",
);

const controlField = portOrHostPort(
  stringField("host:port")
    .superRefine((text, ctx) => {
      try {
        const a = parseHostPort(text, { defaultHost: "127.0.0.1", allowZeroPort: true });
        if (!isLoopback(a.hostname)) {
          ctx.addIssue({
            code: "custom",
            input: text,
            message: `control address ${show(text)} must be on loopback (127.0.0.1, ::1)`,
          });
        }
      } catch (e) {
        if (!(e instanceof AddressError)) throw e;
        ctx.addIssue({ code: "custom", input: text, message: e.message });
      }
    }),
)
  .describe(
    "server and client: serve live figures for `tou stat` (HTTP /connections and /metrics) and " +
      "a live web dashboard (/dashboard) on this loopback address, host:port or a bare port " +
      "(host 127.0.0.1).",
  );

const drainField = z.number({
  error: (iss) => `must be a number of seconds between 0 and 3600, got ${show(iss.input)}`,
}).min(0, { error: (iss) => `must be between 0 and 3600 seconds, got ${show(iss.input)}` })
  .max(3600, { error: (iss) => `must be between 0 and 3600 seconds, got ${show(iss.input)}` })
  .describe(
    "Seconds open streams may finish after SIGINT/SIGTERM before they are reset. " +
      `Default ${DEFAULT_DRAIN_TIMEOUT_S}.`,
  );

function secondsField(min: number, max: number, description: string) {
  const error = (iss: { input?: unknown }) =>
    `must be a number of seconds between ${min} and ${max}, got ${show(iss.input)}`;
  return z.number({ error }).min(min, { error }).max(max, { error }).describe(description);
}

const congestionField = z.enum(SELECTABLE_CONGESTION, {
  error: (iss) => `must be one of ${SELECTABLE_CONGESTION.join(", ")}, got ${show(iss.input)}`,
}).describe(
  "Congestion control of every tunnel connection (same as tcp.congestionControl, which it " +
    `overrides). Default ${TUNNEL_DEFAULT_CONGESTION}: BBR does not read random loss as congestion.`,
);

const keepaliveField = secondsField(
  0,
  3600,
  "Seconds without a segment from the peer before a keepalive probe; probes follow every half " +
    "of that and 3 unanswered ones reset the connection (a silent peer is noticed after 2.5× " +
    `this). 0 turns keepalive off. Default ${DEFAULT_KEEPALIVE_S}.`,
);

const userTimeoutField = secondsField(
  0,
  3600,
  "Seconds sent data may stay unacknowledged before the connection is reset (TCP_USER_TIMEOUT). " +
    `0 turns it off. Default ${DEFAULT_USER_TIMEOUT_S}.`,
);

const connectTimeoutField = secondsField(
  0.1,
  600,
  "client and cat: seconds a new tunnel connection may take to open before it fails. " +
    `Default ${DEFAULT_CONNECT_TIMEOUT_S}.`,
);

const muxField = z.boolean({
  error: (iss) => `must be true or false, got ${show(iss.input)}`,
}).describe(
  "client: carry all local connections as streams of one multiplexed tunnel connection (like " +
    "kcptun/smux): no handshake per connection; fastest for many short connections, but one " +
    "loss stalls every stream. A server always accepts them. Default false.",
);

const workersError = (iss: { input?: unknown }) =>
  `must be a whole number of worker processes between 1 and ${MAX_WORKERS}, got ${show(iss.input)}`;

const workersField = z.number({ error: workersError }).int({ error: workersError })
  .min(1, { error: workersError }).max(MAX_WORKERS, { error: workersError }).describe(
    "server: run this many worker processes sharing the UDP port (SO_REUSEPORT; needs the " +
      "kernel UDP backend, i.e. --allow-ffi on Linux). Each client's datagrams reach one " +
      "worker; SIGTERM drains them all; `tou stat` merges them. Absent: one process.",
  );
function countField(max: number, what: string, description: string) {
  const error = (iss: { input?: unknown }) =>
    `must be a whole number of ${what} between 0 and ${max}, got ${show(iss.input)}`;
  return z.number({ error }).int({ error }).min(0, { error }).max(max, { error }).describe(
    description,
  );
}

const maxSessionsField = countField(
  1 << 24,
  "sessions",
  "server: tunnel connections held at most (handshaking or open); past it a new one is refused " +
    `with a reset at once, and counted. 0 no limit. Default ${DEFAULT_MAX_SESSIONS}.`,
);

const maxSessionsPerClientField = countField(
  1 << 24,
  "sessions",
  "server: as maxSessions, per client IP address. 0 no limit. " +
    `Default ${DEFAULT_MAX_SESSIONS_PER_CLIENT}.`,
);

const idleTimeoutField = secondsField(
  0,
  86_400,
  "Seconds a session may carry no data either way before it is reset (keepalive probes do not " +
    `count). 0 never. Default ${DEFAULT_IDLE_TIMEOUT_S}.`,
);

const memoryBudgetField = countField(
  1 << 20,
  "MiB",
  "MiB of send and receive buffers shared by all tunnel connections: windows shrink to an equal " +
    "share as connections are added; a new one is refused only when a share would fall below " +
    `4 KiB a direction. 0 no budget. Default ${DEFAULT_MEMORY_BUDGET_MIB}.`,
);

const levelField = z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]], {
  error: (iss) => `must be one of ${LOG_LEVELS.join(", ")}, got ${show(iss.input)}`,
}).describe("Least severe log level written. Default info.");

const formatField = z.enum(LOG_FORMATS as [LogFormat, ...LogFormat[]], {
  error: (iss) => `must be one of ${LOG_FORMATS.join(", ")}, got ${show(iss.input)}`,
}).describe("Log format: text (readable) or json (one object per line). Default text.");

const cipherField = z.enum(CIPHER_CHOICES, {
  error: (iss) => `must be one of ${CIPHER_CHOICES.join(", ")}, got ${show(iss.input)}`,
}).describe(
  "AEAD this side seals datagrams with: auto (AES-256-GCM when OpenSSL's libcrypto loads, " +
    "which needs --allow-ffi, else ChaCha20-Poly1305), aes-256-gcm or chacha20-poly1305. " +
    "Every datagram names its cipher and each side opens both, so the two ends need not agree. " +
    "Default auto.",
);

const keyFileField = stringField("path").min(1, { error: "must not be empty" }).describe(
  `File holding the pre-shared key (hex or base64, at least 32 bytes; \`tou keygen\` makes one; ` +
    `only its owner may read it). Without it and without ${KEY_ENV}, tou refuses to start ` +
    `unless plaintext is true.`,
);

const plaintextField = z.boolean({
  error: (iss) => `must be true or false, got ${show(iss.input)}`,
}).describe(
  `Run without a key: traffic is neither encrypted nor authenticated. Without a key ` +
    `(keyFile or ${KEY_ENV}) tou refuses to start unless this is true.`,
);

const allowReadableField = z.boolean({
  error: (iss) => `must be true or false, got ${show(iss.input)}`,
}).describe(
  "Accept a key file that users other than its owner can read or write (refused by default, like ssh).",
);

/**
 * The fields of the config file and of the flags, all optional. Unknown keys
 * are rejected. `tcp` holds the TCP tunables of `src/net/options.ts`.
 */
export const touConfigShape = {
  $schema: z.string().describe("Path or URL of this JSON Schema; ignored.").optional(),
  listen: listenField.optional(),
  forward: forwardField.optional(),
  server: serverField.optional(),
  local: localField.optional(),
  keyFile: keyFileField.optional(),
  allowReadableKeyFile: allowReadableField.optional(),
  plaintext: plaintextField.optional(),
  cipher: cipherField.optional(),
  control: controlField.optional(),
  drainTimeout: drainField.optional(),
  keepalive: keepaliveField.optional(),
  userTimeout: userTimeoutField.optional(),
  connectTimeout: connectTimeoutField.optional(),
  mux: muxField.optional(),
  maxSessions: maxSessionsField.optional(),
  maxSessionsPerClient: maxSessionsPerClientField.optional(),
  idleTimeout: idleTimeoutField.optional(),
  memoryBudget: memoryBudgetField.optional(),
  logLevel: levelField.optional(),
  logFormat: formatField.optional(),
  congestion: congestionField.optional(),
  workers: workersField.optional(),
  tcp: touOptionsSchema.optional().describe(
    "TCP tunables of every tunnel connection, as in the API options (msl, rtoMin, synRetries, ...).",
  ),
} as const;

function checkDuplicates(v: { forward?: string[]; local?: string[] }, ctx: z.RefinementCtx): void {
  const seen = new Map<number, number>();
  for (const [i, text] of (v.forward ?? []).entries()) {
    let port: number;
    try {
      port = parseForwardSpec(text).tunnelPort;
    } catch {
      continue; // reported by the field
    }
    const first = seen.get(port);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["forward", i],
        input: text,
        message: `tunnel port ${port} is forwarded twice (${show(v.forward![first])} and ${
          show(text)
        })`,
      });
    }
    seen.set(port, i);
  }
  const locals = new Map<string, number>();
  for (const [i, text] of (v.local ?? []).entries()) {
    let key: string;
    try {
      const spec = parseLocalSpec(text);
      if (spec.listen.port === 0) continue; // each gets its own ephemeral port
      key = `${spec.listen.hostname}|${spec.listen.port}`;
    } catch {
      continue; // reported by the field
    }
    const first = locals.get(key);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["local", i],
        input: text,
        message: `local address is given twice (${show(v.local![first])} and ${show(text)})`,
      });
    }
    locals.set(key, i);
  }
}

/**
 * The zod schema of a config file (and of the flags).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { touConfigSchema } from "./config.ts";
 * assert.ok(touConfigSchema.safeParse({ forward: ["22=127.0.0.1:22"] }).success);
 * assert.ok(!touConfigSchema.safeParse({ forward: ["22"] }).success);
 * assert.ok(!touConfigSchema.safeParse({ key: "secret" }).success);
 * ```
 */
export const touConfigSchema: z.ZodType<ParsedTouConfig, unknown> = z.strictObject(touConfigShape)
  .superRefine(checkDuplicates)
  .meta({
    title: "tou configuration",
    description: "Config file of `tou server` and `tou client` (--config). Command-line flags " +
      "override its values; secrets are never stored here (use keyFile or TOU_KEY).",
  });

/** What {@linkcode touConfigSchema} outputs: a {@linkcode TouConfig} whose tunables have their defaults filled in. */
export type ParsedTouConfig = Omit<TouConfig, "tcp"> & { readonly tcp?: ResolvedTouOptions };

/** How an issue path is named in messages: config-file keys or flag names. */
export type ConfigSource = { readonly kind: "file"; readonly path: string } | {
  readonly kind: "flags";
};

const FLAG_NAMES: Readonly<Record<string, string>> = {
  listen: "--listen",
  forward: "--forward",
  server: "--server",
  local: "--local",
  keyFile: "--key-file",
  allowReadableKeyFile: "--allow-readable-key-file",
  plaintext: "--plaintext",
  cipher: "--cipher",
  control: "--control",
  drainTimeout: "--drain-timeout",
  keepalive: "--keepalive",
  userTimeout: "--user-timeout",
  connectTimeout: "--connect-timeout",
  mux: "--mux",
  maxSessions: "--max-sessions",
  maxSessionsPerClient: "--max-sessions-per-client",
  idleTimeout: "--idle-timeout",
  memoryBudget: "--memory-budget",
  logLevel: "--log-level",
  logFormat: "--log-format",
  congestion: "--congestion",
  workers: "--workers",
};

/** Config keys that look like someone tried to put the secret itself into the file. */
const SECRET_KEY = /^(key|psk|secret|password|passphrase|token)$/i;

function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

/**
 * Validates `input` with {@linkcode touConfigSchema}, throwing a
 * {@linkcode ConfigError} whose one-line message names the flag or the file
 * and key of the first problem.
 *
 * @param input The raw object (parsed JSON, or flags by config key).
 * @param source Where it came from, for the message.
 * @returns The validated config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateConfig } from "./config.ts";
 * assert.throws(
 *   () => validateConfig({ forward: ["22"] }, { kind: "flags" }),
 *   { message: '--forward: invalid forward "22": expected TUNNELPORT=HOST:PORT, like 22=127.0.0.1:22' },
 * );
 * assert.throws(
 *   () => validateConfig({ tcp: { msl: -5 } }, { kind: "file", path: "tou.json" }),
 *   { message: "config file tou.json: tcp.msl: must be between 1 and 600000 ms, got -5" },
 * );
 * ```
 */
export function validateConfig(input: unknown, source: ConfigSource): TouConfig {
  const r = touConfigSchema.safeParse(input);
  if (r.success) {
    const { tcp: _filled, ...rest } = r.data;
    const tcp = (input as { tcp?: TouOptions }).tcp;
    return tcp === undefined ? rest : { ...rest, tcp };
  }
  const issue = r.error.issues[0];
  let where: string;
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "?";
    where = issuePath(issue.path);
    message = SECRET_KEY.test(key)
      ? `unknown key ${show(key)}: secrets are not accepted here, use keyFile or ${KEY_ENV}`
      : `unknown key ${show(key)}`;
  } else {
    where = issuePath(issue.path);
  }
  if (source.kind === "flags") {
    const flag = FLAG_NAMES[String(issue.path[0])] ?? where;
    throw new ConfigError(`${flag}: ${message}`);
  }
  if (issue.code === "invalid_type" && issue.path.length === 0) {
    message = "must be a JSON object";
  }
  throw new ConfigError(
    `config file ${source.path}: ${where === "" ? "" : `${where}: `}${message}`,
  );
}

/**
 * Reads and validates a config file.
 *
 * @param path The file.
 * @returns The validated config.
 * @throws {ConfigError} When it cannot be read, is not JSON, or is invalid.
 */
export async function readConfigFile(path: string): Promise<TouConfig> {
  const file = await readSmallFile(path, { what: "config file", maxBytes: CONFIG_FILE_MAX_BYTES });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(file.bytes);
  } catch {
    throw new ConfigError(`config file ${path} is not UTF-8 text`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // Never quote the text: a key file given as --config by mistake would leak into the message.
    const at = e instanceof Error ? e.message.match(/line \d+ column \d+/) : null;
    throw new ConfigError(`config file ${path} is not valid JSON${at ? ` (${at[0]})` : ""}`);
  }
  return validateConfig(json, { kind: "file", path });
}

/**
 * Merges flags over a file config: each flag given replaces the file's value
 * (a list flag replaces the whole list; a knob flag, one key of `tcp`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeConfig } from "./config.ts";
 * assert.deepEqual(
 *   mergeConfig({ listen: "0.0.0.0:7000", logLevel: "debug" }, { listen: "127.0.0.1:0" }),
 *   { listen: "127.0.0.1:0", logLevel: "debug" },
 * );
 * ```
 */
export function mergeConfig(file: TouConfig, flags: TouConfig): TouConfig {
  const out: Record<string, unknown> = { ...file };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) out[k] = v;
  // The Linux knob flags set single keys of `tcp`: the file's other keys stay.
  if (file.tcp !== undefined && flags.tcp !== undefined) out.tcp = { ...file.tcp, ...flags.tcp };
  return out as TouConfig;
}
