/**
 * Measures the AEAD candidates for sealed datagrams: seal + open of one
 * 1400-byte datagram (28 bytes of associated data, a fresh counter nonce
 * each time), in datagrams/s and MB/s of payload, and prints the ratios
 * that decided the choice recorded in docs/security.md.
 *
 * Candidates: WebCrypto AES-256-GCM (async; awaited one by one as a push
 * handler would, and 64 in flight as a batching receive path would),
 * `@noble/ciphers` ChaCha20-Poly1305 (pure TS, sync), Deno's native
 * `node:crypto` ChaCha20-Poly1305 (as used, and tuned: no options objects, no
 * copies of empty `final()` Buffers) and AES-256-GCM (sync), libsodium 1.0.22
 * compiled to WebAssembly (npm `libsodium-wrappers` 0.8.4's detached API, and
 * the raw `libsodium` 0.8.4 module with one preallocated heap region, copying
 * in and out), libsodium through the `sodium-native` 5.1.0 Node-API addon (its
 * public JS functions, which check arguments with node:assert, and the addon
 * called directly as `chacha20Poly1305Sodium` does), and
 * the whole SealedSocket send + receive path with node:crypto and with
 * sodium-native. Also times one key derivation.
 *
 * Also AES-256-GCM from OpenSSL's libcrypto through FFI with one context per
 * key (`aes256GcmLibcrypto.withKey`, what sealed sockets use for
 * `cipher: "auto"`) and the SealedSocket path with it.
 *
 * Usage: `deno run -A bench/aead_bench.ts [seconds per candidate, default 1.2] [filter]`
 * (about 20 s in all by default); with a filter only the candidates whose
 * name contains it run (e.g. `0.5 gcm`), and the ratios are skipped.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import libsodiumFactory from "libsodium";
import sodiumWrappers from "libsodium-wrappers";
import sodiumNative from "sodium-native";
import {
  type Aead,
  chacha20Poly1305Native,
  chacha20Poly1305Noble,
  chacha20Poly1305Sodium,
  sodiumUnavailableReason,
} from "../src/seal/aead.ts";
import { aes256GcmLibcrypto, libcryptoUnavailableReason } from "../src/seal/aes_gcm.ts";
import { deriveSessionKey } from "../src/seal/key_schedule.ts";
import { SealedSocket } from "../src/seal/sealed_socket.ts";
import type {
  Datagram,
  DatagramAddr,
  DatagramHandler,
  DatagramSocket,
} from "../src/udp/datagram_socket.ts";

const SIZE = 1400;
const AAD_LEN = 28;
const perCandidateMs = (Number(Deno.args[0]) || 1.2) * 1000;
const only = Deno.args[1];
const selected = (name: string) => only === undefined || name.includes(only);

const key = crypto.getRandomValues(new Uint8Array(32));
const aad = crypto.getRandomValues(new Uint8Array(AAD_LEN));
const plaintext = crypto.getRandomValues(new Uint8Array(SIZE));
const sealedBuf = new Uint8Array(SIZE + 16);
const openedBuf = new Uint8Array(SIZE);
const nonce = new Uint8Array(12);
const nonceView = new DataView(nonce.buffer);

interface Result {
  readonly name: string;
  readonly perSec: number;
}

const results: Result[] = [];

function report(name: string, count: number, ms: number): void {
  const perSec = count / (ms / 1000);
  results.push({ name, perSec });
  console.log(
    `${name.padEnd(44)} ${perSec.toFixed(0).padStart(8)} dgram/s ${
      (perSec * SIZE / 1e6).toFixed(1).padStart(7)
    } MB/s ${(1e6 / perSec).toFixed(1).padStart(7)} µs/dgram`,
  );
}

function checkOpened(): void {
  if (openedBuf[0] !== plaintext[0] || openedBuf[SIZE - 1] !== plaintext[SIZE - 1]) {
    throw new Error("round trip corrupted the payload");
  }
}

function runSync(name: string, roundTrip: (i: number) => void): void {
  if (!selected(name)) return;
  let i = 0;
  const warm = performance.now();
  while (performance.now() - warm < 150) roundTrip(i++);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while ((t = performance.now()) - t0 < perCandidateMs) {
    for (let k = 0; k < 16; k++) roundTrip(i + n++);
  }
  report(name, n, t - t0);
}

async function runAsync(
  name: string,
  inFlight: number,
  roundTrip: (i: number) => Promise<void>,
): Promise<void> {
  if (!selected(name)) return;
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while ((t = performance.now()) - t0 < perCandidateMs) {
    if (inFlight === 1) {
      await roundTrip(n++);
    } else {
      const batch: Promise<void>[] = [];
      for (let k = 0; k < inFlight; k++) batch.push(roundTrip(n++));
      await Promise.all(batch);
    }
  }
  report(name, n, t - t0);
}

// --- WebCrypto AES-256-GCM (async) ---
const webKey = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]);
async function webRoundTrip(i: number): Promise<void> {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setUint32(8, i);
  const params = { name: "AES-GCM", iv, additionalData: aad };
  const ct = await crypto.subtle.encrypt(params, webKey, plaintext);
  const pt = new Uint8Array(await crypto.subtle.decrypt(params, webKey, ct));
  if (pt.length !== SIZE) throw new Error("webcrypto round trip failed");
}
await runAsync("WebCrypto AES-256-GCM, awaited one by one", 1, webRoundTrip);
await runAsync("WebCrypto AES-256-GCM, 64 in flight", 64, webRoundTrip);

// --- synchronous candidates ---
for (const aead of [chacha20Poly1305Noble, chacha20Poly1305Native]) {
  runSync(`${aead.name}`, (i) => {
    nonceView.setUint32(8, i);
    aead.seal(key, nonce, aad, plaintext, sealedBuf);
    if (aead.open(key, nonce, aad, sealedBuf, openedBuf) !== SIZE) throw new Error("open failed");
    checkOpened();
  });
}

// node:crypto with the least JS around it: shared options objects, the empty
// final() Buffers not copied. A cipher object and three Buffers per call
// remain; the API has no way to write into a given buffer.
const NODE_OPTS = { authTagLength: 16 } as const;
const AAD_OPTS = { plaintextLength: SIZE } as const;
runSync("chacha20-poly1305 (node:crypto, tuned)", (i) => {
  nonceView.setUint32(8, i);
  const c = createCipheriv("chacha20-poly1305", key, nonce, NODE_OPTS);
  c.setAAD(aad, AAD_OPTS);
  sealedBuf.set(c.update(plaintext), 0);
  c.final();
  sealedBuf.set(c.getAuthTag(), SIZE);
  const d = createDecipheriv("chacha20-poly1305", key, nonce, NODE_OPTS);
  d.setAAD(aad, AAD_OPTS);
  d.setAuthTag(sealedBuf.subarray(SIZE));
  openedBuf.set(d.update(sealedBuf.subarray(0, SIZE)), 0);
  d.final();
  checkOpened();
});

// libsodium-wrappers (WebAssembly): allocates its result arrays and copies
// every argument into the wasm heap per call.
await sodiumWrappers.ready;
runSync("chacha20-poly1305 (libsodium-wrappers wasm)", (i) => {
  nonceView.setUint32(8, i);
  const r = sodiumWrappers.crypto_aead_chacha20poly1305_ietf_encrypt_detached(
    plaintext,
    aad,
    null,
    nonce,
    key,
  );
  sealedBuf.set(r.ciphertext, 0);
  sealedBuf.set(r.mac, SIZE);
  openedBuf.set(
    sodiumWrappers.crypto_aead_chacha20poly1305_ietf_decrypt_detached(
      null,
      sealedBuf.subarray(0, SIZE),
      sealedBuf.subarray(SIZE),
      aad,
      nonce,
      key,
    ),
  );
  checkOpened();
});

// Raw libsodium (WebAssembly) with one region malloc'ed once: key, nonce,
// aad and data copied in, result copied out; u64 lengths are (lo, hi) pairs.
{
  interface RawSodium {
    HEAPU8: Uint8Array;
    _malloc(n: number): number;
    _sodium_init(): number;
    _crypto_aead_chacha20poly1305_ietf_encrypt_detached(...a: number[]): number;
    _crypto_aead_chacha20poly1305_ietf_decrypt_detached(...a: number[]): number;
  }
  const factory = libsodiumFactory as unknown as (o: object) => Promise<RawSodium>;
  const m = await factory({
    getRandomValue: () => crypto.getRandomValues(new Uint32Array(1))[0],
  });
  if (m._sodium_init() < 0) throw new Error("libsodium init failed");
  const K = m._malloc(32 + 12 + 64 + 16 + 2 * 2048);
  const N = K + 32, A = N + 12, T = A + 64, P = T + 16, C = P + 2048;
  runSync("chacha20-poly1305 (raw libsodium wasm)", (i) => {
    nonceView.setUint32(8, i);
    let h = m.HEAPU8;
    h.set(key, K);
    h.set(nonce, N);
    h.set(aad, A);
    h.set(plaintext, P);
    m._crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      C,
      T,
      0,
      P,
      SIZE,
      0,
      A,
      AAD_LEN,
      0,
      0,
      N,
      K,
    );
    sealedBuf.set(h.subarray(C, C + SIZE), 0);
    sealedBuf.set(h.subarray(T, T + 16), SIZE);
    h = m.HEAPU8;
    h.set(key, K);
    h.set(nonce, N);
    h.set(aad, A);
    h.set(sealedBuf, C);
    const r = m._crypto_aead_chacha20poly1305_ietf_decrypt_detached(
      P,
      0,
      C,
      SIZE,
      0,
      C + SIZE,
      A,
      AAD_LEN,
      0,
      N,
      K,
    );
    if (r !== 0) throw new Error("raw libsodium open failed");
    openedBuf.set(h.subarray(P, P + SIZE));
    checkOpened();
  });
}

if (chacha20Poly1305Sodium === undefined) {
  console.log(`sodium-native did not load: ${sodiumUnavailableReason}`);
} else {
  // The package's public API: same addon, each argument checked in JS first.
  const sealedView = sealedBuf.subarray(0, SIZE + 16);
  runSync("chacha20-poly1305 (sodium-native JS API)", (i) => {
    nonceView.setUint32(8, i);
    sodiumNative.crypto_aead_chacha20poly1305_ietf_encrypt(
      sealedView,
      plaintext,
      aad,
      null,
      nonce,
      key,
    );
    sodiumNative.crypto_aead_chacha20poly1305_ietf_decrypt(
      openedBuf,
      null,
      sealedView,
      aad,
      nonce,
      key,
    );
    checkOpened();
  });
  const aead = chacha20Poly1305Sodium;
  runSync(aead.name, (i) => {
    nonceView.setUint32(8, i);
    aead.seal(key, nonce, aad, plaintext, sealedBuf);
    if (aead.open(key, nonce, aad, sealedBuf, openedBuf) !== SIZE) throw new Error("open failed");
    checkOpened();
  });
}

runSync("aes-256-gcm (native node:crypto)", (i) => {
  nonceView.setUint32(8, i);
  const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
  c.setAAD(aad);
  const ct = c.update(plaintext);
  c.final();
  const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
  d.setAAD(aad);
  d.setAuthTag(c.getAuthTag());
  openedBuf.set(d.update(ct));
  d.final();
  checkOpened();
});

// AES-256-GCM through libcrypto: one EVP context per key, reused (as SealedSocket does).
if (aes256GcmLibcrypto === undefined) {
  console.log(`aes-256-gcm (libcrypto): unavailable: ${libcryptoUnavailableReason}`);
} else {
  const sealKey = aes256GcmLibcrypto.withKey!(key);
  const openKey = aes256GcmLibcrypto.withKey!(key);
  runSync(`${aes256GcmLibcrypto.name}, keyed`, (i) => {
    nonceView.setUint32(8, i);
    sealKey.seal(nonce, aad, plaintext, sealedBuf);
    if (openKey.open(nonce, aad, sealedBuf, openedBuf) !== SIZE) throw new Error("open failed");
    checkOpened();
  });
  sealKey.dispose();
  openKey.dispose();
}

// --- the whole SealedSocket path: header, seal, replay window, open ---
class Wire implements DatagramSocket {
  handler: DatagramHandler | undefined;
  peer: Wire | undefined;
  readonly remoteAddr = undefined;
  constructor(readonly localAddr: DatagramAddr) {}
  send(data: Uint8Array): void {
    this.peer?.handler?.(data, this.localAddr);
  }
  receive(): Promise<Datagram> {
    return Promise.reject(new Error("push only"));
  }
  setHandler(h: DatagramHandler): void {
    this.handler = h;
  }
  connect(): void {}
  disconnect(): void {}
  close(): void {}
}
function sealedPath(aead: Aead, label: string): void {
  const x = new Wire({ hostname: "127.0.0.1", port: 1 });
  const y = new Wire({ hostname: "127.0.0.1", port: 2 });
  x.peer = y;
  y.peer = x;
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const sx = new SealedSocket(x, { psk, role: "initiator", aead });
  const sy = new SealedSocket(y, { psk, role: "responder", aead });
  let received = 0;
  sy.setHandler((data) => {
    if (data.length === SIZE) received++;
  });
  runSync(`SealedSocket send + receive (${label})`, () => sx.send(plaintext, y.localAddr));
  if (received !== sx.stats.sealed || sy.stats.authFailures !== 0) {
    throw new Error(`SealedSocket lost datagrams: ${received} of ${sx.stats.sealed}`);
  }
}
sealedPath(chacha20Poly1305Native, "node:crypto");
if (chacha20Poly1305Sodium !== undefined) sealedPath(chacha20Poly1305Sodium, "sodium-native");
if (aes256GcmLibcrypto !== undefined) sealedPath(aes256GcmLibcrypto, "libcrypto AES-256-GCM");

// --- key derivation (once per new peer salt) ---
if (selected("HKDF")) {
  const salt = new Uint8Array(16);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while ((t = performance.now()) - t0 < 300) {
    salt[0] = n++;
    deriveSessionKey(key, salt, "peer");
  }
  console.log(
    `${"HKDF-SHA256 session key derivation".padEnd(44)} ${
      (1000 * (t - t0) / n).toFixed(1)
    } µs each`,
  );
}

if (only !== undefined) Deno.exit(0);
const by = (prefix: string) => results.find((r) => r.name.startsWith(prefix))!.perSec;
const webSeq = by("WebCrypto AES-256-GCM, awaited");
const webBatch = by("WebCrypto AES-256-GCM, 64");
const noble = by(chacha20Poly1305Noble.name);
const native = by(chacha20Poly1305Native.name);
console.log("");
console.log(
  `ratio noble ChaCha20-Poly1305 / WebCrypto AES-GCM (awaited):   ${(noble / webSeq).toFixed(2)}×`,
);
console.log(
  `ratio noble ChaCha20-Poly1305 / WebCrypto AES-GCM (64 in flight): ${
    (noble / webBatch).toFixed(2)
  }×`,
);
console.log(
  `ratio native ChaCha20-Poly1305 / WebCrypto AES-GCM (awaited):  ${(native / webSeq).toFixed(2)}×`,
);
console.log(
  `ratio native ChaCha20-Poly1305 / WebCrypto AES-GCM (64 in flight): ${
    (native / webBatch).toFixed(2)
  }×`,
);
console.log(
  `ratio native / noble ChaCha20-Poly1305:                          ${
    (native / noble).toFixed(2)
  }×`,
);
for (
  const name of [
    "chacha20-poly1305 (node:crypto, tuned)",
    "chacha20-poly1305 (libsodium-wrappers wasm)",
    "chacha20-poly1305 (raw libsodium wasm)",
    "chacha20-poly1305 (sodium-native JS API)",
    chacha20Poly1305Sodium?.name,
  ]
) {
  const r = results.find((x) => x.name === name);
  if (r !== undefined) {
    console.log(`ratio ${r.name} / node:crypto as used: ${(r.perSec / native).toFixed(2)}×`);
  }
}
const path = (label: string) => results.find((r) => r.name.endsWith(`(${label})`))?.perSec;
const pathNative = path("node:crypto"), pathSodium = path("sodium-native");
const pathAes = path("libcrypto AES-256-GCM");
if (pathSodium !== undefined && pathAes !== undefined) {
  console.log(
    `ratio SealedSocket path libcrypto AES-256-GCM / sodium-native: ${
      (pathAes / pathSodium).toFixed(2)
    }×`,
  );
}
if (pathNative !== undefined && pathSodium !== undefined) {
  console.log(
    `ratio SealedSocket path sodium-native / node:crypto: ${(pathSodium / pathNative).toFixed(2)}×`,
  );
}
