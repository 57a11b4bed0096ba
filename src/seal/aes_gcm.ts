/**
 * AES-256-GCM (NIST SP 800-38D; RFC 5116 AEAD_AES_256_GCM) behind the
 * {@linkcode Aead} interface: 32-byte keys, 12-byte (96-bit) nonces, 16-byte
 * tags, the same sizes as ChaCha20-Poly1305, so a sealed datagram keeps its
 * layout whichever of the two sealed it (the cipher id in the envelope flags
 * says which; docs/wire-format.md).
 *
 * Two implementations, byte for byte the same:
 * {@linkcode aes256GcmLibcrypto}, OpenSSL's EVP interface in `libcrypto.so.3`
 * through `Deno.dlopen` (AES-NI and carry-less multiply; about half the CPU
 * of the libsodium ChaCha20-Poly1305 path per 1400-byte datagram, see
 * bench/aead_bench.ts), and {@linkcode aes256GcmNative}, Deno's `node:crypto`
 * (a cipher object per call; used to open AES-GCM datagrams when libcrypto
 * cannot be loaded, e.g. without `--allow-ffi`).
 *
 * The libcrypto implementation keeps one `EVP_CIPHER_CTX` per key
 * ({@linkcode Aead.withKey}): the key schedule is set up once
 * (`EVP_CipherInit_ex` with the key), and per datagram only the IV is set and
 * AAD, data, final and tag go through the context: no allocation per call.
 * A keyed context must be disposed (the sealed socket does on rekey, eviction
 * and close); a finalizer frees one that was dropped without it.
 *
 * @module
 */

import { type Aead, type KeyedAead, nodeCryptoAead } from "./aead.ts";

const KEY_LEN = 32;
const NONCE_LEN = 12;
const TAG_LEN = 16;
/** `EVP_CTRL_GCM_GET_TAG` and `EVP_CTRL_GCM_SET_TAG` (openssl/evp.h). */
const EVP_CTRL_GCM_GET_TAG = 0x10;
const EVP_CTRL_GCM_SET_TAG = 0x11;
/** Largest length passed as a C `int`. */
const INT_MAX = 0x7fff_ffff;

const SYMBOLS = {
  EVP_aes_256_gcm: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  // (ctx, cipher, engine, key, iv, enc): enc 1 encrypt, 0 decrypt, -1 unchanged.
  EVP_CipherInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  // (ctx, out, &outl, in, inl): out NULL feeds AAD.
  EVP_CipherUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_CipherFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
} as const;

type LibCrypto = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Library names tried in order (OpenSSL 3 on Linux first). */
const LIB_NAMES = ["libcrypto.so.3", "libcrypto.so", "libcrypto.3.dylib", "libcrypto.dylib"];

function load(): { lib?: LibCrypto; cipher?: Deno.PointerValue; why?: string } {
  const errors: string[] = [];
  for (const name of LIB_NAMES) {
    try {
      const lib = Deno.dlopen(name, SYMBOLS).symbols;
      const cipher = lib.EVP_aes_256_gcm();
      if (cipher === null) {
        errors.push(`${name}: EVP_aes_256_gcm() returned NULL`);
        continue;
      }
      return { lib, cipher };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // Without FFI permission no other name will do better.
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        return { why: `cannot load ${name}: ${msg}` };
      }
      errors.push(`${name}: ${msg}`);
    }
  }
  return { why: `cannot load libcrypto (${errors.join("; ")})` };
}

const loaded = load();

type Buf = Uint8Array<ArrayBuffer>;

function checkSealArgs(nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void {
  if (nonce.length !== NONCE_LEN) {
    throw new RangeError(`Cannot seal: nonce is ${nonce.length} bytes, need ${NONCE_LEN}`);
  }
  if (out.length < plaintext.length + TAG_LEN) {
    throw new RangeError(
      `Cannot seal ${plaintext.length} bytes into ${out.length}: need ${
        plaintext.length + TAG_LEN
      }`,
    );
  }
  if (plaintext.length > INT_MAX - TAG_LEN) {
    throw new RangeError(`Cannot seal ${plaintext.length} bytes: too long`);
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_LEN) {
    throw new RangeError(`AES-256-GCM key is ${key.length} bytes, need ${KEY_LEN}`);
  }
}

/** Frees contexts whose keyed AEAD was garbage-collected without `dispose`. */
const finalizer = new FinalizationRegistry<Deno.PointerObject>((ctx) => {
  loaded.lib?.EVP_CIPHER_CTX_free(ctx);
});

/** Scratch for the `int *outl` out-parameter (never read: GCM is a stream mode). */
const outLen = new Int32Array(1);

/**
 * One EVP context bound to a key, for sealing (enc 1) or opening (enc 0).
 * A context is initialised for one direction; the other direction's first
 * call re-initialises it (the key schedule is redone once).
 */
class LibcryptoGcmKey implements KeyedAead {
  readonly #lib: LibCrypto;
  #ctx: Deno.PointerObject | null;
  #key: Buf;
  #enc = -1;

  constructor(lib: LibCrypto, key: Uint8Array) {
    checkKey(key);
    this.#lib = lib;
    this.#key = key.slice() as Buf;
    const ctx = lib.EVP_CIPHER_CTX_new();
    if (ctx === null) throw new Error("EVP_CIPHER_CTX_new failed");
    this.#ctx = ctx;
    finalizer.register(this, ctx, this);
  }

  #ready(enc: number): Deno.PointerObject {
    const ctx = this.#ctx;
    if (ctx === null) throw new Error("AES-256-GCM key used after dispose()");
    if (this.#enc !== enc) {
      if (this.#lib.EVP_CipherInit_ex(ctx, loaded.cipher!, null, this.#key, null, enc) !== 1) {
        throw new Error("EVP_CipherInit_ex (key) failed");
      }
      this.#enc = enc;
    }
    return ctx;
  }

  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number {
    checkSealArgs(nonce, plaintext, out);
    const lib = this.#lib;
    const ctx = this.#ready(1);
    const n = plaintext.length;
    let ok = lib.EVP_CipherInit_ex(ctx, null, null, null, nonce as Buf, -1) === 1;
    if (ok && aad.length > 0) {
      ok = lib.EVP_CipherUpdate(ctx, null, outLen, aad as Buf, aad.length) === 1;
    }
    // In place is allowed: ciphertext over plaintext at the same address.
    if (ok && n > 0) ok = lib.EVP_CipherUpdate(ctx, out as Buf, outLen, plaintext as Buf, n) === 1;
    ok = ok && lib.EVP_CipherFinal_ex(ctx, out as Buf, outLen) === 1;
    const tag = out.subarray(n, n + TAG_LEN);
    ok = ok && lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag as Buf) === 1;
    if (!ok) throw new Error("AES-256-GCM seal failed in libcrypto");
    return n + TAG_LEN;
  }

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): number {
    if (
      this.#ctx === null || nonce.length !== NONCE_LEN || sealed.length < TAG_LEN ||
      sealed.length > INT_MAX || out.length < sealed.length - TAG_LEN
    ) return -1;
    const lib = this.#lib;
    const ctx = this.#ready(0);
    const n = sealed.length - TAG_LEN;
    let ok = lib.EVP_CipherInit_ex(ctx, null, null, null, nonce as Buf, -1) === 1;
    const tag = sealed.subarray(n);
    ok = ok && lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag as Buf) === 1;
    if (ok && aad.length > 0) {
      ok = lib.EVP_CipherUpdate(ctx, null, outLen, aad as Buf, aad.length) === 1;
    }
    if (ok && n > 0) ok = lib.EVP_CipherUpdate(ctx, out as Buf, outLen, sealed as Buf, n) === 1;
    // Final verifies the tag (constant time); 0 when it does not match.
    ok = ok && lib.EVP_CipherFinal_ex(ctx, out as Buf, outLen) === 1;
    if (ok) return n;
    // The plaintext was written before the tag was checked: never leave it behind.
    out.fill(0, 0, n);
    return -1;
  }

  dispose(): void {
    const ctx = this.#ctx;
    if (ctx === null) return;
    this.#ctx = null;
    finalizer.unregister(this);
    this.#lib.EVP_CIPHER_CTX_free(ctx); // cleanses the key schedule
    this.#key.fill(0);
  }
}

/**
 * AES-256-GCM from OpenSSL's libcrypto through `Deno.dlopen`, or `undefined`
 * when the library could not be loaded (then
 * {@linkcode libcryptoUnavailableReason} says why). Needs `--allow-ffi`.
 * `seal`/`open` with a key argument build a context per call (for tests and
 * one-off use); the fast path is {@linkcode Aead.withKey}.
 *
 * @example NIST GCM test vector (gcmEncryptExtIV256, Count 0: empty text and AAD)
 * ```ts
 * import assert from "node:assert/strict";
 * import { aes256GcmLibcrypto } from "./aes_gcm.ts";
 *
 * const aead = aes256GcmLibcrypto;
 * if (aead !== undefined) {
 *   const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
 *   const key = hex("b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4");
 *   const out = new Uint8Array(16);
 *   aead.seal(key, hex("516c33929df5a3284ff463d7"), new Uint8Array(0), new Uint8Array(0), out);
 *   assert.deepEqual(out, hex("bdc1ac884d332457a1d2664f168c76f0"));
 * }
 * ```
 */
export const aes256GcmLibcrypto: Aead | undefined = loaded.lib === undefined ? undefined : (() => {
  const lib = loaded.lib;
  const once = <T>(key: Uint8Array, f: (k: KeyedAead) => T): T => {
    const k = new LibcryptoGcmKey(lib, key);
    try {
      return f(k);
    } finally {
      k.dispose();
    }
  };
  return {
    name: "aes-256-gcm (OpenSSL libcrypto, FFI)",
    algorithm: "aes-256-gcm",
    keyLength: KEY_LEN,
    nonceLength: NONCE_LEN,
    tagLength: TAG_LEN,
    seal: (key, nonce, aad, plaintext, out) => once(key, (k) => k.seal(nonce, aad, plaintext, out)),
    open: (key, nonce, aad, sealed, out) =>
      key.length !== KEY_LEN ? -1 : once(key, (k) => k.open(nonce, aad, sealed, out)),
    withKey: (key) => new LibcryptoGcmKey(lib, key),
  };
})();

/**
 * Why {@linkcode aes256GcmLibcrypto} is unavailable (e.g. no FFI permission,
 * no libcrypto on this machine), or `undefined` when it loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { aes256GcmLibcrypto, libcryptoUnavailableReason } from "./aes_gcm.ts";
 *
 * assert.equal(libcryptoUnavailableReason === undefined, aes256GcmLibcrypto !== undefined);
 * ```
 */
export const libcryptoUnavailableReason: string | undefined = loaded.why;

/**
 * AES-256-GCM through Deno's built-in `node:crypto` (synchronous; a cipher
 * object and Buffers per call). Opens AES-GCM datagrams when libcrypto
 * cannot be loaded.
 *
 * @example Tamper rejection
 * ```ts
 * import assert from "node:assert/strict";
 * import { aes256GcmNative as aead } from "./aes_gcm.ts";
 *
 * const key = new Uint8Array(32).fill(7);
 * const nonce = new Uint8Array(12).fill(1);
 * const sealed = new Uint8Array(19);
 * aead.seal(key, nonce, new Uint8Array([9]), new Uint8Array([1, 2, 3]), sealed);
 * const back = new Uint8Array(3);
 * assert.equal(aead.open(key, nonce, new Uint8Array([9]), sealed, back), 3);
 * sealed[18] ^= 1;
 * assert.equal(aead.open(key, nonce, new Uint8Array([9]), sealed, back), -1);
 * ```
 */
export const aes256GcmNative: Aead = nodeCryptoAead("aes-256-gcm");

/**
 * The AES-256-GCM implementation sealed sockets use: libcrypto when it
 * loaded, else `node:crypto`. Same bytes on the wire either way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultAesGcm } from "./aes_gcm.ts";
 * assert.equal(defaultAesGcm.algorithm, "aes-256-gcm");
 * ```
 */
export const defaultAesGcm: Aead = aes256GcmLibcrypto ?? aes256GcmNative;
