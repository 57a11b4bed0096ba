/**
 * Raises the kernel buffers of a UDP socket that Deno opened, which Deno
 * has no API for (docs/udp.md: the default 208 KiB `SO_RCVBUF` holds ≈ 90
 * full-size datagrams). Benchmark tooling only (Linux, needs FFI): the
 * socket's file descriptor is found through `/proc/net/udp` (the inode of the
 * socket bound to the port) and `/proc/self/fd`, then libc's `setsockopt` is
 * called on it. As root `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE` lift the
 * `net.core.rmem_max` cap; otherwise the plain options are capped by it.
 *
 * @module
 */

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;

type Libc = {
  setsockopt: (fd: number, level: number, name: number, val: Uint8Array, len: number) => number;
  getsockopt: (fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array) => number;
};

let libc: Libc | undefined | null;

function openLibc(): Libc | undefined {
  if (libc !== undefined) return libc ?? undefined;
  try {
    const lib = Deno.dlopen("libc.so.6", {
      setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
      getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
    });
    libc = lib.symbols as unknown as Libc;
  } catch {
    libc = null;
  }
  return libc ?? undefined;
}

/** Inodes of this namespace's UDP sockets bound to `port`. */
function inodesOfPort(port: number): Set<string> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const out = new Set<string>();
  for (const f of ["/proc/net/udp", "/proc/net/udp6"]) {
    try {
      for (const line of Deno.readTextFileSync(f).split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length > 9 && cols[1].endsWith(hex)) out.add(cols[9]);
      }
    } catch { /* no table */ }
  }
  return out;
}

/** This process's file descriptor of the UDP socket bound to `port`, or undefined. */
export function udpSocketFd(port: number): number | undefined {
  const inodes = inodesOfPort(port);
  if (inodes.size === 0) return undefined;
  try {
    for (const e of Deno.readDirSync("/proc/self/fd")) {
      let link: string;
      try {
        link = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m !== null && inodes.has(m[1])) return Number(e.name);
    }
  } catch { /* no /proc */ }
  return undefined;
}

/** Effective buffer sizes after {@linkcode raiseUdpBuffers} (as getsockopt reports them). */
export interface SocketBuffers {
  /** SO_RCVBUF in bytes (the kernel doubles what was asked, for its bookkeeping). */
  readonly rcv: number;
  /** SO_SNDBUF in bytes. */
  readonly snd: number;
}

/**
 * Sets SO_RCVBUF and SO_SNDBUF of this process's UDP socket bound to `port`
 * to `bytes`; returns the sizes now in force, or undefined when the socket
 * or libc cannot be reached (nothing changed then).
 *
 * @example
 * ```ts ignore
 * const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * console.log(raiseUdpBuffers((s.addr as Deno.NetAddr).port, 4 << 20)); // { rcv: 8388608, ... }
 * ```
 */
export function raiseUdpBuffers(port: number, bytes: number): SocketBuffers | undefined {
  const c = openLibc();
  const fd = udpSocketFd(port);
  if (c === undefined || fd === undefined) return undefined;
  const val = new Uint8Array(4);
  new DataView(val.buffer).setInt32(0, bytes, true);
  const set = (force: number, plain: number) => {
    if (c.setsockopt(fd, SOL_SOCKET, force, val, 4) !== 0) {
      c.setsockopt(fd, SOL_SOCKET, plain, val, 4);
    }
  };
  set(SO_RCVBUFFORCE, SO_RCVBUF);
  set(SO_SNDBUFFORCE, SO_SNDBUF);
  const get = (name: number) => {
    const out = new Uint8Array(4);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, 4, true);
    return c.getsockopt(fd, SOL_SOCKET, name, out, len) === 0
      ? new DataView(out.buffer).getInt32(0, true)
      : Number.NaN;
  };
  return { rcv: get(SO_RCVBUF), snd: get(SO_SNDBUF) };
}
