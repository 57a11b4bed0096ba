// pipeTo/pipeThrough chains over a connection's streams, on kernel TCP and on tou: transforms both
// ways, an echo, a reader that gives up through an AbortSignal, a source that fails, a sink that
// fails, a cancel at the end of a pipeThrough chain and a transform that throws must end the same
// way on both, with no unhandled rejection.

import assert from "node:assert/strict";
import { pattern } from "../net/_util.ts";
import { sha16 } from "./_node_http.ts";
import { sameOnKernelAndTou, type Transport } from "./_transports.ts";

const DATA = pattern(8 * 1024 * 1024, 31);

function name(e: unknown): string {
  return e instanceof Error ? e.name : String(e);
}

/** A source of `data` in 64 KiB chunks that fails with `fail` at the end, if given. */
function source(data: Uint8Array, fail?: Error): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= data.length) {
        if (fail) c.error(fail);
        else c.close();
        return;
      }
      c.enqueue(data.slice(off, off + 65536));
      off += 65536;
    },
  });
}

/** A sink that hashes what it gets; fails with `fail` once `failAfter` bytes arrived. */
function sink(failAfter = Infinity, fail?: Error) {
  const parts: Uint8Array[] = [];
  let n = 0;
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      n += chunk.length;
      parts.push(chunk.slice());
      if (n >= failAfter) throw fail;
    },
  });
  return {
    stream,
    result: () => {
      const all = new Uint8Array(n);
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
      return `${n} ${sha16(all)}`;
    },
  };
}

/** XOR every byte with 0x5a (its own inverse). */
function xor(): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, c) {
      const out = new Uint8Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) out[i] = chunk[i] ^ 0x5a;
      c.enqueue(out);
    },
  });
}

async function scenarios(t: Transport) {
  const out: Record<string, unknown> = {};

  // 1. Transform on both ends: the writable's close ends the stream (and the connection).
  {
    const [c, s] = await t.pair();
    const got = sink();
    const [sent, received] = await Promise.all([
      source(DATA).pipeThrough(xor()).pipeTo(c.writable).then(() => "ok", name),
      s.readable.pipeThrough(xor()).pipeTo(got.stream).then(() => "ok", name),
    ]);
    out.transform = { sent, received, data: got.result() };
  }

  // 2. Echo through readable.pipeTo(writable); the client half-closes with closeWrite().
  {
    const [c, s] = await t.pair();
    const echo = s.readable.pipeTo(s.writable).then(() => "ok", name);
    const got = sink();
    const [sent, back] = await Promise.all([
      source(DATA).pipeTo(c.writable, { preventClose: true }).then(() => c.closeWrite()).then(
        () => "ok",
        name,
      ),
      c.readable.pipeTo(got.stream).then(() => "ok", name),
    ]);
    out.echo = { sent, back, echo: await echo, data: got.result() };
  }

  // 3. The reader gives up through an AbortSignal after 1 MiB: its connection closes with unread
  // bytes (a RST), and the endless writer on the other side fails.
  {
    const [c, s] = await t.pair();
    const endless = new ReadableStream<Uint8Array>({
      pull: (ctl) => ctl.enqueue(new Uint8Array(65536)),
    });
    const writer = endless.pipeTo(s.writable).then(() => "ok", name);
    const ac = new AbortController();
    let n = 0;
    const reader = c.readable.pipeTo(
      new WritableStream({
        write(chunk) {
          n += chunk.length;
          if (n >= 1 << 20) ac.abort();
        },
      }),
      { signal: ac.signal },
    ).then(() => "ok", name);
    out.abortSignal = {
      reader: await reader,
      writer: await writer,
      "write() after": await c.write(new Uint8Array(1)).then(() => "ok", name),
    };
  }

  // 4. The source fails after 1 MiB: pipeTo aborts the writable, which closes gracefully, so the
  // peer still gets every byte before EOF.
  {
    const [c, s] = await t.pair();
    const got = sink();
    const [sent, received] = await Promise.all([
      source(DATA.subarray(0, 1 << 20), new RangeError("source broke")).pipeTo(c.writable).then(
        () => "ok",
        name,
      ),
      s.readable.pipeTo(got.stream).then(() => "ok", name),
    ]);
    out.sourceFails = { sent, received, data: got.result() };
  }

  // 5. The sink fails after 256 KiB: pipeTo cancels the readable, which closes the connection with
  // unread bytes (a RST); the sender's pipe fails.
  {
    const [c, s] = await t.pair();
    const got = sink(256 * 1024, new SyntaxError("sink broke"));
    const big = pattern(32 * 1024 * 1024, 3);
    const [sent, received] = await Promise.all([
      source(big).pipeTo(c.writable).then(() => "ok", name),
      s.readable.pipeTo(got.stream).then(() => "ok", name),
    ]);
    out.sinkFails = { sent, received };
  }

  // 6. The reader at the end of a pipeThrough chain cancels after 256 KiB: the cancel travels up
  // the chain to the connection's readable, which closes the connection with unread bytes (a RST);
  // the endless writer on the other side fails.
  {
    const [c, s] = await t.pair();
    const endless = new ReadableStream<Uint8Array>({
      pull: (ctl) => ctl.enqueue(new Uint8Array(65536)),
    });
    const writer = endless.pipeTo(s.writable).then(() => "ok", name);
    const reader = c.readable.pipeThrough(xor()).getReader();
    let n = 0;
    while (n < 256 * 1024) {
      const r = await reader.read();
      if (r.done) break;
      n += r.value.length;
    }
    out.cancelThroughChain = {
      cancel: await reader.cancel(new Error("enough")).then(() => "ok", name),
      writer: await writer,
      "write() after": await c.write(new Uint8Array(1)).then(() => "ok", name),
    };
  }

  // 7. A transform in the sending chain throws on its ninth 64 KiB chunk: pipeTo aborts the
  // writable (a graceful close), so the peer gets the eight chunks before it, then EOF.
  {
    const [c, s] = await t.pair();
    let chunks = 0;
    const breaks = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        if (++chunks === 9) throw new URIError("transform broke");
        ctl.enqueue(chunk);
      },
    });
    const got = sink();
    const [sent, received] = await Promise.all([
      source(DATA).pipeThrough(breaks).pipeTo(c.writable).then(() => "ok", name),
      s.readable.pipeTo(got.stream).then(() => "ok", name),
    ]);
    out.transformFails = { sent, received, data: got.result() };
  }
  return out;
}

Deno.test("pipeTo/pipeThrough chains over connections end alike on kernel TCP and tou", async () => {
  const kernel = await sameOnKernelAndTou(scenarios, 60_000);
  const all = `${DATA.length} ${sha16(DATA)}`;
  const mib = DATA.subarray(0, 1 << 20);
  assert.deepEqual(kernel, {
    transform: { sent: "ok", received: "ok", data: all },
    echo: { sent: "ok", back: "ok", echo: "ok", data: all },
    abortSignal: { reader: "AbortError", writer: "BrokenPipe", "write() after": "BadResource" },
    sourceFails: { sent: "RangeError", received: "ok", data: `${mib.length} ${sha16(mib)}` },
    sinkFails: { sent: "BrokenPipe", received: "SyntaxError" },
    cancelThroughChain: { cancel: "ok", writer: "BrokenPipe", "write() after": "BadResource" },
    transformFails: {
      sent: "URIError",
      received: "ok",
      data: `${8 * 65536} ${sha16(DATA.subarray(0, 8 * 65536))}`,
    },
  });
});
