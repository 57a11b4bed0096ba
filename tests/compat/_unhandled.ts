/**
 * Records unhandled promise rejections while a test runs, so it can assert
 * that there were none (a Deno program dies of the first one by default).
 *
 * @module
 */

/** A recorder started by {@linkcode recordUnhandled}. */
export interface UnhandledRecorder {
  /** The rejections seen so far, as "Name: message". */
  readonly seen: string[];
  /** Stops recording. */
  stop(): void;
}

/**
 * Installs an `unhandledrejection` listener that prevents the default
 * (exit) and records each reason.
 *
 * @returns The recorder.
 */
export function recordUnhandled(): UnhandledRecorder {
  const seen: string[] = [];
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    const r = e.reason;
    seen.push(r instanceof Error ? `${r.name}: ${r.message}\n${r.stack ?? ""}` : String(r));
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  return {
    seen,
    stop: () => globalThis.removeEventListener("unhandledrejection", onRejection),
  };
}
