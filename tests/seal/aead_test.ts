import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Aead,
  chacha20Poly1305Native,
  chacha20Poly1305Noble,
  chacha20Poly1305Sodium,
} from "../../src/seal/aead.ts";

const IMPLS: Aead[] = [chacha20Poly1305Native, chacha20Poly1305Noble];
// Cross-implementation agreement and the addon's presence: aead_cross_test.ts.
if (chacha20Poly1305Sodium !== undefined) IMPLS.push(chacha20Poly1305Sodium);

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
}

// RFC 8439 §2.8.2
const KEY = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const NONCE = hex("070000004041424344454647");
const AAD = hex("50515253c0c1c2c3c4c5c6c7");
const PLAINTEXT = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const CIPHERTEXT = hex(`
  d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
  3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
  92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
  3ff4def08e4b7a9de576d26586cec64b6116`);
const TAG = hex("1ae10b594f09e26a7e902ecbd0600691");

for (const aead of IMPLS) {
  Deno.test(`${aead.name} seal matches RFC 8439 §2.8.2 when given the sunscreen vector`, () => {
    const out = new Uint8Array(PLAINTEXT.length + 16);
    assert.equal(aead.seal(KEY, NONCE, AAD, PLAINTEXT, out), PLAINTEXT.length + 16);
    assert.deepEqual(out.subarray(0, PLAINTEXT.length), CIPHERTEXT);
    assert.deepEqual(out.subarray(PLAINTEXT.length), TAG);
  });

  Deno.test(`${aead.name} open returns the plaintext when given the RFC 8439 vector`, () => {
    const sealed = new Uint8Array([...CIPHERTEXT, ...TAG]);
    const out = new Uint8Array(PLAINTEXT.length);
    assert.equal(aead.open(KEY, NONCE, AAD, sealed, out), PLAINTEXT.length);
    assert.deepEqual(out, PLAINTEXT);
  });

  Deno.test(`${aead.name} open returns -1 and writes nothing when any bit is flipped`, () => {
    const sealed = new Uint8Array([...CIPHERTEXT, ...TAG]);
    const out = new Uint8Array(PLAINTEXT.length);
    for (let i = 0; i < sealed.length; i++) {
      for (const bit of [0x01, 0x80]) {
        sealed[i] ^= bit;
        assert.equal(aead.open(KEY, NONCE, AAD, sealed, out), -1, `byte ${i} bit ${bit}`);
        sealed[i] ^= bit;
      }
    }
    assert.deepEqual(out, new Uint8Array(PLAINTEXT.length));
  });

  Deno.test(`${aead.name} open returns -1 when the aad, nonce or key differ`, () => {
    const sealed = new Uint8Array([...CIPHERTEXT, ...TAG]);
    const out = new Uint8Array(PLAINTEXT.length);
    const aad = AAD.slice();
    aad[11] ^= 1;
    assert.equal(aead.open(KEY, NONCE, aad, sealed, out), -1);
    assert.equal(aead.open(KEY, NONCE, AAD.subarray(0, 11), sealed, out), -1);
    const nonce = NONCE.slice();
    nonce[0] ^= 1;
    assert.equal(aead.open(KEY, nonce, AAD, sealed, out), -1);
    const key = KEY.slice();
    key[31] ^= 1;
    assert.equal(aead.open(key, NONCE, AAD, sealed, out), -1);
  });

  Deno.test(`${aead.name} open returns -1 without throwing when given malformed arguments`, () => {
    const out = new Uint8Array(64);
    assert.equal(aead.open(KEY, NONCE, AAD, new Uint8Array(15), out), -1);
    assert.equal(aead.open(KEY, NONCE, AAD, new Uint8Array(), out), -1);
    assert.equal(aead.open(KEY.subarray(1), NONCE, AAD, new Uint8Array(32), out), -1);
    assert.equal(aead.open(KEY, NONCE.subarray(1), AAD, new Uint8Array(32), out), -1);
    assert.equal(aead.open(KEY, NONCE, AAD, new Uint8Array(100), new Uint8Array(10)), -1);
  });

  Deno.test(`${aead.name} seal throws RangeError when the key, nonce or output is wrong`, () => {
    const pt = new Uint8Array(10);
    assert.throws(() => aead.seal(KEY.subarray(1), NONCE, AAD, pt, new Uint8Array(26)), RangeError);
    assert.throws(() => aead.seal(KEY, NONCE.subarray(1), AAD, pt, new Uint8Array(26)), RangeError);
    assert.throws(() => aead.seal(KEY, NONCE, AAD, pt, new Uint8Array(25)), RangeError);
  });

  Deno.test(`${aead.name} round-trips when the plaintext is empty`, () => {
    const out = new Uint8Array(16);
    assert.equal(aead.seal(KEY, NONCE, AAD, new Uint8Array(), out), 16);
    assert.equal(aead.open(KEY, NONCE, AAD, out, new Uint8Array()), 0);
  });
}

Deno.test("chacha20Poly1305Native and chacha20Poly1305Noble agree when given random inputs", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 1500 }),
      fc.nat(),
      (key, nonce, aad, pt, flip) => {
        const a = new Uint8Array(pt.length + 16);
        const b = new Uint8Array(pt.length + 16);
        chacha20Poly1305Native.seal(key, nonce, aad, pt, a);
        chacha20Poly1305Noble.seal(key, nonce, aad, pt, b);
        assert.deepEqual(a, b);
        const out = new Uint8Array(pt.length);
        assert.equal(chacha20Poly1305Noble.open(key, nonce, aad, a, out), pt.length);
        assert.deepEqual(out, pt);
        a[flip % a.length] ^= 1 << (flip % 8);
        assert.equal(chacha20Poly1305Native.open(key, nonce, aad, a, out), -1);
        assert.equal(chacha20Poly1305Noble.open(key, nonce, aad, a, out), -1);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("chacha20Poly1305Noble seals in place when output and plaintext share the offset", () => {
  const buf = new Uint8Array(PLAINTEXT.length + 16);
  buf.set(PLAINTEXT);
  chacha20Poly1305Noble.seal(KEY, NONCE, AAD, buf.subarray(0, PLAINTEXT.length), buf);
  assert.deepEqual(buf, new Uint8Array([...CIPHERTEXT, ...TAG]));
});
