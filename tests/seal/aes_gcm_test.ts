// AES-256-GCM: NIST / GCM-spec known answers, round trips, tamper rejection
// and byte-for-byte agreement of libcrypto (FFI), node:crypto and
// @noble/ciphers; keyed contexts reused across many datagrams.
import assert from "node:assert/strict";
import fc from "fast-check";
import { gcm } from "@noble/ciphers/aes.js";
import {
  aes256GcmLibcrypto,
  aes256GcmNative,
  defaultAesGcm,
  libcryptoUnavailableReason,
} from "../../src/seal/aes_gcm.ts";
import { type Aead, bindKey } from "../../src/seal/aead.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
}

// The tests run with -A on a machine with OpenSSL 3: a silent fallback would hide a broken binding.
Deno.test("aes256GcmLibcrypto loads when FFI is allowed and libcrypto is present", () => {
  assert.equal(libcryptoUnavailableReason, undefined);
  assert.ok(aes256GcmLibcrypto !== undefined);
  assert.equal(defaultAesGcm, aes256GcmLibcrypto);
});

const IMPLS: Aead[] = [aes256GcmNative];
if (aes256GcmLibcrypto !== undefined) IMPLS.push(aes256GcmLibcrypto);

interface Vector {
  readonly name: string;
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly pt: string;
  readonly ct: string;
  readonly tag: string;
}

const K16 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const P16 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
const C16 = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";

/** McGrew & Viega, "The Galois/Counter Mode of Operation" test cases 13–16, and NIST CAVS gcmEncryptExtIV256. */
const VECTORS: Vector[] = [
  {
    name: "GCM spec test case 13 (empty)",
    key: "00".repeat(32),
    iv: "00".repeat(12),
    aad: "",
    pt: "",
    ct: "",
    tag: "530f8afbc74536b9a963b4f1c4cb738b",
  },
  {
    name: "GCM spec test case 14 (one zero block)",
    key: "00".repeat(32),
    iv: "00".repeat(12),
    aad: "",
    pt: "00".repeat(16),
    ct: "cea7403d4d606b6e074ec5d3baf39d18",
    tag: "d0d1c8a799996bf0265b98b5d48ab919",
  },
  {
    name: "GCM spec test case 15 (64 bytes, no AAD)",
    key: K16,
    iv: "cafebabefacedbaddecaf888",
    aad: "",
    pt: P16 + "1aafd255",
    ct: C16 + "898015ad",
    tag: "b094dac5d93471bdec1a502270e3cc6c",
  },
  {
    name: "GCM spec test case 16 (60 bytes, 20 bytes AAD)",
    key: K16,
    iv: "cafebabefacedbaddecaf888",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    pt: P16,
    ct: C16,
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
  {
    name: "NIST gcmEncryptExtIV256 [PTlen=0, AADlen=0] count 0",
    key: "b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4",
    iv: "516c33929df5a3284ff463d7",
    aad: "",
    pt: "",
    ct: "",
    tag: "bdc1ac884d332457a1d2664f168c76f0",
  },
];

for (const v of VECTORS) {
  for (const aead of IMPLS) {
    Deno.test(`${aead.name}: ${v.name}`, () => {
      const key = hex(v.key), iv = hex(v.iv), aad = hex(v.aad), pt = hex(v.pt);
      const want = hex(v.ct + v.tag);
      const out = new Uint8Array(pt.length + 16);
      assert.equal(aead.seal(key, iv, aad, pt, out), want.length);
      assert.deepEqual(out, want);
      const back = new Uint8Array(pt.length);
      assert.equal(aead.open(key, iv, aad, want, back), pt.length);
      assert.deepEqual(back, pt);
      // Keyed: the same answers through a reused context, twice.
      const k = bindKey(aead, key);
      for (let i = 0; i < 2; i++) {
        out.fill(0);
        assert.equal(k.seal(iv, aad, pt, out), want.length);
        assert.deepEqual(out, want);
        back.fill(0);
        assert.equal(k.open(iv, aad, want, back), pt.length);
        assert.deepEqual(back, pt);
      }
      k.dispose();
    });
  }
}

Deno.test("AES-256-GCM implementations agree with @noble/ciphers on random inputs, keyed and in place", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 1500 }),
      (key, nonce, aad, pt) => {
        const want = gcm(key, nonce, aad).encrypt(pt);
        for (const aead of IMPLS) {
          const out = new Uint8Array(pt.length + 16);
          aead.seal(key, nonce, aad, pt, out);
          assert.deepEqual(out, want, aead.name);
          const k = bindKey(aead, key);
          // In place, as the batched send path does: plaintext, then room for the tag.
          const buf = new Uint8Array(pt.length + 16);
          buf.set(pt);
          k.seal(nonce, aad, buf.subarray(0, pt.length), buf);
          assert.deepEqual(buf, want, `${aead.name} in place`);
          const back = new Uint8Array(pt.length);
          assert.equal(k.open(nonce, aad, want, back), pt.length);
          assert.deepEqual(back, pt);
          k.dispose();
        }
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("AES-256-GCM rejects every single-bit change and leaves no unauthenticated plaintext", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const nonce = Uint8Array.from({ length: 12 }, (_, i) => 100 + i);
  const aad = new Uint8Array([1, 2, 3, 4]);
  const pt = Uint8Array.from({ length: 64 }, (_, i) => i * 3);
  for (const aead of IMPLS) {
    const k = bindKey(aead, key);
    const sealed = new Uint8Array(80);
    k.seal(nonce, aad, pt, sealed);
    for (let bit = 0; bit < sealed.length * 8; bit += 7) {
      const bad = sealed.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      const out = new Uint8Array(64).fill(0xee);
      assert.equal(k.open(nonce, aad, bad, out), -1, `${aead.name} bit ${bit}`);
      assert.ok(out.every((b) => b === 0xee || b === 0), `${aead.name} leaked plaintext`);
    }
    assert.equal(k.open(nonce, new Uint8Array([1, 2, 3, 5]), sealed, new Uint8Array(64)), -1);
    const otherNonce = nonce.slice();
    otherNonce[11] ^= 1;
    assert.equal(k.open(otherNonce, aad, sealed, new Uint8Array(64)), -1);
    assert.equal(k.open(nonce, aad, sealed.subarray(0, 15), new Uint8Array(64)), -1);
    // Still good after failures: the context recovers.
    const back = new Uint8Array(64);
    assert.equal(k.open(nonce, aad, sealed, back), 64);
    assert.deepEqual(back, pt);
    k.dispose();
    assert.equal(k.open(nonce, aad, sealed, back), -1);
  }
});

Deno.test("a keyed AES context switches between sealing and opening", () => {
  for (const aead of IMPLS) {
    const key = new Uint8Array(32).fill(5);
    const k = bindKey(aead, key);
    const nonce = new Uint8Array(12);
    for (let i = 0; i < 5; i++) {
      nonce[11] = i;
      const pt = new Uint8Array(100 + i).fill(i);
      const sealed = new Uint8Array(pt.length + 16);
      k.seal(nonce, nonce, pt, sealed);
      const back = new Uint8Array(pt.length);
      assert.equal(k.open(nonce, nonce, sealed, back), pt.length);
      assert.deepEqual(back, pt);
    }
    k.dispose();
  }
});

Deno.test("without --allow-ffi, libcrypto is unavailable, with a reason, and node:crypto AES-GCM stands in", async () => {
  const mod = new URL("../../src/seal/aes_gcm.ts", import.meta.url).href;
  const code = `import { defaultAesGcm, libcryptoUnavailableReason } from ${JSON.stringify(mod)};
console.log(JSON.stringify({ name: defaultAesGcm.name, why: libcryptoUnavailableReason ?? null }));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-env", "-"],
    cwd: new URL("../../", import.meta.url),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(r.name, aes256GcmNative.name);
  assert.match(r.why, /libcrypto/);
});
