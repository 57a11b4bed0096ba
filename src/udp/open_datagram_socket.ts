/**
 * Backend selection: the kernel UDP backend ({@linkcode KernelUdpSocket},
 * libc over FFI: batched calls, GSO/GRO, real buffer sizes) where it can
 * run, else `Deno.listenDatagram` ({@linkcode DenoUdpSocket}).
 *
 * @module
 */

import type { DatagramSocket } from "./datagram_socket.ts";
import { DenoUdpSocket } from "./deno_udp_socket.ts";
import { kernelUdpAvailable, KernelUdpSocket } from "./kernel_udp_socket.ts";

/**
 * Which UDP backend to use: "kernel" (libc over FFI; fails without
 * `--allow-ffi` or off Linux), "deno" (`Deno.listenDatagram`), or "auto"
 * (kernel when available, else deno). The `TOU_UDP_BACKEND` environment
 * variable overrides "auto" (benchmarks use it to compare backends).
 *
 * @example Forcing the portable backend
 * ```ts
 * import assert from "node:assert/strict";
 * import { openEndpoint, type UdpBackend } from "../../mod.ts";
 * const backend: UdpBackend = "deno";
 * await using ep = await openEndpoint({ hostname: "127.0.0.1", udpBackend: backend });
 * assert.ok(ep.addr.port > 0);
 * ```
 */
export type UdpBackend = "auto" | "kernel" | "deno";

/** The backends, for validation. */
export const UDP_BACKENDS: readonly UdpBackend[] = ["auto", "kernel", "deno"];

/**
 * Options of {@linkcode openDatagramSocket}.
 *
 * @example
 * ```ts
 * import type { OpenDatagramSocketOptions } from "./open_datagram_socket.ts";
 * const o: OpenDatagramSocketOptions = { hostname: "127.0.0.1", backend: "auto" };
 * void o;
 * ```
 */
export interface OpenDatagramSocketOptions {
  /** Local IP literal; default "0.0.0.0". */
  hostname?: string;
  /** Local port; default 0 (ephemeral). */
  port?: number;
  /** Backend; default "auto". */
  backend?: UdpBackend;
  /**
   * Payload bytes the receive buffer should absorb (kernel backend: the
   * requested SO_RCVBUF); default 8 MiB.
   */
  receiveBufferBytes?: number;
  /**
   * Set `SO_REUSEPORT` so that several processes share the port (the kernel
   * spreads datagrams among them by a hash of the 4-tuple). Only the kernel
   * backend can: `Deno.listenDatagram` has no such option, so "auto" then
   * means "kernel" and "deno" is refused. Default false.
   */
  reusePort?: boolean;
  /** Where one-time notices go (fallbacks); default `console.warn`. */
  log?: (message: string) => void;
}

/** A socket from {@linkcode openDatagramSocket}: either backend. */
export type OpenedDatagramSocket = (DenoUdpSocket | KernelUdpSocket) & DatagramSocket;

let saidNoKernel = false;

/**
 * Opens a UDP socket on the chosen backend.
 *
 * @param opts Local address, backend, buffer size, log.
 * @returns The bound socket.
 * @throws {Deno.errors.NotSupported} When "kernel" is asked for and cannot run here.
 * @throws {AddrInUseError} When the address is already bound.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openDatagramSocket } from "./open_datagram_socket.ts";
 * const s = await openDatagramSocket({ hostname: "127.0.0.1", backend: "deno" });
 * assert.ok(s.localAddr.port > 0);
 * s.close();
 * await s.closed;
 * ```
 */
export function openDatagramSocket(
  opts: OpenDatagramSocketOptions = {},
): Promise<OpenedDatagramSocket> {
  try {
    const backend = opts.reusePort
      ? reusePortBackend(opts.backend ?? "auto")
      : pickUdpBackend(opts.backend ?? "auto", opts.log);
    const local = { hostname: opts.hostname ?? "0.0.0.0", port: opts.port ?? 0 };
    if (backend === "kernel") {
      return Promise.resolve(KernelUdpSocket.bind({
        ...local,
        ...(opts.receiveBufferBytes === undefined
          ? {}
          : { receiveBufferBytes: opts.receiveBufferBytes }),
        ...(opts.log === undefined ? {} : { log: opts.log }),
        ...(opts.reusePort ? { reusePort: true } : {}),
      }));
    }
    return Promise.resolve(DenoUdpSocket.bind(local));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The backend of a socket that must set SO_REUSEPORT: the kernel one, or a
 * `NotSupported` error saying why it cannot be had.
 */
function reusePortBackend(backend: UdpBackend): "kernel" {
  const why = "SO_REUSEPORT needs the kernel UDP backend (Deno.listenDatagram cannot set it)";
  if (backend === "deno") throw new Deno.errors.NotSupported(why);
  const a = kernelUdpAvailable();
  if (!a.ok) throw new Deno.errors.NotSupported(`${why}: ${a.reason}`);
  return "kernel";
}

/**
 * Resolves "auto" (and the `TOU_UDP_BACKEND` override) to a concrete backend.
 *
 * @param backend The requested backend.
 * @param log Told once per process when "auto" falls back to "deno".
 * @returns "kernel" or "deno".
 * @throws {Deno.errors.NotSupported} When "kernel" is asked for and cannot run here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pickUdpBackend } from "./open_datagram_socket.ts";
 * assert.equal(pickUdpBackend("deno"), "deno");
 * ```
 */
export function pickUdpBackend(
  backend: UdpBackend,
  log?: (message: string) => void,
): "kernel" | "deno" {
  if (backend === "auto") {
    let env: string | undefined;
    try {
      env = Deno.env.get("TOU_UDP_BACKEND");
    } catch {
      env = undefined; // no --allow-env: no override
    }
    if (env === "kernel" || env === "deno") backend = env;
  }
  if (backend === "deno") return "deno";
  const a = kernelUdpAvailable();
  if (a.ok) return "kernel";
  if (backend === "kernel") {
    throw new Deno.errors.NotSupported(`Cannot use the kernel UDP backend: ${a.reason}`);
  }
  if (!saidNoKernel && log !== undefined) {
    saidNoKernel = true;
    log(`tou udp: using Deno.listenDatagram (kernel UDP backend unavailable: ${a.reason})`);
  }
  return "deno";
}
