/**
 * Drives one real `TcpConnection` against the Linux kernel through a
 * {@linkcode KernelBridge}, on real time (performance.now), honouring
 * `pollTimeout()` deadlines, with hooks to drop or alter segments in either
 * direction and a trace of everything for assertions and failure messages.
 *
 * @module
 */

import { TcpConnection } from "../../src/tcp/connection.ts";
import type { TcpEvent } from "../../src/tcp/events.ts";
import type { TcpState } from "../../src/tcp/state.ts";
import { formatSegment } from "../../src/stack/trace.ts";
import { NEVER } from "../../src/time.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import type { KernelBridge, KernelReport } from "./_kernel_bridge.ts";

/** One segment seen by the driver. */
export interface TraceEntry {
  /** Milliseconds since the driver started. */
  readonly t: number;
  /** `out`: ours, to the kernel; `in`: the kernel's, to us. */
  readonly dir: "out" | "in";
  /** The segment without its payload (see `len`). */
  readonly seg: TcpSegment;
  /** Payload length. */
  readonly len: number;
  /** Withheld on purpose (a fault-injection hook said so). */
  readonly dropped: boolean;
  /** Our state when the segment was sent, or before it was handled. */
  readonly state: TcpState | "NONE";
}

/** How a {@linkcode Driver} treats segments and runs the application. */
export interface DriverHooks {
  /** What goes out for one of our segments (default `[bytes]`; `[]` drops it). */
  outgoing?(seg: TcpSegment, bytes: Uint8Array): Uint8Array[];
  /** Whether a kernel segment reaches the connection (default true). */
  incoming?(seg: TcpSegment): boolean;
  /** Passive open: the connection for a SYN arriving while there is none. */
  accept?(now: number, syn: TcpSegment): TcpConnection;
  /** The application: called after every input, before the output is drained; `now` for app calls. */
  app(conn: TcpConnection, now: number): void;
  /** When the application wants to run again without any input (a performance.now() time). */
  wakeAt?(): number;
}

const EMPTY = new Uint8Array(0);

/** Runs one connection against the kernel. */
export class Driver {
  /** The connection (set by the test for an active open, by `accept` for a passive one). */
  conn: TcpConnection | undefined;
  /** Every segment in both directions. */
  readonly trace: TraceEntry[] = [];
  /** Every connection event, with its time. */
  readonly events: { readonly t: number; readonly ev: TcpEvent }[] = [];
  /** Every kernel-side report, in order. */
  readonly reports: KernelReport[] = [];
  readonly #bridge: KernelBridge;
  readonly #hooks: DriverHooks;
  readonly #t0 = performance.now();

  constructor(bridge: KernelBridge, hooks: DriverHooks) {
    this.#bridge = bridge;
    this.#hooks = hooks;
  }

  /** The `nth` (0-based) report of kind `event`, if there is one yet. */
  report(event: string, nth = 0): KernelReport | undefined {
    return this.reports.filter((r) => r.event === event)[nth];
  }

  /** Milliseconds since the driver started. */
  elapsed(): number {
    return performance.now() - this.#t0;
  }

  /**
   * Runs until `done()` holds, or throws at `deadline` (a performance.now()
   * time) with the state reached and the end of the trace.
   */
  async run(done: () => boolean, deadline: number, what: string): Promise<void> {
    const bridge = this.#bridge;
    for (;;) {
      await this.#drain(performance.now());
      if (done()) return;
      if (performance.now() >= deadline) {
        throw new Error(
          `Timed out waiting for ${what}: state ${this.conn?.state ?? "none"} after ${
            this.elapsed().toFixed(0)
          } ms\n${this.dump(30)}`,
        );
      }
      const timer = Math.min(this.conn?.pollTimeout() ?? NEVER, this.#hooks.wakeAt?.() ?? NEVER);
      const line = await bridge.next(Math.min(timer, deadline));
      const now = performance.now();
      if (line?.kind === "report") {
        if (line.report.event === "error") {
          throw new Error(`kernel side: ${line.report.detail}\n${this.dump(30)}`);
        }
        this.reports.push(line.report);
      } else if (line?.kind === "segment") {
        this.#deliver(now, line.segment);
      }
      this.conn?.handleTimeout(now); // an early call is a no-op
    }
  }

  /** Runs until the kernel side reports `event` for the `nth` time; returns that report. */
  async waitReport(event: string, deadline: number, nth = 0): Promise<KernelReport> {
    const what = `kernel report "${event}" #${nth + 1}`;
    await this.run(() => this.report(event, nth) !== undefined, deadline, what);
    return this.report(event, nth)!;
  }

  /** The last `n` trace lines, tcpdump-like. */
  dump(n: number): string {
    return this.trace.slice(-n).map((e) =>
      `${e.t.toFixed(1).padStart(8)} ${e.dir === "out" ? "tou>" : "<ker"} ${e.state.padEnd(11)} ${
        e.dropped ? "DROPPED " : ""
      }${formatSegment({ ...e.seg, payload: new Uint8Array(e.len) })}`
    ).join("\n");
  }

  #record(dir: "out" | "in", seg: TcpSegment, dropped: boolean, state: TcpState | "NONE"): void {
    this.trace.push({
      t: this.elapsed(),
      dir,
      seg: { ...seg, payload: EMPTY },
      len: seg.payload.length,
      dropped,
      state,
    });
  }

  #deliver(now: number, seg: TcpSegment): void {
    let conn = this.conn;
    if (conn !== undefined && seg.dstPort !== conn.localPort) return; // another tou port
    const deliver = this.#hooks.incoming?.(seg) ?? true;
    this.#record("in", seg, !deliver, conn?.state ?? "NONE");
    if (!deliver) return;
    if (conn === undefined) {
      if (this.#hooks.accept === undefined || (seg.flags & 0x16) !== 0x02) return; // SYN only
      conn = this.conn = this.#hooks.accept(now, seg);
      return;
    }
    conn.handleSegment(now, seg);
  }

  /** App step, then every segment and event, until nothing changes; then one write. */
  async #drain(now: number): Promise<void> {
    const conn = this.conn;
    const bridge = this.#bridge;
    if (conn !== undefined) {
      for (let round = 0; round < 64; round++) {
        this.#hooks.app(conn, now);
        let busy = false;
        for (let seg = conn.pollTransmit(now); seg !== undefined; seg = conn.pollTransmit(now)) {
          busy = true;
          const bytes = bridge.encode(seg); // before the next poll: the payload views the send buffer
          const out = this.#hooks.outgoing?.(seg, bytes) ?? [bytes];
          this.#record("out", seg, out.length === 0, conn.state);
          for (const b of out) bridge.sendBytes(b);
        }
        for (let ev = conn.pollEvent(); ev !== undefined; ev = conn.pollEvent()) {
          busy = true;
          this.events.push({ t: this.elapsed(), ev });
        }
        if (!busy) break;
      }
    }
    await bridge.flush();
  }
}
