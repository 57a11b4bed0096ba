import assert from "node:assert/strict";
import {
  decodeOptions,
  emitOptions,
  MAX_OPTIONS_LEN,
  normalizeOptions,
  OptionKind,
  optionsEncodedLength,
  parseOptions,
} from "../../src/wire/tcp_options.ts";
import { seq } from "../../src/wire/seq.ts";
import type { TcpOptions } from "../../src/wire/tcp_segment.ts";
import { WireError } from "../../src/wire/wire_error.ts";
import { fromHex, hex } from "./_segments.ts";

function emitted(options: TcpOptions): string {
  const buf = new Uint8Array(MAX_OPTIONS_LEN);
  const n = emitOptions(options, buf);
  assert.equal(n, optionsEncodedLength(options));
  assert.equal(n % 4, 0);
  return hex(buf.subarray(0, n));
}

const ts = { tsVal: 0x01020304, tsEcr: 0x05060708 };

Deno.test("emitOptions writes Linux's SYN layout when MSS, SACK-Permitted, Timestamps and WScale are set", () => {
  assert.equal(
    emitted({ mss: 1448, sackPermitted: true, timestamps: ts, windowScale: 7 }),
    "020405a8" + "0402080a" + "0102030405060708" + "01030307",
  );
});

Deno.test("emitOptions pads SACK-Permitted with NOP,NOP when Timestamps are absent", () => {
  assert.equal(
    emitted({ mss: 1460, sackPermitted: true, windowScale: 2 }),
    "020405b4" + "01010402" + "01030302",
  );
});

Deno.test("emitOptions pads Timestamps with NOP,NOP when SACK-Permitted is absent", () => {
  assert.equal(emitted({ timestamps: ts }), "0101080a" + "0102030405060708");
  assert.equal(emitted({ sackPermitted: false, timestamps: ts }), "0101080a0102030405060708");
});

Deno.test("emitOptions writes NOP,NOP,Timestamps then NOP,NOP,SACK when a data segment carries both", () => {
  assert.equal(
    emitted({
      sackBlocks: [{ left: seq(0x10), right: seq(0x20) }, { left: seq(0x30), right: seq(0x40) }],
      timestamps: ts,
    }),
    "0101080a0102030405060708" + "01010512" + "0000001000000020" + "0000003000000040",
  );
});

Deno.test("emitOptions pads with EOL zeros when unknown options end unaligned", () => {
  assert.equal(
    emitted({ unknown: [{ kind: 30, data: new Uint8Array([0xaa, 0xbb]) }] }),
    "1e04aabb",
  );
  assert.equal(emitted({ unknown: [{ kind: 30, data: new Uint8Array([0xaa]) }] }), "1e03aa00");
  assert.equal(
    emitted({ mss: 536, unknown: [{ kind: 254, data: new Uint8Array(0) }] }),
    "02040218fe020000",
  );
});

Deno.test("emitOptions overwrites stale buffer bytes when padding", () => {
  const buf = new Uint8Array(8).fill(0xee);
  const n = emitOptions({ unknown: [{ kind: 30, data: new Uint8Array([1]) }] }, buf, 2);
  assert.equal(n, 4);
  assert.equal(hex(buf), "eeee1e030100eeee");
});

Deno.test("emitOptions writes nothing when options are empty", () => {
  assert.equal(emitted({}), "");
  assert.equal(emitted({ sackBlocks: [], unknown: [] }), "");
});

Deno.test("emitOptions throws RangeError when the buffer is too small", () => {
  assert.throws(() => emitOptions({ mss: 1 }, new Uint8Array(3)), RangeError);
  assert.throws(() => emitOptions({ mss: 1 }, new Uint8Array(8), 5), RangeError);
});

Deno.test("optionsEncodedLength counts exactly 40 bytes when Timestamps and 3 SACK blocks are set", () => {
  const blocks = [0, 1, 2].map((k) => ({ left: seq(k), right: seq(k + 1) }));
  assert.equal(optionsEncodedLength({ timestamps: ts, sackBlocks: blocks }), 40);
  assert.throws(
    () => optionsEncodedLength({ timestamps: ts, sackBlocks: [...blocks, blocks[0]] }),
    RangeError,
  );
  assert.throws(
    () =>
      optionsEncodedLength({
        mss: 1,
        unknown: [{ kind: 30, data: new Uint8Array(36) }],
      }),
    RangeError,
  );
});

Deno.test("parseOptions decodes a Linux SYN's option bytes when they use the combined layout", () => {
  const r = parseOptions(fromHex("020405b4 0402080a 0001e240 00000000 01030307"));
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    mss: 1460,
    sackPermitted: true,
    timestamps: { tsVal: 123456, tsEcr: 0 },
    windowScale: 7,
  });
});

Deno.test("parseOptions decodes SACK blocks in order when several are present", () => {
  const r = parseOptions(fromHex("01010512 00000064 000000c8 fffffff0 00000010"));
  assert.ok(r.ok);
  assert.deepEqual(r.value.sackBlocks, [
    { left: 100, right: 200 },
    { left: 0xfffffff0, right: 0x10 },
  ]);
});

Deno.test("decodeOptions returns a WireError, not a throw, when a length byte is missing", () => {
  const r = decodeOptions(new Uint8Array([OptionKind.NOP, OptionKind.MSS]));
  assert.ok(r instanceof WireError);
  assert.equal(r.reason, "option-overrun");
});

Deno.test("normalizeOptions drops empty and false fields when given a non-canonical value", () => {
  const data = new Uint8Array([1, 2]);
  const n = normalizeOptions({
    mss: 1000,
    sackPermitted: false,
    sackBlocks: [],
    unknown: [{ kind: 30, data }],
  });
  assert.deepEqual(n, { mss: 1000, unknown: [{ kind: 30, data: new Uint8Array([1, 2]) }] });
  assert.notEqual(n.unknown?.[0].data, data);
});

Deno.test("emitOptions writes a Fast Open cookie request as NOP,NOP,34,2 (RFC 7413 §4.1.1)", () => {
  assert.equal(emitted({ fastOpen: new Uint8Array(0) }), "01012202");
  const r = parseOptions(new Uint8Array([1, 1, 34, 2]));
  assert.ok(r.ok);
  assert.deepEqual(r.value, { fastOpen: new Uint8Array(0) });
});

Deno.test("emitOptions writes an 8-byte Fast Open cookie after the SYN options (RFC 7413 §4.1.1)", () => {
  const cookie = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const syn = { mss: 1448, sackPermitted: true, timestamps: ts, windowScale: 7, fastOpen: cookie };
  assert.equal(
    emitted(syn),
    "020405a8" + "0402080a" + "0102030405060708" + "01030307" + "0101220a" + "0102030405060708",
  );
  assert.equal(optionsEncodedLength(syn), 32);
  const r = parseOptions(new Uint8Array(fromHex(emitted(syn))));
  assert.ok(r.ok);
  assert.deepEqual(r.value, syn);
});

Deno.test("parseOptions rejects a Fast Open option of odd or out-of-range cookie length (RFC 7413 §4.1.1)", () => {
  for (const len of [3, 4, 5, 7, 19, 20]) {
    const bytes = new Uint8Array(len);
    bytes[0] = OptionKind.FAST_OPEN;
    bytes[1] = len;
    const r = parseOptions(bytes);
    assert.ok(!r.ok, `length ${len}`);
    assert.equal(r.error.reason, "bad-fast-open-length");
  }
  for (const len of [2, 6, 10, 18]) {
    const bytes = new Uint8Array(len);
    bytes[0] = OptionKind.FAST_OPEN;
    bytes[1] = len;
    assert.equal(parseOptions(bytes).ok, true, `length ${len}`);
  }
});

Deno.test("optionsEncodedLength refuses a Fast Open cookie of 3 or 18 bytes", () => {
  assert.throws(() => optionsEncodedLength({ fastOpen: new Uint8Array(3) }), RangeError);
  assert.throws(() => optionsEncodedLength({ fastOpen: new Uint8Array(18) }), RangeError);
});

Deno.test("decodeOptions reads a range of a larger buffer like a view of it, offsets counted from start", () => {
  const opts = fromHex("020405a8 0402080a 00000001 00000000 01030307");
  const big = new Uint8Array(7 + opts.length + 5).fill(0xab);
  big.set(opts, 7);
  assert.deepEqual(decodeOptions(big, 7, 7 + opts.length), decodeOptions(opts));
  assert.deepEqual(decodeOptions(big, 7, 7), decodeOptions(new Uint8Array(0)));
  const bad = fromHex("01010204 05");
  big.set(bad, 7);
  const e1 = decodeOptions(big, 7, 7 + bad.length);
  const e2 = decodeOptions(bad);
  assert.ok(e1 instanceof WireError && e2 instanceof WireError);
  assert.equal(e1.reason, e2.reason);
  assert.equal(e1.message, e2.message);
});
