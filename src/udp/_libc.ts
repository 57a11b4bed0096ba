/**
 * Internal: the libc calls the kernel UDP backend makes through
 * `Deno.dlopen`, the Linux constants it needs (identical on x86_64 and
 * aarch64: both use the generic socket ABI), and `errno`.
 *
 * Everything here is synchronous except `poll`, declared `nonblocking`: it
 * runs on Deno's blocking thread pool and returns a promise. `epoll_wait`
 * blocks and is only called on the poller thread (src/udp/_poller.ts), so
 * waiting for readiness never blocks the event loop (docs/udp.md §7).
 *
 * @module
 */

/** Linux socket constants (x86_64 and aarch64 share these values). */
export const AF_UNSPEC = 0;
/** IPv4. */
export const AF_INET = 2;
/** IPv6. */
export const AF_INET6 = 10;
/** Datagram socket. */
export const SOCK_DGRAM = 2;
/** `O_NONBLOCK` as a socket type flag. */
export const SOCK_NONBLOCK = 0o4000;
/** `O_CLOEXEC` as a socket type flag. */
export const SOCK_CLOEXEC = 0o2000000;
/** Socket-level options. */
export const SOL_SOCKET = 1;
/** `SOL_UDP` (= IPPROTO_UDP). */
export const SOL_UDP = 17;
/** `IPPROTO_IPV6`. */
export const IPPROTO_IPV6 = 41;
/** Send buffer size. */
export const SO_SNDBUF = 7;
/** Receive buffer size. */
export const SO_RCVBUF = 8;
/** Socket memory figures (u32 array; index 8 = drops, Linux 4.9+). */
export const SO_MEMINFO = 55;
/** Several sockets on one address (kernel load-balances). */
export const SO_REUSEPORT = 15;
/** SO_SNDBUF beyond `wmem_max` (CAP_NET_ADMIN). */
export const SO_SNDBUFFORCE = 32;
/** SO_RCVBUF beyond `rmem_max` (CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
/** UDP GSO: segment size, as a socket option or a per-message cmsg (Linux 4.18). */
export const UDP_SEGMENT = 103;
/** UDP GRO: coalesced receive with the segment size in a cmsg (Linux 5.0). */
export const UDP_GRO = 104;
/** `recvmmsg`/`sendmmsg` flag: do not block. */
export const MSG_DONTWAIT = 0x40;
/** `msg_flags`: the datagram was longer than the buffer. */
export const MSG_TRUNC = 0x20;
/** `poll` events. */
export const POLLIN = 0x1;
/** `poll`: writable. */
export const POLLOUT = 0x4;
/** `eventfd` flags. */
export const EFD_NONBLOCK = 0o4000;
/** `eventfd` close-on-exec. */
export const EFD_CLOEXEC = 0o2000000;

/** epoll. */
export const EPOLL_CLOEXEC = 0o2000000;
/** epoll_ctl: add. */
export const EPOLL_CTL_ADD = 1;
/** epoll_ctl: delete. */
export const EPOLL_CTL_DEL = 2;
/** epoll_ctl: modify (re-arms a one-shot registration; readiness is re-checked). */
export const EPOLL_CTL_MOD = 3;
/** epoll: readable. */
export const EPOLLIN = 0x1;
/** epoll: report once, then disarm until EPOLL_CTL_MOD. */
export const EPOLLONESHOT = 1 << 30;
/**
 * sizeof(struct epoll_event) and the offset of its `data`: packed (12, 4)
 * on x86_64, naturally aligned (16, 8) on aarch64.
 */
export const EPOLL_EVENT = Deno.build.arch === "x86_64"
  ? { size: 12, data: 4 }
  : { size: 16, data: 8 };

/** errno values (generic Linux ABI). */
export const EINTR = 4;
/** I/O error (GSO on a device without checksum offload). */
export const EIO = 5;
/** Would block. */
export const EAGAIN = 11;
/** Out of memory in the kernel (a send can be retried). */
export const ENOMEM = 12;
/** Permission denied. */
export const EACCES = 13;
/** Permission denied (capability). */
export const EPERM = 1;
/** Invalid argument. */
export const EINVAL = 22;
/** Message too long. */
export const EMSGSIZE = 90;
/** Protocol option not available. */
export const ENOPROTOOPT = 92;
/** Operation not supported. */
export const EOPNOTSUPP = 95;
/** Address in use. */
export const EADDRINUSE = 98;
/** Address not available. */
export const EADDRNOTAVAIL = 99;
/** No buffer space (transient). */
export const ENOBUFS = 105;
/** Port unreachable on a connected socket. */
export const ECONNREFUSED = 111;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/**
 * The libc surface the kernel backend uses. An interface (not the raw
 * dylib) so tests can wrap it to make the kernel refuse a feature.
 */
export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
  sendmmsg(fd: number, vec: Uint8Array, vlen: number, flags: number): number;
  recvmmsg(fd: number, vec: Uint8Array, vlen: number, flags: number): number;
  close(fd: number): number;
  eventfd(initval: number, flags: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  epollCreate(flags: number): number;
  epollCtl(epfd: number, op: number, fd: number, event: Uint8Array): number;
  /** Blocks the calling thread (only ever called on the poller Worker). */
  epollWait(epfd: number, events: Uint8Array, max: number, timeoutMs: number): number;
  /** Waits (on a pool thread) for readiness; resolves with the ready count. */
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): Promise<number>;
  /** The calling thread's errno after the last failed call. */
  errno(): number;
  /** The address of a buffer (stable: array buffers do not move). */
  addressOf(buf: Uint8Array): bigint;
}

let cached: Libc | undefined | null = null;
let why = "";

/**
 * Opens libc once per process. Returns `undefined` (and remembers why) off
 * Linux, without `--allow-ffi`, or when libc cannot be loaded.
 */
export function loadLibc(): Libc | undefined {
  if (cached !== null) return cached;
  cached = undefined;
  if (Deno.build.os !== "linux") {
    why = `not Linux (${Deno.build.os})`;
    return undefined;
  }
  if (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64") {
    why = `unsupported architecture ${Deno.build.arch}`;
    return undefined;
  }
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      why = "FFI not allowed (run with --allow-ffi)";
      return undefined;
    }
  } catch (err) {
    why = `FFI permission unknown: ${err instanceof Error ? err.message : String(err)}`;
    return undefined;
  }
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch (err) {
    why = `cannot load libc.so.6: ${err instanceof Error ? err.message : String(err)}`;
    return undefined;
  }
  const s = lib.symbols;
  const errnoPtr = s.__errno_location();
  const errnoView = errnoPtr === null ? undefined : new Deno.UnsafePointerView(errnoPtr);
  cached = {
    socket: (d, t, p) => s.socket(d, t, p),
    bind: (fd, a, l) => s.bind(fd, a as Uint8Array<ArrayBuffer>, l),
    connect: (fd, a, l) => s.connect(fd, a as Uint8Array<ArrayBuffer>, l),
    getsockname: (fd, a, l) =>
      s.getsockname(fd, a as Uint8Array<ArrayBuffer>, l as Uint8Array<ArrayBuffer>),
    setsockopt: (fd, lv, n, v, l) => s.setsockopt(fd, lv, n, v as Uint8Array<ArrayBuffer>, l),
    getsockopt: (fd, lv, n, v, l) =>
      s.getsockopt(fd, lv, n, v as Uint8Array<ArrayBuffer>, l as Uint8Array<ArrayBuffer>),
    sendmmsg: (fd, v, n, f) => s.sendmmsg(fd, v as Uint8Array<ArrayBuffer>, n, f),
    recvmmsg: (fd, v, n, f) => s.recvmmsg(fd, v as Uint8Array<ArrayBuffer>, n, f, null),
    close: (fd) => s.close(fd),
    eventfd: (i, f) => s.eventfd(i, f),
    write: (fd, b, l) => Number(s.write(fd, b as Uint8Array<ArrayBuffer>, BigInt(l))),
    read: (fd, b, l) => Number(s.read(fd, b as Uint8Array<ArrayBuffer>, BigInt(l))),
    poll: (fds, n, t) => s.poll(fds as Uint8Array<ArrayBuffer>, BigInt(n), t),
    epollCreate: (f) => s.epoll_create1(f),
    epollCtl: (e, op, fd, ev) => s.epoll_ctl(e, op, fd, ev as Uint8Array<ArrayBuffer>),
    epollWait: (e, ev, m, t) => s.epoll_wait(e, ev as Uint8Array<ArrayBuffer>, m, t),
    // errno is thread-local; the main thread's location never changes.
    errno: () => errnoView === undefined ? 0 : errnoView.getInt32(0),
    addressOf: (buf) =>
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>))),
  };
  return cached;
}

/** Why {@linkcode loadLibc} returned `undefined` ("" when it did not). */
export function libcUnavailableReason(): string {
  return why;
}
