/**
 * Helpers of the kernel interop test: payloads, the application's reads, and
 * the checks run over a {@linkcode Driver}'s trace and the kernel's counters.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { TcpConnection } from "../../src/tcp/connection.ts";
import type { TcpState } from "../../src/tcp/state.ts";
import { type Seq, seqAdd, seqGt, seqLe } from "../../src/wire/seq.ts";
import { ACK, FIN, SYN } from "../../src/wire/tcp_flags.ts";
import type { Driver, TraceEntry } from "./_driver.ts";
import type { KernelBridge, KernelReport } from "./_kernel_bridge.ts";

/** A random 32-bit number. */
export function random32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** `n` random bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, i + 65_536));
  return out;
}

/** Hex SHA-256 of `data`. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The parts, one after the other. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Reads everything available from `conn`; returns false at end of stream. */
export function readAvailable(conn: TcpConnection, into: Uint8Array[]): boolean {
  const buf = new Uint8Array(65_536);
  for (;;) {
    const n = conn.read(buf);
    if (n < 0) return false;
    if (n === 0) return true;
    into.push(buf.slice(0, n));
  }
}

/** States entered, in order, starting with the first `from`. */
export function states(d: Driver): TcpState[] {
  const out: TcpState[] = [];
  for (const { ev } of d.events) {
    if (ev.type !== "state") continue;
    if (out.length === 0) out.push(ev.from);
    out.push(ev.to);
  }
  return out;
}

/** Segment end (SEG.SEQ + SEG.LEN) of a trace entry. */
export function end(e: TraceEntry): Seq {
  return seqAdd(e.seg.seq, e.len + (e.seg.flags & SYN ? 1 : 0) + (e.seg.flags & FIN ? 1 : 0));
}

/**
 * Every data segment of `dir` ends inside the window the other side had
 * advertised before it, scaled by `shift` (a SYN's window is never scaled,
 * RFC 7323 §2.2). Returns the number of segments checked.
 */
export function assertWithinAdvertisedWindow(
  trace: TraceEntry[],
  dir: "out" | "in",
  shift: number,
): number {
  let rightEdge: Seq | undefined;
  let checked = 0;
  for (const e of trace) {
    if (e.dir !== dir && !e.dropped && e.seg.flags & ACK) {
      const wnd = e.seg.flags & SYN ? e.seg.window : e.seg.window * 2 ** shift;
      const edge = seqAdd(e.seg.ack, wnd);
      if (rightEdge === undefined || seqGt(edge, rightEdge)) rightEdge = edge;
    } else if (e.dir === dir && e.len > 0) {
      assert.ok(rightEdge !== undefined && seqLe(end(e), rightEdge), `${dir} segment past window`);
      checked++;
    }
  }
  return checked;
}

/** `KERNEL_INTEROP_TRACE=1` prints every segment of every run, not just the end of a failed one. */
export const FULL_TRACE: boolean = Deno.env.get("KERNEL_INTEROP_TRACE") !== undefined;

/** Prints what helps to understand a failure: the end of the trace, our state, kernel counters. */
export async function explainFailure(d: Driver, bridge: KernelBridge): Promise<void> {
  if (!FULL_TRACE) console.error(d.dump(60));
  if (d.conn) console.error(`tou: ${JSON.stringify(d.conn.info())}`);
  try {
    bridge.command({ op: "stats" });
    const n = d.reports.filter((r) => r.event === "stats").length;
    const stats = await d.waitReport("stats", performance.now() + 2_000, n);
    const nonzero = (o: Record<string, number>) =>
      Object.entries(o).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`).join(" ");
    console.error(`kernel Tcp: ${nonzero(stats.Tcp)}\nkernel TcpExt: ${nonzero(stats.TcpExt)}`);
  } catch (err) {
    console.error(`no kernel counters: ${err instanceof Error ? err.message.split("\n")[0] : err}`);
  }
}

/** Kernel counters since `before` (the set-up's RST probe counts too). */
export function countersSince(before: KernelReport, after: KernelReport): KernelReport {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]));
  return {
    event: "stats",
    Tcp: diff(before.Tcp, after.Tcp),
    TcpExt: diff(before.TcpExt, after.TcpExt),
  };
}

/** Kernel counters that must stay zero in any run: the kernel rejected nothing of ours. */
export function assertKernelRejectedNothing(stats: KernelReport, csumErrors: number): void {
  assert.equal(stats.Tcp.InCsumErrors, csumErrors, "kernel TCP checksum errors");
  assert.equal(stats.Tcp.InErrs, csumErrors, "kernel TCP input errors");
  for (const k of ["AttemptFails", "EstabResets", "OutRsts"]) assert.equal(stats.Tcp[k], 0, k);
  for (
    const k of [
      "PAWSEstab", // segments dropped for an old timestamp (RFC 7323 PAWS)
      "TCPSACKDiscard", // SACK blocks the kernel found invalid
      "TCPDSACKIgnoredOld",
      "TCPAbortOnData",
      "TCPAbortOnClose",
      "TCPAbortOnTimeout",
      "TCPAckSkippedPAWS",
      "TCPAckSkippedSeq",
      "TCPZeroWindowDrop",
      "TCPRcvQDrop",
    ]
  ) {
    assert.equal(stats.TcpExt[k] ?? 0, 0, `TcpExt.${k}`);
  }
}
