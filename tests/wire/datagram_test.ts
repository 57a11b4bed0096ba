import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeDatagram } from "../../src/wire/datagram.ts";
import { emitEnvelope, EnvelopeType } from "../../src/wire/envelope.ts";
import { normalizeSegment } from "../../src/wire/tcp_codec.ts";
import { SYN } from "../../src/wire/tcp_flags.ts";
import { seq } from "../../src/wire/seq.ts";
import { describeDatagram } from "../../src/stack/trace.ts";
import { emit, segment } from "./_segments.ts";

function datagram(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  emitEnvelope(type as EnvelopeType, 0, out);
  out.set(body, 4);
  return out;
}

Deno.test("decodeDatagram returns the segment of a TCP envelope when both layers are valid", () => {
  const seg = segment({
    flags: SYN,
    seq: seq(7),
    options: { mss: 1400, sackPermitted: true },
    payload: new Uint8Array([1, 2, 3]),
  });
  const r = decodeDatagram(datagram(EnvelopeType.TCP_SEGMENT, emit(seg)));
  assert.ok(r.ok);
  assert.equal(r.value.kind, "segment");
  assert.ok(r.value.kind === "segment");
  assert.equal(r.value.envelope.type, EnvelopeType.TCP_SEGMENT);
  assert.deepEqual(normalizeSegment(r.value.segment), normalizeSegment(seg));
});

Deno.test("decodeDatagram returns the envelope when the type is not a TCP segment", () => {
  for (const type of [EnvelopeType.SEALED, EnvelopeType.CONTROL_UNREACHABLE]) {
    const r = decodeDatagram(datagram(type, new Uint8Array([9, 9])));
    assert.ok(r.ok);
    assert.equal(r.value.kind, "other");
    assert.equal(r.value.envelope.type, type);
    assert.deepEqual([...r.value.envelope.body], [9, 9]);
  }
});

Deno.test("decodeDatagram names the envelope layer and reason when the envelope is malformed", () => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array([]), "truncated-envelope"],
    [new Uint8Array([0x00, 0x06, 0x00]), "truncated-envelope"],
    [new Uint8Array([0x40, 0x06, 0x00, 0x00]), "bad-envelope-version"],
    [new Uint8Array([0x00, 0x07, 0x00, 0x00]), "unknown-envelope-type"],
    [new Uint8Array([0x01, 0x06, 0x00, 0x00]), "truncated-envelope"], // Hlen 1 word, none there
  ];
  for (const [bytes, reason] of cases) {
    const r = decodeDatagram(bytes);
    assert.ok(!r.ok, reason);
    assert.equal(r.layer, "envelope");
    assert.equal(r.error.reason, reason);
    assert.equal(r.error.name, "WireError");
  }
});

Deno.test("decodeDatagram names the segment layer and reason when the segment is malformed", () => {
  const good = emit(segment());
  const short = decodeDatagram(datagram(EnvelopeType.TCP_SEGMENT, good.subarray(0, 19)));
  assert.ok(!short.ok);
  assert.deepEqual([short.layer, short.error.reason], ["segment", "truncated-header"]);

  const corrupt = good.slice();
  corrupt[4] ^= 0xff; // sequence number: the checksum no longer verifies
  const bad = decodeDatagram(datagram(EnvelopeType.TCP_SEGMENT, corrupt));
  assert.ok(!bad.ok);
  assert.deepEqual([bad.layer, bad.error.reason], ["segment", "bad-checksum"]);
  // Observers skip the checksum, as the three decoders it replaces did.
  assert.ok(
    decodeDatagram(datagram(EnvelopeType.TCP_SEGMENT, corrupt), { verifyChecksum: false }).ok,
  );
});

Deno.test("describeDatagram says which layer is malformed when a datagram does not decode", () => {
  assert.equal(describeDatagram(new Uint8Array([1, 2])), "malformed envelope (truncated-envelope)");
  assert.equal(
    describeDatagram(datagram(EnvelopeType.TCP_SEGMENT, new Uint8Array(3))),
    "malformed segment (truncated-header)",
  );
  assert.equal(
    describeDatagram(datagram(EnvelopeType.SEALED, new Uint8Array(1))),
    "envelope type 0x80",
  );
});

Deno.test("decodeDatagram never throws and returns a typed error when given arbitrary bytes", () => {
  const envelopeHeader = fc.constantFrom(
    [0x00, 0x06, 0x00, 0x00],
    [0x00, 0x80, 0x00, 0x00],
    [0x20, 0x01, 0x00, 0x00],
    [0x01, 0x06, 0x00, 0x00],
  );
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    fc.tuple(envelopeHeader, fc.uint8Array({ maxLength: 80 })).map(([h, b]) =>
      new Uint8Array([...h, ...b])
    ),
  );
  fc.assert(
    fc.property(bytes, fc.boolean(), (b, verifyChecksum) => {
      const r = decodeDatagram(b, { verifyChecksum });
      if (r.ok) return r.value.kind === "segment" || r.value.kind === "other";
      return (r.layer === "envelope" || r.layer === "segment") &&
        typeof r.error.reason === "string";
    }),
    { numRuns: 2000 },
  );
});
