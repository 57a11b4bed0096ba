/** Helpers for the in-process tunnel tests: TCP services, a server/client pair, byte helpers. */

import { TunnelClient } from "../../src/tunnel/client.ts";
import { TunnelServer } from "../../src/tunnel/server.ts";
import { Logger } from "../../src/tunnel/log.ts";
import type { ForwardSpec, LocalSpec } from "../../src/tunnel/address.ts";
import { copyStream } from "../../src/tunnel/pipe.ts";
import { type ControlServer, startControlServer } from "../../src/tunnel/stat.ts";

/**
 * A kernel TCP service on loopback that runs `handle` for each connection.
 * `close()` rethrows the first error a handler threw (e.g. a failed assert).
 */
export function tcpService(
  handle: (c: Deno.TcpConn) => Promise<void>,
): { port: number; conns: Deno.TcpConn[]; close(): Promise<void> } {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.TcpConn[] = [];
  const tasks: Promise<void>[] = [];
  const errors: unknown[] = [];
  const loop = (async () => {
    try {
      for await (const c of ln) {
        conns.push(c);
        tasks.push(
          handle(c).catch((e) => {
            errors.push(e);
          }),
        );
      }
    } catch { /* closed */ }
  })();
  return {
    port: ln.addr.port,
    conns,
    close: async () => {
      ln.close();
      await loop;
      await Promise.all(tasks);
      if (errors.length > 0) throw errors[0];
    },
  };
}

/** An echo service: copies each connection back to itself, half-close included. */
export function echoService(): ReturnType<typeof tcpService> {
  return tcpService(async (c) => {
    await copyStream(c, c);
    try {
      c.close();
    } catch { /* closed */ }
  });
}

/** Log lines captured from a logger. */
export interface Captured {
  readonly lines: string[];
  readonly logger: Logger;
}

/** A debug logger that keeps its lines. */
export function captureLog(): Captured {
  const lines: string[] = [];
  return { lines, logger: new Logger({ level: "debug", sink: (l) => lines.push(l) }) };
}

/** A tunnel server and client on loopback. */
export interface Pair {
  readonly server: TunnelServer;
  readonly client: TunnelClient;
  readonly serverLog: Captured;
  readonly clientLog: Captured;
  /** The client's local TCP port for its i-th local spec. */
  localPort(i?: number): number;
  /** Closes both (drain 0 unless given). */
  close(drainTimeoutMs?: number): Promise<void>;
}

/** Starts a server with `forwards` and a client with locals for `tunnelPorts`. */
export async function startPair(opts: {
  readonly forwards: readonly ForwardSpec[];
  readonly tunnelPorts: readonly number[];
  readonly serverKey?: Uint8Array;
  readonly clientKey?: Uint8Array;
  readonly clientTcp?: Record<string, unknown>;
  readonly firstBytesWaitMs?: number;
  /** The client multiplexes its connections over one tunnel connection. */
  readonly mux?: boolean;
}): Promise<Pair> {
  const serverLog = captureLog();
  const clientLog = captureLog();
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: opts.forwards,
    key: opts.serverKey,
    logger: serverLog.logger,
  });
  const locals: LocalSpec[] = opts.tunnelPorts.map((p) => ({
    listen: { hostname: "127.0.0.1", port: 0 },
    tunnelPort: p,
  }));
  const client = await TunnelClient.start({
    server: { hostname: "127.0.0.1", port: server.addr.port },
    locals,
    key: opts.clientKey,
    tcp: opts.clientTcp,
    firstBytesWaitMs: opts.firstBytesWaitMs,
    mux: opts.mux,
    logger: clientLog.logger,
  });
  return {
    server,
    client,
    serverLog,
    clientLog,
    localPort: (i = 0) => client.listeners[i].addr.port,
    close: async (drainTimeoutMs = 0) => {
      await client.close({ drainTimeoutMs });
      await server.close({ drainTimeoutMs });
    },
  };
}

/** Deterministic bytes from a seed (LCG). */
export function pattern(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Reads to EOF. */
export async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** What a read ends with: "eof", "data N" or the error's name. */
export async function readOutcome(conn: Deno.Conn): Promise<string> {
  try {
    const n = await conn.read(new Uint8Array(65536));
    return n === null ? "eof" : `data ${n}`;
  } catch (e) {
    return (e as Error).name;
  }
}

/** Polls `cond` every millisecond until it holds; rejects after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Rejects if `p` takes longer than `ms`. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects to a loopback port. */
export function connectLocal(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** An echo service, a pair forwarding tunnel port 7 to it, and the server's control endpoint. */
export interface ControlledPair {
  readonly echo: ReturnType<typeof echoService>;
  readonly pair: Pair;
  readonly control: ControlServer;
  /** Closes the control endpoint, the pair and the echo service. */
  close(): Promise<void>;
}

/** Starts a {@linkcode ControlledPair} (the stat and dashboard tests' set-up). */
export async function startControlledPair(): Promise<ControlledPair> {
  const echo = echoService();
  const pair = await startPair({
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: echo.port } }],
    tunnelPorts: [7],
  });
  const control = await startControlServer({ hostname: "127.0.0.1", port: 0 }, {
    role: "server",
    relay: pair.server.relay,
    endpoint: pair.server.endpoint,
  });
  return {
    echo,
    pair,
    control,
    async close() {
      await control.close();
      await pair.close();
      await echo.close();
    },
  };
}
