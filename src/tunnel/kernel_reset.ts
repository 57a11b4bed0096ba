/**
 * Resetting a kernel TCP connection from Deno.
 *
 * Deno has no API to send a RST: `conn.close()` first calls
 * `shutdown(SHUT_WR)` (a FIN) and then `close()`, so even SO_LINGER 0 makes
 * the peer see EOF before the reset. The best available way on Linux is the
 * one below: find the connection's file descriptor (scan `/proc/self/fd` and
 * match `getsockname`/`getpeername` against the conn's addresses), then call
 * `connect(fd, AF_UNSPEC)`, which makes Linux run `tcp_disconnect()`: it sends
 * a RST from ESTABLISHED/CLOSE_WAIT/FIN_WAIT states and leaves the socket
 * CLOSED with its descriptor still owned by Deno, so the later `close()` is
 * an ordinary close of a dead socket (no FIN, no descriptor reuse hazard).
 * Pending reads on the conn fail with `ConnectionReset`.
 *
 * This needs FFI (`--allow-ffi`, included in `-A`) and Linux. Elsewhere, or
 * when the descriptor cannot be found, it falls back to `close()`, and the
 * peer sees a FIN instead of a RST (and a RST only if it writes again).
 *
 * The descriptor lookups (`findTcpFd`, and `findTcpListenerFd` for a
 * listener) and the libc handle are shared with `listener_nodelay.ts`.
 *
 * @module
 */

import { parseIpv4, parseIpv6 } from "./address.ts";

const AF_INET = 2;
const AF_INET6 = 10;

/** The libc calls on kernel TCP sockets behind Deno's connections and listeners. */
export interface KernelTcpLibc {
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
  getpeername(fd: number, addr: Uint8Array, len: Uint8Array): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
}

type Libc = KernelTcpLibc;

let libc: Libc | null | undefined;

/** libc for kernel TCP sockets (Linux with FFI), or null: loaded once per process. */
export function kernelTcpLibc(): KernelTcpLibc | null {
  return loadLibc();
}

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux") return libc;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return libc;
    const lib = Deno.dlopen("libc.so.6", {
      getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
      getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
      connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
      setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
      getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
    });
    libc = lib.symbols as unknown as Libc;
  } catch {
    libc = null;
  }
  return libc;
}

/** Reusable scratch for socket addresses (sockaddr_storage is 128 bytes). */
const sockaddr = new Uint8Array(128);
const sockaddrLen = new Uint32Array(1);
const sockaddrLenBytes = new Uint8Array(sockaddrLen.buffer);
const unspec = new Uint8Array(16); // sa_family = AF_UNSPEC (0), rest zero

function addrBytes(hostname: string): Uint8Array | undefined {
  const v4 = parseIpv4(hostname);
  if (v4) return v4;
  return parseIpv6(hostname);
}

function matches(
  c: Libc,
  which: "getsockname" | "getpeername",
  fd: number,
  want: { bytes: Uint8Array; port: number },
): boolean {
  sockaddrLen[0] = sockaddr.length;
  if (c[which](fd, sockaddr, sockaddrLenBytes) !== 0) return false;
  const family = sockaddr[0] | (sockaddr[1] << 8);
  const port = (sockaddr[2] << 8) | sockaddr[3];
  if (port !== want.port) return false;
  const b = want.bytes;
  if (family === AF_INET && b.length === 4) {
    return sockaddr[4] === b[0] && sockaddr[5] === b[1] && sockaddr[6] === b[2] &&
      sockaddr[7] === b[3];
  }
  if (family === AF_INET6) {
    if (b.length === 16) {
      for (let i = 0; i < 16; i++) if (sockaddr[8 + i] !== b[i]) return false;
      return true;
    }
    // An IPv4 peer seen through a dual-stack socket: ::ffff:a.b.c.d.
    for (let i = 0; i < 10; i++) if (sockaddr[8 + i] !== 0) return false;
    return sockaddr[18] === 0xff && sockaddr[19] === 0xff && sockaddr[20] === b[0] &&
      sockaddr[21] === b[1] && sockaddr[22] === b[2] && sockaddr[23] === b[3];
  }
  return false;
}

/**
 * The file descriptor of a kernel TCP connection, or `undefined` when it
 * cannot be found (not Linux, no FFI permission, already closed).
 *
 * @param conn A connection from `Deno.connect` or `Deno.listen(...).accept()`.
 * @returns The descriptor number.
 */
export function findTcpFd(conn: Deno.Conn): number | undefined {
  const c = loadLibc();
  if (!c) return undefined;
  const l = conn.localAddr as Deno.NetAddr;
  const r = conn.remoteAddr as Deno.NetAddr;
  if (l.transport !== "tcp" || r.transport !== "tcp") return undefined;
  const lb = addrBytes(l.hostname);
  const rb = addrBytes(r.hostname);
  if (!lb || !rb) return undefined;
  const local = { bytes: lb, port: l.port };
  const remote = { bytes: rb, port: r.port };
  const key = `${l.hostname}|${l.port}|${r.hostname}|${r.port}`;
  // The index of the last scan, checked before use (a descriptor may have been reused):
  // resetting n connections at once costs one scan, not n (2000 sessions took 10 s).
  const cached = fdIndex.get(key);
  if (
    cached !== undefined && matches(c, "getsockname", cached, local) &&
    matches(c, "getpeername", cached, remote)
  ) {
    return cached;
  }
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc/self/fd");
  } catch {
    return undefined;
  }
  const fds: number[] = [];
  for (const e of entries) {
    const fd = Number(e.name);
    if (Number.isInteger(fd) && fd >= 3) fds.push(fd);
  }
  fdIndex.clear();
  let found: number | undefined;
  for (const fd of fds) {
    const k = socketKey(c, fd);
    if (k !== undefined) fdIndex.set(k, fd);
    if (found === undefined && k === key) found = fd;
  }
  // A hostname spelled differently from what getsockname gives: check each descriptor.
  if (found === undefined) {
    for (const fd of fds) {
      if (matches(c, "getsockname", fd, local) && matches(c, "getpeername", fd, remote)) {
        return fd;
      }
    }
  }
  return found;
}

/**
 * The file descriptor of a TCP listener: the socket bound to its address
 * that has no peer, or `undefined` when it cannot be found (not Linux, no
 * FFI permission, closed).
 *
 * @param ln A listener from `Deno.listen`.
 * @returns The descriptor number.
 */
export function findTcpListenerFd(ln: Deno.Listener): number | undefined {
  const c = loadLibc();
  if (!c) return undefined;
  const a = ln.addr as Deno.NetAddr;
  const bytes = a.transport === "tcp" ? addrBytes(a.hostname) : undefined;
  if (!bytes) return undefined;
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc/self/fd");
  } catch {
    return undefined;
  }
  const want = { bytes, port: a.port };
  for (const e of entries) {
    const fd = Number(e.name);
    if (!Number.isInteger(fd) || fd < 3 || !matches(c, "getsockname", fd, want)) continue;
    sockaddrLen[0] = sockaddr.length;
    if (c.getpeername(fd, sockaddr, sockaddrLenBytes) !== 0) return fd; // no peer: the listener
  }
  return undefined;
}

/** Socket descriptors by "local|lport|remote|rport", from the last scan of /proc/self/fd. */
const fdIndex = new Map<string, number>();

/** The key of a connected TCP socket's addresses as `findTcpFd` spells them, or undefined. */
function socketKey(c: Libc, fd: number): string | undefined {
  const local = sockText(c, "getsockname", fd);
  if (local === undefined) return undefined;
  const remote = sockText(c, "getpeername", fd);
  return remote === undefined ? undefined : `${local}|${remote}`;
}

/** "host|port" of a socket address (IPv4, or IPv6 as Deno prints it); undefined otherwise. */
function sockText(
  c: Libc,
  which: "getsockname" | "getpeername",
  fd: number,
): string | undefined {
  sockaddrLen[0] = sockaddr.length;
  if (c[which](fd, sockaddr, sockaddrLenBytes) !== 0) return undefined;
  const family = sockaddr[0] | (sockaddr[1] << 8);
  const port = (sockaddr[2] << 8) | sockaddr[3];
  if (family === AF_INET) {
    return `${sockaddr[4]}.${sockaddr[5]}.${sockaddr[6]}.${sockaddr[7]}|${port}`;
  }
  return undefined; // IPv6: found by the comparing pass instead
}

/**
 * Closes a kernel TCP connection abruptly: the peer receives a RST (on
 * Linux with FFI; see the module doc for the fallback).
 *
 * @param conn The connection; it is closed afterwards in every case.
 * @returns Whether a RST was sent (`false` means it fell back to a plain close).
 *
 * @example The peer sees a reset
 * ```ts
 * import assert from "node:assert/strict";
 * import { resetTcpConn } from "./kernel_reset.ts";
 *
 * const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: ln.addr.port });
 * const server = await ln.accept();
 * const sent = resetTcpConn(server);
 * const outcome = await client.read(new Uint8Array(1)).then(
 *   (n) => `read ${n}`,
 *   (e: Error) => e.name,
 * );
 * assert.equal(outcome, sent ? "ConnectionReset" : "read null");
 * client.close();
 * ln.close();
 * ```
 */
export function resetTcpConn(conn: Deno.Conn): boolean {
  let sent = false;
  const c = loadLibc();
  if (c) {
    const fd = findTcpFd(conn);
    // Linux tcp_disconnect(): RST + CLOSED, descriptor stays valid.
    if (fd !== undefined) sent = c.connect(fd, unspec, unspec.length) === 0;
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
  return sent;
}
