/**
 * Which AEAD a sealed socket seals with, and the cipher ids that name the
 * algorithm in every sealed datagram (the envelope's 16 flag bits;
 * docs/wire-format.md, "Sealed datagrams"). A receiver opens both
 * algorithms whatever it sends with, so two ends with different choices, or
 * one with libcrypto and one without, still understand each other.
 *
 * @module
 */

import { type Aead, type AeadAlgorithm, defaultAead } from "./aead.ts";
import { aes256GcmLibcrypto, defaultAesGcm, libcryptoUnavailableReason } from "./aes_gcm.ts";

/**
 * The sending cipher a user picks: `"auto"` (AES-256-GCM when OpenSSL's
 * libcrypto loads, else ChaCha20-Poly1305) or one algorithm by name.
 */
export type CipherChoice = "auto" | AeadAlgorithm;

/** Every {@linkcode CipherChoice}, `"auto"` first (the default). */
export const CIPHER_CHOICES: readonly ["auto", "aes-256-gcm", "chacha20-poly1305"] = [
  "auto",
  "aes-256-gcm",
  "chacha20-poly1305",
];

/**
 * Cipher id of each algorithm, carried in the flags of the sealed envelope
 * header (and so authenticated as associated data). 0 is ChaCha20-Poly1305,
 * what every sealed datagram carried before AES-GCM existed.
 */
export const CIPHER_IDS: Readonly<Record<AeadAlgorithm, number>> = {
  "chacha20-poly1305": 0,
  "aes-256-gcm": 1,
};

/**
 * The implementation that opens datagrams carrying each cipher id, indexed
 * by id: libsodium/`node:crypto` ChaCha20-Poly1305 and libcrypto/`node:crypto`
 * AES-256-GCM.
 */
export const OPENERS: readonly Aead[] = [defaultAead, defaultAesGcm];

/**
 * The AEAD a socket with `choice` seals with.
 *
 * @param choice The configured cipher (default `"auto"`).
 * @returns For `"auto"`, libcrypto AES-256-GCM when loaded, else the default ChaCha20-Poly1305.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sendingAead } from "./cipher_choice.ts";
 * assert.equal(sendingAead("chacha20-poly1305").algorithm, "chacha20-poly1305");
 * assert.equal(sendingAead("aes-256-gcm").algorithm, "aes-256-gcm");
 * ```
 */
export function sendingAead(choice: CipherChoice = "auto"): Aead {
  switch (choice) {
    case "auto":
      return aes256GcmLibcrypto ?? defaultAead;
    case "aes-256-gcm":
      return defaultAesGcm;
    case "chacha20-poly1305":
      return defaultAead;
  }
}

/**
 * Why `"auto"` seals with ChaCha20-Poly1305 rather than AES-256-GCM (the
 * libcrypto load error), or `undefined` when it uses AES-256-GCM or the
 * choice is not `"auto"`. The tunnel logs it once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { autoFallbackReason } from "./cipher_choice.ts";
 * assert.equal(autoFallbackReason("chacha20-poly1305"), undefined);
 * ```
 */
export function autoFallbackReason(choice: CipherChoice = "auto"): string | undefined {
  return choice === "auto" ? libcryptoUnavailableReason : undefined;
}
