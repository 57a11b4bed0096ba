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

/**
 * Catches SIGINT/SIGTERM from the moment it is created (so a signal that
 * arrives while the service is still starting is not lost and does not
 * kill the process): the first resolves {@linkcode ShutdownSignals.requested},
 * later ones call the `onRepeat` callbacks.
 *
 * @example
 * ```ts ignore
 * const signals = new ShutdownSignals();
 * const why = await signals.requested; // "SIGTERM"
 * signals.dispose();
 * ```
 */
export class ShutdownSignals {
  /** Resolves with the name of the first signal. */
  readonly requested: Promise<string>;
  #count = 0;
  #resolve: (sig: string) => void;
  #repeat: ((sig: string) => void)[] = [];
  #listeners: [Deno.Signal, () => void][] = [];

  /**
   * Starts catching the signals.
   *
   * @param signals Which signals to catch; default {@linkcode SHUTDOWN_SIGNALS}.
   */
  constructor(signals: readonly Deno.Signal[] = SHUTDOWN_SIGNALS) {
    const { promise, resolve } = Promise.withResolvers<string>();
    this.requested = promise;
    this.#resolve = resolve;
    for (const sig of signals) {
      const fn = () => {
        this.#count++;
        if (this.#count === 1) this.#resolve(sig);
        else for (const f of this.#repeat) f(sig);
      };
      try {
        Deno.addSignalListener(sig, fn);
        this.#listeners.push([sig, fn]);
      } catch {
        // Signals unsupported here.
      }
    }
  }

  /** Calls `fn` for every signal after the first. */
  onRepeat(fn: (sig: string) => void): void {
    this.#repeat.push(fn);
  }

  /** Removes the signal listeners. Idempotent. */
  dispose(): void {
    for (const [sig, fn] of this.#listeners) {
      try {
        Deno.removeSignalListener(sig, fn);
      } catch {
        // already removed
      }
    }
    this.#listeners = [];
  }
}

/** Options of {@linkcode serveUntilSignal}. */
export interface ServeUntilSignalOptions {
  /** How long open streams may drain. */
  readonly drainTimeoutMs: number;
  /** Where progress is logged. */
  readonly logger: Logger;
  /** Resolves to the reason to shut down (a signal name). */
  readonly trigger: Promise<string>;
  /** Where later signals are reported, to reset everything at once. */
  readonly signals?: ShutdownSignals;
  /** Called after the drain, before returning (e.g. to stop the control endpoint). */
  readonly onClosed?: () => Promise<void> | void;
}

/**
 * Waits for the trigger, then drains `service`.
 *
 * @param service The running server or client.
 * @param opts Drain timeout, logger, trigger.
 * @returns What happened to the sessions open at the signal.
 */
export async function serveUntilSignal(
  service: Drainable,
  opts: ServeUntilSignalOptions,
): Promise<DrainResult> {
  opts.signals?.onRepeat((sig) => {
    opts.logger.warn(`${sig} again: resetting every open session now`);
    service.relay.resetAll(`${sig} during drain`);
  });
  const why = await opts.trigger;
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
}
