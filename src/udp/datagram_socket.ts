/**
 * The datagram socket interface shared by real UDP and the simulator, with
 * BSD/Linux connected-UDP semantics.
 *
 * @module
 */

/**
 * A UDP address. `hostname` is a numeric IP literal ("127.0.0.1", "::1").
 *
 * @example
 * ```ts
 * import type { DatagramAddr } from "./datagram_socket.ts";
 * const to: DatagramAddr = { hostname: "127.0.0.1", port: 9000 };
 * void to;
 * ```
 */
export interface DatagramAddr {
  /** IP address literal. */
  readonly hostname: string;
  /** UDP port, 0..65535. */
  readonly port: number;
}

/**
 * The AF_UNSPEC address: `connect({ family: "unspec" })` dissolves the association.
 *
 * @example
 * ```ts
 * import type { UnspecAddr } from "./datagram_socket.ts";
 * const none: UnspecAddr = { family: "unspec" };
 * void none;
 * ```
 */
export interface UnspecAddr {
  /** Always "unspec". */
  readonly family: "unspec";
}

/**
 * A received datagram with its sender.
 *
 * @example
 * ```ts
 * import type { Datagram } from "./datagram_socket.ts";
 * const d: Datagram = { data: new Uint8Array([1]), from: { hostname: "::1", port: 7 } };
 * void d;
 * ```
 */
export interface Datagram {
  /** Payload bytes. */
  readonly data: Uint8Array;
  /** Who sent it. */
  readonly from: DatagramAddr;
}

/**
 * Push-mode receiver. `data` is only valid during the call (the socket may
 * reuse the buffer); copy what must be kept.
 *
 * @example
 * ```ts
 * import type { DatagramHandler } from "./datagram_socket.ts";
 * const kept: Uint8Array[] = [];
 * const onDatagram: DatagramHandler = (data) => kept.push(data.slice());
 * void onDatagram;
 * ```
 */
export type DatagramHandler = (data: Uint8Array, from: DatagramAddr) => void;

/**
 * Push-mode error receiver (e.g. connection refused on a connected socket).
 *
 * @example
 * ```ts
 * import type { DatagramErrorHandler } from "./datagram_socket.ts";
 * const onError: DatagramErrorHandler = (err) => console.error(err.message);
 * void onError;
 * ```
 */
export type DatagramErrorHandler = (error: Error) => void;

/**
 * Optional zero-copy batched output of a {@linkcode DatagramSocket}: the
 * caller encodes each datagram straight into the socket's send buffer and
 * the socket hands the whole batch to the kernel at once (at the end of
 * the current task, or on `flush()`). Calls pair up: `reserve`, write,
 * `commit`; nothing else may run between them.
 *
 * @example Encoding in place
 * ```ts
 * import type { DatagramBatchOutput, DatagramSocket } from "./datagram_socket.ts";
 * function sendHello(s: DatagramSocket, to: { hostname: string; port: number }): void {
 *   const b: DatagramBatchOutput | undefined = s.batch;
 *   const bytes = new TextEncoder().encode("hello");
 *   if (b === undefined) return s.send(bytes, to);
 *   b.reserve(bytes.length).set(bytes);
 *   b.commit(bytes.length, to);
 * }
 * void sendHello;
 * ```
 */
export interface DatagramBatchOutput {
  /**
   * A writable view of `maxLen` bytes in the socket's send buffer, valid
   * until the matching `commit`.
   */
  reserve(maxLen: number): Uint8Array;
  /**
   * Queues the first `len` bytes of the last reservation as one datagram
   * to `addr` (or to the connected peer when omitted). Same errors as
   * `send`.
   */
  commit(len: number, addr?: DatagramAddr): void;
  /** Hands everything queued to the kernel now. */
  flush(): void;
}

/**
 * A datagram socket.
 *
 * Connected-UDP rules (Linux): `connect(addr)` sends nothing, records the
 * peer, makes `send(data)` without an address go there, and filters out
 * datagrams from any other source; port-unreachable notices are reported as
 * a connection-refused error only on a connected socket. `connect` again
 * re-targets; `connect({ family: "unspec" })` / `disconnect()` dissolves the
 * association, after which `send(data)` without an address throws a
 * destination-address-required error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DatagramSocket } from "./datagram_socket.ts";
 * import { openUdpSocket } from "./deno_udp_socket.ts";
 * const s: DatagramSocket = await openUdpSocket({ hostname: "127.0.0.1" });
 * assert.equal(s.remoteAddr, undefined);
 * s.close();
 * ```
 */
export interface DatagramSocket {
  /** The bound local address. */
  readonly localAddr: DatagramAddr;
  /** The connected peer, or `undefined` when not connected. */
  readonly remoteAddr: DatagramAddr | undefined;
  /**
   * Sends one datagram, to `addr` or (when omitted) to the connected peer.
   * Never blocks; asynchronous failures go to the error handler / `receive()`.
   * The caller may reuse `data` as soon as `send` returns: an implementation
   * that sends asynchronously must copy it first.
   */
  send(data: Uint8Array, addr?: DatagramAddr): void;
  /**
   * Pull mode: the next datagram. Rejects with a connection-refused error
   * when a port-unreachable notice arrives on a connected socket, and with
   * a closed error after `close()`. Not for use together with `setHandler`.
   */
  receive(): Promise<Datagram>;
  /** Push mode: every datagram (and error) is delivered to these handlers from now on. */
  setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void;
  /** Records the peer (or dissolves the association with `{ family: "unspec" }`). */
  connect(addr: DatagramAddr | UnspecAddr): void;
  /** Alias for `connect({ family: "unspec" })`. */
  disconnect(): void;
  /** Releases the port. Idempotent. */
  close(): void;
  /** Optional zero-copy batched output (see {@linkcode DatagramBatchOutput}). */
  readonly batch?: DatagramBatchOutput;
  /**
   * Optional: payload bytes the socket's receive buffer can hold before the
   * kernel drops datagrams. A stack keeps its advertised window within it.
   */
  readonly receiveCapacity?: number;
  /**
   * Optional: `true` when every datagram this socket sends is authenticated
   * over all its bytes (an AEAD tag, as `SealedSocket` adds) and every
   * datagram it delivers has been verified so. A tou stack then neither
   * computes nor verifies TCP checksums (the field is sent as 0;
   * docs/wire-format.md §2). Both peers must agree, so a decorator between
   * such a socket and the stack passes this on (as `ForwardingSocket`
   * does) and must not alter the bytes.
   */
  readonly authenticated?: boolean;
}
