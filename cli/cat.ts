/**
 * `tou cat`: netcat over the tunnel.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { AddressError, type HostPort, parseHostPort, parsePort } from "../src/tunnel/address.ts";
import { ConfigError, tcpOptionsOf } from "../src/tunnel/config.ts";
import { runCat } from "../src/tunnel/cat.ts";
import { openTouEndpoint } from "../src/tunnel/tou_endpoint.ts";
import { describeConnectError, describeError } from "../src/tunnel/errors.ts";
import {
  type CliContext,
  configFromFlags,
  configureCommand,
  EXIT_FAILURE,
  EXIT_OK,
  keyFromConfig,
  makeLogger,
  numberOrText,
  OPTION_HELP,
  warnIfKeyFileOpen,
  warnIfPlaintext,
} from "./_common.ts";

/**
 * Builds the `cat` command.
 *
 * @param ctx CLI context.
 * @returns The command.
 */
export function catCommand(ctx: CliContext): Command<[], Record<string, unknown>> {
  const cmd = new Command("cat")
    .summary("netcat over the tunnel: stdin/stdout over one tunnel connection")
    .description(
      "Connect stdin and stdout to one tunnel connection, like netcat. EOF on stdin half-closes " +
        "the connection; output keeps coming until the peer closes. TUNNELPORT defaults to the " +
        "UDP port number.",
    )
    .usage(
      "[options] HOST:PORT [TUNNELPORT]\n       tou cat [options] --listen [HOST:]PORT [TUNNELPORT]",
    )
    .argument("[target]", "the tou endpoint to connect to, host:port")
    .argument("[port]", "the tunnel (TCP) port to connect to or listen on")
    .option("--listen <addr>", "listen on this UDP address instead and accept one connection")
    .option("--key-file <path>", OPTION_HELP.keyFile)
    .option("--allow-readable-key-file", OPTION_HELP.allowReadableKeyFile)
    .option("--plaintext", OPTION_HELP.plaintext)
    .option("--cipher <name>", OPTION_HELP.cipher)
    .option("--config <file>", OPTION_HELP.config)
    .option("--congestion <name>", OPTION_HELP.congestion)
    .option("--keepalive <seconds>", OPTION_HELP.keepalive, numberOrText)
    .option("--user-timeout <seconds>", OPTION_HELP.userTimeout, numberOrText)
    .option("--connect-timeout <seconds>", OPTION_HELP.connectTimeout, numberOrText)
    .option(
      "--log-level <level>",
      "least severe log level: debug, info, warn, error (default: warn)",
    )
    .option("--log-format <format>", OPTION_HELP.logFormat)
    .option("--pcap <file>", OPTION_HELP.pcap)
    .addHelpText(
      "after",
      `
Examples:
  tou cat --listen 7000 > received.bin          # on one host
  tou cat 203.0.113.5:7000 < file.bin           # on the other
  tou cat 203.0.113.5:7000 22                   # talk to the ssh service of a tou server

Exit status: 0 success, 1 runtime failure (refused, reset), 2 usage error.`,
    )
    .action(async (target, port, opts) => {
      const cfg = await configFromFlags({
        config: opts.config,
        keyFile: opts.keyFile,
        allowReadableKeyFile: opts.allowReadableKeyFile,
        plaintext: opts.plaintext,
        keepalive: opts.keepalive,
        userTimeout: opts.userTimeout,
        connectTimeout: opts.connectTimeout,
        logLevel: opts.logLevel,
        logFormat: opts.logFormat,
        listen: opts.listen,
        congestion: opts.congestion,
        cipher: opts.cipher,
      });
      let connect: { server: { hostname: string; port: number }; tunnelPort: number } | undefined;
      let listen: { addr: { hostname: string; port: number }; tunnelPort?: number } | undefined;
      if (opts.listen !== undefined) {
        if (port !== undefined) {
          throw new ConfigError(
            `too many arguments: with --listen give only TUNNELPORT, got ${target} ${port}`,
          );
        }
        listen = {
          addr: parseHostPort(opts.listen, { defaultHost: "0.0.0.0", allowZeroPort: true }),
          tunnelPort: target === undefined ? undefined : tunnelPortArg(target),
        };
      } else {
        if (target === undefined) {
          throw new ConfigError("missing HOST:PORT to connect to (or --listen to wait for one)");
        }
        const server = hostPortArg(target);
        connect = { server, tunnelPort: port === undefined ? server.port : tunnelPortArg(port) };
      }
      const key = await keyFromConfig(cfg, ctx.io);
      const log = makeLogger(ctx, {
        level: cfg.logLevel ?? "warn",
        format: cfg.logFormat ?? "text",
      });
      warnIfPlaintext(log, key);
      warnIfKeyFileOpen(log, key, cfg.keyFile);
      let result;
      try {
        result = await runCat({
          connect,
          listen,
          input: ctx.io.stdin,
          output: ctx.io.stdoutBytes,
          key: key.key,
          cipher: cfg.cipher,
          tcp: tcpOptionsOf(cfg),
          keepAliveMs: seconds(cfg.keepalive),
          userTimeoutMs: seconds(cfg.userTimeout),
          connectTimeoutMs: seconds(cfg.connectTimeout),
          logger: log,
          openEndpoint: opts.pcap === undefined
            ? undefined
            : (o) => openTouEndpoint({ ...o, pcap: opts.pcap }),
        });
      } catch (e) {
        const where = connect
          ? `cannot connect to ${target} port ${connect.tunnelPort}`
          : `cannot listen on ${opts.listen}`;
        const why = connect ? describeConnectError(e, connect.tunnelPort) : describeError(e);
        ctx.io.stderr(`tou: ${where}: ${why}\n`);
        ctx.exitCode = EXIT_FAILURE;
        return;
      }
      if (result.outcome === "reset") {
        ctx.io.stderr(`tou: ${describeError(result.error)}\n`);
        ctx.exitCode = EXIT_FAILURE;
        return;
      }
      ctx.exitCode = EXIT_OK;
    });
  return configureCommand(cmd, ctx) as unknown as Command<[], Record<string, unknown>>;
}

/** The TUNNELPORT argument, or a usage error naming it. */
function tunnelPortArg(text: string): number {
  try {
    return parsePort(text);
  } catch (e) {
    if (e instanceof AddressError) throw new ConfigError(`TUNNELPORT: ${e.message}`);
    throw e;
  }
}

/** The HOST:PORT argument, or a usage error naming it. */
function hostPortArg(text: string): HostPort {
  try {
    return parseHostPort(text);
  } catch (e) {
    if (e instanceof AddressError) throw new ConfigError(`HOST:PORT: ${e.message}`);
    throw e;
  }
}

function seconds(s: number | undefined): number | undefined {
  return s === undefined ? undefined : Math.round(s * 1000);
}
