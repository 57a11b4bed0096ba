/**
 * A {@linkcode DatagramSocket} decorator that keeps its user's push handler
 * back until {@linkcode HeldSocket.release}: until then nothing is read, and
 * what arrives waits in the socket's kernel buffer (or the inner socket's
 * queue). A server uses it to open its listeners before the first datagram
 * is handled, so a SYN that arrives while it starts is not reset for a port
 * without a listener.
 *
 * @module
 */

import type { DatagramErrorHandler, DatagramHandler } from "./datagram_socket.ts";
import { ForwardingSocket } from "./forwarding_socket.ts";

/**
 * Holds `setHandler` until `release()`; everything else is forwarded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HeldSocket } from "./held_socket.ts";
 * import type { DatagramSocket } from "./datagram_socket.ts";
 * let installed = false;
 * const inner = { setHandler() { installed = true; } } as unknown as DatagramSocket;
 * const s = new HeldSocket(inner);
 * s.setHandler(() => {});
 * assert.equal(installed, false);
 * s.release();
 * assert.equal(installed, true);
 * ```
 */
export class HeldSocket extends ForwardingSocket {
  #held: [DatagramHandler, DatagramErrorHandler | undefined] | undefined;
  #released = false;

  /** Keeps the handler until {@linkcode HeldSocket.release} (installs it at once after). */
  override setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    if (this.#released) super.setHandler(onDatagram, onError);
    else this.#held = [onDatagram, onError];
  }

  /** True once {@linkcode HeldSocket.release} ran. */
  get released(): boolean {
    return this.#released;
  }

  /** Installs the held handler on the inner socket: reading starts. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const h = this.#held;
    this.#held = undefined;
    if (h !== undefined) super.setHandler(h[0], h[1]);
  }
}
