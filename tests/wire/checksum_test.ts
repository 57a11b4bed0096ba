import assert from "node:assert/strict";
import {
  internetChecksum,
  onesComplementSum,
  rechecksumForIpv4,
  TCP_PROTOCOL,
  tcpChecksum,
  verifyTcpChecksum,
} from "../../src/wire/checksum.ts";
import { seq } from "../../src/wire/seq.ts";
import { emit, fromHex, segment } from "./_segments.ts";

/** Byte-by-byte RFC 1071 reference: 16-bit big-endian words, carry folded every step. */
function referenceSum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return sum;
}

/** Seeded xorshift32, so failures replay. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** The full IPv4 pseudo-header checksum of `segment` (checksum field taken as zero), from scratch. */
function ipv4ChecksumFromScratch(
  segment: Uint8Array,
  src: readonly number[],
  dst: readonly number[],
): number {
  const len = segment.length;
  const all = new Uint8Array(12 + len);
  // RFC 9293 §3.1: source, destination, zero, PTCL, TCP length.
  all.set(src, 0);
  all.set(dst, 4);
  all[8] = 0;
  all[9] = TCP_PROTOCOL;
  all[10] = len >>> 8;
  all[11] = len & 0xff;
  all.set(segment, 12);
  all[12 + 16] = 0;
  all[12 + 17] = 0;
  return internetChecksum(all);
}

Deno.test("onesComplementSum matches the RFC 1071 §3 example when summing its 8 bytes", () => {
  const b = fromHex("0001 f203 f4f5 f6f7");
  assert.equal(onesComplementSum(b), 0xddf2);
  assert.equal(internetChecksum(b), 0x220d);
});

Deno.test("internetChecksum gives the stored IPv4 header checksum when the field is zeroed", () => {
  const header = fromHex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");
  assert.equal(internetChecksum(header), 0);
  header[10] = 0;
  header[11] = 0;
  assert.equal(internetChecksum(header), 0xb861);
});

Deno.test("onesComplementSum pads an odd last byte with zero when the length is odd", () => {
  assert.equal(onesComplementSum(new Uint8Array([0x12])), 0x1200);
  assert.equal(onesComplementSum(new Uint8Array([0x12, 0x34, 0x56])), 0x1234 + 0x5600);
  assert.equal(onesComplementSum(new Uint8Array(0)), 0);
  assert.equal(onesComplementSum(new Uint8Array(0), 7), 7);
});

Deno.test("onesComplementSum folds the carry when words overflow 16 bits", () => {
  assert.equal(onesComplementSum(fromHex("ffff ffff")), 0xffff);
  assert.equal(onesComplementSum(fromHex("ffff 0001")), 0x0001);
  assert.equal(onesComplementSum(fromHex("8000 8000")), 0x0001);
  assert.equal(onesComplementSum(fromHex("0001"), 0xffff), 0x0001);
});

Deno.test("onesComplementSum equals the byte-by-byte reference when offset and length vary", () => {
  const seed = 0xc0ffee;
  const next = prng(seed);
  const backing = new Uint8Array(2048 + 8);
  for (let i = 0; i < backing.length; i++) backing[i] = next() & 0xff;
  for (let trial = 0; trial < 400; trial++) {
    const start = next() % 8;
    const len = trial < 64 ? trial : next() % 2048;
    const view = backing.subarray(start, start + len);
    assert.equal(
      onesComplementSum(view),
      referenceSum(view),
      `seed ${seed} trial ${trial} start ${start} len ${len}`,
    );
  }
});

Deno.test("tcpChecksum equals the checksum over a zero-address pseudo-header when computed from scratch", () => {
  const bytes = emit(segment({ payload: new TextEncoder().encode("hello") }));
  assert.equal(
    tcpChecksum(bytes),
    ipv4ChecksumFromScratch(bytes, [0, 0, 0, 0], [0, 0, 0, 0]),
  );
  assert.equal(tcpChecksum(bytes), (bytes[16] << 8) | bytes[17]);
});

Deno.test("tcpChecksum ignores the stored checksum field when computing", () => {
  const bytes = emit(segment({ payload: new Uint8Array([1, 2, 3]) }));
  const expected = tcpChecksum(bytes);
  bytes[16] = 0xab;
  bytes[17] = 0xcd;
  assert.equal(tcpChecksum(bytes), expected);
});

Deno.test("verifyTcpChecksum accepts an emitted segment and rejects one with a changed byte", () => {
  const bytes = emit(segment({ payload: new Uint8Array([9, 8, 7]) }));
  assert.equal(verifyTcpChecksum(bytes), true);
  bytes[21] ^= 0x40;
  assert.equal(verifyTcpChecksum(bytes), false);
});

Deno.test("verifyTcpChecksum returns false when the segment is too short to hold a checksum", () => {
  assert.equal(verifyTcpChecksum(new Uint8Array(17)), false);
  assert.equal(verifyTcpChecksum(new Uint8Array(0)), false);
});

Deno.test("tcpChecksum throws RangeError when the segment is shorter than 18 bytes", () => {
  assert.throws(() => tcpChecksum(new Uint8Array(10)), RangeError);
});

Deno.test("rechecksumForIpv4 equals the full IPv4 pseudo-header checksum when computed from scratch", () => {
  const cases: [number[], number[]][] = [
    [[192, 168, 0, 1], [192, 168, 0, 199]],
    [[10, 0, 0, 1], [10, 0, 0, 2]],
    [[255, 255, 255, 255], [255, 255, 255, 255]],
    [[0, 0, 0, 0], [0, 0, 0, 0]],
    [[127, 0, 0, 1], [0, 0, 0, 0]],
  ];
  const seed = 1624;
  const next = prng(seed);
  for (let i = 0; i < 200; i++) {
    const a = next();
    const b = next();
    cases.push([[a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255], [
      b >>> 24,
      (b >>> 16) & 255,
      (b >>> 8) & 255,
      b & 255,
    ]]);
  }
  const payloads = [new Uint8Array(0), new TextEncoder().encode("hello"), new Uint8Array(1460)];
  for (const [k, [src, dst]] of cases.entries()) {
    for (const payload of payloads) {
      const bytes = emit(segment({ seq: seq(next()), window: next() & 0xffff, payload }));
      const expected = ipv4ChecksumFromScratch(bytes, src, dst);
      const got = rechecksumForIpv4(bytes, new Uint8Array(src), new Uint8Array(dst));
      assert.equal(got, expected, `seed ${seed} case ${k} ${src} -> ${dst}`);
      assert.equal((bytes[16] << 8) | bytes[17], expected);
    }
  }
});

Deno.test("rechecksumForIpv4 leaves the checksum unchanged when both addresses are 0.0.0.0", () => {
  const bytes = emit(segment());
  const before = (bytes[16] << 8) | bytes[17];
  assert.equal(rechecksumForIpv4(bytes, new Uint8Array(4), new Uint8Array(4)), before);
});

Deno.test("rechecksumForIpv4 throws RangeError when an address is not 4 bytes", () => {
  const bytes = emit(segment());
  assert.throws(
    () => rechecksumForIpv4(bytes, new Uint8Array(16), new Uint8Array(4)),
    RangeError,
  );
});
