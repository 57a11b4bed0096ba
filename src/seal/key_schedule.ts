/**
 * Key derivation for sealed datagrams: HKDF-SHA256 (RFC 5869) from the
 * pre-shared key, the sender's random session salt and the sender's role.
 *
 * Every sender picks a fresh salt per session, so each (session, direction)
 * has its own key and a counter nonce never repeats under a key. The role in
 * the info string separates the directions of a client/server pair: a
 * responder derives the keys of incoming datagrams with the initiator label,
 * so a responder's datagram reflected to another responder fails
 * authentication. Derivation is synchronous (native `node:crypto`), so a
 * datagram carrying a new salt is handled inside the socket's push handler.
 *
 * @module
 */

import { hkdfSync } from "node:crypto";

/**
 * Who sends with a key. `"initiator"` (the side that connects) and
 * `"responder"` (the side that listens) only accept each other's datagrams;
 * `"peer"` accepts only `"peer"` (symmetric use).
 */
export type SealRole = "initiator" | "responder" | "peer";

/** Length of a session salt in bytes. */
export const SESSION_SALT_LEN = 16;

/** Length of a derived datagram key in bytes. */
export const SESSION_KEY_LEN = 32;

/**
 * HKDF-SHA256 (RFC 5869 §2): extract with `salt`, expand with `info`.
 *
 * @param ikm Input keying material.
 * @param salt Extraction salt (may be empty).
 * @param info Context string bytes.
 * @param length Output length, at most 255 × 32 bytes.
 * @returns `length` bytes of output keying material.
 *
 * @example RFC 5869 A.1 (test case 1)
 * ```ts
 * import assert from "node:assert/strict";
 * import { hkdfSha256 } from "./key_schedule.ts";
 *
 * const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
 * const okm = hkdfSha256(
 *   hex("0b".repeat(22)),
 *   hex("000102030405060708090a0b0c"),
 *   hex("f0f1f2f3f4f5f6f7f8f9"),
 *   42,
 * );
 * assert.deepEqual(
 *   okm,
 *   hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
 * );
 * ```
 */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  // RFC 5869 §2.3: L <= 255*HashLen
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new RangeError(`Cannot derive ${length} bytes with HKDF-SHA256: must be 1..8160`);
  }
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
}

const encoder = new TextEncoder();
const infoFor = (alg: string): Record<SealRole, Uint8Array> => ({
  initiator: encoder.encode(`tou v1 ${alg} initiator`),
  responder: encoder.encode(`tou v1 ${alg} responder`),
  peer: encoder.encode(`tou v1 ${alg} peer`),
});
/** Info strings per algorithm: a key is never shared between the two AEADs. */
const INFO: Record<"chacha20-poly1305" | "aes-256-gcm", Record<SealRole, Uint8Array>> = {
  "chacha20-poly1305": infoFor("chacha20-poly1305"),
  "aes-256-gcm": infoFor("aes-256-gcm"),
};

/**
 * The key a sender with `role` uses for the session named by `sessionSalt`
 * and the AEAD `algorithm`:
 * HKDF-SHA256(psk, salt = sessionSalt, info = "tou v1 " + algorithm + " " + role).
 * The algorithm in the info string separates the keys of the two AEADs, so
 * a datagram relabelled with the other cipher id is opened under a different key.
 *
 * @param psk The pre-shared key (at least 32 bytes).
 * @param sessionSalt The sender's 16-byte session salt.
 * @param role The sender's role.
 * @param algorithm The AEAD the key is for. Default `"chacha20-poly1305"`.
 * @returns A 32-byte AEAD key.
 *
 * @example Keys differ by salt and by role
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveSessionKey } from "./key_schedule.ts";
 *
 * const psk = new Uint8Array(32).fill(1);
 * const a = new Uint8Array(16).fill(2);
 * const b = new Uint8Array(16).fill(3);
 * assert.equal(deriveSessionKey(psk, a, "initiator").length, 32);
 * assert.notDeepEqual(deriveSessionKey(psk, a, "initiator"), deriveSessionKey(psk, b, "initiator"));
 * assert.notDeepEqual(deriveSessionKey(psk, a, "initiator"), deriveSessionKey(psk, a, "responder"));
 * assert.notDeepEqual(
 *   deriveSessionKey(psk, a, "initiator"),
 *   deriveSessionKey(psk, a, "initiator", "aes-256-gcm"),
 * );
 * ```
 */
export function deriveSessionKey(
  psk: Uint8Array,
  sessionSalt: Uint8Array,
  role: SealRole,
  algorithm: "chacha20-poly1305" | "aes-256-gcm" = "chacha20-poly1305",
): Uint8Array {
  if (sessionSalt.length !== SESSION_SALT_LEN) {
    throw new RangeError(
      `Cannot derive a session key: salt is ${sessionSalt.length} bytes, need ${SESSION_SALT_LEN}`,
    );
  }
  return hkdfSha256(psk, sessionSalt, INFO[algorithm][role], SESSION_KEY_LEN);
}

/**
 * The role whose datagrams a socket with `role` accepts.
 *
 * @param role The local role.
 * @returns `"responder"` for an initiator, `"initiator"` for a responder, `"peer"` for a peer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { peerRole } from "./key_schedule.ts";
 * assert.equal(peerRole("initiator"), "responder");
 * assert.equal(peerRole("peer"), "peer");
 * ```
 */
export function peerRole(role: SealRole): SealRole {
  return role === "initiator" ? "responder" : role === "responder" ? "initiator" : "peer";
}
