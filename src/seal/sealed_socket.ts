/**
 * A {@linkcode DatagramSocket} decorator that authenticates and encrypts
 * every datagram with a pre-shared key (AES-256-GCM or ChaCha20-Poly1305,
 * named by the cipher id in the envelope flags; per-session, per-direction
 * and per-algorithm keys, counter nonces, a replay window, a freshness check).
 * Threat model and measurements: docs/security.md.
 *
 * Sealed datagram layout (all integers big-endian):
 *
 * ```text
 *  0      4                  20         28     32              n-16     n
 * +------+------------------+----------+------+----------------+--------+
 * | env  | session salt     | counter  | time | ciphertext     | tag    |
 * | hdr  | (16, sender's)   | (u64)    | (u32 | (the inner     | (16)   |
 * |SEALED|                  |          |  s)  |  datagram)     |        |
 * |+ciph.|                  |          |      |                |        |
 * +------+------------------+----------+------+----------------+--------+
 * \____________ associated data _____________/
 * ```
 *
 * The envelope flags (bytes 2–3) carry the cipher id: 0 ChaCha20-Poly1305,
 * 1 AES-256-GCM (`cipher_choice.ts`). A socket seals with one algorithm
 * (option `cipher`) and opens both.
 *
 * key = HKDF-SHA256(psk, salt, "tou v1 " + algorithm + " " + sender role),
 * nonce = 0x00000000 ‖ counter (96 bits, unique per key: one counter per salt).
 *
 * About 620 lines: one class whose send, batch and receive paths share the
 * session state (keys, counter, peer table, reused buffers); the byte layout
 * and the options already live in `_sealed_layout.ts` and
 * `sealed_socket_options.ts`.
 *
 * @module
 */

import type {
  Datagram,
  DatagramAddr,
  DatagramBatchOutput,
  DatagramErrorHandler,
  DatagramHandler,
  DatagramSocket,
  UnspecAddr,
} from "../udp/datagram_socket.ts";
import { type Aead, type AeadAlgorithm, bindKey, type KeyedAead } from "./aead.ts";
import { CIPHER_IDS, OPENERS, sendingAead } from "./cipher_choice.ts";
import { deriveSessionKey, peerRole, type SealRole } from "./key_schedule.ts";
import { formatAddr } from "../udp/addr.ts";
import { SocketClosedError } from "../udp/errors.ts";
import { PSK_MIN_BYTES } from "./psk.ts";
import { NewPeerBudget } from "./new_peer_budget.ts";
import type { SealedSocketOptions, SealedSocketStats } from "./sealed_socket_options.ts";
import { ReplayWindow } from "./replay_window.ts";
// The envelope codec is pure (wire -> time only), so this edge adds no cycle.
import { ENVELOPE_HEADER_LEN } from "../wire/envelope.ts";
import {
  COUNTER_LEN,
  FIELDS_LEN,
  HEADER_LEN,
  MAX_COUNTER_HI,
  readU32,
  SALT_LEN,
  saltAt,
  saltId,
  SEALED_HEAD,
  sealedBodyOffset,
  TAG_LEN,
  TWO_32,
  writeU32,
} from "./_sealed_layout.ts";

/**
 * Most datagrams sealed under one AES-256-GCM key: the confidentiality
 * limit of RFC 9001 §6.6 (2^23 packets), so a sender rekeys at least this
 * often with AES (ChaCha20-Poly1305 keeps `rekeyAfter`, default 2^32).
 */
export const AES_GCM_REKEY_LIMIT = 2 ** 23;

/** How many of its own past salts a socket remembers to refuse reflections. */
const OWN_SALT_HISTORY = 4;

/** Bytes a {@linkcode SealedSocket} adds to every datagram (48). */
export const SEALED_OVERHEAD: number = HEADER_LEN + TAG_LEN;

export type { SealedSocketOptions, SealedSocketStats } from "./sealed_socket_options.ts";

type MutableStats = { -readonly [K in keyof SealedSocketStats]: number };

interface PeerSession {
  readonly salt: Uint8Array;
  /** The cipher id the session's first datagram carried; others under this salt are forgeries. */
  readonly cipherId: number;
  readonly key: KeyedAead;
  readonly window: ReplayWindow;
  lastSeen: number;
}

function positiveOption(name: string, v: number | undefined, def: number, max: number): number {
  const x = v ?? def;
  if (!(x > 0) || x > max || (Number.isFinite(max) && !Number.isInteger(x))) {
    throw new RangeError(`SealedSocket: ${name} must be in 1..${max}, got ${x}`);
  }
  return x;
}

/**
 * Seals every datagram sent through `inner` and opens every datagram
 * received from it; anything that does not authenticate, repeats a counter,
 * is stale or reflected is dropped and counted in {@linkcode SealedSocket.stats},
 * never delivered and never answered. Connected-UDP behaviour (connect,
 * filtering, refused errors) is the inner socket's, passed through.
 *
 * Push mode opens synchronously inside the inner socket's handler; the
 * delivered bytes are only valid during the call, like any push handler's.
 * The send buffer is reused, so the inner socket must copy at `send` (the
 * simulator's and the Deno socket both do).
 *
 * @example Two sealed sockets on the simulator
 * ```ts
 * import assert from "node:assert/strict";
 * import { SimNetwork } from "../sim/sim_network.ts";
 * import { VirtualClock } from "../sim/virtual_clock.ts";
 * import { parsePsk } from "./psk.ts";
 * import { SealedSocket } from "./sealed_socket.ts";
 *
 * const clock = new VirtualClock({ seed: 7 });
 * const net = new SimNetwork(clock, { seed: 7 });
 * const psk = parsePsk("42".repeat(31) + "4243");
 * const opts = { psk, now: () => clock.now(), randomBytes: (b: Uint8Array) => clock.randomBytes(b) };
 * const a = new SealedSocket(net.bind({ hostname: "10.0.0.1", port: 1000 }), { ...opts, role: "initiator" });
 * const b = new SealedSocket(net.bind({ hostname: "10.0.0.2", port: 2000 }), { ...opts, role: "responder" });
 * const got: number[][] = [];
 * b.setHandler((data) => got.push([...data]));
 * a.send(new Uint8Array([1, 2, 3]), b.localAddr);
 * clock.runUntilIdle();
 * assert.deepEqual(got, [[1, 2, 3]]);
 * assert.equal(a.overhead, 48);
 * assert.equal(b.stats.opened, 1);
 * ```
 */
export class SealedSocket implements DatagramSocket {
  /** Bytes added to every datagram; the stack shrinks its segment budget by this. */
  readonly overhead: number = SEALED_OVERHEAD;
  /**
   * Always `true`: the tag authenticates every byte, so a stack above skips
   * the TCP checksum (docs/wire-format.md, "No checksum inside a sealed datagram").
   */
  readonly authenticated: boolean = true;
  /**
   * Batched output when the inner socket has one (the kernel backend), else
   * `undefined`: `reserve(n)` hands out the plaintext slot of an
   * `n + SEALED_OVERHEAD`-byte reservation in the inner socket's send
   * buffer, and `commit` writes the header and seals the datagram there in
   * place (no copy), then commits it to the inner socket.
   */
  readonly batch: DatagramBatchOutput | undefined;

  readonly #inner: DatagramSocket;
  readonly #psk: Uint8Array;
  readonly #role: SealRole;
  readonly #acceptRole: SealRole;
  readonly #randomBytes: (buf: Uint8Array) => void;
  readonly #now: () => number;
  readonly #maxSkewSec: number;
  readonly #windowSize: number;
  readonly #maxPeers: number;
  readonly #rekeyAfter: number;
  /** What this socket seals with. */
  readonly #aead: Aead;
  /** Openers by cipher id: `opts.aead` for its own algorithm, the defaults otherwise. */
  readonly #openers: readonly Aead[];
  /** The envelope header with this socket's cipher id in the flags. */
  readonly #sendHead = new Uint8Array(ENVELOPE_HEADER_LEN);
  readonly #onStale: ((from: DatagramAddr, offsetSeconds: number) => void) | undefined;

  #salt = new Uint8Array(SALT_LEN);
  #sendKey: KeyedAead;
  #counter = 0;
  #ownSalts: Uint8Array[] = [];
  // Send-path buffer and views of it, rebuilt only when the buffer grows or
  // the datagram length changes (full-size segments repeat one length).
  #sendBuf = new Uint8Array(2048);
  #sendAad = this.#sendBuf.subarray(0, HEADER_LEN);
  #sendLen = -1;
  #sendOut = this.#sendBuf.subarray(0, 0);
  #sendWire = this.#sendBuf.subarray(0, 0);
  readonly #sendNonce = new Uint8Array(12);
  /** The inner reservation of the open batch `reserve` (header, plaintext slot, tag). */
  #reserved: Uint8Array | undefined;

  readonly #peers = new Map<string, PeerSession>();
  #lastPeer: PeerSession | undefined = undefined;
  readonly #budget: NewPeerBudget;
  // Receive-path plaintext buffer and the last exact-length view of it.
  #plain = new Uint8Array(2048);
  #plainView = this.#plain.subarray(0, 0);
  #depth = 0;
  readonly #recvNonce = new Uint8Array(12);
  #closed = false;

  readonly #stats: MutableStats = {
    sealed: 0,
    opened: 0,
    authFailures: 0,
    replays: 0,
    tooOld: 0,
    stale: 0,
    reflected: 0,
    malformed: 0,
    rateLimited: 0,
    peerLimit: 0,
    evictions: 0,
    rekeys: 0,
    peers: 0,
    lastStaleOffset: 0,
  };

  /**
   * @param inner The socket carrying sealed datagrams; owned from now on (closed with this).
   * @param opts Key, role, clock, random source and limits.
   * @throws {RangeError} For a key shorter than 32 bytes or an out-of-range limit.
   */
  constructor(inner: DatagramSocket, opts: SealedSocketOptions) {
    if (!(opts.psk instanceof Uint8Array) || opts.psk.length < PSK_MIN_BYTES) {
      throw new RangeError(
        `SealedSocket: key is ${
          opts.psk?.length ?? 0
        } bytes, need at least ${PSK_MIN_BYTES} (see parsePsk)`,
      );
    }
    const skew = opts.maxClockSkew ?? 120_000;
    if (!(skew >= 1000)) {
      throw new RangeError(`SealedSocket: maxClockSkew must be at least 1000 ms, got ${skew}`);
    }
    this.#inner = inner;
    this.#psk = opts.psk.slice();
    this.#role = opts.role ?? "peer";
    this.#acceptRole = peerRole(this.#role);
    this.#randomBytes = opts.randomBytes ?? ((b) => crypto.getRandomValues(b));
    this.#now = opts.now ?? Date.now;
    this.#maxSkewSec = skew / 1000;
    this.#windowSize = opts.replayWindow ?? 2048;
    this.#maxPeers = positiveOption("maxPeers", opts.maxPeers, 1024, 1 << 20);
    this.#budget = new NewPeerBudget(
      positiveOption("newPeersPerSecond", opts.newPeersPerSecond, 1000, 1e9),
    );
    const aead = opts.aead ?? sendingAead(opts.cipher);
    if (opts.cipher !== undefined && opts.cipher !== "auto" && opts.cipher !== aead.algorithm) {
      throw new RangeError(
        `SealedSocket: cipher ${opts.cipher} but the aead option is ${aead.algorithm}`,
      );
    }
    this.#aead = aead;
    const rekeyAfter = positiveOption("rekeyAfter", opts.rekeyAfter, TWO_32, 2 ** 48);
    this.#rekeyAfter = aead.algorithm === "aes-256-gcm"
      ? Math.min(rekeyAfter, AES_GCM_REKEY_LIMIT)
      : rekeyAfter;
    this.#openers = OPENERS.map((o) => o.algorithm === aead.algorithm ? aead : o);
    this.#sendHead.set(SEALED_HEAD);
    this.#sendHead[3] = CIPHER_IDS[aead.algorithm];
    this.#onStale = opts.onStale;
    new ReplayWindow(this.#windowSize); // validates the size early
    this.#sendKey = this.#newSession();
    const innerBatch = inner.batch;
    this.batch = innerBatch === undefined ? undefined : {
      reserve: (maxLen) => this.#reserve(innerBatch, maxLen),
      commit: (len, addr) => this.#commit(innerBatch, len, addr),
      flush: () => innerBatch.flush(),
    };
  }

  /** The bound local address (the inner socket's). */
  get localAddr(): DatagramAddr {
    return this.#inner.localAddr;
  }

  /** The connected peer (the inner socket's). */
  get remoteAddr(): DatagramAddr | undefined {
    return this.#inner.remoteAddr;
  }

  /** The algorithm this socket seals with (it opens both). */
  get cipher(): AeadAlgorithm {
    return this.#aead.algorithm;
  }

  /** The sealing implementation's name, e.g. "aes-256-gcm (OpenSSL libcrypto, FFI)". */
  get cipherName(): string {
    return this.#aead.name;
  }

  /** Datagrams sealed under one salt before a new one: `rekeyAfter`, at most 2^23 with AES-256-GCM. */
  get rekeyAfter(): number {
    return this.#rekeyAfter;
  }

  /** A snapshot of the counters. */
  get stats(): SealedSocketStats {
    return { ...this.#stats, peers: this.#peers.size };
  }

  /**
   * Seals `data` and sends it to `addr` or the connected peer. The
   * datagram on the wire is {@linkcode SEALED_OVERHEAD} bytes longer.
   * Other errors are the inner socket's.
   *
   * @throws {SocketClosedError} After `close()`.
   */
  send(data: Uint8Array, addr?: DatagramAddr): void {
    this.#assertOpen();
    const total = SEALED_OVERHEAD + data.length;
    if (this.#sendBuf.length < total) {
      this.#sendBuf = new Uint8Array(total);
      this.#sendAad = this.#sendBuf.subarray(0, HEADER_LEN);
      this.#sendLen = -1;
    }
    const buf = this.#sendBuf;
    if (this.#sendLen !== total) {
      this.#sendLen = total;
      this.#sendOut = buf.subarray(HEADER_LEN, total);
      this.#sendWire = buf.subarray(0, total);
    }
    this.#writeHeader(buf);
    this.#sendKey.seal(this.#sendNonce, this.#sendAad, data, this.#sendOut);
    this.#stats.sealed++;
    this.#inner.send(this.#sendWire, addr);
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new SocketClosedError(`Cannot send from ${formatAddr(this.localAddr)}: socket closed`);
    }
  }

  /**
   * Writes the associated data (envelope header, salt, counter, send time)
   * at the start of `buf` and the nonce into `#sendNonce`, taking the next
   * counter (and a new salt after `rekeyAfter` datagrams).
   */
  #writeHeader(buf: Uint8Array): void {
    if (this.#counter >= this.#rekeyAfter) {
      this.#sendKey.dispose();
      this.#sendKey = this.#newSession();
      this.#stats.rekeys++;
    }
    // Byte loops: for 4 and 16 bytes they beat TypedArray#set's call overhead.
    const head = this.#sendHead;
    for (let i = 0; i < ENVELOPE_HEADER_LEN; i++) buf[i] = head[i];
    const salt = this.#salt;
    for (let i = 0; i < SALT_LEN; i++) buf[ENVELOPE_HEADER_LEN + i] = salt[i];
    const c = this.#counter++;
    const hi = Math.floor(c / TWO_32);
    const lo = c >>> 0;
    const at = ENVELOPE_HEADER_LEN + SALT_LEN;
    writeU32(buf, at, hi);
    writeU32(buf, at + 4, lo);
    writeU32(buf, at + 8, Math.floor(this.#now() / 1000) >>> 0);
    const nonce = this.#sendNonce;
    writeU32(nonce, 4, hi);
    writeU32(nonce, 8, lo);
  }

  /** Batch `reserve`: the plaintext slot of an inner reservation with room for header and tag. */
  #reserve(inner: DatagramBatchOutput, maxLen: number): Uint8Array {
    this.#assertOpen();
    const wire = inner.reserve(maxLen + SEALED_OVERHEAD);
    this.#reserved = wire;
    return wire.subarray(HEADER_LEN, HEADER_LEN + maxLen);
  }

  /** Batch `commit`: seals the `len` plaintext bytes in place and commits the datagram. */
  #commit(inner: DatagramBatchOutput, len: number, addr: DatagramAddr | undefined): void {
    const wire = this.#reserved;
    this.#reserved = undefined;
    if (wire === undefined) throw new Error("commit() without reserve()");
    const total = SEALED_OVERHEAD + len;
    if (len < 0 || total > wire.length) {
      throw new RangeError(
        `commit(${len}) exceeds the ${wire.length - SEALED_OVERHEAD}-byte reservation`,
      );
    }
    this.#writeHeader(wire);
    // In place: ciphertext over the plaintext at the same offset, then the tag.
    this.#sendKey.seal(
      this.#sendNonce,
      wire.subarray(0, HEADER_LEN),
      wire.subarray(HEADER_LEN, HEADER_LEN + len),
      wire.subarray(HEADER_LEN, total),
    );
    this.#stats.sealed++;
    inner.commit(total, addr);
  }

  /**
   * Pull mode: the next datagram that opens. Datagrams that do not are
   * dropped and counted while waiting. Rejects like the inner socket.
   */
  async receive(): Promise<Datagram> {
    for (;;) {
      const d = await this.#inner.receive();
      // Pull mode hands the bytes over for keeps: a fresh buffer each time.
      const plain = this.#open(d.data, false, d.from);
      if (plain !== undefined) return { data: plain, from: d.from };
    }
  }

  /**
   * Push mode: opened datagrams go to `onDatagram` synchronously (valid only
   * during the call); errors of the inner socket go to `onError`.
   */
  setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.#inner.setHandler((data, from) => {
      // A handler that makes the inner socket deliver again must not see its
      // bytes overwritten: nested deliveries get a fresh buffer.
      const plain = this.#open(data, this.#depth === 0, from);
      if (plain === undefined) return;
      this.#depth++;
      try {
        onDatagram(plain, from);
      } finally {
        this.#depth--;
      }
    }, onError);
  }

  /** Records the peer or dissolves the association (the inner socket's rules). */
  connect(addr: DatagramAddr | UnspecAddr): void {
    this.#inner.connect(addr);
  }

  /** Dissolves the association. */
  disconnect(): void {
    this.#inner.disconnect();
  }

  /** Closes the inner socket and wipes the keys. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inner.close();
    this.#psk.fill(0);
    this.#sendKey.dispose();
    for (const p of this.#peers.values()) p.key.dispose();
    this.#peers.clear();
    this.#lastPeer = undefined;
  }

  /** Picks a fresh salt, remembers it as our own, resets the counter and returns the send key. */
  #newSession(): KeyedAead {
    const salt = new Uint8Array(SALT_LEN);
    this.#randomBytes(salt);
    this.#salt = salt;
    this.#ownSalts.unshift(salt);
    if (this.#ownSalts.length > OWN_SALT_HISTORY) this.#ownSalts.pop();
    this.#counter = 0;
    const raw = deriveSessionKey(this.#psk, salt, this.#role, this.#aead.algorithm);
    const key = bindKey(this.#aead, raw);
    raw.fill(0);
    return key;
  }

  /**
   * The exact-length view of this socket's reused plaintext buffer for `n`
   * bytes (no allocation when the length repeats).
   */
  #plainFor(n: number): Uint8Array {
    if (this.#plainView.length === n) return this.#plainView;
    if (this.#plain.length < n) this.#plain = new Uint8Array(n);
    this.#plainView = this.#plain.subarray(0, n);
    return this.#plainView;
  }

  /**
   * Opens `data`; returns the plaintext, or undefined when the datagram is
   * dropped (and counted). With `reuse` the plaintext is a view of the
   * reused receive buffer, else a fresh array.
   */
  #open(data: Uint8Array, reuse: boolean, from: DatagramAddr): Uint8Array | undefined {
    const stats = this.#stats;
    const bodyAt = sealedBodyOffset(data);
    if (bodyAt < 0 || data.length - bodyAt < FIELDS_LEN + TAG_LEN) {
      stats.malformed++;
      return undefined;
    }
    // The cipher id: the envelope flags (bytes 2–3 whatever the header length).
    const cipherId = (data[2] << 8) | data[3];
    const opener = this.#openers[cipherId];
    if (opener === undefined) {
      stats.malformed++;
      return undefined;
    }
    const counterAt = bodyAt + SALT_LEN;
    const hi = readU32(data, counterAt);
    if (hi > MAX_COUNTER_HI) {
      stats.malformed++;
      return undefined;
    }
    const counter = hi * TWO_32 + readU32(data, counterAt + 4);
    for (const own of this.#ownSalts) {
      if (saltAt(own, data, bodyAt)) {
        stats.reflected++;
        return undefined;
      }
    }
    const headerEnd = bodyAt + FIELDS_LEN;
    const nonce = this.#recvNonce;
    for (let i = 0; i < COUNTER_LEN; i++) nonce[4 + i] = data[counterAt + i];
    const now = this.#now();
    const sentAt = readU32(data, counterAt + COUNTER_LEN);

    let peer = this.#lastPeer;
    if (peer === undefined || !saltAt(peer.salt, data, bodyAt)) {
      peer = this.#peers.get(saltId(data, bodyAt));
    }
    let key: KeyedAead;
    if (peer !== undefined) {
      // A sender never changes algorithm under one salt: a relabelled datagram is a forgery.
      if (peer.cipherId !== cipherId) {
        stats.authFailures++;
        return undefined;
      }
      const verdict = peer.window.check(counter);
      if (verdict !== "fresh") {
        if (verdict === "replay") stats.replays++;
        else stats.tooOld++;
        return undefined;
      }
      key = peer.key;
    } else {
      // An unknown salt: a new peer session, or garbage. Budget the key derivations.
      if (this.#peers.size >= this.#maxPeers && !this.#evictable(now)) {
        stats.peerLimit++;
        return undefined;
      }
      if (!this.#budget.take(now, from.hostname)) {
        stats.rateLimited++;
        return undefined;
      }
      const raw = deriveSessionKey(
        this.#psk,
        data.subarray(bodyAt, bodyAt + SALT_LEN),
        this.#acceptRole,
        opener.algorithm,
      );
      key = bindKey(opener, raw);
      raw.fill(0);
    }
    const n = data.length - headerEnd - TAG_LEN;
    const plain = reuse ? this.#plainFor(n) : new Uint8Array(n);
    if (key.open(nonce, data.subarray(0, headerEnd), data.subarray(headerEnd), plain) < 0) {
      if (peer === undefined) key.dispose();
      stats.authFailures++; // a new salt that fails is not cached
      return undefined;
    }
    if (!this.#fresh(sentAt, now, from)) {
      if (peer === undefined) key.dispose();
      return undefined;
    }
    if (peer === undefined) {
      if (this.#peers.size >= this.#maxPeers) this.#evictOldest();
      peer = {
        salt: data.slice(bodyAt, bodyAt + SALT_LEN),
        cipherId,
        key,
        window: new ReplayWindow(this.#windowSize),
        lastSeen: now,
      };
    }
    peer.window.accept(counter);
    this.#touch(peer, now);
    stats.opened++;
    return plain;
  }

  /** Whether the authenticated send time is within `now ± maxClockSkew`; counts it when not. */
  #fresh(sent: number, now: number, from: DatagramAddr): boolean {
    if (!Number.isFinite(this.#maxSkewSec)) return true;
    const offset = (sent - (Math.floor(now / 1000) >>> 0)) | 0; // mod 2^32, signed
    if (Math.abs(offset) <= this.#maxSkewSec) return true;
    this.#stats.stale++;
    this.#stats.lastStaleOffset = offset;
    try {
      this.#onStale?.(from, offset);
    } catch {
      // A report must not break the receive path.
    }
    return false;
  }

  /** Marks `peer` most recently used: the map's order is the order of last acceptance. */
  #touch(peer: PeerSession, now: number): void {
    peer.lastSeen = now;
    if (this.#lastPeer === peer) return;
    const id = saltId(peer.salt);
    this.#peers.delete(id);
    this.#peers.set(id, peer);
    this.#lastPeer = peer;
  }

  /**
   * Whether the least recently used session may go. With the freshness
   * check on, only one idle for more than twice the skew: any datagram of it
   * already accepted is then stale, so forgetting its window cannot let a
   * replay in.
   */
  #evictable(now: number): boolean {
    if (!Number.isFinite(this.#maxSkewSec)) return true;
    const oldest = this.#peers.values().next().value;
    return oldest === undefined || now - oldest.lastSeen > 2 * this.#maxSkewSec * 1000;
  }

  #evictOldest(): void {
    const first = this.#peers.entries().next().value;
    if (first === undefined) return;
    const [id, peer] = first;
    peer.key.dispose();
    this.#peers.delete(id);
    if (this.#lastPeer === peer) this.#lastPeer = undefined;
    this.#stats.evictions++;
  }
}
