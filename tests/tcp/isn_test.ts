import assert from "node:assert/strict";
import { siphash24, siphash24Low32 } from "../../src/tcp/siphash.ts";
import { generateIsn, type IsnTuple } from "../../src/tcp/isn.ts";
import { seqSub } from "../../src/wire/seq.ts";

/**
 * SipHash-2-4 tags from the reference implementation's vectors.h
 * (veorq/SipHash, `vectors_sip64`): key 00..0f, message 00..(n-1) for n = 0..63,
 * each tag as its 8 output bytes in order.
 */
const VECTORS: readonly string[] = `
  310e0edd47db6f72 fd67dc93c539f874 5a4fa9d909806c0d 2d7efbd796666785 
  b7877127e09427cf 8da699cd64557618 cee3fe586e46c9cb 37d1018bf50002ab 
  6224939a79f5f593 b0e4a90bdf82009e f3b9dd94c5bb5d7a a7ad6b22462fb3f4 
  fbe50e86bc8f1e75 903d84c02756ea14 eef27a8e90ca23f7 e545be4961ca29a1 
  db9bc2577fcc2a3f 9447be2cf5e99a69 9cd38d96f0b3c14b bd6179a71dc96dbb 
  98eea21af25cd6be c7673b2eb0cbf2d0 883ea3e395675393 c8ce5ccd8c030ca8 
  94af49f6c650adb8 eab8858ade92e1bc f315bb5bb835d817 adcf6b0763612e2f 
  a5c91da7acaa4dde 716595876650a2a6 28ef495c53a387ad 42c341d8fa92d832 
  ce7cf2722f512771 e37859f94623f3a7 381205bb1ab0e012 ae97a10fd434e015 
  b4a31508beff4d31 81396229f0907902 4d0cf49ee5d4dcca 5c73336a76d8bf9a 
  d0a704536ba93e0e 925958fcd6420cad a915c29bc8067318 952b79f3bc0aa6d4 
  f21df2e41d4535f9 87577519048f53a9 10a56cf5dfcd9adb eb75095ccd986cd0 
  51a9cb9ecba312e6 96afadfc2ce666c7 72fe52975a4364ee 5a1645b276d592a1 
  b274cb8ebf87870a 6f9bb4203de7b381 eaecb2a30b22a87f 9924a43cc1315724 
  bd838d3aafbf8db7 0b1a2a3265d51aea 135079a3231ce660 932b2846e4d70666 
  e1915f5cb1eca46c f325965ca16d629f 575ff28e60381be5 724506eb4c328a95
`.trim().split(/\s+/);

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const MESSAGE = Uint8Array.from({ length: 64 }, (_, i) => i);

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("siphash24 matches all 64 reference vectors when key is 00..0f", () => {
  assert.equal(VECTORS.length, 64);
  for (let n = 0; n < 64; n++) {
    assert.equal(hex(siphash24(KEY, MESSAGE.subarray(0, n))), VECTORS[n], `length ${n}`);
  }
});

Deno.test("siphash24Low32 equals the first four tag bytes little-endian when hashing vectors", () => {
  for (const n of [0, 1, 7, 8, 9, 15, 16, 63]) {
    const tag = siphash24(KEY, MESSAGE.subarray(0, n));
    const low = new DataView(tag.buffer).getUint32(0, true);
    assert.equal(siphash24Low32(KEY, MESSAGE.subarray(0, n)), low, `length ${n}`);
  }
});

Deno.test("siphash24 writes into the given buffer when out is passed", () => {
  const out = new Uint8Array(8);
  assert.equal(siphash24(KEY, MESSAGE.subarray(0, 15), out), out);
  assert.equal(hex(out), VECTORS[15]);
});

Deno.test("siphash24 throws RangeError when the key is not 16 bytes", () => {
  assert.throws(() => siphash24(new Uint8Array(15), new Uint8Array(0)), RangeError);
  assert.throws(() => siphash24Low32(new Uint8Array(17), new Uint8Array(0)), RangeError);
});

const SECRET = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const TUPLE: IsnTuple = {
  localAddr: "192.0.2.1",
  localPort: 40000,
  remoteAddr: "198.51.100.7",
  remotePort: 443,
};

Deno.test("generateIsn advances 250 per ms when only time changes", () => {
  const base = generateIsn(SECRET, TUPLE, 5_000);
  assert.equal(seqSub(generateIsn(SECRET, TUPLE, 5_001), base), 250);
  assert.equal(seqSub(generateIsn(SECRET, TUPLE, 5_000.004), base), 1); // one 4 µs tick
  assert.equal(seqSub(generateIsn(SECRET, TUPLE, 5_000.0039), base), 0);
  assert.equal(seqSub(generateIsn(SECRET, TUPLE, 6_000), base), 250_000);
});

Deno.test("generateIsn equals M + low32(SipHash(tuple)) when computed by hand", () => {
  const enc = new TextEncoder();
  const local = enc.encode(TUPLE.localAddr);
  const remote = enc.encode(TUPLE.remoteAddr);
  const msg = new Uint8Array([
    local.length,
    ...local,
    TUPLE.localPort >> 8,
    TUPLE.localPort & 0xff,
    remote.length,
    ...remote,
    TUPLE.remotePort >> 8,
    TUPLE.remotePort & 0xff,
  ]);
  const f = siphash24Low32(SECRET, msg);
  assert.equal(generateIsn(SECRET, TUPLE, 0), f);
  assert.equal(generateIsn(SECRET, TUPLE, 10), (f + 2500) >>> 0);
});

Deno.test("generateIsn wraps modulo 2^32 when the 4 µs clock passes 2^32 ticks", () => {
  const period = 2 ** 32 / 250; // ms for M to wrap (about 4.77 hours)
  assert.equal(generateIsn(SECRET, TUPLE, period), generateIsn(SECRET, TUPLE, 0));
  const isn = generateIsn(SECRET, TUPLE, 123_456_789);
  assert.ok(Number.isInteger(isn) && isn >= 0 && isn < 2 ** 32);
});

Deno.test("generateIsn differs when any tuple field or the secret differs", () => {
  const now = 42;
  const base = generateIsn(SECRET, TUPLE, now);
  const variants: IsnTuple[] = [
    { ...TUPLE, localAddr: "192.0.2.2" },
    { ...TUPLE, localPort: 40001 },
    { ...TUPLE, remoteAddr: "198.51.100.8" },
    { ...TUPLE, remotePort: 444 },
    // swapped sides must not collide
    {
      localAddr: TUPLE.remoteAddr,
      localPort: TUPLE.remotePort,
      remoteAddr: TUPLE.localAddr,
      remotePort: TUPLE.localPort,
    },
  ];
  const seen = new Set<number>([base]);
  for (const t of variants) seen.add(generateIsn(SECRET, t, now));
  const otherSecret = SECRET.slice();
  otherSecret[0] ^= 1;
  seen.add(generateIsn(otherSecret, TUPLE, now));
  assert.equal(seen.size, variants.length + 2);
  assert.equal(generateIsn(SECRET, { ...TUPLE }, now), base); // deterministic
});

Deno.test("generateIsn throws RangeError when the secret is not 16 bytes", () => {
  assert.throws(() => generateIsn(new Uint8Array(8), TUPLE, 0), RangeError);
});
