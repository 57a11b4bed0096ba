import assert from "node:assert/strict";
import fc from "fast-check";
import {
  deriveSessionKey,
  hkdfSha256,
  peerRole,
  type SealRole,
} from "../../src/seal/key_schedule.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function range(from: number, to: number): Uint8Array {
  return Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function subtleHkdf(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm.slice(), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: salt.slice(), info: info.slice() },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

// RFC 5869 Appendix A.1
Deno.test("hkdfSha256 matches RFC 5869 test case 1 when given the basic inputs", () => {
  const okm = hkdfSha256(hex("0b".repeat(22)), range(0x00, 0x0c), range(0xf0, 0xf9), 42);
  assert.deepEqual(
    okm,
    hex(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
  );
});

// RFC 5869 Appendix A.2
Deno.test("hkdfSha256 matches RFC 5869 test case 2 when given long inputs", () => {
  const okm = hkdfSha256(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82);
  assert.deepEqual(
    okm,
    hex(`b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c
         59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71
         cc30c58179ec3e87c14c01d5c1f3434f1d87`),
  );
});

// RFC 5869 Appendix A.3
Deno.test("hkdfSha256 matches RFC 5869 test case 3 when salt and info are empty", () => {
  const okm = hkdfSha256(hex("0b".repeat(22)), new Uint8Array(), new Uint8Array(), 42);
  assert.deepEqual(
    okm,
    hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
  );
});

Deno.test("hkdfSha256 agrees with WebCrypto HKDF when given random inputs", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 80 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.integer({ min: 1, max: 100 }),
      async (ikm, salt, info, len) => {
        assert.deepEqual(hkdfSha256(ikm, salt, info, len), await subtleHkdf(ikm, salt, info, len));
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("hkdfSha256 throws RangeError when the length is out of range", () => {
  const ikm = new Uint8Array(32);
  assert.throws(() => hkdfSha256(ikm, ikm, ikm, 0), RangeError);
  assert.throws(() => hkdfSha256(ikm, ikm, ikm, 255 * 32 + 1), RangeError);
});

Deno.test("deriveSessionKey equals HKDF with the role label when given a salt", async () => {
  const psk = range(1, 32);
  const salt = range(100, 115);
  const info = new TextEncoder().encode("tou v1 chacha20-poly1305 initiator");
  assert.deepEqual(deriveSessionKey(psk, salt, "initiator"), await subtleHkdf(psk, salt, info, 32));
});

Deno.test("deriveSessionKey gives distinct keys when psk, salt or role differ", () => {
  const psk = range(1, 32);
  const salt = range(100, 115);
  const roles: SealRole[] = ["initiator", "responder", "peer"];
  const keys = new Set<string>();
  for (const role of roles) {
    keys.add(String(deriveSessionKey(psk, salt, role)));
    keys.add(String(deriveSessionKey(psk, range(101, 116), role)));
    keys.add(String(deriveSessionKey(range(2, 33), salt, role)));
  }
  assert.equal(keys.size, 9);
});

Deno.test("deriveSessionKey throws RangeError when the salt is not 16 bytes", () => {
  assert.throws(() => deriveSessionKey(new Uint8Array(32), new Uint8Array(15), "peer"), RangeError);
});

Deno.test("peerRole pairs initiator with responder and peer with itself", () => {
  assert.equal(peerRole("initiator"), "responder");
  assert.equal(peerRole("responder"), "initiator");
  assert.equal(peerRole("peer"), "peer");
});
