import assert from "node:assert/strict";
import { connSide, copyStream, Pipe, type PipeSide } from "../../src/tunnel/pipe.ts";
import { resetTcpConn } from "../../src/tunnel/kernel_reset.ts";

/** Two kernel TCP connections proxied through a Pipe: outer ends `left` and `right`. */
async function proxied(): Promise<{
  left: Deno.TcpConn;
  right: Deno.TcpConn;
  pipe: Pipe;
  cleanup: () => void;
}> {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const left = await Deno.connect({ hostname: "127.0.0.1", port: ln.addr.port });
  const leftIn = await ln.accept();
  const right = await Deno.connect({ hostname: "127.0.0.1", port: ln.addr.port });
  const rightIn = await ln.accept();
  const pipe = new Pipe(connSide(leftIn), connSide(rightIn));
  return {
    left,
    right,
    pipe,
    cleanup: () => {
      for (const c of [left, right]) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      ln.close();
    },
  };
}

async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function outcomeOfRead(conn: Deno.Conn): Promise<string> {
  try {
    const n = await conn.read(new Uint8Array(1024));
    return n === null ? "eof" : `data ${n}`;
  } catch (e) {
    return (e as Error).name;
  }
}

Deno.test("Pipe keeps the other direction flowing when one side half-closes", async () => {
  const { left, right, pipe, cleanup } = await proxied();
  try {
    const request = pattern(300_000, 1);
    const response = pattern(500_000, 2);
    // left sends everything then FIN; right reads to EOF, then answers and closes.
    const leftSend = writeAll(left, request).then(() => left.closeWrite());
    const got = await readAll(right);
    await leftSend;
    assert.deepEqual(got, request);
    await writeAll(right, response);
    await right.closeWrite();
    const back = await readAll(left);
    assert.deepEqual(back, response);
    const r = await pipe.done;
    assert.deepEqual(r, { outcome: "closed", aToB: request.length, bToA: response.length });
  } finally {
    cleanup();
  }
});

Deno.test("Pipe resets the far side when the near side is reset", async () => {
  const { left, right, pipe, cleanup } = await proxied();
  try {
    await writeAll(left, new Uint8Array([1, 2, 3]));
    const buf = new Uint8Array(8);
    assert.equal(await right.read(buf), 3);
    const sentRst = resetTcpConn(left);
    assert.ok(sentRst, "resetTcpConn needs Linux and --allow-ffi");
    assert.equal(await outcomeOfRead(right), "ConnectionReset");
    const r = await pipe.done;
    assert.equal(r.outcome, "reset");
    assert.equal(r.resetBy, "a");
    assert.equal(r.aToB, 3);
  } finally {
    cleanup();
  }
});

Deno.test("Pipe resets the near side when the far side is reset", async () => {
  const { left, right, pipe, cleanup } = await proxied();
  try {
    resetTcpConn(right);
    assert.equal(await outcomeOfRead(left), "ConnectionReset");
    const r = await pipe.done;
    assert.equal(r.outcome, "reset");
    assert.equal(r.resetBy, "b");
  } finally {
    cleanup();
  }
});

Deno.test("Pipe.reset resets both sides when called while data is flowing", async () => {
  const { left, right, pipe, cleanup } = await proxied();
  try {
    await writeAll(left, new Uint8Array(10));
    await right.read(new Uint8Array(10));
    pipe.reset("drain timeout");
    const [l, r] = await Promise.all([outcomeOfRead(left), outcomeOfRead(right)]);
    assert.equal(l, "ConnectionReset");
    assert.equal(r, "ConnectionReset");
    const res = await pipe.done;
    assert.equal(res.outcome, "reset");
    assert.equal(res.resetBy, "local");
    assert.equal(res.error, "drain timeout");
  } finally {
    cleanup();
  }
});

Deno.test("Pipe applies backpressure when the far reader stops reading", async () => {
  const { left, right, pipe, cleanup } = await proxied();
  try {
    const total = 96 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024);
    let written = 0;
    const writer = (async () => {
      while (written < total) {
        written += await left.write(chunk.subarray(0, Math.min(chunk.length, total - written)));
      }
      await left.closeWrite();
    })();
    // Wait until the pipe stops making progress (bounded: ~10 s).
    let last = -1;
    for (let i = 0; i < 100 && pipe.aToB !== last; i++) {
      last = pipe.aToB;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(pipe.aToB, last, "the pipe kept copying into a reader that does not read");
    assert.ok(written < total, `writer was never blocked (wrote ${written})`);
    assert.ok(pipe.aToB < total, `pipe copied ${pipe.aToB} with nobody reading`);
    // Now read: everything arrives.
    const got = await readAll(right);
    await writer;
    assert.equal(got.length, total);
    right.close();
    const r = await pipe.done;
    assert.equal(r.outcome, "closed");
    assert.equal(r.aToB, total);
  } finally {
    cleanup();
  }
});

Deno.test("copyStream reports write-failed when the destination rejects", async () => {
  const err = new Deno.errors.ConnectionReset("gone");
  const r = await copyStream(
    { read: (p) => Promise.resolve((p[0] = 7, 1)) },
    { write: () => Promise.reject(err), closeWrite: () => Promise.resolve() },
  );
  assert.deepEqual(r, { kind: "write-failed", bytes: 0, error: err });
});

Deno.test("copyStream reports read-failed with the bytes moved before the failure", async () => {
  const err = new Deno.errors.ConnectionReset("gone");
  let calls = 0;
  const r = await copyStream(
    { read: (p) => calls++ === 0 ? Promise.resolve((p.fill(1, 0, 5), 5)) : Promise.reject(err) },
    { write: (p) => Promise.resolve(p.length), closeWrite: () => Promise.resolve() },
  );
  assert.deepEqual(r, { kind: "read-failed", bytes: 5, error: err });
});

Deno.test("copyStream does not half-close when propagateEof is false", async () => {
  let closed = false;
  const r = await copyStream(
    { read: () => Promise.resolve(null) },
    {
      write: (p) => Promise.resolve(p.length),
      closeWrite: () => (closed = true, Promise.resolve()),
    },
    { propagateEof: false },
  );
  assert.deepEqual(r, { kind: "eof", bytes: 0 });
  assert.equal(closed, false);
});

Deno.test("copyStream moves to the buffer grow returns once a read fills the buffer", async () => {
  const sizes: number[] = [];
  const chunks = [16, 16, 5];
  let i = 0;
  const src = {
    read: (p: Uint8Array) => {
      sizes.push(p.length);
      if (i >= chunks.length) return Promise.resolve(null);
      const n = Math.min(chunks[i++], p.length);
      p.fill(i, 0, n);
      return Promise.resolve(n);
    },
  };
  const got: number[] = [];
  const dst = { write: (p: Uint8Array) => (got.push(...p), Promise.resolve(p.length)) };
  const grown: number[] = [];
  const r = await copyStream(src, dst, {
    buffer: new Uint8Array(16),
    grow: (full) => (grown.push(full.length), new Uint8Array(64)),
  });
  assert.deepEqual(r, { kind: "eof", bytes: 37 });
  // the first read filled 16 bytes: the next reads get the 64-byte buffer
  assert.deepEqual(sizes, [16, 64, 64, 64]);
  assert.deepEqual(grown, [16]);
  assert.equal(got.length, 37);
});

/** A fake side that serves `total` pattern bytes in reads of `readSizes[i]` (then the last size), recording buffer sizes. */
function patternSource(total: number, readSizes: number[], seen: number[]): PipeSide {
  let off = 0, i = 0;
  return {
    name: "src",
    read: async (p) => {
      seen.push(p.length);
      await Promise.resolve();
      if (off >= total) return null;
      const want = readSizes[Math.min(i++, readSizes.length - 1)];
      const n = Math.min(want, p.length, total - off);
      for (let k = 0; k < n; k++) p[k] = (off + k) * 31 % 251;
      off += n;
      return n;
    },
    write: () => Promise.reject(new Error("not written")),
    closeWrite: () => Promise.resolve(),
    close: () => {},
    reset: () => {},
  };
}

Deno.test("Pipe grows a bulk direction from 16 to 64 KiB chunks and copies byte-exact, in order, through partial asynchronous writes", async () => {
  const seen: number[] = [];
  const total = 3 * 1024 * 1024 + 12345;
  const K = 1024;
  // full reads, a short read (a pause), then full reads again
  const sizes = [16 * K, 64 * K, 64 * K, 1000, 64 * K];
  const a = patternSource(total, sizes.concat([1 << 30]), seen);
  const got = new Uint8Array(total);
  let at = 0, eof = false, writes = 0;
  let endOther: (v: null) => void = () => {};
  const other = new Promise<null>((r) => endOther = r);
  const b: PipeSide = {
    name: "dst",
    read: () => other, // the other direction idles until the end
    // accepts at most 40000 bytes per call, asynchronously: the copy must loop on partial writes
    write: async (p) => {
      await new Promise((r) => setTimeout(r, 0));
      const n = Math.min(p.length, 40_000);
      got.set(p.subarray(0, n), at);
      at += n;
      writes++;
      return n;
    },
    closeWrite: () => (eof = true, Promise.resolve()),
    close: () => {},
    reset: () => {},
  };
  const pipe = new Pipe(a, b);
  for (let i = 0; i < 500 && !eof; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(eof, "the copy did not reach EOF");
  assert.equal(at, total);
  for (let k = 0; k < total; k++) {
    if (got[k] !== k * 31 % 251) assert.fail(`byte ${k} differs`);
  }
  assert.equal(pipe.aToB, total);
  assert.ok(writes > total / 40_000);
  // 16 KiB until a read fills it, then 64 KiB for good
  assert.deepEqual(seen.slice(0, 6), [16 * K, 64 * K, 64 * K, 64 * K, 64 * K, 64 * K]);
  endOther(null);
  assert.equal((await pipe.done).outcome, "closed");
});

Deno.test("Pipe half-closes only the side whose peer still sends: the direction that ends second leaves it to the close", async () => {
  const calls: string[] = [];
  // A side that answers reads from a script: each entry resolves when its gate opens.
  const side = (name: string, script: (() => Promise<number | null>)[]) => ({
    name,
    read: (p: Uint8Array) => {
      const next = script.shift();
      if (next === undefined) return new Promise<number | null>(() => {});
      return next().then((n) => (n !== null && p.fill(1, 0, n), n));
    },
    write: (p: Uint8Array) => (calls.push(`${name}.write ${p.length}`), Promise.resolve(p.length)),
    closeWrite: () => (calls.push(`${name}.closeWrite`), Promise.resolve()),
    close: () => calls.push(`${name}.close`),
    reset: () => calls.push(`${name}.reset`),
  });
  const bEof = Promise.withResolvers<void>();
  // a (the target): answers 5 bytes, then EOF at once; b (the tunnel): EOF later
  const a = side("a", [() => Promise.resolve(5), () => Promise.resolve(null)]);
  const b = side("b", [() => bEof.promise.then(() => null)]);
  const pipe = new Pipe(a, b);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(calls, ["b.write 5", "b.closeWrite"]); // b's peer may still send: half-close
  bEof.resolve();
  const r = await pipe.done;
  assert.equal(r.outcome, "closed");
  // no a.closeWrite (a shutdown syscall): a already sent its EOF, and the close follows
  assert.deepEqual(calls, ["b.write 5", "b.closeWrite", "a.close", "b.close"]);
});

Deno.test("connSide defers only the first write to a kernel TCP connection, by one event-loop turn, and never to a tou connection", async () => {
  const calls: number[] = [];
  const fake = (abort?: () => void) =>
    ({
      write: (p: Uint8Array) => (calls.push(p.length), Promise.resolve(p.length)),
      ...(abort ? { abort } : {}),
    }) as unknown as Deno.Conn & { abort?(): void };
  const tcp = connSide(fake());
  const first = tcp.write(new Uint8Array(1));
  assert.deepEqual(calls, [], "the first write waits for the turn");
  assert.equal(await first, 1);
  assert.deepEqual(calls, [1]);
  const second = tcp.write(new Uint8Array(2));
  assert.deepEqual(calls, [1, 2], "later writes go at once");
  await second;
  calls.length = 0;
  const tou = connSide(fake(() => {}));
  const t = tou.write(new Uint8Array(3));
  assert.deepEqual(calls, [3], "a tou connection's first write goes at once");
  await t;
});
