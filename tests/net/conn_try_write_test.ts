import assert from "node:assert/strict";
import { connect, listen } from "../../src/net/mod.ts";

Deno.test("TouConn.tryWrite takes what the send buffer holds now, without a promise, and 0 once the connection cannot be written", async () => {
  const ln = await listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = ln.accept();
  const c = await connect({ hostname: "127.0.0.1", port: ln.touAddr.port });
  const s = await accepted;
  assert.equal(c.tryWrite(new Uint8Array(0)), 0);
  assert.equal(c.tryWrite(new TextEncoder().encode("hello")), 5);
  const buf = new Uint8Array(16);
  assert.equal(await s.read(buf), 5);
  assert.equal(new TextDecoder().decode(buf.subarray(0, 5)), "hello");
  // a full send buffer takes part, then nothing
  const big = new Uint8Array(64 * 1024 * 1024);
  const first = c.tryWrite(big);
  assert.ok(first > 0 && first < big.length, `took ${first}`);
  assert.equal(c.tryWrite(big), 0);
  await c.closeWrite();
  assert.equal(c.tryWrite(new Uint8Array(1)), 0, "after closeWrite: 0, write throws");
  await assert.rejects(c.write(new Uint8Array(1)), { name: "BrokenPipe" });
  c.abort();
  s.abort();
  ln.close();
});
