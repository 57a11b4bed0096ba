/**
 * The two transports every compatibility test runs on: kernel TCP
 * (`Deno.listen`/`Deno.connect`) and tou (a listener on one endpoint, the
 * clients on another). A scenario written against {@linkcode Transport}
 * runs unchanged on both, so the tests can demand identical results.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Endpoint, openEndpoint } from "../../mod.ts";
import { recordUnhandled } from "./_unhandled.ts";

const LO = "127.0.0.1";

/** A listening socket of either transport. */
export interface CompatListener extends AsyncIterable<Deno.TcpConn> {
  /** Accepts the next connection. */
  accept(): Promise<Deno.TcpConn>;
  /** Stops listening. */
  close(): void;
}

/** Kernel TCP or tou, behind one small interface. */
export interface Transport {
  /** "kernel" or "tou", for test names and messages. */
  readonly name: "kernel" | "tou";
  /** Listens on a fresh port of loopback. */
  listen(): Promise<CompatListener>;
  /** Connects to the most recent listener. */
  connect(): Promise<Deno.TcpConn>;
  /** A connected pair, client first. */
  pair(): Promise<[Deno.TcpConn, Deno.TcpConn]>;
  /** Releases everything (sockets, endpoints). */
  close(): Promise<void>;
}

/** Kernel TCP over loopback. */
export function kernelTransport(): Transport {
  let port = 0;
  const listeners: Deno.Listener[] = [];
  let shared: Deno.TcpListener | undefined;
  const t: Transport = {
    name: "kernel",
    listen() {
      const l = Deno.listen({ hostname: LO, port: 0 });
      listeners.push(l);
      port = l.addr.port;
      return Promise.resolve(wrapListener(l));
    },
    connect: () => Deno.connect({ hostname: LO, port }),
    async pair() {
      if (shared === undefined) {
        shared = Deno.listen({ hostname: LO, port: 0 });
        listeners.push(shared);
      }
      const c = await Deno.connect({ hostname: LO, port: shared.addr.port });
      return [c, await shared.accept()];
    },
    close() {
      for (const l of listeners) {
        try {
          l.close();
        } catch {
          // already closed
        }
      }
      return Promise.resolve();
    },
  };
  return t;
}

/** tou over loopback: a server endpoint for listeners, a client endpoint for connects. */
export async function touTransport(): Promise<Transport> {
  const server: Endpoint = await openEndpoint({ hostname: LO });
  const client: Endpoint = await openEndpoint({ hostname: LO });
  let tcpPort = 1000;
  let current = 0;
  let shared: CompatListener | undefined;
  const sharedPort = 999;
  return {
    name: "tou",
    listen() {
      current = ++tcpPort;
      return Promise.resolve(wrapListener(server.listen({ tcpPort: current })));
    },
    connect: () => client.connect({ hostname: LO, port: server.addr.port, tcpPort: current }),
    async pair() {
      shared ??= wrapListener(server.listen({ tcpPort: sharedPort }));
      const c = await client.connect({ hostname: LO, port: server.addr.port, tcpPort: sharedPort });
      return [c, await shared.accept()];
    },
    async close() {
      client.close();
      server.close();
      await Promise.all([client.closed, server.closed]);
    },
  };
}

function wrapListener(l: Deno.Listener<Deno.TcpConn>): CompatListener {
  return {
    accept: () => l.accept(),
    close: () => {
      try {
        l.close();
      } catch {
        // already closed
      }
    },
    [Symbol.asyncIterator]: () => l[Symbol.asyncIterator](),
  };
}

/** Both transports' factories, for `for (const make of TRANSPORTS)` loops. */
export const TRANSPORTS: readonly (() => Promise<Transport> | Transport)[] = [
  kernelTransport,
  touTransport,
];

/**
 * Runs `fn` on a fresh transport and releases it afterwards.
 *
 * @param make Transport factory.
 * @param fn The scenario.
 * @returns What `fn` returned.
 */
export async function onTransport<T>(
  make: () => Promise<Transport> | Transport,
  fn: (t: Transport) => Promise<T>,
): Promise<T> {
  const t = await make();
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

/**
 * Rejects with a message naming `what` when `p` takes longer than `ms`.
 *
 * @param p The promise.
 * @param ms Deadline in ms.
 * @param what For the message.
 * @returns `p`'s value.
 */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
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

/**
 * Runs `scenarios` on kernel TCP and then on tou, each on a fresh transport
 * and within `ms`, and asserts that tou's results equal the kernel's and that
 * neither run left an unhandled promise rejection.
 *
 * @param scenarios The scenarios, written against {@linkcode Transport}.
 * @param ms Deadline for each transport's run.
 * @returns The kernel's results (equal to tou's), for the test's own expectations.
 */
export async function sameOnKernelAndTou<T>(
  scenarios: (t: Transport) => Promise<T>,
  ms: number,
): Promise<T> {
  const rec = recordUnhandled();
  try {
    const kernel = await onTransport(kernelTransport, (t) => within(scenarios(t), ms, "kernel"));
    const tou = await onTransport(touTransport, (t) => within(scenarios(t), ms, "tou"));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(rec.seen, []);
    assert.deepEqual(tou, kernel);
    return kernel;
  } finally {
    rec.stop();
  }
}
