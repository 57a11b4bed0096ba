/**
 * Measures the AEAD candidates for sealed datagrams: seal + open of one
 * 1400-byte datagram (28 bytes of associated data, a fresh counter nonce
 * each time), in datagrams/s and MB/s of payload, and prints the ratios
 * that decided the choice recorded in docs/security.md.
 *
 * Candidates: WebCrypto AES-256-GCM (async; awaited one by one as a push
 * handler would, and 64 in flight as a batching receive path would),
 * `@noble/ciphers` ChaCha20-Poly1305 (pure TS, sync), Deno's native
 * `node:crypto` ChaCha20-Poly1305 and AES-256-GCM (sync), and the whole
 * SealedSocket send + receive path. Also times one key derivation.
 *
 * Usage: `deno run -A bench/aead_bench.ts [seconds per candidate, default 1.2]`
 * (about 10 s in all by default).
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { chacha20Poly1305Native, chacha20Poly1305Noble } from "../src/udp/aead.ts";
import { deriveSessionKey } from "../src/udp/key_schedule.ts";
import { SealedSocket } from "../src/udp/sealed_socket.ts";
import type {
  Datagram,
  DatagramAddr,
  DatagramHandler,
  DatagramSocket,
} from "../src/udp/datagram_socket.ts";

const SIZE = 1400;
const AAD_LEN = 28;
const perCandidateMs = (Number(Deno.args[0]) || 1.2) * 1000;

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
{
  const x = new Wire({ hostname: "127.0.0.1", port: 1 });
  const y = new Wire({ hostname: "127.0.0.1", port: 2 });
  x.peer = y;
  y.peer = x;
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const sx = new SealedSocket(x, { psk, role: "initiator" });
  const sy = new SealedSocket(y, { psk, role: "responder" });
  let received = 0;
  sy.setHandler((data) => {
    if (data.length === SIZE) received++;
  });
  runSync("SealedSocket send + receive (native chacha)", () => sx.send(plaintext, y.localAddr));
  if (received !== sx.stats.sealed || sy.stats.authFailures !== 0) {
    throw new Error(`SealedSocket lost datagrams: ${received} of ${sx.stats.sealed}`);
  }
}

// --- key derivation (once per new peer salt) ---
{
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
