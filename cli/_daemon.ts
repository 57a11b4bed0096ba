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
): Promise<void> {
  // Catch SIGINT/SIGTERM from now on: one arriving while we start still drains cleanly.
  const signals = new ShutdownSignals();
  try {
    await run(ctx, role, flags, signals);
  } finally {
    signals.dispose();
  }
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
): Promise<void> {
  const { pcap, ...configFlags } = flags;
  const trigger = ctx.shutdownTrigger ?? signals.requested;
  // Config and key files are read under the signals: SIGINT/SIGTERM stop a slow or stuck read.
  const loading = load(ctx, role, configFlags);
  const first = await Promise.race([loading, trigger.then((sig) => ({ sig }))]);
  if ("sig" in first) {
    loading.then((l) => l.key.key?.fill(0), () => {});
    throw new Interrupted(`${first.sig} while reading the configuration and key: not started`);
  }
  const { settings, key } = first;
  const log = makeLogger(ctx, { level: settings.logLevel, format: settings.logFormat, role });
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
