// Deno.Conn consumers that use read()/write() directly, on kernel TCP and on tou: a pipelined line
// protocol, length-prefixed frames with partial writes, a copy loop with half-close, and what the
// peer's read sees when the other side closes or closes with unread bytes. Same results on both,
// except the one documented difference (docs/api.md): a read after the peer's reset.

import assert from "node:assert/strict";
import { pattern } from "../net/_util.ts";
import { sha16 } from "./_node_http.ts";
import {
  kernelTransport,
  onTransport,
  sameOnKernelAndTou,
  touTransport,
  type Transport,
  within,
} from "./_transports.ts";

function name(e: unknown): string {
  return e instanceof Error ? e.name : String(e);
}

async function writeAll(c: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await c.write(data.subarray(off));
}

/** Reads exactly `n` bytes (null at a premature EOF). */
async function readExact(c: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await c.read(out.subarray(off));
    if (r === null) return null;
    off += r;
  }
  return out;
}

/** Reads lines ("\n"-terminated) with its own buffer, as a hand-written protocol client does. */
class LineReader {
  #buf = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}
  async line(): Promise<string | null> {
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) {
        const l = new TextDecoder().decode(this.#buf.subarray(0, i));
        this.#buf = this.#buf.slice(i + 1);
        return l;
      }
      const chunk = new Uint8Array(4096);
      const n = await this.conn.read(chunk);
      if (n === null) return null;
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }
}

async function scenarios(t: Transport) {
  const enc = new TextEncoder();
  const out: Record<string, unknown> = {};

  // 1. A pipelined line protocol: 1000 "INCR k" commands written at once, answers read back.
  {
    const [c, s] = await t.pair();
    const server = (async () => {
      const r = new LineReader(s);
      const counts = new Map<string, number>();
      for (;;) {
        const l = await r.line();
        if (l === null) break;
        const k = l.split(" ")[1];
        counts.set(k, (counts.get(k) ?? 0) + 1);
        await writeAll(s, enc.encode(`:${counts.get(k)}\n`));
      }
      s.close();
    })();
    const cmds = Array.from({ length: 1000 }, (_, i) => `INCR k${i % 7}\n`).join("");
    await writeAll(c, enc.encode(cmds));
    const r = new LineReader(c);
    let last = "";
    for (let i = 0; i < 1000; i++) last = (await r.line()) ?? "EOF";
    await c.closeWrite();
    const after = await r.line();
    await server;
    c.close();
    out.lines = { last, after };
  }

  // 2. Length-prefixed frames of varied sizes (up to 256 KiB), partial writes handled by writeAll.
  {
    const [c, s] = await t.pair();
    const frames = Array.from({ length: 60 }, (_, i) => pattern((i * 4451) % (256 * 1024), i));
    const sender = (async () => {
      for (const f of frames) {
        const head = new Uint8Array(4);
        new DataView(head.buffer).setUint32(0, f.length);
        await writeAll(c, head);
        await writeAll(c, f);
      }
      await c.closeWrite();
    })();
    const got: string[] = [];
    for (;;) {
      const head = await readExact(s, 4);
      if (head === null) break;
      const body = await readExact(s, new DataView(head.buffer).getUint32(0));
      got.push(body === null ? "short" : sha16(body));
    }
    await sender;
    out.frames = got.join() === frames.map(sha16).join() ? `${got.length} frames equal` : got;
    c.close();
    s.close();
  }

  // 3. A copy loop (as std's io.copy) echoing until EOF, then half-closing back.
  {
    const [c, s] = await t.pair();
    const echo = (async () => {
      const buf = new Uint8Array(32 * 1024);
      let n = 0;
      for (;;) {
        const r = await s.read(buf);
        if (r === null) break;
        await writeAll(s, buf.subarray(0, r));
        n += r;
      }
      await s.closeWrite();
      return n;
    })();
    const data = pattern(6 * 1024 * 1024, 9);
    const [, back] = await Promise.all([
      writeAll(c, data).then(() => c.closeWrite()),
      (async () => {
        const parts: Uint8Array[] = [];
        let total = 0;
        for (;;) {
          const b = new Uint8Array(65536);
          const r = await c.read(b);
          if (r === null) break;
          parts.push(b.subarray(0, r));
          total += r;
        }
        const all = new Uint8Array(total);
        let off = 0;
        for (const p of parts) {
          all.set(p, off);
          off += p.length;
        }
        return all;
      })(),
    ]);
    out.copy = { echoed: await echo, back: `${back.length} ${sha16(back)}`, want: sha16(data) };
    c.close();
    s.close();
  }

  // 4. What a blocked read sees when the peer closes, and a write after the peer closed for good.
  {
    const [c, s] = await t.pair();
    const pending = s.read(new Uint8Array(10)).then(String, name);
    c.close();
    out.peerClose = { "pending read": await pending };
    s.close();
  }
  return out;
}

Deno.test("Deno.Conn consumers using read/write directly get the same results on kernel TCP and tou", async () => {
  const kernel = await sameOnKernelAndTou(scenarios, 60_000);
  assert.deepEqual(kernel.lines, { last: ":143", after: null });
  assert.equal(kernel.frames, "60 frames equal");
  const copy = kernel.copy as { echoed: number; back: string; want: string };
  assert.equal(copy.back, `${6 * 1024 * 1024} ${copy.want}`);
  assert.deepEqual(kernel.peerClose, { "pending read": "null" });
});

Deno.test("read() after the peer's reset: EOF on Deno 2.9's kernel TCP, ConnectionReset on tou (documented difference)", async () => {
  const readAfterReset = async (t: Transport) => {
    const [c, s] = await t.pair();
    await c.write(new Uint8Array(10));
    await new Promise((r) => setTimeout(r, 100));
    s.close(); // 10 unread bytes: RST (RFC 1122 §4.2.2.13)
    const first = await c.read(new Uint8Array(10)).then(String, name);
    const write = await c.write(new Uint8Array(10)).then(() => "ok", name);
    c.close();
    return { first, write };
  };
  const kernel = await onTransport(kernelTransport, (t) => within(readAfterReset(t), 20_000, "k"));
  const tou = await onTransport(touTransport, (t) => within(readAfterReset(t), 20_000, "tou"));
  assert.deepEqual(kernel, { first: "null", write: "BrokenPipe" });
  assert.deepEqual(tou, { first: "ConnectionReset", write: "ConnectionReset" });
});
