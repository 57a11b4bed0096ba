import assert from "node:assert/strict";
import { SendBuffer } from "../../src/tcp/send_buffer.ts";
import { RecvBuffer } from "../../src/tcp/recv_buffer.ts";

function bytes(n: number, from = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) * 7 & 0xff;
  return b;
}

Deno.test("SendBuffer keeps its bytes when the ring grows while wrapped", () => {
  const sb = new SendBuffer(1 << 20);
  assert.equal(sb.write(bytes(12_000)), 12_000);
  sb.consume(10_000); // head moves forward
  assert.equal(sb.write(bytes(10_000, 12_000)), 10_000); // wraps in the 16 KiB ring
  assert.equal(sb.write(bytes(100_000, 22_000)), 100_000); // forces growth
  assert.equal(sb.length, 112_000);
  assert.equal(sb.free, (1 << 20) - 112_000);
  assert.deepEqual(sb.peek(0, 112_000), bytes(112_000, 10_000));
});

Deno.test("RecvBuffer keeps in-order and out-of-order bytes when the ring grows", () => {
  const rb = new RecvBuffer(1 << 20);
  assert.equal(rb.insert(0, bytes(10_000)), 10_000);
  const out = new Uint8Array(9_000);
  assert.equal(rb.read(out), 9_000);
  assert.equal(rb.insert(20_000, bytes(50_000, 30_000)), 0); // out of order, grows the ring
  assert.equal(rb.insert(0, bytes(20_000, 10_000)), 70_000 - 0); // fills the gap
  const all = new Uint8Array(71_000);
  assert.equal(rb.read(all), 71_000);
  assert.deepEqual(all, bytes(71_000, 9_000));
  assert.equal(rb.window, 1 << 20);
});
