/**
 * MuxSession and MuxStream over an in-memory duplex pair of fake tunnel
 * connections: frames can be inspected and injected, a connection stalled
 * or failed, without a tou stack underneath.
 */

import assert from "node:assert/strict";
import { ConnectionResetError } from "../../src/net/mod.ts";
import {
  MUX_HEADER,
  MUX_MAX_PAYLOAD,
  MUX_PREFACE,
  muxLength,
  MuxResetCode,
  muxStreamId,
  MuxType,
  writeMuxHeader,
} from "../../src/tunnel/mux_frame.ts";
import { MUX_SESSION_BUFFER, MuxSession } from "../../src/tunnel/mux_session.ts";
import { MUX_WINDOW, type MuxStream } from "../../src/tunnel/mux_stream.ts";
import { copyStream } from "../../src/tunnel/pipe.ts";
import type { TunnelConn } from "../../src/tunnel/transport.ts";
import { pattern, readAll, readOutcome, until, within, writeAll } from "./_harness.ts";

// ---- an in-memory connection pair ----

interface Reader {
  readonly p: Uint8Array;
  readonly resolve: (n: number | null) => void;
  readonly reject: (e: Error) => void;
}

/** One end of an in-memory duplex pair: what one side writes, the other reads. */
class FakeConn {
  peer!: FakeConn;
  readonly localAddr: Deno.NetAddr = { transport: "tcp", hostname: "10.0.0.1", port: 1 };
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "10.0.0.2", port: 2 };
  /** Every chunk delivered to this side, in order (what the peer wrote). */
  readonly received: Uint8Array[] = [];
  /** Largest count one write takes (partial writes below that). */
  maxWrite = Infinity;
  /** Largest count one read returns. */
  maxRead = Infinity;
  /** When set, reads wait for it (a reader that lags behind). */
  readGate: Promise<void> | undefined;
  /** closeWrite() was called. */
  writeClosed = false;
  /** When set, writes wait for it and only then copy the bytes (a stalled connection). */
  gate: Promise<void> | undefined;
  /** When set, writes reject with it (a failing connection). */
  writeError: Error | undefined;
  closed = false;
  aborted = false;
  resetByPeer = false;
  #inbox: Uint8Array[] = [];
  #eof = false;
  #error: Error | undefined;
  #reader: Reader | undefined;

  read(p: Uint8Array): Promise<number | null> {
    if (this.readGate !== undefined) return this.readGate.then(() => this.read(p));
    if (this.#inbox.length > 0) return Promise.resolve(this.#take(p));
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#eof || this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#reader = { p, resolve, reject };
    });
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.gate !== undefined) await this.gate;
    if (this.#error !== undefined) throw this.#error;
    if (this.writeError !== undefined) throw this.writeError;
    if (this.closed) throw new Deno.errors.BrokenPipe("closed");
    const n = Math.min(p.byteLength, this.maxWrite);
    this.peer.#deliver(p.slice(0, n)); // copied only now: a lent buffer must stay untouched
    return n;
  }

  /** Blocks writes until the returned function is called. */
  stall(): () => void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.gate = promise;
    return () => {
      this.gate = undefined;
      resolve();
    };
  }

  closeWrite(): Promise<void> {
    this.writeClosed = true;
    this.peer.#onEof();
    return Promise.resolve();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.peer.#onEof();
    this.#settle(null);
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.aborted = true;
    this.#error = new ConnectionResetError("aborted here");
    this.#settle(this.#error);
    this.peer.#onReset();
  }

  /** All bytes delivered to this side so far. */
  bytes(): Uint8Array {
    return concat(this.received);
  }

  #deliver(chunk: Uint8Array): void {
    if (this.closed) {
      // as TCP: bytes reaching a closed socket get a RST (RFC 1122 §4.2.2.13)
      if (!this.aborted) this.peer.#onReset();
      return;
    }
    this.received.push(chunk);
    this.#inbox.push(chunk);
    const r = this.#reader;
    if (r !== undefined) {
      this.#reader = undefined;
      r.resolve(this.#take(r.p));
    }
  }

  #take(p: Uint8Array): number {
    let n = 0;
    const max = Math.min(p.byteLength, this.maxRead);
    while (n < max && this.#inbox.length > 0) {
      const c = this.#inbox[0];
      const k = Math.min(c.byteLength, max - n);
      p.set(c.subarray(0, k), n);
      n += k;
      if (k === c.byteLength) this.#inbox.shift();
      else this.#inbox[0] = c.subarray(k);
    }
    return n;
  }

  #onEof(): void {
    this.#eof = true;
    if (this.#inbox.length === 0) this.#settle(null);
  }

  #onReset(): void {
    this.resetByPeer = true;
    this.#error = new ConnectionResetError("reset by the peer");
    this.#inbox = [];
    this.#settle(this.#error);
  }

  #settle(v: null | Error): void {
    const r = this.#reader;
    if (r === undefined) return;
    this.#reader = undefined;
    if (v === null) r.resolve(null);
    else r.reject(v);
  }
}

function fakePair(): [FakeConn, FakeConn] {
  const a = new FakeConn();
  const b = new FakeConn();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function asConn(c: FakeConn): TunnelConn {
  return c as unknown as TunnelConn;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

// ---- frames ----

interface Frame {
  readonly type: number;
  readonly id: number;
  readonly payload: Uint8Array;
}

/** Parses a byte stream of frames (after the preface, when `preface`). */
function parseFrames(bytes: Uint8Array, preface = false): Frame[] {
  let at = 0;
  if (preface) {
    assert.deepEqual([...bytes.subarray(0, MUX_PREFACE.length)], [...MUX_PREFACE]);
    at = MUX_PREFACE.length;
  }
  const out: Frame[] = [];
  while (bytes.length - at >= MUX_HEADER) {
    const len = muxLength(bytes, at);
    if (bytes.length - at < MUX_HEADER + len) break;
    out.push({
      type: bytes[at],
      id: muxStreamId(bytes, at),
      payload: bytes.slice(at + MUX_HEADER, at + MUX_HEADER + len),
    });
    at += MUX_HEADER + len;
  }
  return out;
}

function frame(type: number, id: number, payload: Uint8Array | number[] = []): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const out = new Uint8Array(MUX_HEADER + p.length);
  writeMuxHeader(out, 0, type as MuxType, p.length, id);
  out.set(p, MUX_HEADER);
  return out;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** Serves each stream with `handle` (errors are collected, not thrown into the loop). */
function serverSession(conn: FakeConn, handle: (s: MuxStream) => Promise<void> | void) {
  const errors: unknown[] = [];
  const tasks: Promise<void>[] = [];
  const session = new MuxSession(asConn(conn), "server", (s) => {
    tasks.push(Promise.resolve().then(() => handle(s)).catch((e) => void errors.push(e)));
  });
  return {
    session,
    async settled(): Promise<void> {
      await Promise.all(tasks);
      if (errors.length > 0) throw errors[0];
    },
  };
}

/** Echoes a stream back, FIN included, then closes it. */
async function echo(s: MuxStream): Promise<void> {
  await copyStream(s, s);
  s.close();
}

// ---- tests ----

Deno.test("MuxSession client sends the preface, then OPEN with the port and DATA behind it", async () => {
  const [c, raw] = fakePair();
  const client = new MuxSession(asConn(c), "client");
  const s1 = client.open(7);
  assert.equal(await s1.write(new TextEncoder().encode("hi")), 2);
  const s2 = client.open(0xfffe);
  await until(() => parseFrames(raw.bytes(), true).length >= 3, "frames");
  const frames = parseFrames(raw.bytes(), true);
  assert.deepEqual(frames.map((f) => [f.type, f.id, [...f.payload]]), [
    [MuxType.OPEN, 1, [0, 7]],
    [MuxType.DATA, 1, [0x68, 0x69]],
    [MuxType.OPEN, 3, [0xff, 0xfe]],
  ]);
  assert.equal(s1.id, 1);
  assert.equal(s2.id, 3, "client ids are odd and step by 2");
  assert.equal(s2.tunnelPort, 0xfffe);
  assert.equal(client.streams, 2);
  assert.equal(client.streamsOpened, 2);
  assert.deepEqual(s1.remoteAddr, c.remoteAddr);
  client.abort();
  assert.equal(await client.done instanceof Deno.errors.ConnectionReset, true);
  assert.ok(c.aborted);
});

Deno.test("MuxSession server ends and resets the connection when the peer's preface is wrong", async () => {
  const [raw, srv] = fakePair();
  let opened = 0;
  const server = new MuxSession(asConn(srv), "server", () => opened++);
  await raw.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  const e = await within(2_000, "session end", server.done);
  assert.ok(e instanceof Deno.errors.ConnectionReset, String(e));
  assert.match(e.message, /not a tou mux session/);
  assert.ok(srv.aborted, "the server reset the connection");
  assert.ok(raw.resetByPeer);
  assert.equal(server.alive, false);
  assert.equal(opened, 0);
});

Deno.test("MuxSession server accepts a preface split over several reads, frames split at every byte", async () => {
  const [raw, srv] = fakePair();
  srv.maxRead = 1; // every read returns one byte
  const got: string[] = [];
  const { session, settled } = serverSession(srv, async (s) => {
    got.push(`${s.id}:${s.tunnelPort}:${new TextDecoder().decode(await readAll(s))}`);
    s.close();
  });
  const wire = concat([
    MUX_PREFACE,
    frame(MuxType.OPEN, 1, [0, 22]),
    frame(MuxType.DATA, 1, new TextEncoder().encode("hello")),
    frame(MuxType.OPEN, 3, [1, 0]),
    frame(MuxType.FIN, 1),
    frame(MuxType.FIN, 3),
  ]);
  for (const b of wire) await raw.write(new Uint8Array([b]));
  await until(() => got.length === 2, "two streams");
  await settled();
  assert.deepEqual(got.sort(), ["1:22:hello", "3:256:"]);
  assert.ok(session.alive);
  session.abort();
});

Deno.test("MuxSession carries many concurrent streams byte-exact both ways (0 bytes to 3 MiB)", async () => {
  const [c, s] = fakePair();
  // odd sizes on the wire: partial writes and reads that cut frames anywhere
  c.maxWrite = 40_000;
  s.maxWrite = 30_001;
  c.maxRead = 50_003;
  s.maxRead = 70_001;
  const { session: server, settled } = serverSession(s, echo);
  const client = new MuxSession(asConn(c), "client");
  const sizes = [0, 1, 7, 1000, MUX_MAX_PAYLOAD, MUX_MAX_PAYLOAD + 1, 200_000, 3 << 20, 0, 12_345];
  for (let i = 0; i < 10; i++) sizes.push(1 + i * 7919);
  await within(
    30_000,
    "all streams",
    Promise.all(sizes.map(async (n, i) => {
      const st = client.open(7);
      const data = pattern(n, 100 + i);
      const [, back] = await Promise.all([
        writeAll(st, data).then(() => st.closeWrite()),
        readAll(st),
      ]);
      assert.equal(back.length, n, `stream ${i}`);
      assert.ok(back.every((b, j) => b === data[j]), `stream ${i} (${n} bytes) changed`);
      assert.deepEqual((await st.closed).reason, "closed");
      st.close();
    })),
  );
  await settled();
  assert.equal(client.streams, 0);
  assert.equal(server.streams, 0);
  assert.equal(server.streamsOpened, sizes.length);
  client.abort();
});

Deno.test("MuxStream half-close: the client's FIN, then the server answers and finishes", async () => {
  const [c, s] = fakePair();
  const request = pattern(300_000, 1);
  const response = pattern(500_000, 2);
  const { session: server, settled } = serverSession(s, async (st) => {
    const got = await readAll(st); // to the client's FIN
    assert.deepEqual(got, request);
    await writeAll(st, response);
    st.close();
    assert.equal((await st.closed).reason, "closed");
  });
  const client = new MuxSession(asConn(c), "client");
  const st = client.open(9);
  await writeAll(st, request);
  await st.closeWrite();
  await assert.rejects(st.write(new Uint8Array(1)), Deno.errors.BrokenPipe);
  assert.deepEqual(await within(5_000, "response", readAll(st)), response);
  assert.equal((await st.closed).reason, "closed");
  st.close();
  await settled();
  assert.equal(client.streams, 0);
  assert.equal(server.streams, 0);
  client.abort();
});

Deno.test("MuxStream half-close: the server finishes first and still reads the late request", async () => {
  const [c, s] = fakePair();
  const { settled } = serverSession(s, async (st) => {
    await writeAll(st, new TextEncoder().encode("banner"));
    await st.closeWrite();
    assert.equal(new TextDecoder().decode(await readAll(st)), "late request");
    st.close();
  });
  const client = new MuxSession(asConn(c), "client");
  const st = client.open(9);
  assert.equal(new TextDecoder().decode(await readAll(st)), "banner");
  assert.equal(await st.read(new Uint8Array(4)), null, "EOF stays EOF");
  await writeAll(st, new TextEncoder().encode("late request"));
  await st.closeWrite();
  assert.equal((await within(2_000, "closed", st.closed)).reason, "closed");
  await settled();
  client.abort();
});

Deno.test("MuxStream reset propagates both ways as RST RESET", async () => {
  const [c, s] = fakePair();
  const serverStreams: MuxStream[] = [];
  const { session: server } = serverSession(s, (st) => void serverStreams.push(st));
  const client = new MuxSession(asConn(c), "client");
  const a = client.open(7);
  const b = client.open(7);
  await a.write(new Uint8Array([1]));
  await b.write(new Uint8Array([2]));
  await until(() => serverStreams.length === 2, "accepted");
  const [sa, sb] = serverStreams;
  assert.equal(await sa.read(new Uint8Array(4)), 1);
  assert.equal(await sb.read(new Uint8Array(4)), 1);
  // the application resets: the service side sees a reset
  const saRead = readOutcome(sa);
  a.abort();
  assert.equal(await within(2_000, "server outcome", saRead), "ConnectionReset");
  assert.equal((await sa.closed).reason, "reset");
  assert.equal((await a.closed).reason, "aborted");
  await assert.rejects(a.read(new Uint8Array(1)), Deno.errors.BadResource);
  // the service resets: the application sees a reset
  const bRead = readOutcome(b);
  sb.abort();
  assert.equal(await within(2_000, "client outcome", bRead), "ConnectionReset");
  assert.equal((await b.closed).reason, "reset");
  await assert.rejects(b.write(new Uint8Array(1)), Deno.errors.ConnectionReset);
  const rsts = parseFrames(s.bytes(), true).filter((f) => f.type === MuxType.RST);
  assert.deepEqual(rsts.map((f) => [f.id, f.payload[0]]), [[a.id, MuxResetCode.RESET]]);
  assert.equal(client.streams, 0);
  assert.equal(server.streams, 0);
  assert.ok(client.alive && server.alive, "a stream reset leaves the session up");
  client.abort();
});

Deno.test("MuxStream refused by the server: RST REFUSED, the client's stream fails ConnectionRefused", async () => {
  const [c, s] = fakePair();
  serverSession(s, (st) => st.refuse());
  const client = new MuxSession(asConn(c), "client");
  const st = client.open(8);
  await st.write(new Uint8Array([1, 2, 3])); // the bytes behind the OPEN are simply dropped
  await assert.rejects(
    within(2_000, "refusal", st.read(new Uint8Array(8))),
    Deno.errors.ConnectionRefused,
  );
  const info = await st.closed;
  assert.equal(info.reason, "refused");
  assert.match(String(info.error), /no service on tunnel port 8/);
  const rsts = parseFrames(c.bytes()).filter((f) => f.type === MuxType.RST);
  assert.deepEqual(rsts.map((f) => [f.id, [...f.payload]]), [[st.id, [MuxResetCode.REFUSED]]]);
  // a server session without a stream handler refuses every stream
  const [c2, s2] = fakePair();
  new MuxSession(asConn(s2), "server");
  const client2 = new MuxSession(asConn(c2), "client");
  assert.equal((await within(2_000, "refused", client2.open(7).closed)).reason, "refused");
  client.abort();
  client2.abort();
});

Deno.test("MuxStream.close with unread bytes resets the stream (RFC 2525 §2.17)", async () => {
  const [c, s] = fakePair();
  const serverStreams: MuxStream[] = [];
  serverSession(s, async (st) => {
    serverStreams.push(st);
    await writeAll(st, new Uint8Array(10));
  });
  const client = new MuxSession(asConn(c), "client");
  const st = client.open(7);
  await until(() => parseFrames(c.bytes()).some((f) => f.type === MuxType.DATA), "data");
  await tick();
  st.close();
  assert.equal((await st.closed).reason, "aborted");
  await until(() => serverStreams.length === 1, "accepted");
  assert.equal(
    await within(2_000, "server outcome", readOutcome(serverStreams[0])),
    "ConnectionReset",
  );
  client.abort();
});

Deno.test("MuxStream flow control: a stalled reader blocks only its own stream at MUX_WINDOW", async () => {
  const [c, s] = fakePair();
  let stalled: MuxStream | undefined;
  const { settled } = serverSession(s, (st) => {
    if (st.id !== 1) return echo(st);
    stalled = st; // nobody reads it for now
    return undefined;
  });
  const client = new MuxSession(asConn(c), "client");
  const a = client.open(9);
  const big = pattern(3 * MUX_WINDOW + 12_345, 5);
  let written = 0;
  const writer = (async () => {
    while (written < big.length) written += await a.write(big.subarray(written));
    await a.closeWrite();
  })();
  await until(() => written === MUX_WINDOW, "writer reaches the window");
  // the other stream of the same session flows meanwhile, both ways
  const b = client.open(7);
  const other = pattern(4 << 20, 6);
  const [, back] = await within(
    20_000,
    "other stream",
    Promise.all([
      writeAll(b, other).then(() => b.closeWrite()),
      readAll(b),
    ]),
  );
  assert.ok(back.length === other.length && back.every((x, i) => x === other[i]));
  await tick();
  assert.equal(written, MUX_WINDOW, "the stalled stream's writer stays blocked at the window");
  // the reader resumes: everything arrives, in order, and the writer finishes
  assert.ok(stalled !== undefined);
  const got = await within(20_000, "stalled stream", readAll(stalled));
  await writer;
  assert.equal(got.length, big.length);
  assert.ok(got.every((x, i) => x === big[i]), "bytes changed after the stall");
  // the reader gave credit back with WINDOW frames of at least a quarter window
  const windows = parseFrames(c.bytes()).filter((f) => f.type === MuxType.WINDOW && f.id === 1);
  assert.ok(windows.length >= 8, `${windows.length} WINDOW frames`);
  for (const w of windows) {
    assert.ok(new DataView(w.payload.buffer).getUint32(0) >= MUX_WINDOW / 4);
  }
  stalled.close();
  await settled();
  client.abort();
});

Deno.test("MuxStream resets a stream whose peer sends more than its credit (RST PROTOCOL), the session lives on", async () => {
  const [raw, srv] = fakePair();
  const streams = new Map<number, MuxStream>();
  const server = new MuxSession(asConn(srv), "server", (st) => void streams.set(st.id, st));
  await raw.write(concat([MUX_PREFACE, frame(MuxType.OPEN, 1, [0, 7])]));
  // MUX_WINDOW + 1 bytes with no WINDOW frame in between
  let sent = 0;
  while (sent <= MUX_WINDOW) {
    const n = Math.min(MUX_MAX_PAYLOAD, MUX_WINDOW + 1 - sent);
    await raw.write(frame(MuxType.DATA, 1, new Uint8Array(n)));
    sent += n;
  }
  const rst = () => parseFrames(raw.bytes()).filter((f) => f.type === MuxType.RST);
  await until(() => rst().length === 1, "RST");
  assert.deepEqual(rst().map((f) => [f.id, [...f.payload]]), [[1, [MuxResetCode.PROTOCOL]]]);
  const st = streams.get(1)!;
  const info = await st.closed;
  assert.equal(info.reason, "reset");
  assert.match(String(info.error), /protocol violation/);
  // data after FIN breaks the protocol too
  await raw.write(concat([
    frame(MuxType.OPEN, 3, [0, 7]),
    frame(MuxType.FIN, 3),
    frame(MuxType.DATA, 3, [1]),
  ]));
  await until(() => rst().length === 2, "second RST");
  assert.deepEqual([...rst()[1].payload], [MuxResetCode.PROTOCOL]);
  assert.equal(rst()[1].id, 3);
  // the session is still up: a new stream works
  await raw.write(concat([frame(MuxType.OPEN, 5, [0, 7]), frame(MuxType.DATA, 5, [42])]));
  await until(() => streams.has(5), "stream 5");
  const buf = new Uint8Array(4);
  assert.equal(await streams.get(5)!.read(buf), 1);
  assert.equal(buf[0], 42);
  assert.ok(server.alive);
  server.abort();
});

Deno.test("MuxSession answers frames that break the protocol without ending the session", async () => {
  const [raw, srv] = fakePair();
  const streams = new Map<number, MuxStream>();
  const server = new MuxSession(asConn(srv), "server", (st) => void streams.set(st.id, st));
  await raw.write(concat([
    MUX_PREFACE,
    frame(MuxType.OPEN, 1, [0, 7]),
    frame(MuxType.OPEN, 1, [0, 7]), // an id in use
    frame(MuxType.OPEN, 9, [7]), // too short a payload
    frame(MuxType.DATA, 11, [1, 2]), // a stream nobody opened
    frame(MuxType.WINDOW, 13, [0, 0, 0, 1]), // ignored
    frame(MuxType.FIN, 15), // ignored
    frame(MuxType.RST, 17, [0]), // ignored
  ]));
  const rst = () => parseFrames(raw.bytes()).filter((f) => f.type === MuxType.RST);
  await until(() => rst().length === 3, "RSTs");
  assert.deepEqual(rst().map((f) => [f.id, f.payload[0]]), [
    [1, MuxResetCode.PROTOCOL],
    [9, MuxResetCode.PROTOCOL],
    [11, MuxResetCode.RESET],
  ]);
  assert.ok(server.alive);
  assert.deepEqual([...streams.keys()], [1]);
  // a client session is never opened to: an OPEN from the server gets RST PROTOCOL
  const [c, raw2] = fakePair();
  const client = new MuxSession(asConn(c), "client");
  await raw2.write(frame(MuxType.OPEN, 2, [0, 7]));
  await until(() => parseFrames(raw2.bytes(), true).some((f) => f.type === MuxType.RST), "RST");
  assert.deepEqual(
    parseFrames(raw2.bytes(), true).map((f) => [f.type, f.id, f.payload[0]]),
    [[MuxType.RST, 2, MuxResetCode.PROTOCOL]],
  );
  assert.ok(client.alive);
  server.abort();
  client.abort();
});

Deno.test("MuxSession ends on a frame of unknown type: the connection and every stream are reset", async () => {
  const [raw, srv] = fakePair();
  const streams: MuxStream[] = [];
  const server = new MuxSession(asConn(srv), "server", (st) => void streams.push(st));
  await raw.write(concat([MUX_PREFACE, frame(MuxType.OPEN, 1, [0, 7])]));
  await until(() => streams.length === 1, "stream");
  const pending = readOutcome(streams[0]);
  await raw.write(frame(9, 1, [1, 2, 3]));
  const e = await within(2_000, "end", server.done);
  assert.match(String(e), /unknown type 9/);
  assert.equal(await pending, "ConnectionReset");
  assert.equal((await streams[0].closed).reason, "reset");
  assert.ok(srv.aborted && raw.resetByPeer);
  assert.equal(server.alive, false);
});

Deno.test("MuxSession whose connection is reset resets every stream on both sides", async () => {
  const [c, s] = fakePair();
  const serverStreams: MuxStream[] = [];
  const server = new MuxSession(asConn(s), "server", (st) => void serverStreams.push(st));
  const client = new MuxSession(asConn(c), "client");
  const streams = [client.open(7), client.open(7), client.open(7)];
  for (const st of streams) await st.write(new Uint8Array([1]));
  await until(() => serverStreams.length === 3, "accepted");
  const outcomes = [...streams, ...serverStreams].map((st) => readOutcome(st));
  // the far end of the client's connection fails (a dead peer, a reset)
  s.abort();
  const [ce, se] = await within(2_000, "both ends", Promise.all([client.done, server.done]));
  assert.ok(ce instanceof Deno.errors.ConnectionReset, String(ce));
  assert.ok(se instanceof Deno.errors.ConnectionReset, String(se));
  const results = await Promise.all(outcomes);
  // server streams had one unread byte: that comes first, the reset with the next read
  assert.deepEqual(results.slice(0, 3), ["ConnectionReset", "ConnectionReset", "ConnectionReset"]);
  for (const st of serverStreams) {
    assert.equal(await readOutcome(st), "ConnectionReset");
    assert.equal((await st.closed).reason, "reset");
  }
  for (const st of streams) {
    assert.equal((await st.closed).reason, "reset");
    await assert.rejects(st.write(new Uint8Array(1)), Deno.errors.ConnectionReset);
  }
  assert.equal(client.alive, false);
  assert.equal(client.streams, 0);
  assert.throws(() => client.open(7), Deno.errors.ConnectionReset);
});

Deno.test("MuxSession whose connection fails to write resets its streams and wakes blocked writers", async () => {
  const [c, s] = fakePair();
  const { session: server } = serverSession(s, () => {}); // accepts and never reads
  const client = new MuxSession(asConn(c), "client");
  const st = client.open(7);
  // fill the credit so that the next write blocks
  let written = 0;
  const writer = (async () => {
    const chunk = new Uint8Array(MUX_MAX_PAYLOAD);
    for (;;) written += await st.write(chunk);
  })();
  await until(() => written === MUX_WINDOW, "window full");
  c.writeError = new ConnectionResetError("the connection failed");
  st.closeWrite().catch(() => {}); // a FIN to write: the write fails
  await assert.rejects(within(2_000, "blocked writer", writer), Deno.errors.ConnectionReset);
  assert.match(String(await client.done), /the connection failed/);
  assert.equal((await st.closed).reason, "reset");
  server.abort();
});

Deno.test("MuxSession output is bounded while the connection is stalled, and nothing queued is lost", async () => {
  const [c, s] = fakePair();
  const { settled } = serverSession(s, echo);
  const client = new MuxSession(asConn(c), "client");
  const release = c.stall();
  const a = client.open(7);
  const data = pattern(3 << 20, 9);
  let written = 0;
  const writer = (async () => {
    while (written < data.length) written += await a.write(data.subarray(written));
    await a.closeWrite();
  })();
  const back = readAll(a);
  await until(() => written > 0, "first bytes");
  await new Promise((r) => setTimeout(r, 20));
  const stalledAt = written;
  assert.ok(stalledAt <= 512 * 1024, `${stalledAt} bytes queued behind a stalled connection`);
  // control frames still queue: a new stream opens and resets while stalled
  const b = client.open(7);
  b.abort();
  release();
  const got = await within(20_000, "echo", back);
  await writer;
  assert.equal(got.length, data.length);
  assert.ok(got.every((x, i) => x === data[i]), "bytes queued while stalled changed");
  await settled();
  client.abort();
});

Deno.test("MuxSession.close waits for open streams and delivers their last frames", async () => {
  const [c, s] = fakePair();
  const { settled } = serverSession(s, async (st) => {
    await writeAll(st, new TextEncoder().encode("bye"));
    await st.closeWrite(); // the server's FIN comes first
    assert.equal(new TextDecoder().decode(await readAll(st)), "last words");
    st.close();
  });
  const client = new MuxSession(asConn(c), "client");
  const st = client.open(7);
  assert.equal(new TextDecoder().decode(await readAll(st)), "bye");
  client.close(); // graceful: the stream may finish
  assert.equal(c.closed, false, "a stream is still open");
  await writeAll(st, new TextEncoder().encode("last words"));
  await st.closeWrite(); // the stream's last frame: the session closes after it went out
  assert.equal(await within(2_000, "session end", client.done), undefined);
  await settled();
  assert.ok(c.closed && !c.aborted, "closed, not reset");
});

Deno.test("MuxSession.close half-closes: the peer's late frames are still read, both ends close without a reset", async () => {
  const [c, s] = fakePair();
  const data = pattern(MUX_WINDOW, 12);
  const accepted = Promise.withResolvers<void>();
  const go = Promise.withResolvers<void>();
  const { session: server, settled } = serverSession(s, async (st) => {
    accepted.resolve();
    await go.promise;
    assert.equal((await readAll(st)).length, 0);
    await writeAll(st, data);
    st.close();
  });
  const client = new MuxSession(asConn(c), "client");
  const st = client.open(7);
  await st.closeWrite();
  await accepted.promise;
  const lag = Promise.withResolvers<void>();
  c.readGate = lag.promise; // the client reads nothing of what follows for now
  server.close(); // graceful: after the stream
  go.resolve();
  await until(() => s.writeClosed || s.closed, "the server's FIN");
  // a frame the client sent before it saw that FIN (over a network: WINDOW credit for the
  // bytes it is still reading) reaches the half-closed server: read and dropped, no RST
  await c.write(frame(MuxType.WINDOW, st.id, [0, 4, 0, 0]));
  c.readGate = undefined;
  lag.resolve();
  const got = await within(5_000, "data", readAll(st));
  assert.ok(sameBytes(got, data));
  const [ce, se] = await within(2_000, "both ends", Promise.all([client.done, server.done]));
  assert.equal(se, undefined);
  assert.equal(ce, undefined, "the client's session ended gracefully at the server's FIN");
  assert.ok(c.closed && s.closed && !c.resetByPeer && !s.resetByPeer, "no reset either way");
  await settled();
});

Deno.test("MuxSession stream ids wrap mod 2^32 and skip ids still in use", () => {
  const [c] = fakePair();
  const client = new MuxSession(asConn(c), "client");
  const first = client.open(7);
  assert.equal(first.id, 1);
  client.nextStreamId = 0xffff_fffb;
  const ids = [client.open(7), client.open(7), client.open(7), client.open(7)].map((s) => s.id);
  // 1 is still open: the id after 0xffffffff is 3
  assert.deepEqual(ids, [0xffff_fffb, 0xffff_fffd, 0xffff_ffff, 3]);
  first.abort();
  client.nextStreamId = 0xffff_fffb; // in use now: skipped, up to the wrapped free id 1
  assert.deepEqual([client.open(7).id, client.open(7).id], [1, 5]);
  const seen = new Set<number>();
  client.nextStreamId = 0xffff_ff01;
  for (let i = 0; i < 300; i++) {
    const s = client.open(7);
    assert.ok(!seen.has(s.id), `id ${s.id} handed out twice`);
    assert.equal(s.id % 2, 1);
    seen.add(s.id);
  }
  client.abort();
});

Deno.test("MuxSession stops reading while its streams hold MUX_SESSION_BUFFER unread, resumes as they are read", async () => {
  const [c, s] = fakePair();
  const held: MuxStream[] = [];
  const server = new MuxSession(asConn(s), "server", (st) => void held.push(st));
  const client = new MuxSession(asConn(c), "client");
  const count = MUX_SESSION_BUFFER / MUX_WINDOW + 8;
  const data = pattern(MUX_WINDOW, 3);
  const writers: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const st = client.open(7);
    writers.push(writeAll(st, data).then(() => st.closeWrite()));
  }
  await until(() => server.bufferedBytes > MUX_SESSION_BUFFER, "streams fill up");
  for (let i = 0; i < 20; i++) await tick();
  // one read buffer more at most: the session stopped reading the connection
  const most = MUX_SESSION_BUFFER + 256 * 1024;
  assert.ok(server.bufferedBytes <= most, `${server.bufferedBytes} bytes held unread`);
  // a stream reset with unread bytes gives them up
  const before = server.bufferedBytes;
  const dropped = held[0];
  dropped.abort();
  assert.ok(server.bufferedBytes < before, "the reset stream's bytes are no longer counted");
  // the applications read: the session resumes and every byte arrives
  const results = new Map<number, Promise<Uint8Array>>();
  await within(
    30_000,
    "all streams",
    (async () => {
      while (results.size < count - 1) {
        for (const st of held.slice(1)) if (!results.has(st.id)) results.set(st.id, readAll(st));
        await tick();
      }
    })(),
  );
  for (const got of await Promise.all(results.values())) assert.ok(sameBytes(got, data));
  assert.equal(server.bufferedBytes, 0);
  await Promise.allSettled(writers);
  client.abort();
});

Deno.test("MuxSession stops answering frames for unknown streams while its output is backed up (a flood cannot grow it)", async () => {
  const [raw, srv] = fakePair();
  const server = new MuxSession(asConn(srv), "server", () => {});
  const release = srv.stall(); // the server's writes wait: nothing it queues leaves
  const flood: Uint8Array[] = [MUX_PREFACE];
  for (let i = 0; i < 100_000; i++) flood.push(frame(MuxType.DATA, 2 * i + 1, [1]));
  await raw.write(concat(flood));
  await until(() => server.outputBytes > 0, "RST replies");
  await new Promise((r) => setTimeout(r, 50));
  // 100 000 RSTs would be 900 000 bytes; the replies stop at the output's high mark (512 KiB)
  assert.ok(server.outputBytes <= 512 * 1024 + 9, `${server.outputBytes} bytes queued`);
  assert.ok(server.alive);
  release();
  server.abort();
});
