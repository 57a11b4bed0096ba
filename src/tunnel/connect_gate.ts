/**
 * Paces the tunnel server's TCP connects to one target: at most a few in
 * progress at once while the target answers fast, none held back when it
 * is slow.
 *
 * Why: a batch of datagrams from a busy client can carry fifty new streams.
 * Started together, their fifty `connect`s (each a loopback handshake done
 * in the server's system call, ≈ 40 µs) run back to back before the first
 * request is written, and the target's answers wait behind them; on a
 * 2-core machine the other core idles meanwhile (docs/benchmarks.md, round
 * 7). With a few in progress, each connect's request goes out as soon as it
 * completes, and the target works while the server connects the next ones:
 * `ab -n 20000 -c 50` through `tou client --mux` went from 5.0–6.5k to
 * 5.8–7.4k requests/s, with 30 % less idle CPU.
 *
 * A gate must not slow a slow target's streams, nor let one stuck target
 * hold the others: a connect holds its slot until it settles or for
 * `staleMs` at most, and until a first connect has settled, and while the
 * smoothed connect time is `slowMs` or more (a target across a network, not
 * on this host), every connect starts at once.
 *
 * @module
 */

import type { Instant } from "../time.ts";

/** How a {@linkcode ConnectGate} paces. */
export interface ConnectGateOptions {
  /** Connects in progress at once (0: no gate). Default 6. */
  readonly limit?: number;
  /** A connect stops holding its slot after this long. Default 5 ms. */
  readonly staleMs?: number;
  /** No pacing while the smoothed connect time is at least this. Default 10 ms. */
  readonly slowMs?: number;
  /** The clock (ms). Default `performance.now`. */
  readonly now?: () => Instant;
  /** Runs `fn` after `ms` (an unref'd timer by default); the gate arms one at a time. */
  readonly setTimer?: (fn: () => void, ms: number) => void;
}

/**
 * A connect's pass through the gate: when it started, and whether it still
 * holds a slot (false once it settled or went stale, and for a connect the
 * gate did not pace).
 */
export interface ConnectTicket {
  /** When the connect started. */
  readonly at: Instant;
  /** Whether it holds one of the gate's slots. */
  held: boolean;
}

const DEFAULT_LIMIT = 6;
const DEFAULT_STALE_MS = 5;
const DEFAULT_SLOW_MS = 10;

function unrefTimer(fn: () => void, ms: number): void {
  Deno.unrefTimer(setTimeout(fn, ms));
}

/**
 * A pacing gate for connects to one target (see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectGate } from "./connect_gate.ts";
 *
 * const gate = new ConnectGate({ limit: 1 });
 * await gate.run(() => Promise.resolve("fast")); // a fast connect: the gate paces from now on
 * const pending: ((v: string) => void)[] = [];
 * const first = gate.run(() => new Promise<string>((r) => pending.push(r)));
 * const second = gate.run(() => Promise.resolve("b"));
 * assert.equal(gate.waiting, 1); // the second waits for the first to settle
 * pending[0]("a");
 * assert.deepEqual(await Promise.all([first, second]), ["a", "b"]);
 * ```
 */
export class ConnectGate {
  readonly #limit: number;
  readonly #staleMs: number;
  readonly #slowMs: number;
  readonly #now: () => Instant;
  readonly #setTimer: (fn: () => void, ms: number) => void;
  /** ConnectTickets in start order; the live ones count in #active. */
  #slots: ConnectTicket[] = [];
  #active = 0;
  #waiters: ((slot: ConnectTicket) => void)[] = [];
  #timerArmed = false;
  /** Smoothed connect time (ms), as RFC 6298's SRTT (gain 1/8); undefined before the first. */
  #smoothed: number | undefined;

  /** @param opts Limits and clock. */
  constructor(opts: ConnectGateOptions = {}) {
    this.#limit = opts.limit ?? DEFAULT_LIMIT;
    this.#staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
    this.#slowMs = opts.slowMs ?? DEFAULT_SLOW_MS;
    this.#now = opts.now ?? (() => performance.now());
    this.#setTimer = opts.setTimer ?? unrefTimer;
  }

  /** Connects waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Connects holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** The smoothed connect time in ms, or undefined before the first connect settled. */
  get smoothedMs(): number | undefined {
    return this.#smoothed;
  }

  /**
   * Asks to start a connect: a ticket at once when the gate is open, else a
   * promise of one. Give the ticket back with {@linkcode ConnectGate.leave}
   * when the connect settles. (Two calls rather than a wrapper around the
   * connect: no promise or async frame more per connection.)
   *
   * @returns The ticket, or a promise of it.
   */
  enter(): ConnectTicket | Promise<ConnectTicket> {
    // unpaced until a connect has shown the target fast: a remote target's first burst waits for nothing
    const s = this.#smoothed;
    if (this.#limit <= 0 || s === undefined || s >= this.#slowMs) {
      return { at: this.#now(), held: false };
    }
    this.#sweep();
    if (this.#active < this.#limit && this.#waiters.length === 0) return this.#take();
    return new Promise<ConnectTicket>((resolve) => {
      this.#waiters.push(resolve);
      this.#arm();
    });
  }

  /**
   * A connect settled (connected or failed): its time feeds the smoothed
   * connect time, and its slot goes to the next waiter.
   *
   * @param ticket What {@linkcode ConnectGate.enter} gave.
   */
  leave(ticket: ConnectTicket): void {
    const took = this.#now() - ticket.at;
    this.#smoothed = this.#smoothed === undefined
      ? took
      : this.#smoothed + (took - this.#smoothed) / 8;
    if (ticket.held) {
      ticket.held = false;
      this.#active--;
    }
    if (this.#waiters.length > 0) this.#pump(); // else the next enter() sweeps the slots
  }

  /**
   * Runs `connect` through the gate: {@linkcode ConnectGate.enter}, the
   * connect, {@linkcode ConnectGate.leave}.
   *
   * @param connect Starts the connect.
   * @returns What `connect` resolves or rejects with.
   */
  async run<T>(connect: () => Promise<T>): Promise<T> {
    const entered = this.enter();
    const ticket = entered instanceof Promise ? await entered : entered; // open: starts now
    try {
      return await connect();
    } finally {
      this.leave(ticket);
    }
  }

  #take(): ConnectTicket {
    const slot: ConnectTicket = { at: this.#now(), held: true };
    this.#slots.push(slot);
    this.#active++;
    return slot;
  }

  /** Drops settled slots and lets go of stale ones (oldest first). */
  #sweep(): void {
    const now = this.#now();
    let i = 0;
    for (; i < this.#slots.length; i++) {
      const s = this.#slots[i];
      if (s.held && now - s.at < this.#staleMs) break;
      if (s.held) {
        s.held = false;
        this.#active--;
      }
    }
    if (i > 0) this.#slots.splice(0, i);
  }

  /** Gives free slots to waiters, oldest first. */
  #pump(): void {
    this.#sweep();
    while (this.#active < this.#limit && this.#waiters.length > 0) {
      this.#waiters.shift()!(this.#take());
    }
  }

  #arm(): void {
    if (this.#timerArmed) return;
    this.#timerArmed = true;
    this.#setTimer(() => {
      this.#timerArmed = false;
      this.#pump();
      if (this.#waiters.length > 0) this.#arm();
    }, this.#staleMs);
  }
}
