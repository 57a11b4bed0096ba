/**
 * What the tunnel needs from a tou endpoint, as structural types. The real
 * endpoint of `src/net/` satisfies them (see `tou_endpoint.ts`); anything
 * else that does (e.g. a fake in a test) can be injected through an
 * {@linkcode EndpointFactory}.
 *
 * @module
 */

import type { TouOptions } from "../net/mod.ts";
import type { Logger } from "./log.ts";
import type { CipherChoice } from "../seal/cipher_choice.ts";

/** A tunnel connection: a `Deno.Conn` that can also be reset. */
export interface TunnelConn extends Deno.Conn {
  /** Drops the connection with a RST. Pending reads and writes fail. */
  abort(reason?: unknown): void;
}

/** A tunnel listener: accepted connections as an async iterable. */
export interface TunnelListener extends AsyncIterable<TunnelConn> {
  /** Stops accepting; new SYNs to this port get a RST. Idempotent. */
  close(): void;
}

/** Address of a tou endpoint's UDP socket. */
export interface TunnelAddr {
  /** IP literal. */
  readonly hostname: string;
  /** UDP port. */
  readonly port: number;
}

/** A tou endpoint as the tunnel uses it. */
export interface TunnelEndpoint {
  /** The bound UDP address. */
  readonly addr: TunnelAddr;
  /** Listens on a TCP port inside the tunnel. */
  listen(opts: { readonly tcpPort: number; readonly backlog?: number }): TunnelListener;
  /**
   * Opens a tunnel connection to `tcpPort` of the endpoint at `hostname:port`
   * (`fastOpen`: TCP Fast Open, the first write may ride on the SYN).
   */
  connect(
    opts: {
      readonly hostname: string;
      readonly port: number;
      readonly tcpPort: number;
      readonly fastOpen?: boolean;
      /** Aborts the handshake; the promise rejects with the signal's reason. */
      readonly signal?: AbortSignal;
    },
  ): Promise<TunnelConn>;
  /**
   * Closes the endpoint (every connection with it), letting closing
   * connections finish their FIN exchange for up to `graceMs` when given.
   */
  close(opts?: { readonly graceMs?: number }): void | Promise<void>;
  /**
   * Starts reading datagrams when the endpoint was opened with `hold`
   * (what arrived meanwhile waits in the socket's buffer); nothing otherwise.
   */
  serve?(): void;
}

/** Options the tunnel passes when opening an endpoint. */
export interface OpenEndpointOptions {
  /** UDP address to bind. */
  readonly hostname: string;
  /** UDP port to bind; 0 picks one. */
  readonly port: number;
  /** Pre-shared key: every datagram sealed with it. Omitted: plaintext. */
  readonly key?: Uint8Array;
  /** AEAD the endpoint seals with when keyed (it opens both). Default "auto". */
  readonly cipher?: CipherChoice;
  /** TCP tunables (validated by the net options schema). */
  readonly tcp?: TouOptions;
  /** Seal role: the side that listens is the "responder", the side that connects the "initiator". */
  readonly role?: "initiator" | "responder";
  /** Where the endpoint reports problems with its peers (e.g. a peer whose clock is off). */
  readonly logger?: Logger;
  /**
   * Read no datagram until {@linkcode TunnelEndpoint.serve}: a server opens
   * its listeners first, so a SYN that arrives while it starts is answered
   * by its listener, not reset for a port without one.
   */
  readonly hold?: boolean;
  /**
   * Share the UDP port with other processes (SO_REUSEPORT; the kernel UDP
   * backend only): `tou server --workers`.
   */
  readonly udpReusePort?: boolean;
}

/** Opens an endpoint; injected so tests can replace the tou stack. */
export type EndpointFactory = (opts: OpenEndpointOptions) => Promise<TunnelEndpoint>;
