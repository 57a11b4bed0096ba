/**
 * Sealing of tou datagrams with a pre-shared key: a
 * {@linkcode SealedSocket} decorator over any `DatagramSocket` that
 * authenticates and encrypts every datagram (AES-256-GCM or ChaCha20-Poly1305 with
 * per-session, per-direction keys from HKDF-SHA256, counter nonces, a replay
 * window and a freshness check), and the key helpers. Threat model and
 * measurements: docs/security.md.
 *
 * Layering: seal sits beside the stack, on top of src/udp (the socket it
 * wraps) and src/wire (the envelope); the tunnel wraps its UDP socket in it
 * and hands the result to the endpoint as a socket decorator.
 *
 * @example A key, and what sealing costs per datagram
 * ```ts
 * import assert from "node:assert/strict";
 * import { generatePsk, parsePsk, SEALED_OVERHEAD } from "./mod.ts";
 *
 * const psk = parsePsk(generatePsk());
 * assert.equal(psk.length, 32);
 * assert.equal(SEALED_OVERHEAD, 48);
 * ```
 *
 * @module
 */

export {
  AES_GCM_REKEY_LIMIT,
  SEALED_OVERHEAD,
  SealedSocket,
  type SealedSocketOptions,
  type SealedSocketStats,
} from "./sealed_socket.ts";
export {
  formatPsk,
  generatePsk,
  type GeneratePskOptions,
  parsePsk,
  PSK_MAX_BYTES,
  PSK_MIN_BYTES,
  PskError,
  type PskErrorReason,
} from "./psk.ts";
export { deriveSessionKey, peerRole, type SealRole } from "./key_schedule.ts";
export {
  type Aead,
  type AeadAlgorithm,
  bindKey,
  chacha20Poly1305Native,
  chacha20Poly1305Noble,
  chacha20Poly1305Sodium,
  defaultAead,
  type KeyedAead,
} from "./aead.ts";
export {
  aes256GcmLibcrypto,
  aes256GcmNative,
  defaultAesGcm,
  libcryptoUnavailableReason,
} from "./aes_gcm.ts";
export {
  autoFallbackReason,
  CIPHER_CHOICES,
  CIPHER_IDS,
  type CipherChoice,
  sendingAead,
} from "./cipher_choice.ts";
export { type ReplayVerdict, ReplayWindow } from "./replay_window.ts";
