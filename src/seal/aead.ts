/**
 * The AEAD behind sealed datagrams: ChaCha20-Poly1305 (RFC 8439), with
 * 32-byte keys, 12-byte nonces and 16-byte tags, behind a small synchronous
 * interface so a datagram is opened inside the socket's push handler.
 *
 * Three implementations of the same algorithm, byte for byte:
 * {@linkcode chacha20Poly1305Sodium} (libsodium through the `sodium-native`
 * Node-API addon: writes straight into the caller's buffers, no per-call
 * objects; the default, {@linkcode defaultAead}, when it loads),
 * {@linkcode chacha20Poly1305Native} (Deno's built-in `node:crypto`; creates a
 * cipher object and Buffers per call; the fallback when the addon cannot load,
 * e.g. without `--allow-ffi`) and {@linkcode chacha20Poly1305Noble}
 * (`@noble/ciphers`, audited pure TS; an independent check). Measurements:
 * docs/security.md and bench/aead_bench.ts. WebCrypto AES-GCM was measured too
 * and rejected: it is asynchronous, so it would force batching and reordering
 * on the synchronous receive path.
 *
 * The addon is loaded once, when this module is first evaluated (a top-level
 * `await import`), so choosing it never makes `seal`/`open` asynchronous.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

/**
 * The two functions of the `sodium-native` addon used here, called on the
 * addon itself (`sodium-native/binding.js`), not through the package's JS
 * wrappers: those check every argument with `node:assert`, which costs about
 * 2.3 µs per seal + open in Deno, more than the cipher itself at 1400 bytes
 * (bench/aead_bench.ts measures both). The addon checks its preconditions
 * with C asserts (`c` is `m` + 16 bytes, 12-byte nonce, 32-byte key, sizes
 * below 2^32), so every call here is made only after the same checks in JS
 * (`checkSealArgs`, `openable`) and with exact-length views.
 */
interface SodiumAeadBinding {
  /** Returns the ciphertext length. */
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  /** Returns the plaintext length, or -1 when the tag does not verify (then `m` is zeroed). */
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    c: Uint8Array,
    ad: Uint8Array,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
}

/** Largest length the addon takes (it stores lengths in 32 bits). */
const SODIUM_MAX_LEN = 0xffff_ffff;

/** Why `sodium-native` did not load, or undefined when it did. */
let sodiumLoadError: string | undefined;
const sodium: SodiumAeadBinding | undefined = await import("sodium-native/binding.js").then(
  (m) => (m.default ?? m) as SodiumAeadBinding,
  (e: unknown) => {
    sodiumLoadError = e instanceof Error ? e.message : String(e);
    return undefined;
  },
);

/** The AEAD algorithms a sealed datagram may use (docs/wire-format.md, "Sealed datagrams"). */
export type AeadAlgorithm = "chacha20-poly1305" | "aes-256-gcm";

/**
 * An AEAD bound to one key: whatever the implementation prepares per key
 * (a native context, a key schedule) is made once and reused per datagram.
 */
export interface KeyedAead {
  /** As {@linkcode Aead.seal} with the bound key. */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number;
  /** As {@linkcode Aead.open} with the bound key; -1 after `dispose()`. */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): number;
  /** Frees native state and wipes the key copy. Idempotent. */
  dispose(): void;
}

/** A synchronous AEAD with fixed key, nonce and tag lengths. */
export interface Aead {
  /** Algorithm and implementation, e.g. "chacha20-poly1305 (native)". */
  readonly name: string;
  /** The algorithm alone: implementations with the same one interoperate byte for byte. */
  readonly algorithm: AeadAlgorithm;
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
   * plaintext into `out`: on failure `out` is unchanged or, with libsodium,
   * zeroed.
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
  /**
   * Binds a key (copied) for repeated use; implementations without per-key
   * state leave it out and {@linkcode bindKey} wraps them.
   */
  withKey?(key: Uint8Array): KeyedAead;
}

/**
 * `aead` bound to `key`: the implementation's own {@linkcode Aead.withKey}
 * when it has one, else a wrapper passing a copy of the key to every call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindKey, chacha20Poly1305Noble } from "./aead.ts";
 *
 * const k = bindKey(chacha20Poly1305Noble, new Uint8Array(32).fill(3));
 * const nonce = new Uint8Array(12);
 * const sealed = new Uint8Array(17);
 * k.seal(nonce, new Uint8Array(0), new Uint8Array([42]), sealed);
 * const back = new Uint8Array(1);
 * assert.equal(k.open(nonce, new Uint8Array(0), sealed, back), 1);
 * k.dispose();
 * assert.equal(k.open(nonce, new Uint8Array(0), sealed, back), -1);
 * ```
 */
export function bindKey(aead: Aead, key: Uint8Array): KeyedAead {
  if (aead.withKey !== undefined) return aead.withKey(key);
  const k = key.slice();
  let live = true;
  return {
    seal: (nonce, aad, plaintext, out) => {
      if (!live) throw new Error(`${aead.name}: key used after dispose()`);
      return aead.seal(k, nonce, aad, plaintext, out);
    },
    open: (nonce, aad, sealed, out) => live ? aead.open(k, nonce, aad, sealed, out) : -1,
    dispose: () => {
      live = false;
      k.fill(0);
    },
  };
}

const KEY_LEN = 32;
const NONCE_LEN = 12;
const TAG_LEN = 16;

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
export const chacha20Poly1305Native: Aead = nodeCryptoAead("chacha20-poly1305");

/**
 * An {@linkcode Aead} through Deno's `node:crypto` (synchronous) for either
 * algorithm: both take 32-byte keys and 96-bit nonces and give 16-byte tags.
 * {@linkcode chacha20Poly1305Native} and `aes_gcm.ts`'s `aes256GcmNative`.
 *
 * @param algorithm The algorithm, also node:crypto's cipher name.
 * @returns The implementation, named "<algorithm> (native)".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodeCryptoAead } from "./aead.ts";
 * assert.equal(nodeCryptoAead("aes-256-gcm").name, "aes-256-gcm (native)");
 * ```
 */
export function nodeCryptoAead(algorithm: AeadAlgorithm): Aead {
  const opts = { authTagLength: TAG_LEN } as const;
  return {
    name: `${algorithm} (native)`,
    algorithm,
    keyLength: KEY_LEN,
    nonceLength: NONCE_LEN,
    tagLength: TAG_LEN,
    seal(key, nonce, aad, plaintext, out) {
      checkSealArgs(key, nonce, plaintext, out);
      // two branches only to narrow the name for node:crypto's typed overloads
      const c = algorithm === "aes-256-gcm"
        ? createCipheriv(algorithm, key, nonce, opts)
        : createCipheriv(algorithm, key, nonce, opts);
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
        const d = algorithm === "aes-256-gcm"
          ? createDecipheriv(algorithm, key, nonce, opts)
          : createDecipheriv(algorithm, key, nonce, opts);
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
}

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
  algorithm: "chacha20-poly1305",
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

function sodiumSeal(
  s: SodiumAeadBinding,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
): number {
  checkSealArgs(key, nonce, plaintext, out);
  const n = plaintext.length + TAG_LEN;
  if (n > SODIUM_MAX_LEN || aad.length > SODIUM_MAX_LEN) {
    throw new RangeError(
      `Cannot seal ${plaintext.length} bytes: at most ${SODIUM_MAX_LEN - TAG_LEN}`,
    );
  }
  // libsodium allows ciphertext and plaintext at the same address (in place).
  s.crypto_aead_chacha20poly1305_ietf_encrypt(
    out.length === n ? out : out.subarray(0, n),
    plaintext,
    aad,
    nonce,
    key,
  );
  return n;
}

function sodiumOpen(
  s: SodiumAeadBinding,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
  out: Uint8Array,
): number {
  if (!openable(key, nonce, sealed, out)) return -1;
  if (sealed.length > SODIUM_MAX_LEN || aad.length > SODIUM_MAX_LEN) return -1;
  const n = sealed.length - TAG_LEN;
  // libsodium verifies the tag before it decrypts; on failure it zeroes `out`.
  const r = s.crypto_aead_chacha20poly1305_ietf_decrypt(
    out.length === n ? out : out.subarray(0, n),
    sealed,
    aad,
    nonce,
    key,
  );
  return r === n ? n : -1;
}

/**
 * ChaCha20-Poly1305 from libsodium through the `sodium-native` Node-API addon
 * (synchronous, native, writes into `out`; called on the addon directly, see
 * `SodiumAeadBinding` in the source), or
 * `undefined` when the addon could not be loaded (then
 * {@linkcode sodiumUnavailableReason} says why). Loading needs FFI permission
 * (`--allow-ffi`, included in `-A`).
 *
 * @example Interoperates with node:crypto
 * ```ts
 * import assert from "node:assert/strict";
 * import { chacha20Poly1305Native, chacha20Poly1305Sodium } from "./aead.ts";
 *
 * const aead = chacha20Poly1305Sodium;
 * if (aead !== undefined) {
 *   const key = new Uint8Array(32).fill(9);
 *   const nonce = new Uint8Array(12).fill(1);
 *   const aad = new Uint8Array([1, 2, 3]);
 *   const text = new Uint8Array([10, 20, 30, 40]);
 *   const sealed = new Uint8Array(20);
 *   aead.seal(key, nonce, aad, text, sealed);
 *   const back = new Uint8Array(4);
 *   assert.equal(chacha20Poly1305Native.open(key, nonce, aad, sealed, back), 4);
 *   assert.deepEqual(back, text);
 * }
 * ```
 */
export const chacha20Poly1305Sodium: Aead | undefined = sodium === undefined ? undefined : {
  name: "chacha20-poly1305 (libsodium, sodium-native)",
  algorithm: "chacha20-poly1305",
  keyLength: KEY_LEN,
  nonceLength: NONCE_LEN,
  tagLength: TAG_LEN,
  seal: (key, nonce, aad, plaintext, out) => sodiumSeal(sodium, key, nonce, aad, plaintext, out),
  open: (key, nonce, aad, sealed, out) => sodiumOpen(sodium, key, nonce, aad, sealed, out),
};

/**
 * Why {@linkcode chacha20Poly1305Sodium} is unavailable (the addon's load
 * error, e.g. a missing FFI permission), or `undefined` when it loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chacha20Poly1305Sodium, sodiumUnavailableReason } from "./aead.ts";
 *
 * assert.equal(sodiumUnavailableReason === undefined, chacha20Poly1305Sodium !== undefined);
 * ```
 */
export const sodiumUnavailableReason: string | undefined = sodiumLoadError;

/**
 * The AEAD sealed sockets use unless told otherwise: libsodium
 * ({@linkcode chacha20Poly1305Sodium}) when its addon loaded, else
 * `node:crypto` ({@linkcode chacha20Poly1305Native}). Same bytes on the wire
 * either way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultAead } from "./aead.ts";
 *
 * assert.equal(defaultAead.tagLength, 16);
 * ```
 */
export const defaultAead: Aead = chacha20Poly1305Sodium ?? chacha20Poly1305Native;
