/**
 * Reports of the datagrams a sealed tunnel endpoint drops, in bounded,
 * rate-limited form: a wrong key, a replayed datagram or a peer whose clock
 * is off shows up in the log within moments, and a flood of them (from any
 * number of addresses) costs at most one line per kind per window and a
 * fixed amount of memory. Nothing is kept per address beyond the current
 * window, and at most {@linkcode MAX_ADDRESSES_PER_WINDOW} addresses in it.
 *
 * Per kind: the first drop after a quiet window is logged at once; later
 * ones are summed and logged when the window ends, e.g.
 * "12 datagrams failed authentication from 192.0.2.7:40000 in the last 10 s
 * — wrong key?".
 *
 * @module
 */

import type { Datagram, DatagramAddr, DatagramHandler } from "../udp/datagram_socket.ts";
import type { DatagramErrorHandler, DatagramSocket } from "../udp/datagram_socket.ts";
import { ForwardingSocket } from "../udp/forwarding_socket.ts";
import { formatHostPort } from "./address.ts";
import type { Logger } from "./log.ts";

/** The length of a report window (ms). */
export const REPORT_WINDOW_MS = 10_000;
/** Addresses counted separately per window; more are only counted in the total. */
export const MAX_ADDRESSES_PER_WINDOW = 32;

/** What one window saw. */
export interface DropSummary {
  /** Datagrams in the window. */
  readonly count: number;
  /** The address that sent most of them. */
  readonly top: string;
  /** How many came from `top`. */
  readonly topCount: number;
  /** Other addresses seen (a lower bound when more than the tracked limit). */
  readonly others: number;
  /** The window length in ms. */
  readonly windowMs: number;
}

/** Options of {@linkcode WindowedReport}. */
export interface WindowedReportOptions {
  /** Receives each summary. */
  readonly emit: (s: DropSummary) => void;
  /** Window length (ms). Default {@linkcode REPORT_WINDOW_MS}. */
  readonly windowMs?: number;
  /** Addresses tracked per window. Default {@linkcode MAX_ADDRESSES_PER_WINDOW}. */
  readonly maxAddresses?: number;
}

/**
 * Counts events by address in fixed windows with bounded memory; the first
 * event after a quiet window is emitted at once, the rest at the window's end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WindowedReport } from "./drop_reports.ts";
 * const got: number[] = [];
 * const r = new WindowedReport({ emit: (s) => got.push(s.count), windowMs: 20 });
 * for (let i = 0; i < 5; i++) r.add("10.0.0.1:1");
 * assert.deepEqual(got, [1]); // the first at once
 * await new Promise((ok) => setTimeout(ok, 40));
 * assert.deepEqual(got, [1, 4]); // the rest at the window's end
 * r.close();
 * ```
 */
export class WindowedReport {
  readonly #emit: (s: DropSummary) => void;
  readonly #windowMs: number;
  readonly #max: number;
  #counts = new Map<string, number>();
  #total = 0;
  #overflow = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates an idle report.
   *
   * @param opts Sink, window, address limit.
   */
  constructor(opts: WindowedReportOptions) {
    this.#emit = opts.emit;
    this.#windowMs = opts.windowMs ?? REPORT_WINDOW_MS;
    this.#max = opts.maxAddresses ?? MAX_ADDRESSES_PER_WINDOW;
  }

  /** Counts one event from `addr`. */
  add(addr: string): void {
    const quiet = this.#timer === undefined;
    const n = this.#counts.get(addr);
    if (n !== undefined) this.#counts.set(addr, n + 1);
    else if (this.#counts.size < this.#max) this.#counts.set(addr, 1);
    else this.#overflow = true;
    this.#total++;
    if (quiet) {
      this.#flush();
      this.#arm();
    }
  }

  /** Stops the timer; pending counts are dropped. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#reset();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#total === 0) return; // quiet: the next event is reported at once
      this.#flush();
      this.#arm();
    }, this.#windowMs);
    Deno.unrefTimer(this.#timer);
  }

  #flush(): void {
    let top = "";
    let topCount = 0;
    for (const [a, n] of this.#counts) {
      if (n > topCount) {
        top = a;
        topCount = n;
      }
    }
    const summary: DropSummary = {
      count: this.#total,
      top,
      topCount,
      others: this.#counts.size - 1 + (this.#overflow ? 1 : 0),
      windowMs: this.#windowMs,
    };
    this.#reset();
    try {
      this.#emit(summary);
    } catch {
      // A report must not break the receive path.
    }
  }

  #reset(): void {
    this.#counts.clear();
    this.#total = 0;
    this.#overflow = false;
  }
}

/** The counters of a sealed socket that say why a datagram was dropped. */
export interface SealDropStats {
  /** Tag did not verify. */
  readonly authFailures: number;
  /** Counter already seen. */
  readonly replays: number;
  /** Counter below the replay window. */
  readonly tooOld: number;
  /** Authenticated but outside the clock skew. */
  readonly stale: number;
  /** Offset (s) of the last stale datagram. */
  readonly lastStaleOffset: number;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function from(s: DropSummary): string {
  const others = s.others > 0
    ? ` (${s.topCount} of them; the rest from ${
      plural(s.others, "other address", "other addresses")
    }${s.others >= MAX_ADDRESSES_PER_WINDOW ? " or more" : ""})`
    : "";
  return `from ${s.top}${others} in the last ${s.windowMs / 1000} s`;
}

/**
 * Watches a sealed socket from both sides: `below` wraps the UDP socket
 * under it, `above(sealed)` the sealed socket itself. A datagram that went
 * in below and did not come out above was dropped; only then are the
 * sealed socket's counters read (no cost on the delivery path), and the
 * drop is attributed to its source address in the reports.
 *
 * @example
 * ```ts ignore
 * const watch = new SealDropWatch(log);
 * const sealed = new SealedSocket(watch.below(udp), { psk, role });
 * const socket = watch.above(sealed);
 * ```
 */
export class SealDropWatch {
  readonly #auth: WindowedReport;
  readonly #replay: WindowedReport;
  readonly #stale: WindowedReport;
  #stats: (() => SealDropStats) | undefined;
  #last: SealDropStats = { authFailures: 0, replays: 0, tooOld: 0, stale: 0, lastStaleOffset: 0 };
  #delivered = false;

  /**
   * Creates the watch and its three reports.
   *
   * @param log Where reports go (warn level).
   * @param windowMs Report window. Default {@linkcode REPORT_WINDOW_MS}.
   */
  constructor(log: Logger, windowMs: number = REPORT_WINDOW_MS) {
    this.#auth = new WindowedReport({
      windowMs,
      emit: (s) =>
        log.warn(
          `${plural(s.count, "datagram", "datagrams")} failed authentication ${
            from(s)
          } — wrong key?`,
          { peer: s.top, dropped: s.count },
        ),
    });
    this.#replay = new WindowedReport({
      windowMs,
      emit: (s) =>
        log.warn(
          `${plural(s.count, "replayed datagram", "replayed datagrams")} dropped ${from(s)}`,
          { peer: s.top, dropped: s.count },
        ),
    });
    this.#stale = new WindowedReport({
      windowMs,
      emit: (s) => {
        const off = this.#last.lastStaleOffset;
        log.warn(
          `${plural(s.count, "stale datagram", "stale datagrams")} dropped ${
            from(s)
          }: they carry ` +
            `the right key but were sent ${Math.abs(off)} s ${off > 0 ? "ahead of" : "behind"} ` +
            "our clock (an old recording replayed, or a peer whose clock is off: synchronize " +
            "the clocks with NTP)",
          { peer: s.top, dropped: s.count },
        );
      },
    });
  }

  /** Wraps the UDP socket under the sealed socket. */
  below(udp: DatagramSocket): DatagramSocket {
    return new Below(udp, this);
  }

  /** Wraps the sealed socket; `stats` must read its counters. */
  above(sealed: DatagramSocket & { readonly stats: SealDropStats }): DatagramSocket {
    this.#stats = () => sealed.stats;
    return new Above(sealed, this);
  }

  /** Stops the report timers. */
  close(): void {
    this.#auth.close();
    this.#replay.close();
    this.#stale.close();
  }

  /** Internal: a datagram came out above. */
  markDelivered(): void {
    this.#delivered = true;
  }

  /**
   * Internal: runs `deliver(data, addr)` for a datagram from `addr`; attributes a drop.
   * The handler and its arguments are passed apart: no closure per datagram.
   */
  observe(data: Uint8Array, addr: DatagramAddr, deliver: DatagramHandler): void {
    this.#delivered = false;
    try {
      deliver(data, addr);
    } finally {
      if (!this.#delivered && this.#stats !== undefined) this.#attribute(addr);
    }
  }

  #attribute(addr: DatagramAddr): void {
    const now = this.#stats!();
    const last = this.#last;
    const auth = now.authFailures - last.authFailures;
    const replay = now.replays + now.tooOld - last.replays - last.tooOld;
    const stale = now.stale - last.stale;
    this.#last = {
      authFailures: now.authFailures,
      replays: now.replays,
      tooOld: now.tooOld,
      stale: now.stale,
      lastStaleOffset: now.lastStaleOffset,
    };
    if (auth === 0 && replay === 0 && stale === 0) return;
    const key = formatHostPort(addr);
    if (auth > 0) this.#auth.add(key);
    if (replay > 0) this.#replay.add(key);
    if (stale > 0) this.#stale.add(key);
  }
}

class Below extends ForwardingSocket {
  readonly #watch: SealDropWatch;
  constructor(inner: DatagramSocket, watch: SealDropWatch) {
    super(inner);
    this.#watch = watch;
  }
  override setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.inner.setHandler(
      (data, addr) => this.#watch.observe(data, addr, onDatagram),
      onError,
    );
  }
  override receive(): Promise<Datagram> {
    return this.inner.receive();
  }
}

class Above extends ForwardingSocket {
  readonly #watch: SealDropWatch;
  constructor(inner: DatagramSocket, watch: SealDropWatch) {
    super(inner);
    this.#watch = watch;
  }
  override setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.inner.setHandler((data, addr) => {
      this.#watch.markDelivered();
      onDatagram(data, addr);
    }, onError);
  }
}
