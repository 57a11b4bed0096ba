/**
 * One worker process of `tou server --workers N` (started by `_workers.ts`,
 * never by hand): reads its flags from the first line of stdin, runs a
 * whole tunnel server on the shared UDP port (SO_REUSEPORT), prints one
 * ready line on stdout, and drains on `drain` from stdin, on the end of
 * stdin (the parent is gone) or on its own SIGINT/SIGTERM. The protocol is
 * described in src/tunnel/worker_pool.ts.
 *
 * @module
 */

import { forEachLine, READY_PREFIX, type WorkerInit } from "../src/tunnel/worker_pool.ts";
import {
  type CliContext,
  denoIo,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  isUsageError,
} from "./_common.ts";
import { runDaemon } from "./_daemon.ts";

/**
 * Runs the worker until its parent (or a signal) stops it.
 *
 * @returns The exit status.
 */
export async function workerMain(): Promise<number> {
  const ctx: CliContext = { io: denoIo(), exitCode: EXIT_OK };
  const { promise: init, resolve: gotInit } = Promise.withResolvers<WorkerInit | undefined>();
  const { promise: stop, resolve: stopNow } = Promise.withResolvers<string>();
  let reset = () => {};
  let first = true;
  forEachLine(Deno.stdin.readable, (line) => {
    if (first) {
      first = false;
      gotInit(JSON.parse(line) as WorkerInit);
    } else if (line.startsWith("drain")) {
      stopNow(line.slice(6) || "drain");
    } else if (line === "reset") {
      reset();
    }
  }).then(() => {
    gotInit(undefined);
    stopNow("parent gone");
  });
  const w = await init;
  if (w === undefined) {
    ctx.io.stderr("tou: a worker of `tou server --workers` is started by its parent only\n");
    return EXIT_USAGE;
  }
  try {
    await runDaemon(ctx, "server", w.flags, {
      index: w.index,
      stop,
      onReset: (fn) => reset = fn,
      onReady: (r) => {
        ctx.io.stdout(`${READY_PREFIX}${JSON.stringify({ udp: r.udp, control: r.control })}\n`);
      },
    });
    return ctx.exitCode;
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    ctx.io.stderr(`tou: worker ${w.index}: ${message}\n`);
    return isUsageError(e) ? EXIT_USAGE : EXIT_FAILURE;
  }
}

if (import.meta.main) {
  Deno.exit(await workerMain());
}
