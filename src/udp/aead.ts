/**
 * The AEAD behind sealed datagrams: ChaCha20-Poly1305 (RFC 8439), with
 * 32-byte keys, 12-byte nonces and 16-byte tags, behind a small synchronous
 * interface so a datagram is opened inside the socket's push handler.
 *
 * Two implementations of the same algorithm: {@linkcode chacha20Poly1305Native}
 * (Deno's built-in `node:crypto`, native code; the default, about twice as fast
 * as the pure-TS one and three times WebCrypto AES-GCM per datagram, see
 * docs/security.md and bench/aead_bench.ts) and {@linkcode chacha20Poly1305Noble}
 * (`@noble/ciphers`, audited pure TS; a fallback and an independent check).
 * WebCrypto AES-GCM was measured too and rejected: it is asynchronous, so it
 * would force batching and reordering on the synchronous receive path.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

/** A synchronous AEAD with fixed key, nonce and tag lengths. */
export interface Aead {
  /** Algorithm and implementation, e.g. "chacha20-poly1305 (native)". */
  readonly name: string;
  /** Key length in bytes. */
  readonly keyLength: number;
  /** Nonce length in bytes. */
  readonly nonceLength: number;
  /** Tag length in bytes. */
  readonly tagLength: number;
  /**
   * Encrypts `plaintext` and authenticates it together with `aad`, writing
   * ciphertext then tag into `out` (which must not overlap `plaintext`
   * except at the same offset).
   *
   * @returns Bytes written: `plaintext.length + tagLength`.
   */
  seal(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): number;
  /**
   * Verifies `sealed` (ciphertext then tag) with `aad` and decrypts it into
   * `out`. Never throws on hostile input and never writes unauthenticated
   * plaintext into `out`.
   *
   * @returns The plaintext length, or -1 when authentication fails.
   */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
  ): number;
}

const KEY_LEN = 32;
const NONCE_LEN = 12;
const TAG_LEN = 16;
const NODE_ALG = "chacha20-poly1305";
const NODE_OPTS = { authTagLength: TAG_LEN } as const;

function checkSealArgs(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array) {
  if (key.length !== KEY_LEN || nonce.length !== NONCE_LEN) {
    throw new RangeError(
      `Cannot seal: key is ${key.length} bytes and nonce ${nonce.length}, need ${KEY_LEN} and ${NONCE_LEN}`,
    );
  }
  if (out.length < plaintext.length + TAG_LEN) {
    throw new RangeError(
      `Cannot seal ${plaintext.length} bytes into ${out.length}: need ${
        plaintext.length + TAG_LEN
      }`,
    );
  }
}

function openable(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, out: Uint8Array) {
  return key.length === KEY_LEN && nonce.length === NONCE_LEN && sealed.length >= TAG_LEN &&
    out.length >= sealed.length - TAG_LEN;
}

/**
 * ChaCha20-Poly1305 through Deno's native `node:crypto` (synchronous).
 *
 * @example RFC 8439 §2.8.2 sunscreen vector (tag check)
 * ```ts
 * import assert from "node:assert/strict";
 * import { chacha20Poly1305Native as aead } from "./aead.ts";
 *
 * const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
 * const key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
 * const nonce = hex("070000004041424344454647");
 * const aad = hex("50515253c0c1c2c3c4c5c6c7");
 * const text = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: " +
 *   "If I could offer you only one tip for the future, sunscreen would be it.");
 * const out = new Uint8Array(text.length + 16);
 * assert.equal(aead.seal(key, nonce, aad, text, out), 130);
 * assert.deepEqual(out.subarray(114), hex("1ae10b594f09e26a7e902ecbd0600691"));
 * const back = new Uint8Array(text.length);
 * assert.equal(aead.open(key, nonce, aad, out, back), 114);
 * out[0] ^= 1;
 * assert.equal(aead.open(key, nonce, aad, out, back), -1);
 * ```
 */
export const chacha20Poly1305Native: Aead = {
  name: "chacha20-poly1305 (native)",
  keyLength: KEY_LEN,
  nonceLength: NONCE_LEN,
  tagLength: TAG_LEN,
  seal(key, nonce, aad, plaintext, out) {
    checkSealArgs(key, nonce, plaintext, out);
    const c = createCipheriv(NODE_ALG, key, nonce, NODE_OPTS);
    c.setAAD(aad, { plaintextLength: plaintext.length });
    const ct = c.update(plaintext);
    const rest = c.final();
    out.set(ct, 0);
    out.set(rest, ct.length);
    out.set(c.getAuthTag(), plaintext.length);
    return plaintext.length + TAG_LEN;
  },
  open(key, nonce, aad, sealed, out) {
    if (!openable(key, nonce, sealed, out)) return -1;
    const n = sealed.length - TAG_LEN;
    try {
      const d = createDecipheriv(NODE_ALG, key, nonce, NODE_OPTS);
      d.setAAD(aad, { plaintextLength: n });
      d.setAuthTag(sealed.subarray(n));
      const pt = d.update(sealed.subarray(0, n));
      const rest = d.final(); // throws when the tag does not match
      out.set(pt, 0);
      out.set(rest, pt.length);
      return n;
    } catch {
      return -1;
    }
  },
};

/**
 * ChaCha20-Poly1305 from `@noble/ciphers` (pure TS, synchronous).
 *
 * @example Interoperates with the native implementation
 * ```ts
 * import assert from "node:assert/strict";
 * import { chacha20Poly1305Native, chacha20Poly1305Noble } from "./aead.ts";
 *
 * const key = new Uint8Array(32).fill(9);
 * const nonce = new Uint8Array(12).fill(1);
 * const aad = new Uint8Array([1, 2, 3]);
 * const text = new Uint8Array([10, 20, 30, 40]);
 * const sealed = new Uint8Array(20);
 * chacha20Poly1305Noble.seal(key, nonce, aad, text, sealed);
 * const back = new Uint8Array(4);
 * assert.equal(chacha20Poly1305Native.open(key, nonce, aad, sealed, back), 4);
 * assert.deepEqual(back, text);
 * ```
 */
export const chacha20Poly1305Noble: Aead = {
  name: "chacha20-poly1305 (@noble/ciphers)",
  keyLength: KEY_LEN,
  nonceLength: NONCE_LEN,
  tagLength: TAG_LEN,
  seal(key, nonce, aad, plaintext, out) {
    checkSealArgs(key, nonce, plaintext, out);
    const n = plaintext.length + TAG_LEN;
    chacha20poly1305(key, nonce, aad).encrypt(plaintext, out.subarray(0, n));
    return n;
  },
  open(key, nonce, aad, sealed, out) {
    if (!openable(key, nonce, sealed, out)) return -1;
    const n = sealed.length - TAG_LEN;
    try {
      // noble checks the tag before it writes anything into `out`.
      chacha20poly1305(key, nonce, aad).decrypt(sealed, out.subarray(0, n));
      return n;
    } catch {
      return -1;
    }
  },
};
