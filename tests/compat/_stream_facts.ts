/**
 * The probe: what a `Deno.TcpConn`'s `readable`, `writable`, `read`,
 * `write`, `closeWrite` and `close` do at the edges (cancel, abort, close,
 * errors, the peer's reset) and when their promises settle. Each scenario
 * runs on a {@linkcode Transport} and returns what it observed as short
 * strings, so the same scenario can be recorded on kernel TCP
 * (`deno run -A tests/compat/probe_deno_tcp.ts`) and compared with tou
 * (`stream_semantics_test.ts`).
 *
 * Observations name errors by `err.name` ("BadResource", "Interrupted",
 * "BrokenPipe") and byte counts only where both transports must agree on
 * them; counts that depend on buffer sizes are reported as "some".
 *
 * @module
 */

import type { Transport } from "./_transports.ts";

/** One scenario's observations, key → outcome. */
export type Observations = Record<string, string>;

/** A probe scenario. */
export interface Scenario {
  /** What it does, as a sentence. */
  readonly name: string;
  /** Runs it and reports what happened. */
  run(t: Transport): Promise<Observations>;
}

/** Larger than any send plus receive buffer of either transport on loopback. */
const BIG = 16 * 1024 * 1024;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function errName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

function describe(v: unknown): string {
  if (v === undefined) return "ok";
  if (v === null) return "ok:null";
  if (typeof v === "number") return `ok:${v}`;
  if (typeof v === "object" && v !== null && "done" in v) {
    return (v as ReadableStreamReadResult<unknown>).done ? "ok:done" : "ok:value";
  }
  return "ok:" + typeof v;
}

/** Follows a promise from now on (a rejection is recorded, never unhandled). */
interface Watched {
  outcome: string;
  readonly done: Promise<void>;
}

function watch(p: Promise<unknown>): Watched {
  const w: Watched = {
    outcome: "pending",
    done: p.then(
      (v) => {
        w.outcome = describe(v);
      },
      (e) => {
        w.outcome = "rejected:" + errName(e);
      },
    ),
  };
  return w;
}

/** The outcome of `p` once settled, or "pending" after `ms`. */
async function settle(p: Promise<unknown>, ms = 3_000): Promise<string> {
  const w = watch(p);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([w.done, new Promise<void>((r) => timer = setTimeout(r, ms))]);
  clearTimeout(timer);
  return w.outcome;
}

/** Reads the peer's `readable` to its end: "<n> then EOF" or "<n> then <Error>". */
async function drain(conn: Deno.Conn, exact = true): Promise<string> {
  let n = 0;
  const reader = conn.readable.getReader();
  const count = () => exact ? String(n) : n > 0 ? "some" : "0";
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return `${count()} then EOF`;
      n += r.value.byteLength;
    }
  } catch (e) {
    return `${count()} then ${errName(e)}`;
  }
}

/** Reads the peer with `read()` until EOF (the connection stays open): "<n> then EOF". */
async function drainRead(conn: Deno.Conn): Promise<string> {
  let n = 0;
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const r = await conn.read(buf);
      if (r === null) return `${n} then EOF`;
      n += r;
    }
  } catch (e) {
    return `${n} then ${errName(e)}`;
  }
}

/** Writes until a `write()` stays pending (both send and receive buffers are full). */
async function fill(conn: Deno.Conn): Promise<Watched> {
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < 64; i++) {
    const w = watch(conn.write(chunk));
    await Promise.race([w.done, sleep(100)]);
    if (w.outcome === "pending") return w;
  }
  throw new Error("the send buffer never filled");
}

function tryClose(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // Deno throws BadResource when a stream already closed it
  }
}

/** Lets the peer's bytes (or its RST) arrive; generous, for a loaded machine. */
async function settleNetwork(): Promise<void> {
  await sleep(200);
}

/** The scenarios, in the order of docs/api.md's stream-semantics table. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "writable.close() after a write closes the whole connection",
    async run(t) {
      const [c, s] = await t.pair();
      const w = c.writable.getWriter();
      await w.write(new Uint8Array(10));
      const o: Observations = { "writer.close()": await settle(w.close()) };
      o["peer reads"] = await drain(s);
      o["read()"] = await settle(c.read(new Uint8Array(1)));
      o["write()"] = await settle(c.write(new Uint8Array(1)));
      o["closeWrite()"] = await settle(c.closeWrite().then(() => undefined));
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "writable.close() interrupts a pending readable read",
    async run(t) {
      const [c, s] = await t.pair();
      const pending = watch(c.readable.getReader().read());
      const o: Observations = { "writable.close()": await settle(c.writable.close()) };
      await pending.done;
      o["pending reader.read()"] = pending.outcome;
      o["peer reads"] = await drain(s);
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "writer.close() waits for the write in flight, then the peer gets every byte and EOF",
    async run(t) {
      const [c, s] = await t.pair();
      const w = c.writable.getWriter();
      const write = watch(w.write(new Uint8Array(BIG)));
      const close = watch(w.close());
      await sleep(300);
      const o: Observations = { "close while the write is in flight": close.outcome };
      o["peer reads"] = await drain(s);
      await Promise.all([write.done, close.done]);
      o["write"] = write.outcome;
      o["close"] = close.outcome;
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "writer.abort() waits for the write in flight, then the peer gets every byte and EOF",
    async run(t) {
      const [c, s] = await t.pair();
      const w = c.writable.getWriter();
      const write = watch(w.write(new Uint8Array(BIG)));
      await sleep(100);
      const abort = watch(w.abort(new Error("stop")));
      await sleep(300);
      const o: Observations = { "abort while the write is in flight": abort.outcome };
      o["peer reads"] = await drain(s);
      await Promise.all([write.done, abort.done]);
      o["write"] = write.outcome;
      o["abort"] = abort.outcome;
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "writer.abort() with bytes queued closes gracefully: the peer gets them and EOF",
    async run(t) {
      const [c, s] = await t.pair();
      const w = c.writable.getWriter();
      await w.write(new Uint8Array(100_000));
      const o: Observations = { "writer.abort()": await settle(w.abort(new TypeError("stop"))) };
      o["writer.write() after"] = await settle(w.write(new Uint8Array(1)));
      o["read()"] = await settle(c.read(new Uint8Array(1)));
      o["peer reads"] = await drain(s);
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "readable.cancel() closes the whole connection",
    async run(t) {
      const [c, s] = await t.pair();
      const reader = c.readable.getReader();
      const pending = watch(reader.read());
      const o: Observations = { "reader.cancel()": await settle(reader.cancel()) };
      await pending.done;
      o["pending reader.read()"] = pending.outcome;
      o["peer reads"] = await drain(s);
      o["write()"] = await settle(c.write(new Uint8Array(1)));
      o["read()"] = await settle(c.read(new Uint8Array(1)));
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "readable.cancel() with unread bytes resets the peer (RFC 1122 §4.2.2.13)",
    async run(t) {
      const [c, s] = await t.pair();
      await s.write(new Uint8Array(100));
      await settleNetwork();
      const o: Observations = { "readable.cancel()": await settle(c.readable.cancel()) };
      await settleNetwork();
      // A FIN would let this write succeed; only a RST makes it fail (BrokenPipe).
      const w = s.writable.getWriter();
      o["peer writer.write()"] = await settle(w.write(new Uint8Array(1)));
      o["peer writer.closed"] = await settle(w.closed);
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "readable.cancel() interrupts a write in flight and a pending read()",
    async run(t) {
      const [c, s] = await t.pair();
      const w = c.writable.getWriter();
      const write = watch(w.write(new Uint8Array(BIG)));
      const read = watch(c.read(new Uint8Array(10)));
      await sleep(100);
      const o: Observations = { "readable.cancel()": await settle(c.readable.cancel()) };
      await Promise.all([write.done, read.done]);
      o["write in flight"] = write.outcome;
      o["pending read()"] = read.outcome;
      o["writer.write() after"] = await settle(w.write(new Uint8Array(1)));
      o["peer reads"] = await drain(s, false);
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "the readable reaching EOF closes the connection",
    async run(t) {
      const [c, s] = await t.pair();
      await s.write(new Uint8Array(5));
      await s.closeWrite();
      const got = await new Response(c.readable).bytes();
      const o: Observations = { "bytes": String(got.length) };
      o["write()"] = await settle(c.write(new Uint8Array(1)));
      o["peer reads"] = await drain(s);
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "close() interrupts a pending read() and a pending reader.read()",
    async run(t) {
      const [c, s] = await t.pair();
      const read = watch(c.read(new Uint8Array(10)));
      const [c2, s2] = await t.pair();
      const reader = c2.readable.getReader();
      const rread = watch(reader.read());
      await sleep(50);
      c.close();
      c2.close();
      await Promise.all([read.done, rread.done]);
      const o: Observations = { "pending read()": read.outcome };
      o["pending reader.read()"] = rread.outcome;
      o["reader.read() after"] = await settle(reader.read());
      o["read() after"] = await settle(c.read(new Uint8Array(1)));
      o["peer reads"] = await drain(s);
      tryClose(s);
      tryClose(s2);
      return o;
    },
  },
  {
    name: "close() interrupts a pending write(); the peer gets the accepted bytes and EOF",
    async run(t) {
      const [c, s] = await t.pair();
      const pending = await fill(c);
      c.close();
      await pending.done;
      const o: Observations = { "pending write()": pending.outcome };
      o["peer reads"] = await drain(s, false);
      tryClose(s);
      return o;
    },
  },
  {
    name: "close() interrupts a writable write in flight",
    async run(t) {
      const [c, s] = await t.pair();
      const w = c.writable.getWriter();
      const write = watch(w.write(new Uint8Array(BIG)));
      await sleep(100);
      c.close();
      await write.done;
      const o: Observations = { "write in flight": write.outcome };
      o["writer.write() after"] = await settle(w.write(new Uint8Array(1)));
      o["peer reads"] = await drain(s, false);
      tryClose(s);
      return o;
    },
  },
  {
    name: "streams and closeWrite() after close() fail with BadResource",
    async run(t) {
      const [c, s] = await t.pair();
      c.close();
      const o: Observations = { "readable read": await settle(c.readable.getReader().read()) };
      o["writable write"] = await settle(c.writable.getWriter().write(new Uint8Array(1)));
      o["closeWrite()"] = await settle(c.closeWrite().then(() => undefined));
      tryClose(s);
      return o;
    },
  },
  {
    name: "a reset from the peer ends the readable, which closes the connection",
    async run(t) {
      const [c, s] = await t.pair();
      await c.write(new Uint8Array(10));
      await settleNetwork();
      const reader = c.readable.getReader();
      const pending = watch(reader.read());
      s.close(); // 10 unread bytes: RST (RFC 1122 §4.2.2.13)
      await pending.done;
      const o: Observations = { "pending reader.read()": pending.outcome };
      o["reader.closed"] = await settle(reader.closed);
      o["write()"] = await settle(c.write(new Uint8Array(1)));
      return o;
    },
  },
  {
    name: "a reset from the peer fails the writable with BrokenPipe, which closes the connection",
    async run(t) {
      const [c, s] = await t.pair();
      await c.write(new Uint8Array(10));
      await settleNetwork();
      s.close();
      await settleNetwork();
      const w = c.writable.getWriter();
      const o: Observations = { "writer.write()": await settle(w.write(new Uint8Array(10))) };
      o["writer.closed"] = await settle(w.closed);
      o["read()"] = await settle(c.read(new Uint8Array(1)));
      return o;
    },
  },
  {
    name: "a reset from the peer fails a writable write in flight with BrokenPipe",
    async run(t) {
      const [c, s] = await t.pair();
      const w = c.writable.getWriter();
      const write = watch(w.write(new Uint8Array(BIG)));
      await sleep(100);
      s.close(); // unread bytes: RST
      await write.done;
      const o: Observations = { "write in flight": write.outcome };
      o["writer.closed"] = await settle(w.closed);
      return o;
    },
  },
  {
    name: "closeWrite() half-closes; a later write fails with BrokenPipe",
    async run(t) {
      const [c, s] = await t.pair();
      const o: Observations = {
        "closeWrite()": await settle(c.closeWrite().then(() => undefined)),
      };
      o["closeWrite() again"] = await settle(c.closeWrite().then(() => undefined));
      o["peer reads"] = await drainRead(s);
      await s.write(new Uint8Array(3));
      o["read() after"] = await settle(c.read(new Uint8Array(10)));
      o["write()"] = await settle(c.write(new Uint8Array(1)));
      o["writable write"] = await settle(c.writable.getWriter().write(new Uint8Array(1)));
      o["read() after the writable failed"] = await settle(c.read(new Uint8Array(1)));
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "closeWrite() and close() after the peer reset do not throw",
    async run(t) {
      const [c, s] = await t.pair();
      await c.write(new Uint8Array(10));
      await settleNetwork();
      s.close();
      await settleNetwork();
      const o: Observations = {
        "closeWrite()": await settle(c.closeWrite().then(() => undefined)),
      };
      try {
        c.close();
        o["close()"] = "ok";
      } catch (e) {
        o["close()"] = "threw:" + errName(e);
      }
      return o;
    },
  },
  {
    name: "a BYOB reader gets the bytes in its own buffer, then done at EOF",
    async run(t) {
      const [c, s] = await t.pair();
      await s.write(new Uint8Array([1, 2, 3, 4, 5]));
      await s.closeWrite();
      await settleNetwork();
      const reader = c.readable.getReader({ mode: "byob" });
      const first = await reader.read(new Uint8Array(10));
      const o: Observations = {
        "first read": first.done
          ? "done"
          : `${first.value.byteLength} of ${first.value.buffer.byteLength}: ${
            first.value.join(",")
          }`,
      };
      const second = await reader.read(new Uint8Array(10));
      o["second read"] = second.done
        ? `done, buffer ${second.value?.buffer.byteLength ?? "none"}`
        : `${second.value.byteLength}`;
      o["write()"] = await settle(c.write(new Uint8Array(1)));
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "writer.abort() interrupts a pending readable read and closes the whole connection",
    async run(t) {
      const [c, s] = await t.pair();
      const pending = watch(c.readable.getReader().read());
      const o: Observations = {
        "writer.abort()": await settle(c.writable.getWriter().abort(new Error("stop"))),
      };
      await pending.done;
      o["pending reader.read()"] = pending.outcome;
      o["peer reads"] = await drain(s);
      o["closeWrite()"] = await settle(c.closeWrite().then(() => undefined));
      tryClose(c);
      tryClose(s);
      return o;
    },
  },
  {
    name: "writer.write() resolves once the bytes are accepted, before the peer reads",
    async run(t) {
      const [c, s] = await t.pair();
      const w = c.writable.getWriter();
      const o: Observations = {
        "writer.write(64 KiB)": await settle(w.write(new Uint8Array(65536))),
      };
      o["writer.close()"] = await settle(w.close());
      o["peer reads"] = await drain(s);
      tryClose(s);
      return o;
    },
  },
];
