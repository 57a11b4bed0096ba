import assert from "node:assert/strict";
import fc from "fast-check";
import { internetChecksum, rechecksumForIpv4 } from "../../src/wire/checksum.ts";
import {
  emitEnvelope,
  ENVELOPE_HEADER_LEN,
  EnvelopeType,
  parseEnvelope,
} from "../../src/wire/envelope.ts";
import { seq } from "../../src/wire/seq.ts";
import {
  emitSegment,
  normalizeSegment,
  parseSegment,
  segmentEncodedLength,
} from "../../src/wire/tcp_codec.ts";
import { optionsEncodedLength } from "../../src/wire/tcp_options.ts";
import type { TcpOptions, TcpSegment } from "../../src/wire/tcp_segment.ts";
import { WireError } from "../../src/wire/wire_error.ts";
import { fixChecksum } from "../wire/_segments.ts";

// Fixed seed so CI is reproducible; set WIRE_SEED to explore. fast-check prints the seed
// and counterexample path on failure.
const seed = Number(Deno.env.get("WIRE_SEED") ?? 0x5eed_7c9);
const params = { seed, numRuns: 400 };

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const unknownKind = fc.integer({ min: 6, max: 255 }).filter((k) => k !== 8 && k !== 34);

const optionsArb: fc.Arbitrary<TcpOptions> = fc.record({
  mss: u16,
  windowScale: fc.integer({ min: 0, max: 14 }),
  sackPermitted: fc.boolean(),
  sackBlocks: fc.array(
    fc.record({ left: u32.map(seq), right: u32.map(seq) }),
    { maxLength: 4 },
  ),
  timestamps: fc.record({ tsVal: u32, tsEcr: u32 }),
  fastOpen: fc.oneof(
    fc.constant(new Uint8Array(0)),
    fc.integer({ min: 2, max: 8 }).chain((h) =>
      fc.uint8Array({ minLength: 2 * h, maxLength: 2 * h })
    ),
  ),
  unknown: fc.array(
    fc.record({ kind: unknownKind, data: fc.uint8Array({ maxLength: 12 }) }),
    { maxLength: 3 },
  ),
}, { requiredKeys: [] }).filter(fitsEmit);

const segmentArb: fc.Arbitrary<TcpSegment> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32.map(seq),
  ack: u32.map(seq),
  flags: fc.integer({ min: 0, max: 0xff }),
  window: u16,
  urgentPointer: u16,
  options: optionsArb,
  payload: fc.uint8Array({ maxLength: 300 }),
});

/** Linux's layout can need more bytes than a tightly packed received list (e.g. NOP-free WS+TS+SACK). */
function fitsEmit(options: TcpOptions): boolean {
  try {
    optionsEncodedLength(options);
    return true;
  } catch {
    return false;
  }
}

function emitted(seg: TcpSegment): Uint8Array {
  const buf = new Uint8Array(segmentEncodedLength(seg));
  emitSegment(seg, buf);
  return buf;
}

Deno.test("parseSegment inverts emitSegment when given arbitrary valid segments", () => {
  fc.assert(
    fc.property(segmentArb, (seg) => {
      const r = parseSegment(emitted(seg));
      assert.ok(r.ok, r.ok ? "" : r.error.message);
      assert.deepEqual(r.value, normalizeSegment(seg));
    }),
    params,
  );
});

Deno.test("parseSegment returns a segment or a WireError, never throws, when given arbitrary bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (bytes, verifyChecksum) => {
      const r = parseSegment(bytes, { verifyChecksum });
      assert.ok(r.ok || r.error instanceof WireError);
    }),
    params,
  );
});

Deno.test("parseSegment returns a segment or a WireError when the header is plausible but options are arbitrary", () => {
  // A valid fixed header and checksum, so the option parser sees the random bytes.
  const optionByte = fc.oneof(
    fc.integer({ min: 0, max: 10 }), // mostly option kinds and short lengths
    fc.integer({ min: 0, max: 255 }),
  );
  const optionWords = fc.integer({ min: 0, max: 10 }).chain((words) =>
    fc.array(optionByte, { minLength: 4 * words, maxLength: 4 * words })
  );
  fc.assert(
    fc.property(optionWords, fc.uint8Array({ maxLength: 8 }), (optionBytes, payload) => {
      const bytes = new Uint8Array(20 + optionBytes.length + payload.length);
      bytes[12] = (5 + optionBytes.length / 4) << 4;
      bytes.set(optionBytes, 20);
      bytes.set(payload, 20 + optionBytes.length);
      fixChecksum(bytes);
      const r = parseSegment(bytes);
      assert.ok(r.ok || r.error instanceof WireError);
      if (r.ok && fitsEmit(r.value.options)) {
        // Whatever parsed must re-emit (when the Linux layout fits 40 bytes) to the same thing.
        const again = parseSegment(emitted(r.value));
        assert.ok(again.ok);
        assert.deepEqual(again.value, normalizeSegment(r.value));
      }
    }),
    params,
  );
});

Deno.test("parseSegment rejects an emitted segment when any single bit is flipped", () => {
  fc.assert(
    fc.property(segmentArb, fc.nat(), (seg, k) => {
      const bytes = emitted(seg);
      const bit = k % (bytes.length * 8);
      bytes[bit >>> 3] ^= 1 << (bit & 7);
      const r = parseSegment(bytes);
      // Either the damage is caught, or (impossible for the ones' complement sum) nothing changed.
      if (r.ok) assert.deepEqual(r.value, normalizeSegment(seg));
      else {
        assert.ok(
          ["bad-checksum", "bad-data-offset", "data-offset-overrun"].includes(r.error.reason),
          r.error.reason,
        );
      }
      assert.equal(r.ok, false);
    }),
    params,
  );
});

Deno.test("rechecksumForIpv4 equals the from-scratch IPv4 checksum when given arbitrary segments and addresses", () => {
  fc.assert(
    fc.property(
      segmentArb,
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      (seg, src, dst) => {
        const bytes = emitted(seg);
        const pseudo = new Uint8Array(12 + bytes.length);
        pseudo.set(src, 0);
        pseudo.set(dst, 4);
        pseudo[9] = 6;
        pseudo[10] = bytes.length >>> 8;
        pseudo[11] = bytes.length & 0xff;
        pseudo.set(bytes, 12);
        pseudo[28] = 0;
        pseudo[29] = 0;
        assert.equal(rechecksumForIpv4(bytes, src, dst), internetChecksum(pseudo));
      },
    ),
    params,
  );
});

Deno.test("parseEnvelope inverts emitEnvelope when given arbitrary types, flags and bodies", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.values(EnvelopeType)),
      u16,
      fc.uint8Array({ maxLength: 64 }),
      (type, flags, body) => {
        const buf = new Uint8Array(ENVELOPE_HEADER_LEN + body.length);
        emitEnvelope(type, flags, buf);
        buf.set(body, ENVELOPE_HEADER_LEN);
        const r = parseEnvelope(buf);
        assert.ok(r.ok);
        assert.deepEqual(r.value, { type, flags, body });
      },
    ),
    params,
  );
});

Deno.test("parseEnvelope returns an envelope or a WireError, never throws, when given arbitrary bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const r = parseEnvelope(bytes);
      assert.ok(r.ok || r.error instanceof WireError);
    }),
    params,
  );
});
