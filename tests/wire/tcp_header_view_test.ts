import assert from "node:assert/strict";
import { TcpHeaderView } from "../../src/wire/tcp_header_view.ts";
import { seq } from "../../src/wire/seq.ts";
import { ACK, PSH } from "../../src/wire/tcp_flags.ts";
import { emit, rawSegment, segment } from "./_segments.ts";

Deno.test("TcpHeaderView reads every header field when pointed at an emitted segment", () => {
  const bytes = emit(segment({
    srcPort: 1234,
    dstPort: 5678,
    seq: seq(0xfedcba98),
    ack: seq(0x01234567),
    flags: PSH | ACK,
    window: 4321,
    urgentPointer: 17,
    options: { timestamps: { tsVal: 1, tsEcr: 2 } },
    payload: new Uint8Array([1, 2, 3]),
  }));
  const v = new TcpHeaderView(bytes);
  assert.equal(v.check(), undefined);
  assert.equal(v.srcPort, 1234);
  assert.equal(v.dstPort, 5678);
  assert.equal(v.seq, 0xfedcba98);
  assert.equal(v.ack, 0x01234567);
  assert.equal(v.dataOffset, 8);
  assert.equal(v.headerLength, 32);
  assert.equal(v.flags, PSH | ACK);
  assert.equal(v.window, 4321);
  assert.equal(v.checksum, (bytes[16] << 8) | bytes[17]);
  assert.equal(v.urgentPointer, 17);
  assert.equal(v.options.length, 12);
  assert.deepEqual([...v.payload], [1, 2, 3]);
  assert.equal(v.verifyChecksum(), true);
  assert.equal(v.bytes, bytes);
});

Deno.test("TcpHeaderView returns views, not copies, when giving options and payload", () => {
  const bytes = emit(segment({ options: { mss: 1000 }, payload: new Uint8Array([5]) }));
  const v = new TcpHeaderView(bytes);
  assert.equal(v.options.buffer, bytes.buffer);
  assert.equal(v.options.byteOffset, 20);
  assert.equal(v.payload.buffer, bytes.buffer);
  assert.equal(v.payload.byteOffset, 24);
});

Deno.test("TcpHeaderView reads each segment when reset across one shared receive buffer", () => {
  const rx = new Uint8Array(2048);
  const a = emit(segment({ srcPort: 1, seq: seq(10) }));
  const b = emit(segment({ srcPort: 2, seq: seq(20), payload: new Uint8Array(7) }));
  rx.set(a, 0);
  rx.set(b, 1000);
  const v = new TcpHeaderView();
  assert.equal(v.reset(rx.subarray(0, a.length)), v);
  assert.equal(v.srcPort, 1);
  assert.equal(v.seq, 10);
  v.reset(rx.subarray(1000, 1000 + b.length));
  assert.equal(v.srcPort, 2);
  assert.equal(v.seq, 20);
  assert.equal(v.payload.length, 7);
  assert.equal(v.verifyChecksum(), true);
  // A datagram in another buffer after that still reads correctly.
  v.reset(a);
  assert.equal(v.srcPort, 1);
});

Deno.test("TcpHeaderView.check returns the reason when the header is malformed", () => {
  const v = new TcpHeaderView();
  assert.equal(v.reset(new Uint8Array(19)).check()?.reason, "truncated-header");
  assert.equal(v.reset(rawSegment(4, [])).check()?.reason, "bad-data-offset");
  assert.equal(v.reset(rawSegment(6, [])).check()?.reason, "data-offset-overrun");
  assert.equal(v.reset(rawSegment(6, [1, 1, 1, 1])).check(), undefined);
});

Deno.test("TcpHeaderView.verifyChecksum returns false when a payload byte flips", () => {
  const bytes = emit(segment({ payload: new Uint8Array([1, 2, 3, 4]) }));
  const v = new TcpHeaderView(bytes);
  bytes[23] ^= 0x80;
  assert.equal(v.verifyChecksum(), false);
});
