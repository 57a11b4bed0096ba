/**
 * Internal: remembers when the stack under test sent each datagram to a raw
 * peer, so that the peer can stamp what it receives with the virtual send
 * time even when the link delays, reorders, duplicates or drops datagrams.
 *
 * The stack's socket is wrapped in {@linkcode LoggingSocket}; only datagrams
 * to watched addresses (raw peers) are copied. A received datagram is matched
 * to the oldest unmatched sent datagram with the same bytes; a duplicate
 * matches the copy it duplicates. Byte-identical datagrams sent at different
 * times are matched in send order, which is exact unless an earlier copy was
 * dropped by the link. A datagram a corrupting link changed (one bit
 * flipped) has no identical copy: it is matched to the oldest unmatched one
 * of the same length it differs from in one byte.
 *
 * @module
 */

import type { DatagramAddr, DatagramSocket } from "../udp/datagram_socket.ts";
import { ForwardingSocket } from "../udp/forwarding_socket.ts";

/** Most sent datagrams remembered per destination (older ones are forgotten). */
const MAX_ENTRIES = 4096;

interface Entry {
  readonly at: number;
  readonly bytes: Uint8Array;
  matched: boolean;
}

function key(addr: DatagramAddr): string {
  return `${addr.hostname}|${addr.port}`;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `a` and `b` have the same length and differ in exactly one byte. */
function oneByteApart(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length && diff < 2; i++) if (a[i] !== b[i]) diff++;
  return diff === 1;
}

/** Send times of datagrams to watched destinations. */
export class SendLog {
  readonly #entries = new Map<string, Entry[]>();

  /** Starts remembering datagrams sent to `addr`. */
  watch(addr: DatagramAddr): void {
    if (!this.#entries.has(key(addr))) this.#entries.set(key(addr), []);
  }

  /** Records a datagram sent at `at` (ignored unless `to` is watched). */
  record(to: DatagramAddr, data: Uint8Array, at: number): void {
    if (this.#entries.size === 0) return; // no raw peer: nothing to remember
    const list = this.#entries.get(key(to));
    if (list === undefined) return;
    if (list.length >= MAX_ENTRIES) list.shift();
    list.push({ at, bytes: data.slice(), matched: false });
  }

  /** The send time of a datagram that arrived at `to`, or undefined when unknown. */
  sentAt(to: DatagramAddr, data: Uint8Array): number | undefined {
    const list = this.#entries.get(key(to));
    if (list === undefined) return undefined;
    let dup: Entry | undefined;
    for (const e of list) {
      if (!equal(e.bytes, data)) continue;
      if (!e.matched) {
        e.matched = true; // kept: a duplicate arriving later is matched to it
        return e.at;
      }
      dup = e;
    }
    if (dup !== undefined) return dup.at;
    const changed = list.find((e) => !e.matched && oneByteApart(e.bytes, data));
    if (changed === undefined) return undefined;
    changed.matched = true;
    return changed.at;
  }
}

/** A {@linkcode DatagramSocket} decorator that reports every send to a callback. */
export class LoggingSocket extends ForwardingSocket {
  readonly #onSend: (to: DatagramAddr, data: Uint8Array) => void;

  /**
   * Wraps `inner`.
   *
   * @param inner The real (simulated) socket.
   * @param onSend Called before each send with the destination and the bytes.
   */
  constructor(inner: DatagramSocket, onSend: (to: DatagramAddr, data: Uint8Array) => void) {
    super(inner);
    this.#onSend = onSend;
  }

  /** Sends and records. */
  override send(data: Uint8Array, addr?: DatagramAddr): void {
    const to = addr ?? this.inner.remoteAddr;
    if (to !== undefined) this.#onSend(to, data);
    this.inner.send(data, addr);
  }
}
