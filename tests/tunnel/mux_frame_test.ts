import assert from "node:assert/strict";
import fc from "fast-check";
import {
  isMuxPreface,
  MUX_HEADER,
  MUX_MAX_PAYLOAD,
  MUX_PREFACE,
  muxLength,
  MuxResetCode,
  muxStreamId,
  MuxType,
  writeMuxHeader,
} from "../../src/tunnel/mux_frame.ts";

const TYPES = Object.values(MuxType);

Deno.test("mux frame header round-trips type, length and stream id at any offset", () => {
  fc.assert(fc.property(
    fc.constantFrom(...TYPES),
    fc.integer({ min: 0, max: MUX_MAX_PAYLOAD }),
    fc.integer({ min: 0, max: 0xffff_ffff }),
    fc.integer({ min: 0, max: 32 }),
    (type, length, id, at) => {
      const buf = new Uint8Array(at + MUX_HEADER + 4).fill(0xaa);
      writeMuxHeader(buf, at, type, length, id);
      assert.equal(buf[at], type);
      assert.equal(buf[at + 1], 0, "flags are zero");
      assert.equal(muxLength(buf, at), length);
      assert.equal(muxStreamId(buf, at), id);
      // nothing outside the header was touched
      assert.ok(buf.subarray(0, at).every((b) => b === 0xaa));
      assert.ok(buf.subarray(at + MUX_HEADER).every((b) => b === 0xaa));
    },
  ));
});

Deno.test("mux frame header is big-endian: length in bytes 2-3, id in bytes 4-7", () => {
  const b = new Uint8Array(MUX_HEADER);
  writeMuxHeader(b, 0, MuxType.WINDOW, 0x1234, 0xdeadbeef);
  assert.deepEqual([...b], [5, 0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef]);
  // the largest id stays unsigned
  writeMuxHeader(b, 0, MuxType.RST, 1, 0xffff_ffff);
  assert.equal(muxStreamId(b, 0), 0xffff_ffff);
  assert.equal(muxLength(b, 0), 1);
});

Deno.test("mux frame types and reset codes are the wire values of docs/wire-format.md", () => {
  assert.deepEqual(
    { ...MuxType },
    { OPEN: 1, DATA: 2, FIN: 3, RST: 4, WINDOW: 5 },
  );
  assert.deepEqual({ ...MuxResetCode }, { RESET: 0, REFUSED: 1, PROTOCOL: 2 });
  assert.equal(MUX_HEADER, 8);
  assert.equal(MUX_MAX_PAYLOAD, 0xffff);
});

Deno.test("isMuxPreface accepts exactly the 8-byte preface (and longer buffers starting with it)", () => {
  assert.equal(MUX_PREFACE.length, 8);
  assert.equal(new TextDecoder().decode(MUX_PREFACE.subarray(0, 6)), "TOUMUX");
  assert.ok(isMuxPreface(MUX_PREFACE));
  const longer = new Uint8Array(20);
  longer.set(MUX_PREFACE);
  assert.ok(isMuxPreface(longer));
  assert.ok(!isMuxPreface(MUX_PREFACE.subarray(0, 7)), "too short");
  assert.ok(!isMuxPreface(new Uint8Array(0)));
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 7 }),
    fc.integer({ min: 1, max: 255 }),
    (i, delta) => {
      const b = MUX_PREFACE.slice();
      b[i] = (b[i] + delta) & 0xff;
      assert.ok(!isMuxPreface(b), `byte ${i} changed`);
    },
  ));
});
