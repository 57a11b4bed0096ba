import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { openEndpoint } from "../../mod.ts";
import { pattern } from "../net/_util.ts";

const CHUNK = pattern(64 * 1024, 3);
const CHUNKS = 64; // 4 MiB

function source(): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i === CHUNKS) return c.close();
      const chunk = CHUNK.slice();
      chunk[0] = i++;
      c.enqueue(chunk);
    },
  });
}

function expectedDigest(): string {
  const h = createHash("sha256");
  for (let i = 0; i < CHUNKS; i++) {
    const chunk = CHUNK.slice();
    chunk[0] = i;
    h.update(chunk);
  }
  return h.digest("hex");
}

Deno.test("TouConn streams carry a ReadableStream.pipeTo through a relay when chained", async () => {
  // source → a.writable ... b.readable → relay → c.writable ... d.readable → sink
  await using ep = await openEndpoint({ hostname: "127.0.0.1" });
  const l1 = ep.listen({ tcpPort: 1 });
  const l2 = ep.listen({ tcpPort: 2 });
  const a = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port, tcpPort: 1 });
  const b = await l1.accept();
  const c = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port, tcpPort: 2 });
  const d = await l2.accept();

  const h = createHash("sha256");
  let total = 0;
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      h.update(chunk);
      total += chunk.length;
    },
  });
  await Promise.all([
    source().pipeTo(a.writable), // closes a's write side (FIN) at the end
    b.readable.pipeTo(c.writable),
    d.readable.pipeTo(sink),
  ]);
  assert.equal(total, CHUNKS * CHUNK.length);
  assert.equal(h.digest("hex"), expectedDigest());
  for (const x of [a, b, c, d]) x.close();
  await Promise.all([a, b, c, d].map((x) => x.closed));
});

Deno.test("TouConn.readable supports BYOB readers when the reader brings its buffer", async () => {
  await using ep = await openEndpoint({ hostname: "127.0.0.1" });
  const l = ep.listen();
  const a = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port });
  const b = await l.accept();
  const data = pattern(100_000, 9);
  const writing = (async () => {
    const w = a.writable.getWriter();
    await w.write(data);
    await w.close();
  })();
  const reader = b.readable.getReader({ mode: "byob" });
  const got = new Uint8Array(data.length);
  let off = 0;
  let buf = new Uint8Array(8192);
  for (;;) {
    const r = await reader.read(buf);
    if (r.done) break;
    got.set(r.value, off);
    off += r.value.length;
    buf = new Uint8Array(r.value.buffer);
  }
  await writing;
  assert.equal(off, data.length);
  assert.deepEqual(got, data);
  a.close();
  b.close();
});

Deno.test("TouConn.readable cancel closes the connection when the reader gives up", async () => {
  await using ep = await openEndpoint({ hostname: "127.0.0.1" });
  const l = ep.listen();
  const a = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port });
  const b = await l.accept();
  await a.write(new Uint8Array(10));
  const reader = b.readable.getReader();
  const first = await reader.read();
  assert.equal(first.value?.length, 10);
  await reader.cancel();
  await assert.rejects(b.read(new Uint8Array(1)), Deno.errors.BadResource);
  assert.equal(await a.read(new Uint8Array(1)), null);
  a.close();
  b.close();
});
