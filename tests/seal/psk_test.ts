import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatPsk,
  generatePsk,
  parsePsk,
  PSK_MAX_BYTES,
  PSK_MIN_BYTES,
  PskError,
  type PskErrorReason,
} from "../../src/seal/psk.ts";

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

function refused(text: string, reason: PskErrorReason, message: string | RegExp): void {
  assert.throws(() => parsePsk(text), (e: unknown) => {
    assert.ok(e instanceof PskError, `expected PskError, got ${e}`);
    assert.equal(e.reason, reason);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

Deno.test("parsePsk reads hex when the text is lowercase or uppercase hex", () => {
  assert.deepEqual(parsePsk(KEY_HEX), KEY);
  assert.deepEqual(parsePsk(KEY_HEX.toUpperCase()), KEY);
});

Deno.test("parsePsk reads base64 when padded, unpadded or URL-safe", () => {
  assert.deepEqual(parsePsk(KEY_B64), KEY);
  assert.deepEqual(parsePsk(KEY_B64.replace(/=+$/, "")), KEY);
  const key = Uint8Array.from({ length: 33 }, (_, i) => 250 - i * 7);
  const std = toBase64(key);
  assert.match(std, /[+/]/);
  assert.deepEqual(parsePsk(std.replaceAll("+", "-").replaceAll("/", "_")), key);
});

Deno.test("parsePsk ignores whitespace when the key file has newlines or wrapping", () => {
  assert.deepEqual(parsePsk(`  ${KEY_HEX}\n`), KEY);
  assert.deepEqual(parsePsk(`${KEY_HEX.slice(0, 20)}\r\n${KEY_HEX.slice(20)}\n`), KEY);
  assert.deepEqual(parsePsk(`${KEY_B64.slice(0, 10)}\n ${KEY_B64.slice(10)}\t`), KEY);
});

Deno.test("parsePsk names the length when the key is too short", () => {
  refused(
    "00112233445566778899aabbccddeeff",
    "too-short",
    "key too short: 16 bytes, need at least 32",
  );
  refused(toBase64(KEY.subarray(0, 31)), "too-short", "key too short: 31 bytes, need at least 32");
});

Deno.test("parsePsk refuses when the text is empty or only whitespace", () => {
  refused("", "empty", "key is empty: expected hex or base64 of at least 32 bytes");
  refused(" \n\t", "empty", /key is empty/);
});

Deno.test("parsePsk names the format and position, never the character, when the text is neither hex nor base64", () => {
  refused(
    KEY_HEX.slice(0, 10) + "!" + KEY_HEX.slice(11),
    "bad-encoding",
    "key is not valid hex: the character at line 1, column 11 is not a hex digit (0-9, a-f)",
  );
  refused(
    "tou-key: " + KEY_HEX,
    "bad-encoding",
    /not valid hex: the character at line 1, column 1 /,
  );
  refused(
    "AAECAwQFBgcICQoL\nDA0ODxAREh!TFBUWFxgZGhscHR4f",
    "bad-encoding",
    "key is neither hex nor valid base64: the character at line 2, column 11 is not a base64 digit",
  );
});

Deno.test("parsePsk refuses a hex key with one mistyped letter instead of reading it as base64", () => {
  for (const typo of ["g", "z", "G", "o", "+"]) {
    const text = KEY_HEX.slice(0, 40) + typo + KEY_HEX.slice(41) + "\n";
    assert.throws(() => parsePsk(text), (e: unknown) => {
      assert.ok(e instanceof PskError);
      assert.equal(
        e.message,
        "key is not valid hex: the character at line 1, column 41 is not a hex digit (0-9, a-f)",
      );
      return true;
    });
  }
});

Deno.test("parsePsk refuses base64 whose last digit has non-zero unused bits or that mixes alphabets", () => {
  const last = KEY_B64.replace(/=+$/, "");
  refused(last.slice(0, -1) + "9", "bad-encoding", /non-zero unused bits/);
  refused("+" + last.slice(1, -2) + "_w", "bad-encoding", /mixes the standard/);
});

Deno.test("parsePsk refuses when hex has an odd number of digits", () => {
  refused(KEY_HEX + "0", "bad-encoding", "key looks like hex but has an odd number of digits (65)");
});

Deno.test("parsePsk refuses when base64 has an impossible length or padding", () => {
  refused(KEY_B64.replace(/=+$/, "") + "AB", "bad-encoding", /not valid base64: 45 characters/);
  refused(KEY_B64 + "==", "bad-encoding", /not valid base64/);
  refused(
    "QUJD=" + "x".repeat(40),
    "bad-encoding",
    /character at line 1, column 5 is not a base64/,
  );
});

Deno.test("parsePsk refuses when the key is longer than the maximum", () => {
  refused("ab".repeat(PSK_MAX_BYTES + 1), "too-long", /key too long: 1025 bytes, at most 1024/);
});

Deno.test("parsePsk refuses when every byte is the same", () => {
  refused("00".repeat(32), "degenerate", /all 32 bytes are the same/);
  refused("ff".repeat(40), "degenerate", /all 40 bytes are the same/);
});

Deno.test("parsePsk throws only PskError when given arbitrary text", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        const key = parsePsk(text);
        assert.ok(key.length >= PSK_MIN_BYTES);
      } catch (e) {
        assert.ok(e instanceof PskError, `non-PskError for ${JSON.stringify(text)}: ${e}`);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("parsePsk returns the bytes when given hex or base64 of any valid key", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: PSK_MIN_BYTES, maxLength: 100 }).filter((k) =>
        k.some((b) => b !== k[0])
      ),
      (key) => {
        assert.deepEqual(parsePsk(formatPsk(key)), key);
        assert.deepEqual(parsePsk(toBase64(key)), key);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("generatePsk returns 64 hex digits from the random source when given no length", () => {
  const text = generatePsk({ randomBytes: (b) => b.forEach((_, i) => (b[i] = i)) });
  assert.equal(text, KEY_HEX);
  assert.deepEqual(parsePsk(text), KEY);
});

Deno.test("generatePsk differs between calls when using the system random source", () => {
  const a = generatePsk();
  const b = generatePsk({ length: 48 });
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.match(b, /^[0-9a-f]{96}$/);
  assert.notEqual(a, b.slice(0, 64));
});

Deno.test("generatePsk throws RangeError when the length is below 32", () => {
  assert.throws(() => generatePsk({ length: 16 }), RangeError);
  assert.throws(() => generatePsk({ length: 32.5 }), RangeError);
});

Deno.test("formatPsk writes two lowercase digits per byte", () => {
  assert.equal(formatPsk(KEY), KEY_HEX);
  assert.equal(formatPsk(new Uint8Array()), "");
});
