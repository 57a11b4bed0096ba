/**
 * TCP_NODELAY on a listening socket, so that every connection it accepts
 * has it from the start: Linux copies the listener's socket options into
 * each accepted socket (`inet_csk_clone_lock`), TCP_NODELAY included. The
 * tunnel client then skips `setNoDelay` on every accepted connection, an op
 * and a syscall per connection (≈ 3% of the client's busy time under many
 * short connections, issue 15).
 *
 * Deno has no listener option for it, so the listener's descriptor is found
 * by scanning `/proc/self/fd` for the socket bound to its address that has
 * no peer, as `kernel_reset.ts` finds a connection's. Needs Linux and FFI;
 * elsewhere {@linkcode setListenerNoDelay} returns false and the caller sets
 * the option per connection as before.
 *
 * @module
 */

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

interface Libc {
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
  getpeername(fd: number, addr: Uint8Array, len: Uint8Array): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux") return libc;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return libc;
    if (Deno.permissions.querySync({ name: "read", path: "/proc/self/fd" }).state !== "granted") {
      return libc;
    }
    libc = Deno.dlopen("libc.so.6", {
      getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
      getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
      setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
      getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
    }).symbols as unknown as Libc;
  } catch {
    libc = null;
  }
  return libc;
}

/**
 * Sets TCP_NODELAY on `ln`'s socket, so that the connections it accepts
 * have it (Linux). Returns true when it is set and reads back set.
 *
 * @param ln A listener from `Deno.listen` (TCP).
 * @returns Whether accepted connections start with TCP_NODELAY.
 *
 * @example
 * ```ts ignore
 * const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const inherited = setListenerNoDelay(ln);
 * for await (const c of ln) if (!inherited) c.setNoDelay(true);
 * ```
 */
export function setListenerNoDelay(ln: Deno.Listener): boolean {
  const c = loadLibc();
  if (c === null) return false;
  const addr = ln.addr as Deno.NetAddr;
  if (addr.transport !== "tcp") return false;
  const sa = new Uint8Array(128);
  const len = new Uint32Array(1);
  const lenBytes = new Uint8Array(len.buffer);
  const one = new Uint8Array([1, 0, 0, 0]);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc/self/fd")];
  } catch {
    return false;
  }
  for (const e of entries) {
    const fd = Number(e.name);
    if (!Number.isInteger(fd)) continue;
    len[0] = sa.length;
    if (c.getsockname(fd, sa, lenBytes) !== 0) continue;
    const family = sa[0] | (sa[1] << 8);
    if ((family !== 2 && family !== 10) || ((sa[2] << 8) | sa[3]) !== addr.port) continue;
    len[0] = sa.length;
    if (c.getpeername(fd, sa, lenBytes) === 0) continue; // a connection, not the listener
    // Ports are unique per listening address family here; the type check is the read-back.
    if (c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4) !== 0) continue;
    const v = new Uint8Array(4);
    len[0] = 4;
    if (c.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, v, lenBytes) === 0 && v[0] === 1) return true;
  }
  return false;
}
