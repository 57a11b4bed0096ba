/**
 * What `tou server` and `tou client` share once their flags are parsed:
 * load config and key, start, serve the control endpoint, wait for a
 * shutdown signal and drain.
 *
 * @module
 */

import {
  type ClientSettings,
  type CommonSettings,
  resolveClientSettings,
  resolveServerSettings,
  type ServerSettings,
} from "../src/tunnel/config.ts";
import { TunnelClient } from "../src/tunnel/client.ts";
import { TunnelServer } from "../src/tunnel/server.ts";
import { type ControlServer, startControlServer } from "../src/tunnel/stat.ts";
import { openTouEndpoint } from "../src/tunnel/tou_endpoint.ts";
import type { EndpointFactory } from "../src/tunnel/transport.ts";
import { serveUntilSignal, ShutdownSignals } from "../src/tunnel/shutdown.ts";
import type { LoadedKey } from "../src/tunnel/key_file.ts";
import type { HostPort } from "../src/tunnel/address.ts";
import {
  type CliContext,
  type ConfigFlags,
  configFromFlags,
  EXIT_OK,
  Interrupted,
  keyFromConfig,
  makeLogger,
  warnIfKeyFileOpen,
  warnIfPlaintext,
} from "./_common.ts";

/**
 * Runs a server or client until SIGINT/SIGTERM (or the context's trigger).
 *
 * @param ctx CLI context.
 * @param role Which one.
 * @param flags Parsed flags by config key.
 */
export async function runDaemon(
  ctx: CliContext,
  role: "server" | "client",
  flags: ConfigFlags,
  worker?: WorkerHooks,
): Promise<void> {
  // Catch SIGINT/SIGTERM from now on: one arriving while we start still drains cleanly.
  const signals = new ShutdownSignals();
  try {
    await run(ctx, role, flags, signals, worker);
  } finally {
    signals.dispose();
  }
}

/** What one worker process of `tou server --workers` adds to a server run. */
export interface WorkerHooks {
  /** The worker's index, 0 to N-1 (a `worker` field on every log line). */
  readonly index: number;
  /** Called once the server and its control endpoint are up. */
  onReady(info: { readonly udp: HostPort; readonly control?: HostPort }): void;
  /** Registers what to call when the parent asks to reset every session now. */
  onReset(fn: () => void): void;
  /** Resolves when the parent asks to drain (or is gone); the reason is logged. */
  readonly stop: Promise<string>;
}

interface Loaded {
  readonly settings: ServerSettings | ClientSettings;
  readonly key: LoadedKey;
}

async function load(
  ctx: CliContext,
  role: "server" | "client",
  flags: ConfigFlags,
): Promise<Loaded> {
  const cfg = await configFromFlags(flags);
  const settings: ServerSettings | ClientSettings = role === "server"
    ? resolveServerSettings(cfg)
    : resolveClientSettings(cfg);
  const key = await keyFromConfig(settings, ctx.io);
  return { settings, key };
}

async function run(
  ctx: CliContext,
  role: "server" | "client",
  flags: ConfigFlags,
  signals: ShutdownSignals,
  worker: WorkerHooks | undefined,
): Promise<void> {
  const { pcap, ...configFlags } = flags;
  // A worker drains on its own SIGINT/SIGTERM (a terminal's Ctrl-C reaches the whole group) or
  // when its parent says so; a repeat of either resets every session.
  const trigger = worker
    ? Promise.race([worker.stop, signals.requested])
    : ctx.shutdownTrigger ?? signals.requested;
  // Config and key files are read under the signals: SIGINT/SIGTERM stop a slow or stuck read.
  const loading = load(ctx, role, configFlags);
  const first = await Promise.race([loading, trigger.then((sig) => ({ sig }))]);
  if ("sig" in first) {
    loading.then((l) => l.key.key?.fill(0), () => {});
    throw new Interrupted(`${first.sig} while reading the configuration and key: not started`);
  }
  const { settings, key } = first;
  const log = makeLogger(ctx, {
    level: settings.logLevel,
    format: settings.logFormat,
    role,
    ...(worker ? { worker: worker.index } : {}),
  });
  warnIfPlaintext(log, key);
  warnIfKeyFileOpen(log, key, settings.keyFile);
  const service = role === "server"
    ? await TunnelServer.start({
      ...(settings as ServerSettings),
      key: key.key,
      tcp: settings.tcp,
      logger: log,
      openEndpoint: pcapEndpoint(pcap),
      announce: false,
      ...(worker ? { udpReusePort: true } : {}),
    })
    : await TunnelClient.start({
      ...(settings as ClientSettings),
      key: key.key,
      tcp: settings.tcp,
      logger: log,
      openEndpoint: pcapEndpoint(pcap),
      announce: false,
    });
  let control: ControlServer | undefined;
  try {
    control = await startControls(settings, service, role, log);
  } catch (e) {
    await service.close({ drainTimeoutMs: 0 });
    throw e;
  }
  // Only now: a failing --control must not be preceded by "listening".
  service.announce();
  if (worker) {
    worker.onReset(() => service.relay.resetAll("reset by the parent"));
    worker.onReady({ udp: service.addr, control: control?.addr });
  }
  await serveUntilSignal(service, {
    drainTimeoutMs: settings.drainTimeoutMs,
    logger: log,
    trigger,
    signals,
    onClosed: () => control?.close(),
  });
  log.info("stopped");
  ctx.exitCode = EXIT_OK;
}

function startControls(
  settings: CommonSettings,
  service: TunnelServer | TunnelClient,
  role: "server" | "client",
  log: ReturnType<typeof makeLogger>,
): Promise<ControlServer | undefined> {
  if (settings.control === undefined) return Promise.resolve(undefined);
  return startControlServer(settings.control, {
    role,
    relay: service.relay,
    endpoint: service.endpoint,
  }, log);
}

/** With `--pcap FILE`: an endpoint factory that captures every segment to FILE. */
function pcapEndpoint(pcap: unknown): EndpointFactory | undefined {
  if (pcap === undefined) return undefined;
  return (o) => openTouEndpoint({ ...o, pcap: String(pcap) });
}
