/**
 * The fast datagram socket: {@linkcode DatagramSocket} over libc through
 * `Deno.dlopen` (Linux x86_64/aarch64, IPv4 and IPv6), with batched kernel
 * calls:
 *
 * - **send**: datagrams queue in one send arena (callers may encode straight
 *   into it with {@linkcode DatagramBatchOutput}); at the end of the current
 *   task (a microtask) one `sendmmsg` hands the kernel the whole batch. Runs
 *   of equal-sized datagrams to one destination go as one UDP GSO message
 *   (`UDP_SEGMENT` cmsg, up to 64 segments) that the kernel splits.
 * - **receive**: `recvmmsg` (64 messages per call by default) on a
 *   non-blocking socket, with `UDP_GRO`: the kernel may hand over several
 *   datagrams coalesced in one message, split back here by the segment size
 *   in its cmsg.
 * - **never blocking the event loop**: the socket is `O_NONBLOCK`; both calls
 *   run synchronously (they return at once). Only the wait for readiness
 *   happens elsewhere: one thread per process (a `node:worker_threads`
 *   Worker, src/udp/_poller.ts) blocks in `epoll_wait` and wakes the event
 *   loop through `Atomics.waitAsync`; or, with `poller: "pool"`, `poll` runs
 *   as a `nonblocking` FFI call on Deno's thread pool. docs/udp.md §7 has
 *   the measurements behind this choice.
 * - **buffers**: `SO_RCVBUF`/`SO_SNDBUF` sized for the bandwidth-delay
 *   product, with `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE` tried first (root or
 *   CAP_NET_ADMIN); the size the kernel really granted is read back and
 *   {@linkcode KernelUdpSocket.receiveCapacity} tells the stack how much
 *   payload the receive buffer absorbs.
 * - **connected UDP is the kernel's**: `connect(2)`, re-connect, and
 *   `connect(AF_UNSPEC)`; so ICMP port unreachable surfaces as
 *   {@linkcode ConnectionRefusedError} on a connected socket.
 *
 * Each feature the kernel refuses (GSO, GRO, forced buffer sizes) is
 * dropped at run time and reported once through the `log` callback.
 *
 * Over 600 lines: the send queue, the receive loop and the connected-UDP
 * lifecycle share one descriptor, the close sequence (closed/released
 * flags, the wake descriptor, the count of pending `poll`s that `closed`
 * waits for), the peer, the error routing and the counters `stats()`
 * reports; splitting the send queue out would pass most of that across as
 * callbacks. What stands alone lives apart: the receive contract shared
 * with deno_udp_socket.ts (push/pull, pending error, close) in
 * `_delivery.ts`, struct layouts in `_mmsg.ts`, libc in `_libc.ts`,
 * address codecs in `_sockaddr.ts`, the readiness thread in `_poller.ts`.
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
} from "./datagram_socket.ts";
import { formatAddr, ipFamily, validateAddr } from "./addr.ts";
import {
  AddrInUseError,
  ConnectionRefusedError,
  DestinationAddressRequiredError,
  InvalidAddrError,
  SocketClosedError,
} from "./errors.ts";
import * as L from "./_libc.ts";
import { type Libc, libcUnavailableReason, loadLibc } from "./_libc.ts";
import {
  decodeSockaddr,
  encodeSockaddr,
  SOCKADDR_SLOT,
  SockaddrCache,
  unspecSockaddr,
} from "./_sockaddr.ts";
import { CONTROL_SLOT, MmsgArray } from "./_mmsg.ts";
import { type Poller, sharedPoller } from "./_poller.ts";
import { DatagramDelivery } from "./_delivery.ts";

/** Largest UDP payload (IPv4); every receive slot holds this much. */
const MAX_DATAGRAM = 65_536;
/** Most bytes in one GSO message (IP total length is 16 bits; headers take the rest). */
const GSO_MAX_BYTES = 65_000;
/** Most segments in one GSO message (UDP_MAX_SEGMENTS is 64 on older kernels). */
const GSO_MAX_SEGMENTS = 64;
/** Consecutive receive errors after which the socket closes itself. */
const MAX_RECEIVE_FAILURES = 16;
/** mmsghdrs per `sendmmsg` call. */
const SEND_VLEN = 256;
/** Datagrams the send queue holds. */
const SEND_QUEUE = 4096;
/** Default {@linkcode KernelUdpSocketOptions.spinTurns}. */
export const DEFAULT_SPIN_TURNS = 0;
/** Default requested receive buffer (the kernel doubles it for bookkeeping). */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;
/** Default requested send buffer. */
export const DEFAULT_SEND_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Options for {@linkcode openKernelUdpSocket}.
 *
 * @example
 * ```ts
 * import type { KernelUdpSocketOptions } from "./kernel_udp_socket.ts";
 * const opts: KernelUdpSocketOptions = { hostname: "127.0.0.1", gso: true, reusePort: false };
 * void opts;
 * ```
 */
export interface KernelUdpSocketOptions {
  /** Local IP literal to bind; default "0.0.0.0". */
  hostname?: string;
  /** Local port; 0 (the default) picks an ephemeral port. */
  port?: number;
  /**
   * Requested `SO_RCVBUF` in bytes (payload the receive path should absorb:
   * size it for the bandwidth-delay product, at least the TCP receive
   * window). Default {@linkcode DEFAULT_RECEIVE_BUFFER_BYTES}.
   */
  receiveBufferBytes?: number;
  /** Requested `SO_SNDBUF` in bytes. Default {@linkcode DEFAULT_SEND_BUFFER_BYTES}. */
  sendBufferBytes?: number;
  /** Sets `SO_REUSEPORT` (several processes share the port). Default false. */
  reusePort?: boolean;
  /** Use UDP GSO for runs of equal-sized datagrams. Default true. */
  gso?: boolean;
  /** Ask for UDP GRO on receive. Default true. */
  gro?: boolean;
  /** Messages per `recvmmsg` (each slot holds 64 KiB). Default 64. */
  receiveBatch?: number;
  /**
   * Event-loop turns to look for more datagrams after the socket ran empty
   * before waiting in `poll` (see docs/udp.md §7). Default
   * {@linkcode DEFAULT_SPIN_TURNS}; 0 always polls.
   */
  spinTurns?: number;
  /**
   * How to wait for datagrams once the socket ran empty: "worker" (the
   * default: one Worker per process blocked in `epoll_wait`, waking the
   * event loop through `Atomics.waitAsync`) or "pool" (`poll` as a
   * `nonblocking` FFI call on Deno's thread pool). docs/udp.md §7 has the
   * measurements.
   */
  poller?: "worker" | "pool";
  /** Where one-time notices go (a refused feature). Default `console.warn`. */
  log?: (message: string) => void;
}

/**
 * Counters and settings of one {@linkcode KernelUdpSocket}.
 *
 * @example
 * ```ts
 * import type { KernelUdpSocketStats } from "./kernel_udp_socket.ts";
 * const s: Partial<KernelUdpSocketStats> = { sent: 0 };
 * void s;
 * ```
 */
export interface KernelUdpSocketStats {
  /** Datagrams handed to the kernel. */
  sent: number;
  /** `sendmmsg` calls that sent something. */
  sendCalls: number;
  /** GSO messages sent (each carries several datagrams). */
  gsoMessages: number;
  /** Sends that failed (reported to the error handler). */
  sendErrors: number;
  /** Datagrams dropped because the send queue was full. */
  sendDropped: number;
  /** Datagrams queued and not yet handed to the kernel. */
  inFlight: number;
  /** Datagrams delivered to the handler or to `receive()`. */
  received: number;
  /** `recvmmsg` calls that returned data. */
  receiveCalls: number;
  /** Waits in `poll` (each a thread-pool round trip). */
  polls: number;
  /** Coalesced (GRO) messages split back into datagrams. */
  groMessages: number;
  /** Datagrams dropped because they were longer than a receive slot. */
  truncated: number;
  /**
   * Datagrams the kernel dropped at this socket, almost always because its
   * receive buffer was full (`SO_MEMINFO` drops; -1 when unavailable).
   */
  receiveDrops: number;
  /** SO_RCVBUF as read back (the kernel doubles the request). */
  receiveBufferBytes: number;
  /** SO_SNDBUF as read back. */
  sendBufferBytes: number;
  /** Whether GSO is in use. */
  gso: boolean;
  /** Whether GRO is in use. */
  gro: boolean;
}

/**
 * Whether the kernel backend can run here (Linux x86_64/aarch64, FFI
 * allowed, libc loadable); otherwise the reason.
 *
 * @returns `{ ok: true }` or `{ ok: false, reason }`.
 *
 * @example
 * ```ts
 * import { kernelUdpAvailable } from "./kernel_udp_socket.ts";
 * const a = kernelUdpAvailable();
 * console.log(a.ok ? "kernel UDP backend" : a.reason);
 * ```
 */
export function kernelUdpAvailable(): { ok: true } | { ok: false; reason: string } {
  return loadLibc() !== undefined ? { ok: true } : { ok: false, reason: libcUnavailableReason() };
}

/**
 * Opens a kernel-backed UDP socket bound to `hostname:port`.
 *
 * @param opts Local address, buffer sizes and features.
 * @returns The bound socket.
 * @throws {AddrInUseError} When the address is already bound.
 * @throws {InvalidAddrError} When the hostname is not an IP literal or the port is out of range.
 * @throws {Deno.errors.NotSupported} When FFI is not allowed or this is not Linux.
 *
 * @example Echo over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { kernelUdpAvailable, openKernelUdpSocket } from "./kernel_udp_socket.ts";
 *
 * if (kernelUdpAvailable().ok) {
 *   const a = await openKernelUdpSocket({ hostname: "127.0.0.1" });
 *   const b = await openKernelUdpSocket({ hostname: "127.0.0.1" });
 *   a.connect(b.localAddr);
 *   a.send(new Uint8Array([1, 2, 3]));
 *   const got = await b.receive();
 *   assert.deepEqual(got.data, new Uint8Array([1, 2, 3]));
 *   assert.equal(got.from.port, a.localAddr.port);
 *   a.close();
 *   b.close();
 *   await Promise.all([a.closed, b.closed]);
 * }
 * ```
 */
export function openKernelUdpSocket(opts: KernelUdpSocketOptions = {}): Promise<KernelUdpSocket> {
  try {
    return Promise.resolve(KernelUdpSocket.bind(opts));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A destination's encoded sockaddr, cached per address object. */
interface Dest {
  readonly addr: DatagramAddr;
  readonly bytes: Uint8Array;
  readonly len: number;
}

/**
 * A UDP socket over libc with batched sends and receives (see the module
 * doc). Create it with {@linkcode openKernelUdpSocket}.
 */
export class KernelUdpSocket implements DatagramSocket {
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #wakeFd: number;
  readonly #family: 4 | 6;
  #local: DatagramAddr;
  #localText: string;
  readonly #log: (message: string) => void;
  readonly #noticed = new Set<string>();

  // ---- send side
  #gso: boolean;
  #sendArena: Uint8Array | undefined;
  #sendArenaAddr = 0;
  #sendMsgs: MmsgArray | undefined;
  readonly #qOff = new Int32Array(SEND_QUEUE);
  readonly #qLen = new Int32Array(SEND_QUEUE);
  readonly #qDest: (Dest | undefined)[] = new Array(SEND_QUEUE).fill(undefined);
  readonly #groupCount = new Int32Array(SEND_VLEN);
  #qHead = 0;
  #qTail = 0;
  /** Arena bytes in use: [arenaHead, arenaTail). */
  #arenaTail = 0;
  #reserved = -1;
  #flushQueued = false;
  #waitingWritable = false;
  #lastDest: Dest | undefined;
  readonly #dests = new WeakMap<DatagramAddr, Dest>();
  readonly #scratch = new Uint8Array(MAX_DATAGRAM);
  readonly #flushBound = () => this.#flushTask();
  /** Zero-copy output; see {@linkcode DatagramBatchOutput}. */
  readonly batch: DatagramBatchOutput;

  // ---- receive side
  #gro: boolean;
  readonly #recvBatch: number;
  #recvArena: Uint8Array | undefined;
  #recvMsgs: MmsgArray | undefined;
  readonly #names = new SockaddrCache();
  readonly #pollFds = new Uint8Array(16);
  readonly #delivery: DatagramDelivery;
  readonly #pulled: Datagram[] = [];
  #loopRunning = false;
  #loopDone: Promise<void> = Promise.resolve();
  #resume: (() => void) | undefined;
  #pollsPending = 0;
  #polls = 0;
  /** Readiness through the shared epoll Worker; `undefined`: `poll` on the thread pool. */
  #poller: Poller | undefined;
  #slot = -1;
  readonly #spinTurns: number;
  #pollsDone: (() => void) | undefined;

  // ---- association and lifecycle
  #peer: DatagramAddr | undefined;
  #closed = false;
  #released = false;
  readonly #closedDone = Promise.withResolvers<void>();

  // ---- counters
  #sent = 0;
  #sendCalls = 0;
  #gsoMessages = 0;
  #sendErrors = 0;
  #sendDropped = 0;
  #received = 0;
  #receiveCalls = 0;
  #groMessages = 0;
  #truncated = 0;
  #rcvbuf = 0;
  #sndbuf = 0;

  private constructor(libc: Libc, fd: number, wakeFd: number, family: 4 | 6, opts: {
    local: DatagramAddr;
    gso: boolean;
    gro: boolean;
    recvBatch: number;
    spinTurns: number;
    log: (message: string) => void;
  }) {
    this.#libc = libc;
    this.#fd = fd;
    this.#wakeFd = wakeFd;
    this.#family = family;
    this.#local = opts.local;
    this.#localText = formatAddr(opts.local);
    this.#delivery = new DatagramDelivery(this.#localText);
    this.#gso = opts.gso;
    this.#gro = opts.gro;
    this.#recvBatch = opts.recvBatch;
    this.#spinTurns = opts.spinTurns;
    this.#log = opts.log;
    const pv = new DataView(this.#pollFds.buffer);
    pv.setInt32(0, fd, true); // struct pollfd { int fd; short events; short revents; }
    pv.setInt16(4, L.POLLIN, true);
    pv.setInt32(8, wakeFd, true);
    pv.setInt16(12, L.POLLIN, true);
    this.batch = {
      reserve: (maxLen) => this.#reserve(maxLen),
      commit: (len, addr) => this.#commit(len, addr),
      flush: () => this.flush(),
    };
  }

  /**
   * Opens and binds synchronously (what {@linkcode openKernelUdpSocket} wraps).
   *
   * @param opts Local address, buffer sizes and features.
   * @param libc Internal (tests): the libc to call, e.g. one that refuses a feature.
   * @returns The bound socket.
   * @throws {AddrInUseError} When the address is already bound.
   * @throws {InvalidAddrError} On a malformed address or option.
   * @throws {Deno.errors.NotSupported} When libc cannot be used here.
   */
  static bind(
    opts: KernelUdpSocketOptions = {},
    libc: Libc | undefined = loadLibc(),
  ): KernelUdpSocket {
    if (libc === undefined) {
      throw new Deno.errors.NotSupported(
        `Cannot open a kernel UDP socket: ${libcUnavailableReason()}`,
      );
    }
    const local = validateAddr(
      { hostname: opts.hostname ?? "0.0.0.0", port: opts.port ?? 0 },
      { allowPortZero: true },
    );
    const recvBatch = opts.receiveBatch ?? 64;
    if (!Number.isInteger(recvBatch) || recvBatch < 1 || recvBatch > 1024) {
      throw new InvalidAddrError(
        `Invalid receiveBatch ${recvBatch}: must be an integer in 1..1024`,
      );
    }
    const family = ipFamily(local.hostname)!;
    const log = opts.log ?? ((m: string) => console.warn(m));
    const fd = libc.socket(
      family === 4 ? L.AF_INET : L.AF_INET6,
      L.SOCK_DGRAM | L.SOCK_NONBLOCK | L.SOCK_CLOEXEC,
      0,
    );
    if (fd < 0) throw errnoError(`Cannot open a UDP socket`, libc.errno());
    const wakeFd = libc.eventfd(0, L.EFD_NONBLOCK | L.EFD_CLOEXEC);
    if (wakeFd < 0) {
      const e = libc.errno();
      libc.close(fd);
      throw errnoError(`Cannot create an eventfd`, e);
    }
    try {
      if (opts.reusePort && setInt(libc, fd, L.SOL_SOCKET, L.SO_REUSEPORT, 1) !== 0) {
        throw errnoError(`Cannot set SO_REUSEPORT on ${formatAddr(local)}`, libc.errno());
      }
      const sa = new Uint8Array(SOCKADDR_SLOT);
      const len = encodeSockaddr(local, sa);
      if (libc.bind(fd, sa, len) !== 0) {
        const e = libc.errno();
        if (e === L.EADDRINUSE) {
          throw new AddrInUseError(`Cannot bind ${formatAddr(local)}: address already in use`);
        }
        throw errnoError(`Cannot bind ${formatAddr(local)}`, e);
      }
      const bound = getLocal(libc, fd) ?? local;
      const s = new KernelUdpSocket(libc, fd, wakeFd, family, {
        local: { hostname: local.hostname, port: bound.port },
        gso: opts.gso ?? true,
        gro: opts.gro ?? true,
        recvBatch,
        spinTurns: opts.spinTurns ?? DEFAULT_SPIN_TURNS,
        log,
      });
      s.#setup(opts);
      if (opts.poller !== "pool") {
        const poller = sharedPoller(libc);
        const slot = poller?.add(fd) ?? -1;
        if (slot >= 0) {
          s.#poller = poller;
          s.#slot = slot;
        }
      }
      return s;
    } catch (err) {
      libc.close(fd);
      libc.close(wakeFd);
      throw err;
    }
  }

  /** The bound local address (the real port when bound to port 0). */
  get localAddr(): DatagramAddr {
    return this.#local;
  }

  /** The connected peer, or `undefined` when not connected. */
  get remoteAddr(): DatagramAddr | undefined {
    return this.#peer;
  }

  /**
   * Payload bytes the kernel receive buffer absorbs: half of the SO_RCVBUF
   * read back (the kernel doubles a request to cover per-datagram
   * bookkeeping; a full 1452-byte datagram costs ≈ 1.6× its payload).
   */
  get receiveCapacity(): number {
    return Math.floor(this.#rcvbuf / 2);
  }

  /** Resolves once the socket is closed and its file descriptors released. */
  get closed(): Promise<void> {
    return this.#closedDone.promise;
  }

  /** A snapshot of the socket's counters and settings. */
  stats(): KernelUdpSocketStats {
    return {
      sent: this.#sent,
      sendCalls: this.#sendCalls,
      gsoMessages: this.#gsoMessages,
      sendErrors: this.#sendErrors,
      sendDropped: this.#sendDropped,
      inFlight: this.#qTail - this.#qHead,
      received: this.#received,
      receiveCalls: this.#receiveCalls,
      polls: this.#polls,
      groMessages: this.#groMessages,
      truncated: this.#truncated,
      receiveDrops: this.#receiveDrops(),
      receiveBufferBytes: this.#rcvbuf,
      sendBufferBytes: this.#sndbuf,
      gso: this.#gso,
      gro: this.#gro,
    };
  }

  /**
   * Queues one datagram to `addr`, or to the connected peer when omitted.
   * Copies `data` into the send arena (the caller may reuse it); the batch
   * goes to the kernel at the end of the current task or on
   * {@linkcode KernelUdpSocket.flush}.
   *
   * @param data The payload.
   * @param addr The destination; defaults to the connected peer.
   * @throws {SocketClosedError} After `close()`.
   * @throws {DestinationAddressRequiredError} Without `addr` on an unconnected socket.
   * @throws {InvalidAddrError} When `addr` is not an IP literal with a port 1..65535.
   */
  send(data: Uint8Array, addr?: DatagramAddr): void {
    const buf = this.#reserve(data.length);
    buf.set(data);
    this.#commit(data.length, addr);
  }

  /** Hands every queued datagram to the kernel now (non-blocking; the rest waits for room). */
  flush(): void {
    if (this.#released || this.#qHead === this.#qTail || this.#waitingWritable) return;
    this.#sendQueued();
  }

  /**
   * Pull mode: the next datagram (a copy).
   *
   * @returns The datagram and its sender.
   * @throws {SocketClosedError} After (or at) `close()`.
   * @throws {Deno.errors.Busy} When a push handler is set.
   * @throws {ConnectionRefusedError} When the connected peer's port is unreachable.
   */
  receive(): Promise<Datagram> {
    const refused = this.#delivery.refusal(this.#closed);
    if (refused !== undefined) return refused;
    const d = this.#pulled.shift();
    if (d !== undefined) return Promise.resolve(d);
    const p = this.#delivery.wait();
    this.#wake();
    return p;
  }

  /**
   * Push mode: every datagram goes to `onDatagram` synchronously with a view
   * into the receive arena valid only during the call; errors (connection
   * refused on a connected socket, failed sends) to `onError`.
   *
   * @param onDatagram Called per datagram.
   * @param onError Called per asynchronous error.
   */
  setHandler(onDatagram: DatagramHandler, onError?: DatagramErrorHandler): void {
    this.#pulled.length = 0;
    this.#delivery.setHandler(onDatagram, onError);
    this.#wake();
  }

  /**
   * `connect(2)`: records `addr` as the peer in the kernel (nothing is
   * sent), or dissolves the association with `{ family: "unspec" }`.
   *
   * @param addr The peer, or the AF_UNSPEC address.
   * @throws {InvalidAddrError} When `addr` is not an IP literal with a port 1..65535.
   * @throws {SocketClosedError} After `close()`.
   */
  connect(addr: DatagramAddr | UnspecAddr): void {
    if (this.#closed) {
      throw new SocketClosedError(`Cannot connect ${this.#localText}: socket closed`);
    }
    if ("family" in addr && addr.family === "unspec") {
      this.disconnect();
      return;
    }
    const v = validateAddr(addr as DatagramAddr);
    this.flush(); // queued sends without an address belong to the old peer
    const dest = this.#destOf(v);
    if (this.#libc.connect(this.#fd, dest.bytes, dest.len) !== 0) {
      throw errnoError(`Cannot connect ${this.#localText} to ${formatAddr(v)}`, this.#libc.errno());
    }
    this.#peer = { hostname: v.hostname, port: v.port };
  }

  /** Dissolves the association (`connect(AF_UNSPEC)`); keeps the bound port. */
  disconnect(): void {
    if (this.#closed || this.#peer === undefined) return;
    this.flush();
    const libc = this.#libc;
    libc.connect(this.#fd, unspecSockaddr(), 16);
    this.#peer = undefined;
    // Linux unhashes a socket whose port was chosen by the kernel (no
    // SOCK_BINDPORT_LOCK) on disconnect: bind it to the same address again.
    const now = getLocal(libc, this.#fd);
    if (now === undefined || now.port !== this.#local.port) {
      const sa = new Uint8Array(SOCKADDR_SLOT);
      const len = encodeSockaddr(this.#local, sa);
      if (libc.bind(this.#fd, sa, len) !== 0) {
        this.#notice(
          "rebind",
          `tou udp: ${this.#localText} lost its port on disconnect and could not rebind ` +
            `(errno ${libc.errno()})`,
        );
      }
    }
  }

  /**
   * Closes the socket: from now on `send` throws, pending and later
   * `receive()` calls reject with {@linkcode SocketClosedError}, and no
   * handler is called. Queued datagrams get one last non-blocking send.
   * Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#delivery.rejectWaiters();
    this.#wake();
    this.#wakePoll();
    void this.#finishClose();
  }

  #receiveDrops(): number {
    if (this.#released) return -1;
    const info = new Uint32Array(9);
    const l = new Uint8Array(4);
    new DataView(l.buffer).setUint32(0, 36, true);
    const b = new Uint8Array(info.buffer);
    if (this.#libc.getsockopt(this.#fd, L.SOL_SOCKET, L.SO_MEMINFO, b, l) !== 0) return -1;
    return new DataView(l.buffer).getUint32(0, true) >= 36 ? info[8] : -1;
  }

  // ---- setup ----------------------------------------------------------

  #setup(opts: KernelUdpSocketOptions): void {
    const libc = this.#libc;
    const fd = this.#fd;
    const rcv = opts.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES;
    const snd = opts.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES;
    this.#rcvbuf = this.#sizeBuffer(L.SO_RCVBUFFORCE, L.SO_RCVBUF, rcv, "receive");
    this.#sndbuf = this.#sizeBuffer(L.SO_SNDBUFFORCE, L.SO_SNDBUF, snd, "send");
    if (this.#gro) {
      if (setInt(libc, fd, L.SOL_UDP, L.UDP_GRO, 1) !== 0) {
        this.#gro = false;
        this.#notice("gro", `tou udp: UDP GRO refused (errno ${libc.errno()}); receiving plain`);
      }
    }
    if (this.#gso) {
      // Probe: a kernel without UDP GSO has no UDP_SEGMENT option.
      const v = new Uint8Array(4);
      const l = new Uint8Array(4);
      new DataView(l.buffer).setUint32(0, 4, true);
      if (libc.getsockopt(fd, L.SOL_UDP, L.UDP_SEGMENT, v, l) !== 0) {
        this.#gso = false;
        this.#notice("gso", `tou udp: UDP GSO unavailable (errno ${libc.errno()}); sending plain`);
      }
    }
  }

  /** Sets a buffer size (forced first, plain next) and returns what the kernel granted. */
  #sizeBuffer(force: number, plain: number, bytes: number, what: string): number {
    const libc = this.#libc;
    const fd = this.#fd;
    if (setInt(libc, fd, L.SOL_SOCKET, force, bytes) !== 0) {
      const e = libc.errno();
      setInt(libc, fd, L.SOL_SOCKET, plain, bytes);
      const got = getInt(libc, fd, L.SOL_SOCKET, plain);
      if (got < bytes * 2) {
        this.#notice(
          `${what}buf`,
          `tou udp: ${what} buffer ${got} bytes (asked ${bytes}; SO_${
            what === "receive" ? "RCV" : "SND"
          }BUFFORCE refused, errno ${e}: raise net.core.${
            what === "receive" ? "r" : "w"
          }mem_max or run with CAP_NET_ADMIN)`,
        );
      }
      return got;
    }
    return getInt(libc, fd, L.SOL_SOCKET, plain);
  }

  #notice(key: string, message: string): void {
    if (this.#noticed.has(key)) return;
    this.#noticed.add(key);
    try {
      this.#log(message);
    } catch {
      // A throwing logger must not break the socket.
    }
  }

  // ---- send path ------------------------------------------------------

  #reserve(maxLen: number): Uint8Array {
    if (this.#closed) {
      throw new SocketClosedError(`Cannot send from ${this.#localText}: socket closed`);
    }
    if (this.#sendArena === undefined) this.#allocSend();
    const arena = this.#sendArena!;
    if (this.#arenaTail + maxLen > arena.length || this.#qTail === SEND_QUEUE) {
      this.flush();
      if (this.#qHead === this.#qTail) this.#resetQueue();
    }
    if (this.#arenaTail + maxLen > arena.length || this.#qTail === SEND_QUEUE) {
      this.#reserved = -2; // full: the commit drops it
      return this.#scratch.subarray(0, Math.min(maxLen, MAX_DATAGRAM));
    }
    this.#reserved = this.#arenaTail;
    return arena.subarray(this.#arenaTail, this.#arenaTail + maxLen);
  }

  #commit(len: number, addr: DatagramAddr | undefined): void {
    const at = this.#reserved;
    this.#reserved = -1;
    if (at === -1) throw new Error("commit() without reserve()");
    let dest: Dest | undefined;
    if (addr === undefined) {
      if (this.#peer === undefined) {
        throw new DestinationAddressRequiredError(
          `Cannot send from ${this.#localText}: destination address required (socket not connected)`,
        );
      }
    } else {
      dest = this.#lastDest !== undefined && this.#lastDest.addr === addr
        ? this.#lastDest
        : this.#destOf(addr);
      this.#lastDest = dest;
    }
    if (at === -2) {
      this.#sendDropped++;
      return;
    }
    const q = this.#qTail++;
    this.#qOff[q] = at;
    this.#qLen[q] = len;
    this.#qDest[q] = dest;
    this.#arenaTail = at + len;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushBound);
    }
  }

  #destOf(addr: DatagramAddr): Dest {
    let d = this.#dests.get(addr);
    if (d === undefined) {
      const bytes = new Uint8Array(SOCKADDR_SLOT);
      // The sender of the datagram being handled (a SYN-ACK answering a SYN): its bytes as
      // received. Not kept in the WeakMap: a flood's every datagram has a new sender, and a
      // WeakMap entry per forged SYN costs more than this copy (`#lastDest` covers repeats).
      const len = this.#names.encodeLast(addr, bytes);
      if (len > 0) return { addr, bytes, len };
      const v = validateAddr(addr);
      // A v6 socket reaches IPv4 peers through v4-mapped addresses.
      const to = ipFamily(v.hostname) === 4 && this.#family === 6
        ? { hostname: `::ffff:${v.hostname}`, port: v.port }
        : v;
      d = { addr, bytes, len: encodeSockaddr(to, bytes) };
      this.#dests.set(addr, d);
    }
    return d;
  }

  #allocSend(): void {
    this.#sendArena = new Uint8Array(2 * 1024 * 1024);
    this.#sendArenaAddr = Number(this.#libc.addressOf(this.#sendArena));
    this.#sendMsgs = new MmsgArray(this.#libc, SEND_VLEN);
  }

  #resetQueue(): void {
    this.#qHead = 0;
    this.#qTail = 0;
    this.#arenaTail = 0;
  }

  #flushTask(): void {
    this.#flushQueued = false;
    this.flush();
  }

  /** Sends from the queue head until it is empty or the kernel says EAGAIN. */
  #sendQueued(): void {
    const libc = this.#libc;
    const msgs = this.#sendMsgs!;
    const qOff = this.#qOff;
    const qLen = this.#qLen;
    const qDest = this.#qDest;
    const groups = this.#groupCount;
    const base = this.#sendArenaAddr;
    while (this.#qHead < this.#qTail) {
      let i = this.#qHead;
      const tail = this.#qTail;
      let m = 0;
      const gso = this.#gso;
      while (i < tail && m < SEND_VLEN) {
        const dest = qDest[i];
        const size = qLen[i];
        let count = 1;
        let total = size;
        if (gso && size > 0) {
          while (i + count < tail && count < GSO_MAX_SEGMENTS && qDest[i + count] === dest) {
            const l = qLen[i + count];
            if (l > size || l === 0 || total + l > GSO_MAX_BYTES) break;
            count++;
            total += l;
            if (l < size) break; // a shorter datagram ends a GSO message
          }
        }
        if (dest === undefined) msgs.setName(m, 0);
        else {
          msgs.names.set(dest.bytes, m * SOCKADDR_SLOT);
          msgs.setName(m, dest.len);
        }
        msgs.setData(m, base + qOff[i], total);
        if (count > 1) msgs.setCmsg(m, L.SOL_UDP, L.UDP_SEGMENT, size, 2);
        else msgs.setControl(m, 0);
        groups[m] = count;
        i += count;
        m++;
      }
      const r = libc.sendmmsg(this.#fd, msgs.vec, m, 0);
      if (r > 0) {
        this.#sendCalls++;
        let n = 0;
        for (let k = 0; k < r; k++) {
          n += groups[k];
          if (groups[k] > 1) this.#gsoMessages++;
        }
        this.#sent += n;
        this.#advance(n);
        continue;
      }
      const e = libc.errno();
      if (e === L.EINTR) continue;
      if (e === L.EAGAIN || e === L.ENOBUFS || e === L.ENOMEM) {
        this.#waitWritable();
        return;
      }
      if ((e === L.EIO || e === L.EINVAL || e === L.EOPNOTSUPP) && groups[0] > 1) {
        // The kernel (or device) refuses GSO: send plain from now on.
        this.#gso = false;
        this.#notice("gso", `tou udp: UDP GSO refused by the kernel (errno ${e}); sending plain`);
        continue;
      }
      // The first message failed (ECONNREFUSED reports a pending ICMP error;
      // EMSGSIZE, EACCES…): drop it, report, go on with the rest.
      const dest = qDest[this.#qHead];
      this.#advance(groups[0]);
      this.#sendErrors += groups[0];
      this.#sendFailed(e, dest?.addr ?? this.#peer);
    }
    this.#resetQueue();
  }

  #advance(n: number): void {
    const qDest = this.#qDest;
    for (let k = 0; k < n; k++) qDest[this.#qHead + k] = undefined;
    this.#qHead += n;
    if (this.#qHead === this.#qTail) this.#resetQueue();
  }

  /** EAGAIN: wait (on the pool) until the socket is writable, then send the rest. */
  #waitWritable(): void {
    if (this.#waitingWritable || this.#released) return;
    this.#waitingWritable = true;
    const fds = new Uint8Array(16);
    const pv = new DataView(fds.buffer);
    pv.setInt32(0, this.#fd, true);
    pv.setInt16(4, L.POLLOUT, true);
    pv.setInt32(8, this.#wakeFd, true);
    pv.setInt16(12, L.POLLIN, true);
    this.#pollsPending++;
    void this.#libc.poll(fds, 2, 1000).finally(() => {
      this.#pollDone();
      this.#waitingWritable = false;
      if (!this.#released) this.flush();
    });
  }

  #sendFailed(errno: number, to: DatagramAddr | undefined): void {
    if (this.#closed) return;
    const where = to === undefined ? "the peer" : formatAddr(to);
    const err = errno === L.ECONNREFUSED
      ? new ConnectionRefusedError(
        `Cannot send to ${where}: connection refused (port unreachable)`,
      )
      : errnoError(`Cannot send to ${where}`, errno);
    this.#delivery.report(err);
  }

  // ---- receive path ---------------------------------------------------

  #allocRecv(): void {
    const n = this.#recvBatch;
    this.#recvArena = new Uint8Array(n * MAX_DATAGRAM);
    this.#recvMsgs = new MmsgArray(this.#libc, n);
    const base = Number(this.#libc.addressOf(this.#recvArena));
    for (let i = 0; i < n; i++) this.#recvMsgs.setData(i, base + i * MAX_DATAGRAM, MAX_DATAGRAM);
  }

  #wake(): void {
    if (!this.#loopRunning && !this.#closed) {
      this.#loopRunning = true;
      this.#loopDone = this.#loop();
    }
    const r = this.#resume;
    if (r !== undefined) {
      this.#resume = undefined;
      r();
    }
  }

  #wakePoll(): void {
    this.#poller?.wake(this.#slot);
    const one = new Uint8Array(8);
    one[0] = 1;
    this.#libc.write(this.#wakeFd, one, 8);
  }

  #pollDone(): void {
    this.#pollsPending--;
    if (this.#pollsPending === 0 && this.#pollsDone !== undefined) {
      const f = this.#pollsDone;
      this.#pollsDone = undefined;
      f();
    }
  }

  /**
   * The receive loop: drain with `recvmmsg` (synchronous, non-blocking),
   * yield to the event loop after each batch (the stack's end-of-batch work
   * runs then), and wait in `poll` on the thread pool when the socket is
   * empty.
   */
  async #loop(): Promise<void> {
    if (this.#recvMsgs === undefined) this.#allocRecv();
    let failures = 0;
    let spins = this.#spinTurns; // idle at start: go straight to poll
    while (!this.#closed) {
      if (this.#delivery.idle) {
        await new Promise<void>((r) => this.#resume = r);
        continue;
      }
      const got = this.#receiveBatch();
      if (got > 0 || got < 0) {
        if (got > 0) {
          failures = 0;
          spins = 0;
        } else if (++failures >= MAX_RECEIVE_FAILURES) {
          // Errors on every call mean the socket is unusable: stop instead of spinning.
          this.close();
          break;
        }
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      if (got === 0 && !this.#closed) {
        // While traffic flows, look again after the other ready callbacks
        // (≈ 7 µs a turn) instead of paying the thread-pool hop of `poll`
        // (≈ 100 µs a call measured under load), for a bounded number of turns.
        if (spins < this.#spinTurns) {
          spins++;
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        spins = 0;
        this.#polls++;
        if (this.#poller !== undefined) {
          if (this.#poller.alive) {
            const ready = this.#poller.wait(this.#slot, this.#fd);
            if (ready !== undefined) await ready;
            continue;
          }
          this.#poller = undefined; // its thread died: `poll` on the pool from now on
          this.#notice("poller", "tou udp: the epoll thread stopped; waiting on the thread pool");
        }
        this.#pollsPending++;
        try {
          await this.#libc.poll(this.#pollFds, 2, -1);
        } finally {
          this.#pollDone();
        }
      }
    }
    this.#loopRunning = false;
  }

  /** One `recvmmsg`; returns messages read, 0 when empty, -1 after an error was reported. */
  #receiveBatch(): number {
    const libc = this.#libc;
    const msgs = this.#recvMsgs!;
    const delivery = this.#delivery;
    const push = delivery.onDatagram !== undefined;
    const n = push ? this.#recvBatch : Math.min(this.#recvBatch, delivery.waiters.length);
    const gro = this.#gro;
    const control = gro ? CONTROL_SLOT : 0;
    for (let i = 0; i < n; i++) {
      msgs.setName(i, SOCKADDR_SLOT);
      msgs.setControl(i, control);
    }
    const r = libc.recvmmsg(this.#fd, msgs.vec, n, L.MSG_DONTWAIT);
    if (r < 0) {
      const e = libc.errno();
      if (e === L.EAGAIN || e === L.EINTR) return 0;
      if (this.#closed) return -1;
      const where = this.#peer === undefined ? "the peer" : formatAddr(this.#peer);
      this.#delivery.report(
        e === L.ECONNREFUSED
          ? new ConnectionRefusedError(
            `Cannot receive from ${where}: connection refused (port unreachable)`,
          )
          : errnoError(`Cannot receive on ${this.#localText}`, e),
      );
      return -1;
    }
    this.#receiveCalls++;
    const arena = this.#recvArena!;
    const words = msgs.nameWords;
    for (let i = 0; i < r && !this.#closed; i++) {
      const len = msgs.msgLen(i);
      if ((msgs.msgFlags(i) & L.MSG_TRUNC) !== 0) {
        this.#truncated++;
        continue;
      }
      const from = this.#names.decode(words, i * (SOCKADDR_SLOT / 4), msgs.names);
      if (from === undefined) continue;
      const start = i * MAX_DATAGRAM;
      const seg = gro ? msgs.findCmsgInt(i, L.SOL_UDP, L.UDP_GRO) : -1;
      if (seg > 0 && seg < len) {
        this.#groMessages++;
        for (let o = 0; o < len && !this.#closed; o += seg) {
          this.#deliver(arena.subarray(start + o, start + Math.min(len, o + seg)), from);
        }
      } else {
        this.#deliver(arena.subarray(start, start + len), from);
      }
    }
    return r;
  }

  #deliver(data: Uint8Array, from: DatagramAddr): void {
    this.#received++;
    const left = this.#delivery.deliver(data, from);
    if (left !== undefined) this.#pulled.push(left);
  }

  async #finishClose(): Promise<void> {
    await this.#loopDone;
    if (this.#pollsPending > 0) await new Promise<void>((r) => this.#pollsDone = r);
    this.#released = true;
    this.#poller?.remove(this.#slot, this.#fd);
    this.#libc.close(this.#fd);
    this.#libc.close(this.#wakeFd);
    this.#closedDone.resolve();
  }
}

function setInt(libc: Libc, fd: number, level: number, name: number, value: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, value, true);
  return libc.setsockopt(fd, level, name, b, 4);
}

function getInt(libc: Libc, fd: number, level: number, name: number): number {
  const b = new Uint8Array(4);
  const l = new Uint8Array(4);
  new DataView(l.buffer).setUint32(0, 4, true);
  if (libc.getsockopt(fd, level, name, b, l) !== 0) return 0;
  return new DataView(b.buffer).getInt32(0, true);
}

function getLocal(libc: Libc, fd: number): DatagramAddr | undefined {
  const sa = new Uint8Array(SOCKADDR_SLOT);
  const l = new Uint8Array(4);
  new DataView(l.buffer).setUint32(0, SOCKADDR_SLOT, true);
  if (libc.getsockname(fd, sa, l) !== 0) return undefined;
  return decodeSockaddr(sa);
}

const ERRNO_NAMES: Record<number, string> = {
  [L.EPERM]: "EPERM",
  [L.EIO]: "EIO",
  [L.EAGAIN]: "EAGAIN",
  [L.ENOMEM]: "ENOMEM",
  [L.EACCES]: "EACCES",
  [L.EINVAL]: "EINVAL",
  [L.EMSGSIZE]: "EMSGSIZE",
  [L.ENOPROTOOPT]: "ENOPROTOOPT",
  [L.EOPNOTSUPP]: "EOPNOTSUPP",
  [L.EADDRINUSE]: "EADDRINUSE",
  [L.EADDRNOTAVAIL]: "EADDRNOTAVAIL",
  [L.ENOBUFS]: "ENOBUFS",
  [L.ECONNREFUSED]: "ECONNREFUSED",
};

function errnoError(what: string, errno: number): Error {
  const name = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  if (errno === L.EADDRNOTAVAIL) return new Deno.errors.AddrNotAvailable(`${what}: ${name}`);
  if (errno === L.EACCES || errno === L.EPERM) {
    return new Deno.errors.PermissionDenied(`${what}: ${name}`);
  }
  return new Error(`${what}: ${name}`);
}
