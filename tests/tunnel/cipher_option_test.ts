import assert from "node:assert/strict";
import {
  ConfigError,
  resolveClientSettings,
  resolveServerSettings,
  validateConfig,
} from "../../src/tunnel/config.ts";
import { CIPHER_CHOICES } from "../../src/seal/cipher_choice.ts";

Deno.test("--cipher / cipher reaches the server and client settings; absent means auto", () => {
  for (const cipher of CIPHER_CHOICES) {
    const s = resolveServerSettings(
      validateConfig({ forward: ["22=127.0.0.1:22"], cipher }, { kind: "flags" }),
    );
    assert.equal(s.cipher, cipher);
    const c = resolveClientSettings(
      validateConfig({ server: "127.0.0.1:7000", local: ["2222=22"], cipher }, {
        kind: "file",
        path: "t.json",
      }),
    );
    assert.equal(c.cipher, cipher);
  }
  const d = resolveServerSettings(
    validateConfig({ forward: ["22=127.0.0.1:22"] }, { kind: "flags" }),
  );
  assert.equal(d.cipher, undefined);
});

Deno.test("--cipher rejects an unknown cipher naming the flag and the choices", () => {
  assert.throws(
    () => validateConfig({ cipher: "aes-128-cbc" }, { kind: "flags" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === `--cipher: must be one of ${CIPHER_CHOICES.join(", ")}, got "aes-128-cbc"`,
  );
});
