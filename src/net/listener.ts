/**
 * {@linkcode TouListener}: a listening TCP port of an endpoint, usable
 * wherever a `Deno.Listener` is (an async iterable of connections).
 *
 * @module
 */

import type { ListenerCounters, StackListener } from "../stack/stack_listener.ts";
import type { StackConnection } from "../stack/stack_connection.ts";
import type { TouAddr } from "./addr.ts";
import type { TouConn } from "./conn.ts";
import { ClosedError } from "./errors.ts";
import { formatTouAddr } from "./addr.ts";

/** Internal: what a listener needs from its endpoint. */
export interface ListenerHooks {
  /** Wraps an accepted stack connection. */
  wrap(sc: StackConnection): TouConn;
  /** The listener closed. */
  onClose(listener: TouListener): void;
}

let create: (sl: StackListener, addr: TouAddr, hooks: ListenerHooks) => TouListener;

/**
 * A listening TCP port inside a tou endpoint. Iterate it (or call
 * {@linkcode TouListener.accept}) to get established connections; the
 * handshake is done before a connection is handed out.
 *
 * `addr` is a `Deno.NetAddr` with transport "tcp": the UDP IP and the TCP
 * port. `ref()`/`unref()` do nothing (the endpoint's UDP socket keeps the
 * process alive until the endpoint closes).
 *
 * @example Accept in a loop
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint } from "./endpoint.ts";
 *
 * await using ep = await openEndpoint({ hostname: "127.0.0.1" });
 * using listener = ep.listen({ tcpPort: 80 });
 * const client = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port, tcpPort: 80 });
 * for await (const conn of listener) {
 *   assert.equal(conn.localAddr.port, 80);
 *   conn.close();
 *   break;
 * }
 * client.close();
 * ```
 */
export class TouListener implements Deno.Listener<TouConn, Deno.NetAddr> {
  static {
    create = (sl, addr, hooks) => new TouListener(sl, addr, hooks);
  }

  readonly #sl: StackListener;
  readonly #hooks: ListenerHooks;
  readonly #addr: Deno.NetAddr;
  readonly #touAddr: TouAddr;
  #waiters: { resolve(c: TouConn): void; reject(e: Error): void }[] = [];
  #closed = false;

  private constructor(sl: StackListener, addr: TouAddr, hooks: ListenerHooks) {
    this.#sl = sl;
    this.#hooks = hooks;
    this.#touAddr = addr;
    this.#addr = { transport: "tcp", hostname: addr.hostname, port: addr.tcpPort };
    sl.onAcceptable = () => this.#serve();
  }

  /** The listening address: UDP IP and TCP port, transport "tcp". */
  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  /** The listening address with its UDP port. */
  get touAddr(): TouAddr {
    return this.#touAddr;
  }

  /** The accept-queue bound. */
  get backlog(): number {
    return this.#sl.backlog;
  }

  /** SYN-queue / accept-queue drops and accepted count. */
  get counters(): Readonly<ListenerCounters> {
    return this.#sl.counters;
  }

  /** True after {@linkcode TouListener.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Waits for the next established connection.
   *
   * @throws {ClosedError} When the listener is (or gets) closed.
   */
  accept(): Promise<TouConn> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const sc = this.#sl.accept();
    if (sc !== undefined) return Promise.resolve(this.#hooks.wrap(sc));
    return new Promise<TouConn>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  /**
   * Stops listening. Connections waiting in the queues are reset (as Linux
   * does); accepted ones are not affected. Pending `accept()` calls reject
   * with {@linkcode ClosedError}. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sl.onAcceptable = undefined;
    this.#sl.close();
    const ws = this.#waiters.splice(0);
    for (const w of ws) w.reject(this.#closedError());
    this.#hooks.onClose(this);
  }

  /** No effect (see the class doc); kept for `Deno.Listener` compatibility. */
  ref(): void {}

  /** No effect (see the class doc); kept for `Deno.Listener` compatibility. */
  unref(): void {}

  /** Same as {@linkcode TouListener.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Yields connections until the listener is closed. Leaving the loop early
   * (`break`, `return`, a throw) closes the listener, as it does for a
   * `Deno.Listener`.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<TouConn, void, undefined> {
    try {
      while (!this.#closed) {
        let conn: TouConn;
        try {
          conn = await this.accept();
        } catch (err) {
          if (this.#closed && err instanceof ClosedError) return;
          throw err;
        }
        yield conn;
      }
    } finally {
      this.close();
    }
  }

  #serve(): void {
    while (this.#waiters.length > 0) {
      const sc = this.#sl.accept();
      if (sc === undefined) return;
      this.#waiters.shift()!.resolve(this.#hooks.wrap(sc));
    }
  }

  #closedError(): ClosedError {
    return new ClosedError(`Cannot accept on ${formatTouAddr(this.#touAddr)}: listener closed`);
  }
}

/** Internal: wraps a stack listener. Used by the endpoint only. */
export function wrapListener(
  sl: StackListener,
  addr: TouAddr,
  hooks: ListenerHooks,
): TouListener {
  return create(sl, addr, hooks);
}
