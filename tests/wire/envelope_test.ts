import assert from "node:assert/strict";
import {
  emitEnvelope,
  ENVELOPE_HEADER_LEN,
  EnvelopeType,
  isControlType,
  parseEnvelope,
} from "../../src/wire/envelope.ts";
import { ENVELOPE_HEADER_LEN as CONFIG_ENVELOPE_HEADER_LEN } from "../../src/tcp/config.ts";
import type { WireErrorReason } from "../../src/wire/wire_error.ts";
import { fromHex, hex } from "./_segments.ts";

function reasonOf(bytes: Uint8Array): WireErrorReason {
  const r = parseEnvelope(bytes);
  if (r.ok) throw new Error("expected a WireError");
  return r.error.reason;
}

Deno.test("ENVELOPE_HEADER_LEN equals the value in src/tcp/config.ts when both are imported", () => {
  assert.equal(ENVELOPE_HEADER_LEN, 4);
  assert.equal(ENVELOPE_HEADER_LEN, CONFIG_ENVELOPE_HEADER_LEN);
});

Deno.test("emitEnvelope writes the documented bytes when given each type", () => {
  const buf = new Uint8Array(4);
  emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf);
  assert.equal(hex(buf), "00060000");
  emitEnvelope(EnvelopeType.SEALED, 0, buf);
  assert.equal(hex(buf), "00800000");
  emitEnvelope(EnvelopeType.CONTROL_UNREACHABLE, 0, buf);
  assert.equal(hex(buf), "20010000");
  emitEnvelope(EnvelopeType.TCP_SEGMENT, 0xa55a, buf);
  assert.equal(hex(buf), "0006a55a");
});

Deno.test("parseEnvelope round-trips type, flags and body when emitted", () => {
  for (const type of Object.values(EnvelopeType)) {
    for (const flags of [0, 1, 0x8000, 0xffff]) {
      const buf = new Uint8Array(ENVELOPE_HEADER_LEN + 3);
      assert.equal(emitEnvelope(type, flags, buf), ENVELOPE_HEADER_LEN);
      buf.set([7, 8, 9], ENVELOPE_HEADER_LEN);
      const r = parseEnvelope(buf);
      assert.ok(r.ok);
      assert.equal(r.value.type, type);
      assert.equal(r.value.flags, flags);
      assert.deepEqual([...r.value.body], [7, 8, 9]);
      assert.equal(r.value.body.buffer, buf.buffer);
    }
  }
});

Deno.test("emitEnvelope writes at the offset when one is given", () => {
  const buf = new Uint8Array(8).fill(0xee);
  assert.equal(emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 2), 4);
  assert.equal(hex(buf), "eeee00060000eeee");
});

Deno.test("parseEnvelope returns an empty body when the datagram is only a header", () => {
  const r = parseEnvelope(fromHex("00060000"));
  assert.ok(r.ok);
  assert.equal(r.value.body.length, 0);
});

Deno.test("parseEnvelope skips extension words when Hlen is non-zero", () => {
  const r = parseEnvelope(fromHex("02060000 11111111 22222222 abcd"));
  assert.ok(r.ok);
  assert.equal(r.value.type, EnvelopeType.TCP_SEGMENT);
  assert.equal(hex(r.value.body), "abcd");
});

Deno.test("parseEnvelope returns truncated-envelope when fewer bytes than the header arrive", () => {
  assert.equal(reasonOf(new Uint8Array(0)), "truncated-envelope");
  assert.equal(reasonOf(fromHex("000600")), "truncated-envelope");
  assert.equal(reasonOf(fromHex("01060000 111111")), "truncated-envelope");
  assert.equal(reasonOf(fromHex("1f060000")), "truncated-envelope");
});

Deno.test("parseEnvelope returns bad-envelope-version when the version is not 0", () => {
  for (const b0 of [0x40, 0x80, 0xc0, 0x46]) {
    assert.equal(reasonOf(new Uint8Array([b0, 6, 0, 0])), "bad-envelope-version");
  }
});

Deno.test("parseEnvelope returns unknown-envelope-type when the type is undefined", () => {
  assert.equal(reasonOf(fromHex("00110000")), "unknown-envelope-type"); // UDP-in-envelope
  assert.equal(reasonOf(fromHex("00000000")), "unknown-envelope-type");
  assert.equal(reasonOf(fromHex("20060000")), "unknown-envelope-type"); // control type 6
  assert.equal(reasonOf(fromHex("20000000")), "unknown-envelope-type");
});

Deno.test("isControlType is true only when the C bit is set", () => {
  assert.equal(isControlType(EnvelopeType.CONTROL_UNREACHABLE), true);
  assert.equal(isControlType(EnvelopeType.TCP_SEGMENT), false);
  assert.equal(isControlType(EnvelopeType.SEALED), false);
});

Deno.test("emitEnvelope throws RangeError when type, flags or buffer are invalid", () => {
  const buf = new Uint8Array(4);
  assert.throws(() => emitEnvelope(7 as EnvelopeType, 0, buf), RangeError);
  assert.throws(() => emitEnvelope(EnvelopeType.TCP_SEGMENT, 0x10000, buf), RangeError);
  assert.throws(() => emitEnvelope(EnvelopeType.TCP_SEGMENT, -1, buf), RangeError);
  assert.throws(() => emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, new Uint8Array(3)), RangeError);
  assert.throws(() => emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 1), RangeError);
});
