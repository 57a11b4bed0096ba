/**
 * Graceful shutdown on SIGINT/SIGTERM: stop accepting, let open streams
 * drain up to a timeout, then reset what is left. A second signal while
 * draining resets everything at once.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import type { DrainResult } from "./relay.ts";

/** Something that can be shut down gracefully: a tunnel server or client. */
export interface Drainable {
  /** Stops accepting, drains for up to `drainTimeoutMs`, resets the rest, closes. */
  close(opts: { readonly drainTimeoutMs?: number }): Promise<DrainResult>;
  /** Its sessions, for the log line and the forced reset. */
  readonly relay: {
    sessions(): readonly unknown[];
    resetAll(reason: string): void;
  };
}

/** The signals that start a graceful shutdown. */
export const SHUTDOWN_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];

/** Options of {@linkcode serveUntilSignal}. */
export interface ServeUntilSignalOptions {
  /** How long open streams may drain. */
  readonly drainTimeoutMs: number;
  /** Where progress is logged. */
  readonly logger: Logger;
  /**
   * Resolves to the name of what asked for shutdown; default: the first of
   * {@linkcode SHUTDOWN_SIGNALS}. Tests pass their own trigger.
   */
  readonly trigger?: Promise<string>;
  /** Called after the drain, before returning (e.g. to stop the control endpoint). */
  readonly onClosed?: () => Promise<void> | void;
}

/**
 * Waits for a shutdown signal (or `opts.trigger`), then drains `service`.
 *
 * @param service The running server or client.
 * @param opts Drain timeout, logger, trigger.
 * @returns What happened to the sessions open at the signal.
 */
export async function serveUntilSignal(
  service: Drainable,
  opts: ServeUntilSignalOptions,
): Promise<DrainResult> {
  let count = 0;
  const { promise: signalled, resolve } = Promise.withResolvers<string>();
  const listeners: [Deno.Signal, () => void][] = [];
  for (const sig of SHUTDOWN_SIGNALS) {
    const fn = () => {
      count++;
      if (count === 1) {
        resolve(sig);
      } else {
        opts.logger.warn(`${sig} again: resetting every open session now`);
        service.relay.resetAll(`${sig} during drain`);
      }
    };
    try {
      Deno.addSignalListener(sig, fn);
      listeners.push([sig, fn]);
    } catch {
      // Signals unsupported here; the trigger still works.
    }
  }
  try {
    const why = await Promise.race([signalled, ...(opts.trigger ? [opts.trigger] : [])]);
    const open = service.relay.sessions().length;
    opts.logger.info(
      open === 0
        ? `${why}: shutting down`
        : `${why}: draining ${open} open session${open === 1 ? "" : "s"} for up to ${
          opts.drainTimeoutMs / 1000
        } s (send ${why} again to reset them now)`,
    );
    const result = await service.close({ drainTimeoutMs: opts.drainTimeoutMs });
    if (open > 0) {
      opts.logger.info("drained", { finished: result.finished, reset: result.reset });
    }
    await opts.onClosed?.();
    return result;
  } finally {
    for (const [sig, fn] of listeners) {
      try {
        Deno.removeSignalListener(sig, fn);
      } catch {
        // already removed
      }
    }
  }
}
