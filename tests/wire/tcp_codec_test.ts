import assert from "node:assert/strict";
import {
  emitSegment,
  normalizeSegment,
  parseSegment,
  segmentEncodedLength,
} from "../../src/wire/tcp_codec.ts";
import { type Seq, seq } from "../../src/wire/seq.ts";
import { ACK, CWR, ECE, FIN, PSH, RST, SYN, URG } from "../../src/wire/tcp_flags.ts";
import type { TcpOptions, TcpSegment } from "../../src/wire/tcp_segment.ts";
import type { WireErrorReason } from "../../src/wire/wire_error.ts";
import { emit, fixChecksum, hex, rawSegment, segment } from "./_segments.ts";

function parsed(bytes: Uint8Array): TcpSegment {
  const r = parseSegment(bytes);
  if (!r.ok) throw new Error(`expected a segment, got ${r.error.message}`);
  return r.value;
}

function reasonOf(bytes: Uint8Array, verifyChecksum = true): WireErrorReason {
  const r = parseSegment(bytes, { verifyChecksum });
  if (r.ok) throw new Error("expected a WireError, got a segment");
  return r.error.reason;
}

function roundTrip(seg: TcpSegment): void {
  assert.deepEqual(parsed(emit(seg)), normalizeSegment(seg));
}

Deno.test("emitSegment writes every fixed header field byte-exactly when given distinct values", () => {
  const bytes = emit(segment({
    srcPort: 0x1234,
    dstPort: 0x5678,
    seq: seq(0x01020304),
    ack: seq(0x0a0b0c0d),
    flags: 0xff,
    window: 0xabcd,
    urgentPointer: 0x0102,
  }));
  assert.equal(bytes.length, 20);
  // RFC 9293 §3.1 layout: ports, seq, ack, offset|reserved, flags, window, checksum, urgent.
  assert.equal(hex(bytes.subarray(0, 16)), "12345678010203040a0b0c0d50ffabcd");
  assert.equal(hex(bytes.subarray(18, 20)), "0102");
});

Deno.test("parseSegment returns each fixed field when parsing an emitted segment", () => {
  const seg = segment({
    srcPort: 0x1234,
    dstPort: 0x5678,
    seq: seq(0x01020304),
    ack: seq(0x0a0b0c0d),
    flags: URG | ACK,
    window: 0xabcd,
    urgentPointer: 0x0102,
  });
  const p = parsed(emit(seg));
  assert.equal(p.srcPort, 0x1234);
  assert.equal(p.dstPort, 0x5678);
  assert.equal(p.seq, 0x01020304);
  assert.equal(p.ack, 0x0a0b0c0d);
  assert.equal(p.flags, URG | ACK);
  assert.equal(p.window, 0xabcd);
  assert.equal(p.urgentPointer, 0x0102);
  assert.deepEqual(p.options, {});
  assert.equal(p.payload.length, 0);
});

Deno.test("parseSegment round-trips field extremes when values are 0 or the maximum", () => {
  for (const n of [0, 1, 0x7fff, 0x8000, 0xffff]) {
    roundTrip(segment({ srcPort: n, dstPort: 0xffff - n, window: n, urgentPointer: n }));
  }
  for (const n of [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]) {
    roundTrip(segment({ seq: seq(n), ack: seq(2 ** 32 - 1 - n) }));
  }
});

Deno.test("parseSegment round-trips each control bit when set alone and all together", () => {
  const all = [CWR, ECE, URG, ACK, PSH, RST, SYN, FIN];
  assert.equal(all.reduce((a, b) => a | b, 0), 0xff);
  for (const flag of all) {
    const bytes = emit(segment({ flags: flag }));
    assert.equal(bytes[13], flag);
    assert.equal(parsed(bytes).flags, flag);
  }
  roundTrip(segment({ flags: 0 }));
  roundTrip(segment({ flags: 0xff }));
});

Deno.test("parseSegment ignores the reserved bits of byte 12 when they are set", () => {
  const bytes = emit(segment({ flags: SYN }));
  bytes[12] |= 0x0f; // reserved bits, including the historic NS bit
  fixChecksum(bytes);
  const p = parsed(bytes);
  assert.equal(p.flags, SYN);
  assert.deepEqual(normalizeSegment(p), normalizeSegment(segment({ flags: SYN })));
});

Deno.test("parseSegment returns the payload as a view into the datagram when parsing", () => {
  const payload = new TextEncoder().encode("hello");
  const bytes = emit(
    segment({ flags: PSH | ACK, payload, options: { timestamps: { tsVal: 1, tsEcr: 2 } } }),
  );
  const backing = new Uint8Array(bytes.length + 8);
  backing.set(bytes, 8);
  const datagram = backing.subarray(8);
  const p = parsed(datagram);
  assert.deepEqual(p.payload, payload);
  assert.equal(p.payload.buffer, backing.buffer);
  assert.equal(p.payload.byteOffset, 8 + 32);
  datagram[32] = 0x48; // a change to the datagram shows through the view
  assert.equal(p.payload[0], 0x48);
});

Deno.test("parseSegment round-trips every option when each is present alone", () => {
  const cases: TcpOptions[] = [
    { mss: 0 },
    { mss: 1448 },
    { mss: 65535 },
    { windowScale: 0 },
    { windowScale: 14 },
    { sackPermitted: true },
    { timestamps: { tsVal: 0, tsEcr: 0 } },
    { timestamps: { tsVal: 2 ** 32 - 1, tsEcr: 123456789 } },
    { sackBlocks: [{ left: seq(1), right: seq(2) }] },
    {
      sackBlocks: [1, 2, 3, 4].map((k) => ({
        left: seq(k * 1000),
        right: seq(k * 1000 + 500),
      })),
    },
    { unknown: [{ kind: 30, data: new Uint8Array([1, 2, 3]) }] },
    { unknown: [{ kind: 254, data: new Uint8Array(0) }] },
    { unknown: [{ kind: 253, data: new Uint8Array(38) }] },
  ];
  for (const options of cases) roundTrip(segment({ options }));
});

Deno.test("parseSegment round-trips a Linux-like SYN and data segment when all options are set", () => {
  roundTrip(segment({
    flags: SYN,
    ack: seq(0),
    options: {
      mss: 1448,
      sackPermitted: true,
      timestamps: { tsVal: 0xdeadbeef, tsEcr: 0 },
      windowScale: 7,
    },
  }));
  roundTrip(segment({
    flags: PSH | ACK,
    options: {
      timestamps: { tsVal: 5, tsEcr: 6 },
      sackBlocks: [
        { left: seq(2 ** 32 - 10), right: seq(20) },
        { left: seq(100), right: seq(200) },
        { left: seq(300), right: seq(400) },
      ],
    },
    payload: new Uint8Array(1460).fill(7),
  }));
});

Deno.test("parseSegment returns the normalized options when emitted options were empty or false", () => {
  const seg = segment({
    options: { sackPermitted: false, sackBlocks: [], unknown: [] },
  });
  const bytes = emit(seg);
  assert.equal(bytes.length, 20);
  assert.deepEqual(parsed(bytes).options, {});
});

Deno.test("segmentEncodedLength equals the bytes emitSegment writes when options need padding", () => {
  const seg = segment({
    options: { mss: 1200, unknown: [{ kind: 30, data: new Uint8Array([1]) }] },
    payload: new Uint8Array(3),
  });
  assert.equal(segmentEncodedLength(seg), 20 + 8 + 3);
  const bytes = emit(seg);
  assert.equal(bytes[12] >>> 4, 7);
  assert.equal(hex(bytes.subarray(20, 28)), "020404b01e030100");
});

Deno.test("emitSegment writes only its own bytes when given an offset", () => {
  const seg = segment({ payload: new Uint8Array([1, 2, 3]) });
  const buf = new Uint8Array(40).fill(0xee);
  const n = emitSegment(seg, buf, 10);
  assert.equal(n, 23);
  assert.ok(buf.subarray(0, 10).every((b) => b === 0xee));
  assert.ok(buf.subarray(33).every((b) => b === 0xee));
  assert.deepEqual(parsed(buf.subarray(10, 33)), seg);
});

Deno.test("emitSegment throws RangeError when the buffer is too small or the offset invalid", () => {
  const seg = segment({ payload: new Uint8Array(10) });
  assert.throws(() => emitSegment(seg, new Uint8Array(29)), RangeError);
  assert.throws(() => emitSegment(seg, new Uint8Array(40), 11), RangeError);
  assert.throws(() => emitSegment(seg, new Uint8Array(40), -1), RangeError);
  assert.equal(emitSegment(seg, new Uint8Array(40), 10), 30);
});

Deno.test("emitSegment throws RangeError when options exceed 40 bytes", () => {
  const blocks = [1, 2, 3, 4].map((k) => ({ left: seq(k), right: seq(k + 1) }));
  const seg = segment({ options: { timestamps: { tsVal: 1, tsEcr: 1 }, sackBlocks: blocks } });
  assert.throws(() => segmentEncodedLength(seg), RangeError);
  assert.throws(() => emitSegment(seg, new Uint8Array(100)), RangeError);
  // Three blocks with timestamps fill exactly 40 bytes.
  const fits = segment({
    options: { timestamps: { tsVal: 1, tsEcr: 1 }, sackBlocks: blocks.slice(0, 3) },
  });
  assert.equal(segmentEncodedLength(fits), 60);
  roundTrip(fits);
});

Deno.test("emitSegment throws RangeError when a field is out of range", () => {
  const buf = new Uint8Array(100);
  const bad: Partial<TcpSegment>[] = [
    { srcPort: 65536 },
    { dstPort: -1 },
    { window: 1.5 },
    { urgentPointer: 70000 },
    { flags: 0x100 },
    { seq: (2 ** 32) as Seq },
    { ack: -1 as Seq },
    { options: { mss: 65536 } },
    { options: { windowScale: 15 } },
    { options: { timestamps: { tsVal: -1, tsEcr: 0 } } },
    {
      options: {
        sackBlocks: [1, 2, 3, 4, 5].map((k) => ({ left: seq(k), right: seq(k) })),
      },
    },
    { options: { unknown: [{ kind: 2, data: new Uint8Array(2) }] } },
    { options: { unknown: [{ kind: 1, data: new Uint8Array(0) }] } },
    { options: { unknown: [{ kind: 30, data: new Uint8Array(39) }] } },
    { payload: new Uint8Array(65536) },
  ];
  for (const overrides of bad) {
    assert.throws(
      () => emitSegment(segment(overrides), new Uint8Array(70000)),
      RangeError,
      JSON.stringify(overrides),
    );
  }
  assert.equal(emitSegment(segment(), buf), 20);
});

Deno.test("parseSegment returns truncated-header when fewer than 20 bytes arrive", () => {
  for (const n of [0, 1, 18, 19]) {
    assert.equal(reasonOf(new Uint8Array(n)), "truncated-header");
    assert.equal(reasonOf(new Uint8Array(n), false), "truncated-header");
  }
  assert.equal(reasonOf(emit(segment()).subarray(0, 19)), "truncated-header");
});

Deno.test("parseSegment returns bad-data-offset when the data offset is below 5", () => {
  for (const offset of [0, 1, 4]) {
    assert.equal(reasonOf(rawSegment(offset, [])), "bad-data-offset");
  }
});

Deno.test("parseSegment returns data-offset-overrun when the header is longer than the bytes", () => {
  assert.equal(reasonOf(rawSegment(6, [])), "data-offset-overrun");
  assert.equal(reasonOf(rawSegment(15, new Array(36).fill(1))), "data-offset-overrun");
});

Deno.test("parseSegment accepts a 60-byte header when the data offset is 15", () => {
  const p = parsed(rawSegment(15, new Array(40).fill(1), [0x7a]));
  assert.deepEqual(p.options, {});
  assert.deepEqual([...p.payload], [0x7a]);
});

Deno.test("parseSegment returns bad-checksum when a byte is corrupted", () => {
  const bytes = emit(segment({ payload: new Uint8Array([1, 2, 3]) }));
  bytes[22] ^= 1;
  assert.equal(reasonOf(bytes), "bad-checksum");
  const r = parseSegment(bytes, { verifyChecksum: false });
  assert.ok(r.ok);
  assert.deepEqual([...r.value.payload], [1, 2, 0x03 ^ 1]);
});

Deno.test("parseSegment reports bad-checksum before option errors when both are present", () => {
  const bytes = rawSegment(6, [2, 0, 0, 0]);
  assert.equal(reasonOf(bytes), "bad-option-length");
  bytes[16] ^= 0xff;
  assert.equal(reasonOf(bytes), "bad-checksum");
  assert.equal(reasonOf(bytes, false), "bad-option-length");
});

Deno.test("parseSegment returns the option reason codes when options are malformed", () => {
  const cases: [number[], WireErrorReason][] = [
    [[2, 0, 0, 0], "bad-option-length"],
    [[30, 1, 0, 0], "bad-option-length"],
    [[1, 1, 1, 2], "option-overrun"], // MSS kind in the last byte, no length byte
    [[1, 8, 10, 0], "option-overrun"], // Timestamps of length 10 in 3 remaining bytes
    [[30, 8, 0, 0], "option-overrun"], // unknown option overrunning
    [[2, 3, 0, 0], "bad-mss-length"],
    [[2, 6, 0, 0, 0, 0, 0, 0], "bad-mss-length"],
    [[3, 4, 7, 0], "bad-window-scale-length"],
    [[3, 2, 0, 0], "bad-window-scale-length"],
    [[4, 3, 0, 0], "bad-sack-permitted-length"],
    [[5, 2, 0, 0], "bad-sack-length"],
    [[5, 6, 0, 0, 0, 0, 0, 0], "bad-sack-length"],
    [[1, 1, 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "bad-sack-length"],
    [[8, 8, 0, 0, 0, 0, 0, 0], "bad-timestamps-length"],
    [[8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "bad-timestamps-length"],
  ];
  for (const [options, reason] of cases) {
    const bytes = rawSegment(5 + options.length / 4, options);
    assert.equal(reasonOf(bytes), reason, `options ${options}`);
  }
});

Deno.test("parseSegment skips unknown options but lists them when mixed with known ones", () => {
  // NOP, experimental kind 254 (RFC 6994) with ExID 0xf989, MSS 1400, kind 30 with 1 byte, EOL
  const bytes = rawSegment(8, [1, 254, 4, 0xf9, 0x89, 2, 4, 0x05, 0x78, 30, 3, 0xaa]);
  const p = parsed(bytes);
  assert.equal(p.options.mss, 1400);
  assert.equal(p.options.unknown?.length, 2);
  assert.equal(p.options.unknown?.[0].kind, 254);
  assert.deepEqual([...p.options.unknown![0].data], [0xf9, 0x89]);
  assert.equal(p.options.unknown?.[1].kind, 30);
  assert.deepEqual([...p.options.unknown![1].data], [0xaa]);
  assert.equal(p.options.unknown![1].data.buffer, bytes.buffer);
});

Deno.test("parseSegment stops at EOL when bytes follow it", () => {
  const p = parsed(rawSegment(7, [1, 0, 2, 4, 5, 0xb4, 2, 0]));
  assert.deepEqual(p.options, {});
});

Deno.test("parseSegment clamps the window scale to 14 when a larger shift arrives", () => {
  // RFC 7323 §2.3
  assert.equal(parsed(rawSegment(6, [1, 3, 3, 15])).options.windowScale, 14);
  assert.equal(parsed(rawSegment(6, [1, 3, 3, 255])).options.windowScale, 14);
  assert.equal(parsed(rawSegment(6, [1, 3, 3, 14])).options.windowScale, 14);
});

Deno.test("parseSegment keeps the last value when a known option repeats", () => {
  const p = parsed(rawSegment(7, [2, 4, 0x02, 0x18, 2, 4, 0x05, 0xb4]));
  assert.equal(p.options.mss, 1460);
});

Deno.test("parseSegment decodes options on a non-SYN segment when MSS is present", () => {
  const p = parsed(rawSegment(6, [2, 4, 0x05, 0xb4], [0x61]));
  assert.equal(p.options.mss, 1460);
  assert.deepEqual([...p.payload], [0x61]);
});

Deno.test("emitSegment with checksum false leaves the field 0 and writes the same other bytes", () => {
  const seg = segment({
    options: { timestamps: { tsVal: 5, tsEcr: 6 } },
    payload: new TextEncoder().encode("hello"),
  });
  const a = new Uint8Array(segmentEncodedLength(seg));
  const b = new Uint8Array(a.length).fill(0xee);
  emitSegment(seg, a);
  emitSegment(seg, b, 0, false);
  assert.deepEqual([b[16], b[17]], [0, 0]);
  assert.deepEqual([...b.subarray(0, 16)], [...a.subarray(0, 16)]);
  assert.deepEqual([...b.subarray(18)], [...a.subarray(18)]);
});

Deno.test("decodeSegment gives what parseSegment gives, without the result object", async () => {
  const { decodeSegment } = await import("../../src/wire/tcp_codec.ts");
  const { WireError } = await import("../../src/wire/wire_error.ts");
  const seg = segment({ options: { mss: 1400, sackBlocks: [{ left: seq(1), right: seq(9) }] } });
  const bytes = emit(seg);
  assert.deepEqual(decodeSegment(bytes), parsed(bytes));
  bytes[30] ^= 1; // inside the options: the checksum no longer verifies
  const bad = decodeSegment(bytes);
  assert.ok(bad instanceof WireError && bad.reason === "bad-checksum");
  const unchecked = decodeSegment(bytes, false);
  assert.ok(!(unchecked instanceof WireError));
  const short = decodeSegment(new Uint8Array(10), false);
  assert.ok(short instanceof WireError && short.reason === "truncated-header");
});
