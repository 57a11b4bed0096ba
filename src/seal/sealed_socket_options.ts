/**
 * Options and counters of a {@linkcode SealedSocket} (`sealed_socket.ts`,
 * which re-exports both).
 *
 * @module
 */

import type { DatagramAddr } from "../udp/datagram_socket.ts";
import type { Aead } from "./aead.ts";
import type { CipherChoice } from "./cipher_choice.ts";
import type { SealRole } from "./key_schedule.ts";

/** Options of `SealedSocket`. */
export interface SealedSocketOptions {
  /** The pre-shared key, at least 32 bytes (see `parsePsk`). Copied. */
  readonly psk: Uint8Array;
  /**
   * This side's role: `"initiator"` (connects) and `"responder"` (listens)
   * accept only each other; `"peer"` accepts only `"peer"`. Default `"peer"`.
   */
  readonly role?: SealRole;
  /** Random source for session salts. Default `crypto.getRandomValues`; the simulator's PRNG in tests. */
  readonly randomBytes?: (buf: Uint8Array) => void;
  /**
   * Wall-clock milliseconds since the Unix epoch, as both peers see it
   * (default `Date.now`). Not `performance.now()`: the two hosts must share
   * the epoch. In the simulator, both sides pass the virtual clock.
   */
  readonly now?: () => number;
  /**
   * Largest accepted difference between a datagram's send time and `now()`,
   * in ms. Default 120 000. `Infinity` turns the freshness check off.
   */
  readonly maxClockSkew?: number;
  /** Replay window per peer session, in packets (multiple of 32). Default 2048. */
  readonly replayWindow?: number;
  /** Most peer sessions whose keys and windows are kept. Default 1024. */
  readonly maxPeers?: number;
  /**
   * Most new peer sessions (unknown salts) tried per second, burst included;
   * each source IP address gets at most a tenth of it. Default 1000.
   */
  readonly newPeersPerSecond?: number;
  /**
   * Datagrams sent under one salt before picking a new one. Default 2^32, at
   * most 2^48; with AES-256-GCM at most 2^23 (RFC 9001 §6.6), whatever is given.
   */
  readonly rekeyAfter?: number;
  /**
   * The algorithm this socket seals with (it opens both, by the cipher id
   * each datagram carries). Default `"auto"`: AES-256-GCM when OpenSSL's
   * libcrypto loads (`--allow-ffi`), else ChaCha20-Poly1305.
   */
  readonly cipher?: CipherChoice;
  /**
   * The sealing implementation, overriding `cipher`'s pick (its algorithm
   * must match `cipher` when both are given); it also opens datagrams of
   * its algorithm. Default: `sendingAead(cipher)`.
   */
  readonly aead?: Aead;
  /**
   * Called for each datagram that authenticated but was dropped as stale,
   * with the sender and its clock offset in seconds (peer minus local), so
   * that the application can say "the peer's clock is 200 s ahead". Errors it
   * throws are ignored.
   */
  readonly onStale?: (from: DatagramAddr, offsetSeconds: number) => void;
}

/** Counters of a `SealedSocket`. */
export interface SealedSocketStats {
  /** Datagrams sealed and handed to the inner socket. */
  readonly sealed: number;
  /** Datagrams that authenticated and were delivered. */
  readonly opened: number;
  /** Dropped: the tag did not verify (wrong key, wrong role, tampered, forged). */
  readonly authFailures: number;
  /** Dropped: counter already accepted. */
  readonly replays: number;
  /** Dropped: counter below the replay window. */
  readonly tooOld: number;
  /** Dropped after authenticating: send time outside `now() ± maxClockSkew`. */
  readonly stale: number;
  /** Dropped: carries one of this socket's own salts (reflected back). */
  readonly reflected: number;
  /** Dropped: not a sealed envelope, or too short. */
  readonly malformed: number;
  /** Dropped: an unknown salt above the `newPeersPerSecond` budget. */
  readonly rateLimited: number;
  /** Dropped: an unknown salt while `maxPeers` sessions are all recently active. */
  readonly peerLimit: number;
  /** Peer sessions evicted to make room. */
  readonly evictions: number;
  /** Times this socket picked a new salt after `rekeyAfter` datagrams. */
  readonly rekeys: number;
  /** Peer sessions currently known. */
  readonly peers: number;
  /** Offset in seconds (peer minus local) of the last stale datagram; 0 if none. */
  readonly lastStaleOffset: number;
}
