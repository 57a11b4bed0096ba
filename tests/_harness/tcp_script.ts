/**
 * Segment-script harness for `TcpConnection` (smoltcp-style `send!`/`recv!`):
 * one connection on a virtual clock, segments fed from a template with spread
 * overrides, and the exact segments it emits asserted in order. `TcpPair`
 * runs two connections against each other with optional drops.
 *
 * Every emitted segment is checked against the segment budget (with the real
 * codec's length) and every state event against the RFC 9293 diagram.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TcpConnection } from "../../src/tcp/connection.ts";
import { type TcpConfig, tcpConfig } from "../../src/tcp/config.ts";
import type { TcpEvent } from "../../src/tcp/events.ts";
import type { FastOpenParams } from "../../src/tcp/fast_open.ts";
import { isLegalTransition, type TcpState } from "../../src/tcp/state.ts";
import type { Instant } from "../../src/time.ts";
import { segmentEncodedLength } from "../../src/wire/tcp_codec.ts";
import { type Seq, seq, seqAdd } from "../../src/wire/seq.ts";
import { ACK, formatFlags, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { segmentSeqLen, type TcpOptions, type TcpSegment } from "../../src/wire/tcp_segment.ts";

/** Our port in scripts. */
export const LOCAL_PORT = 80;
/** The scripted peer's port. */
export const REMOTE_PORT = 49152;
/** Our ISS in scripts unless overridden. */
export const LOCAL_ISS = 10_000;
/** The scripted peer's ISS unless overridden. */
export const REMOTE_ISS = 20_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes from a string or bytes. */
export function bytes(data: string | Uint8Array | number[]): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/** A segment from the peer: any field may be overridden; payload may be text. */
export type SegmentTemplate =
  & Partial<Omit<TcpSegment, "payload" | "seq" | "ack">>
  & { payload?: string | Uint8Array; seq?: number; ack?: number };

/** What an emitted segment must look like; absent fields are not checked. */
export interface Expected {
  /** Exact flags. */
  flags?: number;
  /** SEG.SEQ. */
  seq?: number;
  /** SEG.ACK. */
  ack?: number;
  /** Raw window field. */
  window?: number;
  /** Exact payload. */
  payload?: string | Uint8Array;
  /** Payload length only. */
  len?: number;
  /** Options: each given key must deep-equal; `undefined` asserts absence. */
  options?: Partial<Record<keyof TcpOptions, unknown>>;
}

/** Options of a {@linkcode TcpScript}. */
export interface ScriptOptions {
  /** Our ISS. */
  iss?: number;
  /** The peer's ISS. */
  peerIss?: number;
  /** Config overrides. */
  config?: Partial<TcpConfig>;
  /** TSval offset. */
  tsOffset?: number;
  /** Start time. */
  now?: Instant;
  /** Fast Open parameters of {@linkcode TcpScript.client}'s connection. */
  fastOpen?: FastOpenParams;
}

/** Copies a segment (payloads may view the send buffer). */
export function copySegment(seg: TcpSegment): TcpSegment {
  return { ...seg, payload: seg.payload.slice() };
}

/** A readable rendering of a segment for failure messages. */
export function showSegment(seg: TcpSegment): string {
  return `[${
    formatFlags(seg.flags)
  }] seq=${seg.seq} ack=${seg.ack} win=${seg.window} len=${seg.payload.length} opts=${
    JSON.stringify(seg.options)
  }`;
}

/** Checks a state event against the previous state and the RFC diagram. */
function checkEvent(ev: TcpEvent, last: TcpState): TcpState {
  if (ev.type !== "state") return last;
  assert.equal(ev.from, last, `state event from ${ev.from} but state was ${last}`);
  assert.ok(isLegalTransition(ev.from, ev.to), `illegal transition ${ev.from} -> ${ev.to}`);
  return ev.to;
}

/** One connection driven by a script. */
export class TcpScript {
  /** The connection under test. */
  readonly conn: TcpConnection;
  /** Its configuration. */
  readonly config: TcpConfig;
  /** Virtual time. */
  now: Instant;
  /** Emitted segments not yet expected (copies). */
  readonly sent: TcpSegment[] = [];
  /** Every event so far. */
  readonly events: TcpEvent[] = [];
  /** Our ISS. */
  readonly localIss: number;
  /** The peer's ISS. */
  readonly remoteIss: number;
  #lastState: TcpState;

  private constructor(conn: TcpConnection, config: TcpConfig, opts: ScriptOptions, now: Instant) {
    this.conn = conn;
    this.config = config;
    this.now = now;
    this.localIss = opts.iss ?? LOCAL_ISS;
    this.remoteIss = opts.peerIss ?? REMOTE_ISS;
    this.#lastState = "CLOSED";
  }

  /** Our sequence number `n` bytes after ISS + 1 (ISS + 1 + n, mod 2^32). */
  l(n = 0): Seq {
    return seqAdd(seq(this.localIss), 1 + n);
  }

  /** The peer's sequence number `n` bytes after its ISS + 1. */
  r(n = 0): Seq {
    return seqAdd(seq(this.remoteIss), 1 + n);
  }

  /** Active open: the connection is in SYN_SENT with its SYN in {@linkcode TcpScript.sent}. */
  static client(opts: ScriptOptions = {}): TcpScript {
    const config = tcpConfig(opts.config);
    const now = opts.now ?? 0;
    const conn = TcpConnection.connect(now, {
      localPort: LOCAL_PORT,
      remotePort: REMOTE_PORT,
      iss: seq(opts.iss ?? LOCAL_ISS),
      config,
      tsOffset: opts.tsOffset,
      fastOpen: opts.fastOpen,
    });
    const s = new TcpScript(conn, config, opts, now);
    s.#lastState = "CLOSED";
    s.drain();
    return s;
  }

  /** Passive open on a SYN built from `syn` overrides; the SYN-ACK is in `sent`. */
  static server(opts: ScriptOptions = {}, syn: SegmentTemplate = {}): TcpScript {
    const config = tcpConfig(opts.config);
    const now = opts.now ?? 0;
    const peerIss = opts.peerIss ?? REMOTE_ISS;
    const synSeg = makeSegment({ seq: peerIss, ack: 0, flags: SYN, window: 65535, ...syn });
    const conn = TcpConnection.accept(now, {
      localPort: LOCAL_PORT,
      remotePort: REMOTE_PORT,
      iss: seq(opts.iss ?? LOCAL_ISS),
      config,
      tsOffset: opts.tsOffset,
    }, synSeg);
    const s = new TcpScript(conn, config, opts, now);
    s.#lastState = "LISTEN";
    s.drain();
    return s;
  }

  /**
   * A client in ESTABLISHED: the SYN is answered by a SYN-ACK with
   * `synAck` overrides (default: MSS 1460, no other options, window 65535)
   * and the ACK is consumed. Events so far are cleared.
   */
  static established(opts: ScriptOptions = {}, synAck: SegmentTemplate = {}): TcpScript {
    const s = TcpScript.client(opts);
    s.expectSent({ flags: SYN, seq: s.localIss });
    s.send({
      seq: s.remoteIss,
      ack: s.l(),
      flags: SYN | ACK,
      options: { mss: 1460 },
      ...synAck,
    });
    s.expectSent({ flags: ACK, seq: s.l(), ack: s.r() });
    assert.equal(s.conn.state, "ESTABLISHED");
    s.events.length = 0;
    return s;
  }

  /** Feeds a segment from the peer and drains the output. */
  send(t: SegmentTemplate): void {
    const seg = makeSegment({ seq: this.r(), ack: this.l(), ...t });
    this.conn.handleSegment(this.now, seg);
    this.drain();
  }

  /** Collects emitted segments and events. */
  drain(): void {
    for (let i = 0; i < 100_000; i++) {
      const seg = this.conn.pollTransmit(this.now);
      if (seg === undefined) break;
      const len = segmentEncodedLength(seg);
      assert.ok(
        len <= this.config.segmentBudget,
        `segment of ${len} bytes exceeds the budget ${this.config.segmentBudget}: ${
          showSegment(seg)
        }`,
      );
      this.sent.push(copySegment(seg));
    }
    for (;;) {
      const ev = this.conn.pollEvent();
      if (ev === undefined) break;
      this.#lastState = checkEvent(ev, this.#lastState);
      this.events.push(ev);
    }
    assert.equal(this.#lastState, this.conn.state, "state events must track the state");
  }

  /** Pops the next emitted segment and checks it against `exp`. */
  expectSent(exp: Expected): TcpSegment {
    const seg = this.sent.shift();
    assert.ok(seg !== undefined, `expected a segment like ${JSON.stringify(exp)}, got nothing`);
    checkSegment(seg, exp);
    return seg;
  }

  /** Asserts nothing was emitted. */
  expectNothing(): void {
    assert.equal(
      this.sent.length,
      0,
      `expected nothing, got:\n${this.sent.map(showSegment).join("\n")}`,
    );
  }

  /** Advances virtual time by `ms`, running timers at their deadlines. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (let i = 0; i < 100_000; i++) {
      const at = this.conn.pollTimeout();
      if (at > target) break;
      this.now = Math.max(this.now, at);
      this.conn.handleTimeout(this.now);
      this.drain();
    }
    this.now = target;
    this.drain();
  }

  /** Advances to the next timer deadline and runs it; returns the time it fired. */
  fireNext(): Instant {
    const at = this.conn.pollTimeout();
    assert.ok(at !== Infinity, "no timer armed");
    this.now = Math.max(this.now, at);
    this.conn.handleTimeout(this.now);
    this.drain();
    return this.now;
  }

  /** Runs an app call (given the connection and the current time), then drains. */
  app<T>(fn: (c: TcpConnection, now: Instant) => T): T {
    const v = fn(this.conn, this.now);
    this.drain();
    return v;
  }

  /** Events of `type` seen so far. */
  eventsOf<K extends TcpEvent["type"]>(type: K): Extract<TcpEvent, { type: K }>[] {
    return this.events.filter((e) => e.type === type) as Extract<TcpEvent, { type: K }>[];
  }

  /** The states passed through, from the state events. */
  states(): TcpState[] {
    return this.eventsOf("state").map((e) => e.to);
  }

  /** Reads everything readable as text. */
  readText(max = 1 << 20): string {
    const buf = new Uint8Array(max);
    const n = this.conn.read(buf);
    this.drain();
    return n > 0 ? decoder.decode(buf.subarray(0, n)) : "";
  }
}

/** Fills a whole segment from a template. */
export function makeSegment(t: SegmentTemplate): TcpSegment {
  return {
    srcPort: t.srcPort ?? REMOTE_PORT,
    dstPort: t.dstPort ?? LOCAL_PORT,
    seq: seq(t.seq ?? 0),
    ack: seq(t.ack ?? 0),
    flags: t.flags ?? ACK,
    window: t.window ?? 65535,
    urgentPointer: t.urgentPointer ?? 0,
    options: t.options ?? {},
    payload: t.payload === undefined ? new Uint8Array(0) : bytes(t.payload),
  };
}

/** Asserts `seg` matches `exp`. */
export function checkSegment(seg: TcpSegment, exp: Expected): void {
  const where = showSegment(seg);
  if (exp.flags !== undefined) {
    assert.equal(formatFlags(seg.flags), formatFlags(exp.flags), `flags of ${where}`);
  }
  if (exp.seq !== undefined) assert.equal(seg.seq, seq(exp.seq), `seq of ${where}`);
  if (exp.ack !== undefined) assert.equal(seg.ack, seq(exp.ack), `ack of ${where}`);
  if (exp.window !== undefined) assert.equal(seg.window, exp.window, `window of ${where}`);
  if (exp.len !== undefined) assert.equal(seg.payload.length, exp.len, `length of ${where}`);
  if (exp.payload !== undefined) {
    assert.deepEqual([...seg.payload], [...bytes(exp.payload)], `payload of ${where}`);
  }
  if (exp.options !== undefined) {
    for (const [k, v] of Object.entries(exp.options)) {
      assert.deepEqual(
        (seg.options as Record<string, unknown>)[k],
        v,
        `option ${k} of ${where}`,
      );
    }
  }
}

// ---- two connections ----------------------------------------------------------------------

/** Which end of a {@linkcode TcpPair}. */
export type End = "client" | "server";

/** Options of a {@linkcode TcpPair}. */
export interface PairOptions {
  /** Config for both ends. */
  config?: Partial<TcpConfig>;
  /** Extra config for the client. */
  clientConfig?: Partial<TcpConfig>;
  /** Extra config for the server. */
  serverConfig?: Partial<TcpConfig>;
  /** Client ISS. */
  clientIss?: number;
  /** Server ISS. */
  serverIss?: number;
  /** One-way delay in ms. Default 5. */
  delay?: number;
  /** Return true to drop a segment (`n` counts segments sent by `from`, from 0). */
  drop?: (seg: TcpSegment, from: End, n: number) => boolean;
}

interface InFlight {
  at: Instant;
  to: End;
  seg: TcpSegment;
}

/**
 * The RST a stack sends for a segment that reaches no connection (RFC 9293
 * §3.10.7.1), or undefined for a RST.
 */
export function resetFor(seg: TcpSegment): TcpSegment | undefined {
  if (seg.flags & RST) return undefined;
  const base = {
    srcPort: seg.dstPort,
    dstPort: seg.srcPort,
    window: 0,
    urgentPointer: 0,
    options: {},
    payload: new Uint8Array(0),
  };
  if (seg.flags & ACK) return { ...base, seq: seg.ack, ack: seq(0), flags: RST };
  return { ...base, seq: seq(0), ack: seqAdd(seg.seq, segmentSeqLen(seg)), flags: RST | ACK };
}

/**
 * Two connections on one virtual clock, segments delivered after `delay`
 * (FIFO per direction). The server is created by `TcpConnection.accept` when
 * the client's first SYN arrives. A segment reaching a CLOSED end is answered
 * with a RST, as the stack does for unknown connections.
 */
export class TcpPair {
  /** The active opener. */
  readonly client: TcpConnection;
  /** The passive opener (once the SYN arrived). */
  server: TcpConnection | undefined;
  /** Virtual time. */
  now: Instant = 0;
  /** Events per end. */
  readonly events: Record<End, TcpEvent[]> = { client: [], server: [] };
  /** Segments sent per end (copies). */
  readonly trace: { at: Instant; from: End; seg: TcpSegment; dropped: boolean }[] = [];
  readonly #wire: InFlight[] = [];
  readonly #opts: PairOptions;
  readonly #serverConfig: TcpConfig;
  readonly #count: Record<End, number> = { client: 0, server: 0 };
  readonly #last: Record<End, TcpState> = { client: "CLOSED", server: "LISTEN" };
  /** Keep copies of every segment in {@linkcode TcpPair.trace} (off for bulk runs). */
  keepTrace = true;

  /** @param opts Configs, ISSs, delay, drops. */
  constructor(opts: PairOptions = {}) {
    this.#opts = opts;
    const clientConfig = tcpConfig({ ...opts.config, ...opts.clientConfig });
    this.#serverConfig = tcpConfig({ ...opts.config, ...opts.serverConfig });
    this.client = TcpConnection.connect(0, {
      localPort: REMOTE_PORT,
      remotePort: LOCAL_PORT,
      iss: seq(opts.clientIss ?? REMOTE_ISS),
      config: clientConfig,
      tsOffset: 1000,
    });
    this.#flush();
  }

  /** The connection at `end` (throws before the server exists). */
  conn(end: End): TcpConnection {
    if (end === "client") return this.client;
    assert.ok(this.server !== undefined, "server not created yet");
    return this.server;
  }

  /** Drains both ends' output onto the wire and their events into `events`. */
  #flush(): void {
    for (const end of ["client", "server"] as const) {
      const c = end === "client" ? this.client : this.server;
      if (c === undefined) continue;
      for (;;) {
        const seg = c.pollTransmit(this.now);
        if (seg === undefined) break;
        const n = this.#count[end]++;
        const dropped = this.#opts.drop?.(seg, end, n) ?? false;
        const copy = copySegment(seg);
        if (this.keepTrace) this.trace.push({ at: this.now, from: end, seg: copy, dropped });
        if (!dropped) {
          this.#wire.push({
            at: this.now + (this.#opts.delay ?? 5),
            to: end === "client" ? "server" : "client",
            seg: copy,
          });
        }
      }
      for (;;) {
        const ev = c.pollEvent();
        if (ev === undefined) break;
        this.#last[end] = checkEvent(ev, this.#last[end]);
        this.events[end].push(ev);
      }
    }
  }

  /**
   * Runs the pair until `until()` holds or nothing is left to do; `app` runs
   * after every step (to write and read). Fails after `maxSteps` steps.
   *
   * @returns Whether `until()` held.
   */
  run(
    opts: { until?: () => boolean; app?: () => void; maxSteps?: number; maxTime?: Instant } = {},
  ): boolean {
    const maxSteps = opts.maxSteps ?? 1_000_000;
    for (let step = 0; step < maxSteps; step++) {
      opts.app?.();
      this.#flush();
      if (opts.until?.()) return true;
      const nextWire = this.#wire.length > 0 ? this.#wire[0].at : Infinity;
      const tc = this.client.pollTimeout();
      const ts = this.server?.pollTimeout() ?? Infinity;
      const next = Math.min(nextWire, tc, ts);
      if (next === Infinity) return opts.until === undefined ? true : opts.until();
      if (opts.maxTime !== undefined && next > opts.maxTime) {
        this.now = opts.maxTime;
        return opts.until?.() ?? true;
      }
      this.now = Math.max(this.now, next);
      if (nextWire <= this.now) {
        const { to, seg } = this.#wire.shift()!;
        if (to === "server") {
          if (this.server === undefined) {
            if ((seg.flags & (SYN | ACK)) !== SYN) continue;
            this.server = TcpConnection.accept(this.now, {
              localPort: LOCAL_PORT,
              remotePort: REMOTE_PORT,
              iss: seq(this.#opts.serverIss ?? LOCAL_ISS),
              config: this.#serverConfig,
              tsOffset: 50_000,
            }, seg);
          } else {
            this.#deliver("server", this.server, seg);
          }
        } else {
          this.#deliver("client", this.client, seg);
        }
      } else {
        if (tc <= this.now) this.client.handleTimeout(this.now);
        if (this.server && ts <= this.now) this.server.handleTimeout(this.now);
      }
    }
    assert.fail(`TcpPair.run did not finish within ${maxSteps} steps (t=${this.now})`);
  }

  #deliver(end: End, c: TcpConnection, seg: TcpSegment): void {
    if (c.state !== "CLOSED") {
      c.handleSegment(this.now, seg);
      return;
    }
    const rst = resetFor(seg);
    if (rst === undefined) return;
    if (this.keepTrace) this.trace.push({ at: this.now, from: end, seg: rst, dropped: false });
    this.#wire.push({
      at: this.now + (this.#opts.delay ?? 5),
      to: end === "client" ? "server" : "client",
      seg: rst,
    });
  }

  /** The states an end went through. */
  states(end: End): TcpState[] {
    return this.events[end].filter((e) => e.type === "state").map((e) =>
      (e as { to: TcpState }).to
    );
  }
}
