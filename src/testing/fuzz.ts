/**
 * A bounded fuzzer for a live stack: random datagrams and mutations of
 * segments captured from a real transfer (bit flips, truncation, field
 * changes, option garbage, replays) are fed into both ends of a transfer on
 * the simulator, from the peer's address and from strangers, while the
 * transfer runs round after round. Every round must arrive byte-exact
 * (sha-free: compared byte by byte), no call may throw, and the stacks'
 * state (connections, queues) must stay bounded.
 *
 * What is not injected into a live connection: a mutation that still passes
 * the TCP checksum and changes what the segment says about the stream
 * (sequence, acknowledgment, flags, payload, timestamps or SACK option) is
 * an on-path forgery the 16-bit checksum cannot catch (the tunnel's sealing
 * does); such a datagram is sent to a different TCP port instead, so it
 * still exercises the listener and no-socket paths (`retargeted`).
 *
 * Deterministic: everything follows from `seed` (src/sim/prng.ts).
 *
 * @module
 */

import { Prng } from "../sim/prng.ts";
import { SimNetwork } from "../sim/sim_network.ts";
import type { SimUdpSocket } from "../sim/sim_udp_socket.ts";
import { VirtualClock } from "../sim/virtual_clock.ts";
import { Stack } from "../stack/stack.ts";
import type { StackConnection } from "../stack/stack_connection.ts";
import { tcpChecksum } from "../wire/checksum.ts";
import { emitEnvelope, ENVELOPE_HEADER_LEN, EnvelopeType } from "../wire/envelope.ts";
import { emitSegment, parseSegment } from "../wire/tcp_codec.ts";
import { seq } from "../wire/seq.ts";
import type { TcpSegment } from "../wire/tcp_segment.ts";

/** Kinds of injected datagrams. */
export const FUZZ_KINDS = [
  "random",
  "bitflip",
  "truncate",
  "field",
  "optionGarbage",
  "replay",
] as const;
/** One kind of injected datagram. */
export type FuzzKind = typeof FUZZ_KINDS[number];

/** Options of {@linkcode runFuzz}. */
export interface FuzzOptions {
  /** Seed of everything. Default 1. */
  readonly seed?: number;
  /** Datagrams to inject at most. */
  readonly iterations: number;
  /** Wall-clock budget in seconds (stops injecting after it). Default unlimited. */
  readonly seconds?: number;
  /** Bytes per transfer round. Default 64 KiB. */
  readonly roundBytes?: number;
  /** Injected datagrams per virtual millisecond. Default 4. */
  readonly perMs?: number;
}

/** What {@linkcode runFuzz} saw. */
export interface FuzzReport {
  /** Datagrams injected. */
  injected: number;
  /** Per kind. */
  byKind: Record<FuzzKind, number>;
  /** Checksum-valid forgeries of a live connection's stream sent to another port instead. */
  retargeted: number;
  /** Transfer rounds completed byte-exact. */
  rounds: number;
  /** Rounds that failed (corrupt, reset or stalled); must be 0. */
  failedRounds: number;
  /** What went wrong in the first failed round. */
  failure: string | undefined;
  /** The injected datagrams for the failed round's ports just before it failed (tcpdump-like). */
  failureContext: string[];
  /** Exceptions thrown by a stack while handling injected input; must be 0. */
  crashes: number;
  /** The first exception's text. */
  crash: string | undefined;
  /** Largest number of connections either stack held. */
  maxConnections: number;
  /** Largest receive plus send queue of one connection (bytes). */
  maxQueueBytes: number;
  /** Connections left after the run settled. */
  finalConnections: number;
  /** Virtual time used (ms). */
  virtualMs: number;
  /** Wall time used (ms). */
  wallMs: number;
  /** Segments the server stack rejected as undecodable (bad envelope or segment). */
  rejected: number;
}

const SERVER = { hostname: "10.0.0.1", port: 7000 };
const CLIENT = { hostname: "10.0.0.2", port: 7000 };
const PORT = 80;
const CAPTURE = 256;

/**
 * Runs the fuzzer until `iterations` datagrams were injected or `seconds`
 * passed, then lets the last round finish.
 *
 * @example A short run
 * ```ts
 * import assert from "node:assert/strict";
 * import { runFuzz } from "./fuzz.ts";
 * const r = runFuzz({ seed: 2, iterations: 2000 });
 * assert.equal(r.crashes, 0);
 * assert.equal(r.failedRounds, 0);
 * assert.ok(r.rounds >= 1);
 * ```
 */
export function runFuzz(options: FuzzOptions): FuzzReport {
  const seed = options.seed ?? 1;
  const roundBytes = options.roundBytes ?? 65_536;
  const perMs = options.perMs ?? 4;
  const wallStart = Date.now();
  const wallEnd = options.seconds !== undefined
    ? wallStart + options.seconds * 1000
    : Number.POSITIVE_INFINITY;
  const clock = new VirtualClock({ seed });
  const net = new SimNetwork(clock);
  net.setPath(SERVER.hostname, CLIENT.hostname, { delay: 5, bandwidth: 2_000_000 });
  const ss = net.bind(SERVER);
  const cs = net.bind(CLIENT);
  const server = new Stack(ss, clock);
  const client = new Stack(cs, clock);
  const prng = new Prng(seed);
  const report: FuzzReport = {
    injected: 0,
    byKind: Object.fromEntries(FUZZ_KINDS.map((k) => [k, 0])) as Record<FuzzKind, number>,
    retargeted: 0,
    rounds: 0,
    failedRounds: 0,
    failure: undefined,
    failureContext: [],
    crashes: 0,
    crash: undefined,
    maxConnections: 0,
    maxQueueBytes: 0,
    finalConnections: 0,
    virtualMs: 0,
    wallMs: 0,
    rejected: 0,
  };
  // captured segments, with the side that received them
  const captured: { seg: TcpSegment; toServer: boolean }[] = [];
  // only segments sent to the real peer: replaying one sent elsewhere (a RST to a
  // stranger, carrying a sequence number the stranger chose) is a forgery
  const capture = (toServer: boolean) =>
  (
    _t: number,
    dir: "in" | "out",
    peer: { hostname: string; port: number },
    seg: TcpSegment,
  ) => {
    if (dir !== "out") return;
    if (recent.length >= 2048) recent.shift();
    recent.push(
      `${clock.now()} sent by ${
        toServer ? "client" : "server"
      } to ${peer.hostname} ${seg.srcPort} > ${seg.dstPort} ` +
        `flags ${seg.flags} seq ${seg.seq} ack ${seg.ack} len ${seg.payload.length}`,
    );
    if (peer.hostname !== (toServer ? SERVER : CLIENT).hostname) return;
    const entry = { seg: { ...seg, payload: seg.payload.slice() }, toServer };
    if (captured.length < CAPTURE) captured.push(entry);
    else captured[prng.nextInt(CAPTURE)] = entry;
  };
  server.tracer = { onSegment: capture(false) };
  client.tracer = { onSegment: capture(true) };

  // ---- transfer rounds ----
  const listener = server.listen(PORT);
  let round: Round | undefined;
  const live = new Set<string>();
  const recent: string[] = [];
  const liveKey = (a: number, b: number) => `${a}:${b}`;
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== undefined; c = listener.accept()) {
      if (round !== undefined && c.remotePort === round.client.localPort) round.attach(c);
      else c.abort(); // a forged handshake that got in: not ours
    }
  };
  const startRound = () => {
    const data = new Uint8Array(roundBytes);
    for (let i = 0; i < data.length; i++) data[i] = prng.nextInt(256);
    const cc = client.connect(SERVER, PORT);
    round = new Round(data, cc, clock.now(), (ok, why) => {
      live.delete(liveKey(cc.localPort, PORT));
      if (ok) report.rounds++;
      else {
        report.failedRounds++;
        if (report.failure === undefined) {
          report.failure = why;
          const port = String(cc.localPort);
          report.failureContext = recent.filter((l) => l.includes(` ${port} `)).slice(-40);
        }
      }
      round = undefined;
    });
    live.add(liveKey(cc.localPort, PORT));
  };

  // ---- injection ----
  const buf = new Uint8Array(2048);
  const guarded = (
    sock: SimUdpSocket,
    data: Uint8Array,
    from: { hostname: string; port: number },
  ) => {
    try {
      sock.deliver(data, from);
    } catch (e) {
      report.crashes++;
      report.crash ??= e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
    }
  };
  const encode = (seg: TcpSegment): Uint8Array => {
    const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 0);
    return buf.slice(0, n + emitSegment(seg, buf, n));
  };
  const stranger = () => ({
    hostname: `10.9.${prng.nextInt(4)}.${1 + prng.nextInt(250)}`,
    port: 1024 + prng.nextInt(60000),
  });
  /** Whether a checksum-valid datagram would forge the stream of a live connection. */
  const forges = (data: Uint8Array, original: TcpSegment | undefined, toServer: boolean) => {
    if (data.length <= ENVELOPE_HEADER_LEN) return false;
    const p = parseSegment(data.subarray(ENVELOPE_HEADER_LEN));
    if (!p.ok) return false;
    const s = p.value;
    const key = toServer ? liveKey(s.srcPort, s.dstPort) : liveKey(s.dstPort, s.srcPort);
    if (!live.has(key)) return false;
    if (original === undefined) return true;
    return s.srcPort !== original.srcPort || s.dstPort !== original.dstPort ||
      s.seq !== original.seq || s.ack !== original.ack || s.flags !== original.flags ||
      !sameBytes(s.payload, original.payload) ||
      JSON.stringify(s.options.timestamps) !== JSON.stringify(original.options.timestamps) ||
      JSON.stringify(s.options.sackBlocks) !== JSON.stringify(original.options.sackBlocks);
  };
  const retarget = (data: Uint8Array, toServer: boolean) => {
    const h = ENVELOPE_HEADER_LEN;
    // move it to another port pair and fix the checksum: no longer the live stream
    const port = 20_000 + prng.nextInt(10_000);
    if (toServer) data[h] = port >>> 8, data[h + 1] = port & 0xff;
    else data[h + 2] = port >>> 8, data[h + 3] = port & 0xff;
    const seg = data.subarray(h);
    if (seg.length >= 18) {
      seg[16] = 0;
      seg[17] = 0;
      const c = tcpChecksum(seg);
      seg[16] = c >>> 8;
      seg[17] = c & 0xff;
    }
    report.retargeted++;
  };
  const injectOne = () => {
    const kind = FUZZ_KINDS[prng.nextInt(FUZZ_KINDS.length)];
    const pick = captured.length > 0 ? captured[prng.nextInt(captured.length)] : undefined;
    const toServer = pick?.toServer ?? prng.chance(0.5);
    let data: Uint8Array;
    let original: TcpSegment | undefined = pick?.seg;
    switch (kind) {
      case "random": {
        data = new Uint8Array(prng.nextInt(1600));
        for (let i = 0; i < data.length; i++) data[i] = prng.nextInt(256);
        if (data.length >= 4 && prng.chance(0.5)) {
          emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, data, 0);
        }
        original = undefined;
        break;
      }
      case "bitflip": {
        data = pick ? encode(pick.seg) : new Uint8Array(40);
        const flips = 1 + prng.nextInt(8);
        for (let i = 0; i < flips; i++) data[prng.nextInt(data.length)] ^= 1 << prng.nextInt(8);
        break;
      }
      case "truncate": {
        const full = pick ? encode(pick.seg) : new Uint8Array(40);
        data = full.slice(0, prng.nextInt(full.length));
        break;
      }
      case "field": {
        if (!pick) return;
        const s = pick.seg;
        const r = prng.nextU32();
        const v: Partial<Record<keyof TcpSegment, number>> = {};
        switch (prng.nextInt(7)) {
          case 0:
            v.seq = seq(s.seq + (prng.chance(0.5) ? prng.nextInt(200_000) - 100_000 : r));
            break;
          case 1:
            v.ack = seq(s.ack + (prng.chance(0.5) ? prng.nextInt(200_000) - 100_000 : r));
            break;
          case 2:
            v.flags = r & 0x3f;
            break;
          case 3:
            v.window = r & 0xffff;
            break;
          case 4:
            v.urgentPointer = r & 0xffff;
            break;
          case 5:
            v.srcPort = r & 0xffff;
            break;
          default:
            v.dstPort = r & 0xffff;
        }
        data = encode({ ...s, ...v } as TcpSegment);
        break;
      }
      case "optionGarbage": {
        if (!pick) return;
        data = garbageOptions(pick.seg, prng);
        break;
      }
      default: { // replay
        if (!pick) return;
        data = encode(pick.seg);
      }
    }
    if (kind !== "random" && forges(data, original, toServer)) retarget(data, toServer);
    report.byKind[kind]++;
    if (data.length > ENVELOPE_HEADER_LEN) {
      const p = parseSegment(data.subarray(ENVELOPE_HEADER_LEN));
      if (p.ok) {
        const g = p.value;
        if (recent.length >= 2048) recent.shift();
        recent.push(
          `${clock.now()} ${kind} ${
            toServer ? "to server" : "to client"
          } ${g.srcPort} > ${g.dstPort} ` +
            `flags ${g.flags} seq ${g.seq} ack ${g.ack} len ${g.payload.length}`,
        );
      }
    }
    report.injected++;
    const fromPeer = prng.chance(0.8);
    if (toServer) guarded(ss, data, fromPeer ? CLIENT : stranger());
    else guarded(cs, data, fromPeer ? SERVER : stranger());
  };

  const sample = () => {
    for (const st of [server, client]) {
      const conns = st.connections();
      report.maxConnections = Math.max(report.maxConnections, conns.length);
      for (const c of conns) {
        const i = c.tcp.info();
        report.maxQueueBytes = Math.max(report.maxQueueBytes, i.recvQueue + i.sendQueue);
      }
    }
  };

  const tick = () => {
    const injecting = report.injected < options.iterations && Date.now() < wallEnd;
    if (round === undefined && injecting) startRound();
    if (round !== undefined) round.poll(clock.now());
    if (injecting) {
      for (let i = 0; i < perMs && report.injected < options.iterations; i++) injectOne();
    }
    if ((clock.now() & 15) === 0) sample();
    if (injecting || round !== undefined) clock.schedule(clock.now() + 1, tick);
  };
  clock.schedule(0, tick);
  clock.runUntilIdle({ until: Number.MAX_SAFE_INTEGER, maxEvents: Number.MAX_SAFE_INTEGER });
  // the leftovers (TIME_WAIT, forged half-open connections) expire by themselves
  clock.advance(10 * 60_000);
  sample();
  report.finalConnections = server.connections().length + client.connections().length;
  report.rejected = server.counters.badEnvelopes + server.counters.badSegments;
  report.virtualMs = clock.now();
  report.wallMs = Date.now() - wallStart;
  server.close();
  client.close();
  return report;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The segment with its options area (up to 40 bytes) replaced by random bytes, checksum fixed. */
function garbageOptions(seg: TcpSegment, prng: Prng): Uint8Array {
  const optLen = 4 * prng.nextInt(11);
  const tcpLen = 20 + optLen + seg.payload.length;
  const out = new Uint8Array(ENVELOPE_HEADER_LEN + tcpLen);
  const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, out, 0);
  const noOpts = new Uint8Array(20 + seg.payload.length + 4);
  emitSegment({ ...seg, options: {} }, noOpts, 0);
  const t = out.subarray(n);
  t.set(noOpts.subarray(0, 20), 0);
  t[12] = ((5 + optLen / 4) << 4) | (t[12] & 0x0f);
  for (let i = 0; i < optLen; i++) t[20 + i] = prng.nextInt(256);
  t.set(seg.payload, 20 + optLen);
  t[16] = 0;
  t[17] = 0;
  const c = tcpChecksum(t);
  t[16] = c >>> 8;
  t[17] = c & 0xff;
  return out;
}

/** One transfer: the client sends `data`, the server reads it and closes. */
class Round {
  readonly client: StackConnection;
  #data: Uint8Array;
  #got: Uint8Array;
  #gotLen = 0;
  #sent = 0;
  #start: number;
  #server: StackConnection | undefined;
  #done: (ok: boolean, why: string) => void;
  #finished = false;

  constructor(
    data: Uint8Array,
    client: StackConnection,
    now: number,
    done: (ok: boolean, why: string) => void,
  ) {
    this.#data = data;
    this.#got = new Uint8Array(data.length);
    this.client = client;
    this.#start = now;
    this.#done = done;
    client.onEvent = (ev) => {
      if (ev.type === "error") this.#finish(false, `client: ${ev.kind} ${ev.detail}`);
      else if (ev.type === "connected" || ev.type === "writable") this.#pump();
    };
  }

  attach(c: StackConnection): void {
    this.#server = c;
    c.onEvent = (ev) => {
      if (ev.type === "error") this.#finish(false, `server: ${ev.kind} ${ev.detail}`);
      else this.#read();
    };
    this.#read();
  }

  poll(now: number): void {
    if (!this.#finished && now - this.#start > 120_000) {
      this.#finish(false, `stalled: ${this.#gotLen}/${this.#data.length} bytes after 120 s`);
    }
  }

  #pump(): void {
    const d = this.#data;
    while (this.#sent < d.length) {
      const n = this.client.write(d.subarray(this.#sent));
      if (n <= 0) break;
      this.#sent += n;
    }
    if (this.#sent === d.length && this.client.state === "ESTABLISHED") this.client.closeWrite();
  }

  #read(): void {
    const c = this.#server;
    if (c === undefined || this.#finished) return;
    const tmp = new Uint8Array(65536);
    for (;;) {
      const n = c.read(tmp);
      if (n === 0) return;
      if (n < 0) break;
      if (this.#gotLen + n > this.#got.length) {
        this.#finish(false, "more bytes than sent");
        return;
      }
      this.#got.set(tmp.subarray(0, n), this.#gotLen);
      this.#gotLen += n;
    }
    // EOF
    const ok = this.#gotLen === this.#data.length && sameBytes(this.#got, this.#data);
    c.close();
    this.client.close();
    this.#finish(ok, ok ? "" : `corrupt: ${this.#gotLen}/${this.#data.length} bytes differ`);
  }

  #finish(ok: boolean, why: string): void {
    if (this.#finished) return;
    this.#finished = true;
    if (!ok) {
      this.client.abort();
      this.#server?.abort();
    }
    this.#done(ok, why);
  }
}
