/**
 * A real `tou server` and `tou tunnel client` process pair on loopback for
 * end-to-end tests: ephemeral ports read from their JSON logs, both killed
 * by PID when the test ends.
 */

import { TouProcess } from "./_process.ts";

/** The key both processes use unless a test says otherwise (hex, 32 bytes). */
export const KEY_A = "6b0d3f0a9b1c2e4d5f60718293a4b5c6d7e8f90112233445566778899aabbccd";
/** A different key. */
export const KEY_B = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

/** A running pair. */
export interface Tunnel {
  readonly server: TouProcess;
  readonly client: TouProcess;
  /** The client's local TCP port of its i-th `--local` (in the order given). */
  localPort(i?: number): number;
  /** The server's control port. */
  readonly serverControl: number;
  /** The client's control port. */
  readonly clientControl: number;
  /** Kills both by PID (SIGKILL) and waits for them. Safe after they exited. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startTunnel}. */
export interface TunnelOptions {
  /** `--forward` specs of the server; default `80=127.0.0.1:<targetPort>`. */
  readonly forwards?: readonly string[];
  /** The target of the default forward. */
  readonly targetPort?: number;
  /** Tunnel ports of the client's `--local 127.0.0.1:0=PORT` listeners; default [80]. */
  readonly tunnelPorts?: readonly number[];
  readonly serverArgs?: readonly string[];
  readonly clientArgs?: readonly string[];
  readonly serverEnv?: Record<string, string>;
  readonly clientEnv?: Record<string, string>;
}

/**
 * Starts `tou server` (UDP and control on ephemeral loopback ports), then
 * `tou tunnel client` pointed at it (control on an ephemeral port too).
 */
export async function startTunnel(opts: TunnelOptions): Promise<Tunnel> {
  const forwards = opts.forwards ?? [`80=127.0.0.1:${opts.targetPort}`];
  const tunnelPorts = opts.tunnelPorts ?? [80];
  const server = new TouProcess([
    "server",
    "--listen",
    "127.0.0.1:0",
    ...forwards.flatMap((f) => ["--forward", f]),
    "--control",
    "127.0.0.1:0",
    ...(opts.serverArgs ?? []),
  ], opts.serverEnv ?? { TOU_KEY: KEY_A });
  let client: TouProcess | undefined;
  try {
    const udp = await server.port("server listening", "udp");
    const serverControl = await server.port("control endpoint listening", "http");
    client = new TouProcess([
      "tunnel",
      "client",
      "--server",
      `127.0.0.1:${udp}`,
      ...tunnelPorts.flatMap((p) => ["--local", `127.0.0.1:0=${p}`]),
      "--control",
      "127.0.0.1:0",
      ...(opts.clientArgs ?? []),
    ], opts.clientEnv ?? { TOU_KEY: KEY_A });
    const c = client;
    const clientControl = await c.port("control endpoint listening", "http");
    // One "client listening" record per --local, in order (a port may repeat: index them).
    await c.waitFor(
      () => c.records.filter((r) => r.msg === "client listening").length >= tunnelPorts.length,
      "client listening",
    );
    const locals = c.records.filter((r) => r.msg === "client listening").map((r) => {
      const v = String(r.tcp);
      return Number(v.slice(v.lastIndexOf(":") + 1));
    });
    return {
      server,
      client: c,
      localPort: (i = 0) => locals[i],
      serverControl,
      clientControl,
      stop: async () => {
        c.signal("SIGKILL");
        server.signal("SIGKILL");
        await Promise.all([c.stop(), server.stop()]);
      },
    };
  } catch (e) {
    client?.signal("SIGKILL");
    server.signal("SIGKILL");
    await Promise.all([client?.stop(), server.stop()]);
    throw e;
  }
}
