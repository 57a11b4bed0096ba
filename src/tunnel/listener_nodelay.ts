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
 * no peer (`findTcpListenerFd` in `kernel_reset.ts`). Needs Linux and FFI;
 * elsewhere {@linkcode setListenerNoDelay} returns false and the caller sets
 * the option per connection as before.
 *
 * @module
 */

import { findTcpListenerFd, kernelTcpLibc } from "./kernel_reset.ts";

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

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
  const c = kernelTcpLibc();
  const fd = c === null ? undefined : findTcpListenerFd(ln);
  if (c === null || fd === undefined) return false;
  if (c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array([1, 0, 0, 0]), 4) !== 0) {
    return false;
  }
  const v = new Uint8Array(4);
  const len = new Uint32Array([4]);
  return c.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, v, new Uint8Array(len.buffer)) === 0 &&
    v[0] === 1;
}
