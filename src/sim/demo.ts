/**
 * A self-contained simulator demo: two endpoints exchange numbered pings
 * and echoes over an impaired path, and a report says what each impairment
 * did. Run with `deno run src/sim/demo.ts [seed] [datagrams]`.
 *
 * @module
 */

import type { DatagramAddr } from "../udp/datagram_socket.ts";
import type { LinkConfig } from "./link.ts";
import { SimNetwork, type SimStats } from "./sim_network.ts";
import { DROP_REASONS } from "./trace.ts";
import { VirtualClock } from "./virtual_clock.ts";

/** Options of {@linkcode runSimDemo}. */
export interface SimDemoOptions {
  /** Seed of the whole run; the report prints it for replay. Default 42. */
  readonly seed?: number;
  /** Number of pings. Default 1000. */
  readonly datagrams?: number;
}

const PING_INTERVAL = 10;
const PAYLOAD = 40;
// Layout: seq u32 | ping sent at f64 | echo sent at f64 | filler 16 | FNV-1a u32 of bytes 0..36.
const OFF_SEQ = 0;
const OFF_PING_AT = 4;
const OFF_ECHO_AT = 12;
const OFF_FILL = 20;
const OFF_SUM = 36;

function fnv1a(bytes: Uint8Array, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

function seal(buf: Uint8Array, view: DataView): void {
  view.setUint32(OFF_SUM, fnv1a(buf, OFF_SUM));
}

function intact(buf: Uint8Array): boolean {
  if (buf.length !== PAYLOAD) return false;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return view.getUint32(OFF_SUM) === fnv1a(buf, OFF_SUM);
}

/** What one receiver observed in one direction. */
class Observer {
  copies = 0;
  unique = 0;
  duplicates = 0;
  reordered = 0;
  corrupted = 0;
  #seen = new Set<number>();
  #maxSeq = -1;
  #latMin = Infinity;
  #latMax = -Infinity;
  #latSum = 0;

  /** Records a copy; returns the intact payload's view, or undefined. */
  observe(data: Uint8Array, now: number, sentAtOffset: number): DataView | undefined {
    this.copies++;
    if (!intact(data)) {
      this.corrupted++;
      return undefined;
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const seq = view.getUint32(OFF_SEQ);
    if (this.#seen.has(seq)) {
      this.duplicates++;
      return undefined;
    }
    this.#seen.add(seq);
    this.unique++;
    if (seq < this.#maxSeq) this.reordered++;
    else this.#maxSeq = seq;
    const latency = now - view.getFloat64(sentAtOffset);
    if (latency < this.#latMin) this.#latMin = latency;
    if (latency > this.#latMax) this.#latMax = latency;
    this.#latSum += latency;
    return view;
  }

  latency(): string {
    if (this.unique === 0) return "n/a";
    const avg = this.#latSum / this.unique;
    return `${this.#latMin.toFixed(1)} / ${avg.toFixed(1)} / ${this.#latMax.toFixed(1)}`;
  }
}

function describeLink(cfg: LinkConfig): string {
  const parts: string[] = [];
  parts.push(`delay ${cfg.delay ?? 0} ms ± ${cfg.jitter ?? 0} ms`);
  if (cfg.loss) parts.push(`loss ${pct(cfg.loss)}`);
  if (cfg.reorder) parts.push(`reorder ${pct(cfg.reorder)} (+${cfg.reorderDelay ?? 10} ms)`);
  if (cfg.duplicate) parts.push(`duplicate ${pct(cfg.duplicate)}`);
  if (cfg.corrupt) parts.push(`corrupt ${pct(cfg.corrupt)}`);
  for (const p of cfg.partitions ?? []) parts.push(`partition ${p.from}–${p.to} ms`);
  return parts.join(", ");
}

function pct(x: number): string {
  return `${+(x * 100).toFixed(2)}%`;
}

function row(label: string, a: string | number, b: string | number): string {
  return `${label.padEnd(32)}${String(a).padStart(20)}${String(b).padStart(20)}`;
}

function lostBy(s: SimStats): string[] {
  return DROP_REASONS.filter((r) => s.drops[r] > 0).map((r) => `${r} ${s.drops[r]}`);
}

/**
 * Runs the demo and returns its report (same seed, same report).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSimDemo } from "./demo.ts";
 * const report = runSimDemo({ seed: 3, datagrams: 200 });
 * assert.match(report, /seed 3/);
 * assert.equal(report, runSimDemo({ seed: 3, datagrams: 200 }));
 * ```
 */
export function runSimDemo(opts: SimDemoOptions = {}): string {
  const seed = opts.seed ?? 42;
  const count = opts.datagrams ?? 1000;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`runSimDemo: datagrams must be a positive integer, got ${count}`);
  }
  const clock = new VirtualClock({ seed });
  const net = new SimNetwork(clock, { seed });
  const hostA = "10.0.0.1";
  const hostB = "10.0.0.2";
  const duration = count * PING_INTERVAL;
  const cutAt = Math.round(duration / 2);
  const cfg: LinkConfig = {
    delay: 25,
    jitter: 4,
    loss: 0.02,
    reorder: 0.02,
    reorderDelay: 15,
    duplicate: 0.01,
    corrupt: 0.01,
    partitions: [{ from: cutAt, to: cutAt + 300 }],
  };
  net.setPath(hostA, hostB, cfg);

  const a = net.bind({ hostname: hostA, port: 0 });
  const b = net.bind({ hostname: hostB, port: 7 });
  const atB = new Observer();
  const atA = new Observer();
  let echoesSent = 0;

  b.setHandler((data: Uint8Array, from: DatagramAddr) => {
    const view = atB.observe(data, clock.now(), OFF_PING_AT);
    if (view === undefined) return;
    view.setFloat64(OFF_ECHO_AT, clock.now());
    seal(data, view);
    b.send(data, from);
    echoesSent++;
  });
  let refusal = "none";
  a.setHandler(
    (data: Uint8Array) => void atA.observe(data, clock.now(), OFF_ECHO_AT),
    (err: Error) => refusal = `${err.name}: ${err.message}`,
  );
  a.connect(b.localAddr);

  const buf = new Uint8Array(PAYLOAD); // reused: the socket copies at send time
  const view = new DataView(buf.buffer);
  for (let i = 0; i < count; i++) {
    clock.schedule(i * PING_INTERVAL, () => {
      view.setUint32(OFF_SEQ, i);
      view.setFloat64(OFF_PING_AT, clock.now());
      view.setFloat64(OFF_ECHO_AT, 0);
      for (let j = 0; j < 16; j++) buf[OFF_FILL + j] = (i * 31 + j) & 0xff;
      seal(buf, view);
      a.send(buf);
    });
  }
  const events = clock.runUntilIdle({ maxEvents: count * 20 + 1000 });
  const endOfExchange = clock.now();

  // Port unreachable: B goes away, A (still connected to it) sends once more.
  b.close();
  a.send(buf);
  clock.runUntilIdle({ maxEvents: 100 });

  const ab = net.linkStats(hostA, hostB);
  const ba = net.linkStats(hostB, hostA);
  const lostAB = lostBy(ab);
  const lostBA = lostBy(ba);
  const lines = [
    `tou simulator demo — seed ${seed} (replay: runSimDemo({ seed: ${seed}, datagrams: ${count} }))`,
    `path ${hostA} <-> ${hostB}, each direction: ${describeLink(cfg)}`,
    `A pings B every ${PING_INTERVAL} ms (${PAYLOAD}-byte datagrams with a checksum); ` +
    `B echoes each intact ping once.`,
    "",
    row("", `ping A→B`, `echo B→A`),
    row("sent", count, echoesSent),
    row("delivered copies", ab.delivered, ba.delivered),
    row("  distinct and intact", atB.unique, atA.unique),
    row("lost in the network", ab.dropped, ba.dropped),
    ...Array.from(
      { length: Math.max(lostAB.length, lostBA.length) },
      (_, i) => row(`  ${i === 0 ? "by reason" : ""}`, lostAB[i] ?? "", lostBA[i] ?? ""),
    ),
    row(
      "duplicated (link / seen)",
      `${ab.duplicated} / ${atB.duplicates}`,
      `${ba.duplicated} / ${atA.duplicates}`,
    ),
    row(
      "reordered (held / arrived late)",
      `${ab.reordered} / ${atB.reordered}`,
      `${ba.reordered} / ${atA.reordered}`,
    ),
    row(
      "corrupted (flipped / caught)",
      `${ab.corrupted} / ${atB.corrupted}`,
      `${ba.corrupted} / ${atA.corrupted}`,
    ),
    row("one-way latency min/avg/max ms", atB.latency(), atA.latency()),
    "",
    "(echoes also inherit the ping leg's reordering, so more of them arrive late)",
    `round trips completed: ${atA.unique} of ${count} (${pct(atA.unique / count)})`,
    `virtual time ${(endOfExchange / 1000).toFixed(2)} s, ${events} events`,
    `after B closed, A's next ping drew a port-unreachable notice: ${refusal}`,
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const seed = Deno.args[0] === undefined ? undefined : Number(Deno.args[0]);
  const datagrams = Deno.args[1] === undefined ? undefined : Number(Deno.args[1]);
  console.log(runSimDemo({ seed, datagrams }));
}
