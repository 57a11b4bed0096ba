/**
 * netcat over the tunnel: one tunnel connection between a byte source
 * (stdin) and a byte sink (stdout). EOF on the input half-closes the
 * connection (a FIN) and output keeps coming until the peer closes its
 * side; a reset from the peer ends it with an error.
 *
 * @module
 */

import { formatHostPort, type HostPort } from "./address.ts";
import { Logger } from "./log.ts";
import { copyStream } from "./pipe.ts";
import type { EndpointFactory, TunnelConn } from "./transport.ts";
import { openTouEndpoint } from "./tou_endpoint.ts";

/** Options of {@linkcode runCat}: exactly one of `connect` and `listen`. */
export interface CatOptions {
  /** Connect to this tou endpoint's service port. */
  readonly connect?: { readonly server: HostPort; readonly tunnelPort: number };
  /**
   * Listen on this UDP address and accept one connection on the service
   * port (default: the bound UDP port number).
   */
  readonly listen?: { readonly addr: HostPort; readonly tunnelPort?: number };
  /** Bytes to send (stdin). */
  readonly input: { read(p: Uint8Array): Promise<number | null> };
  /** Where received bytes go (stdout). */
  readonly output: { write(p: Uint8Array): Promise<number> };
  /** Pre-shared key; omitted means plaintext. */
  readonly key?: Uint8Array;
  /** TCP tunables. */
  readonly tcp?: Readonly<Record<string, unknown>>;
  /** Logger. */
  readonly logger?: Logger;
  /** Opens the endpoint; default the real tou endpoint. */
  readonly openEndpoint?: EndpointFactory;
  /** Called once listening, with the bound UDP address. */
  readonly onListening?: (addr: HostPort) => void;
  /** Stops waiting for a connection or tears the connection down when aborted. */
  readonly signal?: AbortSignal;
}

/** How a cat session ended. */
export interface CatResult {
  /** "closed": the peer closed normally; "reset": the connection was reset or failed. */
  readonly outcome: "closed" | "reset";
  /** Bytes sent. */
  readonly sent: number;
  /** Bytes received. */
  readonly received: number;
  /** The error for "reset". */
  readonly error?: unknown;
}

/**
 * Runs one cat session.
 *
 * @param opts Where to connect or listen, the input and output.
 * @returns How it ended.
 * @throws {Error} When the connection cannot be opened (refused, timed out).
 */
export async function runCat(opts: CatOptions): Promise<CatResult> {
  const log = opts.logger ?? new Logger();
  if ((opts.connect === undefined) === (opts.listen === undefined)) {
    throw new TypeError("runCat: give exactly one of connect and listen");
  }
  const open = opts.openEndpoint ?? openTouEndpoint;
  const bind = opts.listen?.addr ??
    { hostname: opts.connect!.server.hostname.includes(":") ? "::" : "0.0.0.0", port: 0 };
  const endpoint = await open({
    hostname: bind.hostname,
    port: bind.port,
    key: opts.key,
    tcp: opts.tcp,
    role: opts.listen ? "responder" : "initiator",
  });
  try {
    let conn: TunnelConn;
    if (opts.listen) {
      const tcpPort = opts.listen.tunnelPort ?? endpoint.addr.port;
      const listener = endpoint.listen({ tcpPort });
      opts.onListening?.(endpoint.addr);
      log.info("cat listening", {
        udp: formatHostPort(endpoint.addr),
        port: tcpPort,
        encrypted: opts.key !== undefined,
      });
      const it = listener[Symbol.asyncIterator]();
      const aborted = new Promise<never>((_, reject) => {
        if (opts.signal?.aborted) reject(opts.signal.reason);
        opts.signal?.addEventListener("abort", () => reject(opts.signal!.reason), { once: true });
      });
      try {
        const next = await Promise.race([it.next(), aborted]);
        if (next.done) throw new Error("listener closed before a connection arrived");
        conn = next.value;
      } finally {
        listener.close();
      }
      log.info("cat accepted", { peer: formatHostPort(conn.remoteAddr as Deno.NetAddr) });
    } else {
      conn = await endpoint.connect({
        hostname: opts.connect!.server.hostname,
        port: opts.connect!.server.port,
        tcpPort: opts.connect!.tunnelPort,
      });
      log.debug("cat connected", { server: formatHostPort(opts.connect!.server) });
    }
    return await session(conn, opts, log);
  } finally {
    await endpoint.close();
  }
}

async function session(conn: TunnelConn, opts: CatOptions, log: Logger): Promise<CatResult> {
  let ended = false;
  const onAbort = () => conn.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let sent = 0;
  // Runs until stdin's EOF (then half-closes) or until the session ends.
  void copyStream(opts.input, conn, { stopped: () => ended, onBytes: (n) => sent += n });
  const down = await copyStream(conn, opts.output, {
    propagateEof: false,
    stopped: () => ended,
  });
  ended = true;
  opts.signal?.removeEventListener("abort", onAbort);
  if (down.kind === "eof") {
    // The peer is done sending: finish (our FIN goes out now if stdin is still open).
    const closed = (conn as { closed?: Promise<unknown> }).closed;
    conn.close();
    if (closed) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([closed, new Promise((r) => timer = setTimeout(r, 2_000))]);
      clearTimeout(timer);
    }
    log.debug("cat closed", { sent, received: down.bytes });
    return { outcome: "closed", sent, received: down.bytes };
  }
  conn.abort();
  const error = down.kind === "stopped" ? opts.signal?.reason : down.error;
  return { outcome: "reset", sent, received: down.bytes, error };
}
