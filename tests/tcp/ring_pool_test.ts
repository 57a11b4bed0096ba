import assert from "node:assert/strict";
import { SendBuffer } from "../../src/tcp/send_buffer.ts";
import { RecvBuffer } from "../../src/tcp/recv_buffer.ts";
import { SendRecords } from "../../src/tcp/send_records.ts";
import { freeRings, giveRing, POOLED_RING, takeRing } from "../../src/tcp/ring_pool.ts";
import { seq } from "../../src/wire/seq.ts";

function drain(): void {
  while (freeRings() > 0) takeRing(POOLED_RING);
}

Deno.test("SendBuffer and RecvBuffer give their 4 KiB rings back when compacted, zeroed, and the next buffers take them", () => {
  drain();
  const sb = new SendBuffer(1 << 20);
  const rb = new RecvBuffer(1 << 20);
  sb.write(new Uint8Array(100).fill(9));
  sb.consume(100);
  rb.insert(0, new Uint8Array(50).fill(8));
  rb.read(new Uint8Array(50));
  sb.compact();
  rb.compact();
  assert.equal(freeRings(), 2);
  const sb2 = new SendBuffer(1 << 20);
  const rb2 = new RecvBuffer(1 << 20);
  assert.equal(freeRings(), 0);
  // No byte of the former connections shows through.
  assert.equal(sb2.write(new Uint8Array(10).fill(1)), 10);
  assert.deepEqual([...sb2.peek(0, 10)], new Array(10).fill(1));
  assert.equal(rb2.insert(20, new Uint8Array(5).fill(2)), 0);
  assert.equal(rb2.insert(0, new Uint8Array(20).fill(3)), 25);
  const out = new Uint8Array(25);
  assert.equal(rb2.read(out), 25);
  assert.deepEqual([...out], [...new Array(20).fill(3), ...new Array(5).fill(2)]);
});

Deno.test("A buffer that holds bytes keeps its ring; a grown ring's first 4 KiB ring goes back", () => {
  drain();
  const sb = new SendBuffer(1 << 20);
  sb.write(new Uint8Array(10));
  sb.compact(); // 10 bytes unacknowledged: nothing given back
  assert.equal(freeRings(), 0);
  sb.write(new Uint8Array(10_000)); // grows past 4 KiB
  assert.equal(freeRings(), 1);
  assert.equal(sb.length, 10_010);
});

Deno.test("giveRing keeps only whole 4 KiB rings (views of larger buffers and other sizes are left alone)", () => {
  drain();
  giveRing(new Uint8Array(64));
  giveRing(new Uint8Array(2 * POOLED_RING).subarray(0, POOLED_RING));
  assert.equal(freeRings(), 0);
  giveRing(new Uint8Array(POOLED_RING));
  assert.equal(freeRings(), 1);
  drain();
});

Deno.test("SendRecords keeps every field of its records across growth (one buffer for all arrays)", () => {
  const r = new SendRecords();
  for (let i = 0; i < 20; i++) {
    r.append(seq(i * 10), seq(i * 10 + 10), i + 0.5, i * 2, i * 3, i * 4, i % 2 === 0);
  }
  r.shift();
  for (let i = 20; i < 40; i++) {
    r.append(seq(i * 10), seq(i * 10 + 10), i + 0.5, i * 2, i * 3, i * 4, i % 2 === 0);
  }
  assert.equal(r.count, 39);
  for (let i = 0; i < 39; i++) {
    const k = r.slot(i), n = i + 1;
    assert.deepEqual(
      [
        r.start(i),
        r.end(i),
        r.xmit[k],
        r.delivered[k],
        r.deliveredTime[k],
        r.firstSent[k],
        r.flags[k],
      ],
      [n * 10, n * 10 + 10, n + 0.5, n * 2, n * 3, n * 4, n % 2 === 0 ? 8 : 0],
    );
  }
});
