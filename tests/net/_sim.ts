/**
 * A deterministic world for public-API tests: two {@linkcode Endpoint}s on
 * a simulated network with a virtual clock (the same `Endpoint`, `TouConn`
 * and `Stack` code as over real UDP, via `createEndpoint`). `drive()` runs
 * virtual time and the promise jobs in between, and fails instead of
 * hanging; every TCP segment is in `segments()` in tcpdump form.
 *
 * @module
 */

import { createEndpoint, type Endpoint } from "../../src/net/endpoint.ts";
import type { TouOptions } from "../../src/net/option_specs.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import type { LinkConfig } from "../../src/sim/link.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { describeDatagram } from "../../src/stack/trace.ts";
import { NEVER } from "../../src/time.ts";

/** Host names of the two endpoints. */
export const CLIENT_HOST = "10.0.0.1";
/** The server endpoint's host; it binds UDP port 9000. */
export const SERVER_HOST = "10.0.0.2";
/** The server endpoint's UDP port. */
export const SERVER_PORT = 9000;

/** Options of {@linkcode simWorld}. */
export interface SimWorldOptions {
  /** Seed of the clock and the links. Default 1. */
  seed?: number;
  /** Both directions of the path. Default: 5 ms delay, no impairment. */
  link?: LinkConfig;
  /** Tunables of both endpoints. */
  options?: TouOptions;
  /** Tunables of the client endpoint only (override `options`). */
  clientOptions?: TouOptions;
  /** Tunables of the server endpoint only (override `options`). */
  serverOptions?: TouOptions;
}

/** Two endpoints over a simulated path. */
export interface SimWorld {
  clock: VirtualClock;
  net: SimNetwork;
  client: Endpoint;
  server: Endpoint;
  /** Every segment sent so far, "from> text" with from = "c" (client) or "s" (server). */
  segments(): string[];
  /** The same with the virtual send time of each. */
  timedSegments(): { time: number; text: string }[];
  /** Runs virtual time until `cond` holds; see {@linkcode drive}. */
  drive(cond: () => boolean, what: string, maxMs?: number): Promise<void>;
  /** Runs `ms` of virtual time (events and promise jobs), idle or not. */
  run(ms: number): Promise<void>;
  /** Runs virtual time until `p` settles and returns its value (or throws its reason). */
  until<T>(p: Promise<T>, what: string, maxMs?: number): Promise<T>;
  /** Closes both endpoints at once. */
  close(): Promise<void>;
}

/** Lets every queued promise job run (the API layer chains a few of them per event). */
export async function flushJobs(): Promise<void> {
  for (let i = 0; i < 32; i++) await Promise.resolve();
}

/**
 * Alternates promise jobs and clock events until `cond()` holds. Throws
 * (naming `what` and the seed) when the clock goes idle first or more than
 * `maxMs` of virtual time pass.
 */
export async function drive(
  clock: VirtualClock,
  cond: () => boolean,
  what: string,
  maxMs = 600_000,
  seed = 1,
): Promise<void> {
  const end = clock.now() + maxMs;
  for (let steps = 0;; steps++) {
    await flushJobs();
    if (cond()) return;
    const next = clock.nextDeadline();
    if (next === NEVER) {
      throw new Error(`${what}: the simulation went idle at ${clock.now()} ms (seed ${seed})`);
    }
    if (next > end || steps > 2_000_000) {
      throw new Error(`${what}: not done after ${maxMs} virtual ms (seed ${seed})`);
    }
    clock.step();
  }
}

/**
 * Builds the world: client at {@linkcode CLIENT_HOST} (ephemeral UDP port),
 * server at {@linkcode SERVER_HOST}:{@linkcode SERVER_PORT}.
 */
export function simWorld(opts: SimWorldOptions = {}): SimWorld {
  const seed = opts.seed ?? 1;
  const clock = new VirtualClock({ seed });
  const net = new SimNetwork(clock, {
    seed,
    describe: describeDatagram,
    trace: { capacity: Infinity },
  });
  net.setPath(CLIENT_HOST, SERVER_HOST, opts.link ?? { delay: 5 });
  const client = createEndpoint(net.bind({ hostname: CLIENT_HOST, port: 0 }), clock, {
    ...opts.options,
    ...opts.clientOptions,
  });
  const server = createEndpoint(net.bind({ hostname: SERVER_HOST, port: SERVER_PORT }), clock, {
    ...opts.options,
    ...opts.serverOptions,
  });
  const world: SimWorld = {
    clock,
    net,
    client,
    server,
    segments() {
      return world.timedSegments().map((r) => r.text);
    },
    timedSegments() {
      return net.trace.records().filter((r) => r.kind === "send").map((r) => ({
        time: r.time,
        text: `${r.from.hostname === CLIENT_HOST ? "c" : "s"}> ${r.info}`,
      }));
    },
    drive: (cond, what, maxMs) => drive(clock, cond, what, maxMs, seed),
    async run(ms) {
      const end = clock.now() + ms;
      for (;;) {
        await flushJobs();
        const next = clock.nextDeadline();
        if (next > end) break;
        clock.step();
      }
      clock.advanceTo(end);
      await flushJobs();
    },
    async until<T>(p: Promise<T>, what: string, maxMs?: number): Promise<T> {
      let done = false;
      const watched = p.finally(() => done = true);
      watched.catch(() => {}); // observed below
      await drive(clock, () => done, what, maxMs, seed);
      return await watched;
    },
    async close() {
      client.close();
      server.close();
      await flushJobs();
      await Promise.all([client.closed, server.closed]);
    },
  };
  return world;
}
