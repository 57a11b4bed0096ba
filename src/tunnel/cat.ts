/**
 * netcat over the tunnel: one tunnel connection between a byte source
 * (stdin) and a byte sink (stdout). EOF on the input half-closes the
 * connection (a FIN) and output keeps coming until the peer closes its
 * side. Like OpenBSD nc, a session ends when both directions reached EOF;
 * a reset (or a failed write to the output) ends it at once, as "reset".
 *
 * @module
 */

import type { SessionLimitOptions } from "./session_limits.ts";
import { type CipherChoice, sendingAead } from "../seal/cipher_choice.ts";
import type { TouOptions } from "../net/mod.ts";
import { formatHostPort, type HostPort } from "./address.ts";
import { Logger } from "./log.ts";
import { type CopyResult, copyStream } from "./pipe.ts";
import type { EndpointFactory, TunnelConn } from "./transport.ts";
import { openTouEndpoint } from "./tou_endpoint.ts";
import { connectTimeoutSignal, DEFAULT_CONNECT_TIMEOUT_S, tunnelTcp } from "./dead_peer.ts";

/** Options of {@linkcode runCat}: exactly one of `connect` and `listen`. */
export interface CatOptions extends SessionLimitOptions {
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
  /** AEAD this side seals with when keyed (it opens both). Default "auto". */
  readonly cipher?: CipherChoice;
  /** TCP tunables (they override the dead-peer defaults). */
  readonly tcp?: TouOptions;
  /** Keepalive idle time in ms, 0 off; see `dead_peer.ts`. Default 10 s. */
  readonly keepAliveMs?: number;
  /** User timeout in ms, 0 off; see `dead_peer.ts`. Default 20 s. */
  readonly userTimeoutMs?: number;
  /** How long connecting may take. Default 8 s. */
  readonly connectTimeoutMs?: number;
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
    cipher: opts.cipher,
    tcp: tunnelTcp(opts.tcp, opts),
    logger: log,
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
        cipher: opts.key !== undefined ? sendingAead(opts.cipher).name : "none",
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
        signal: anySignal(
          connectTimeoutSignal(opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_S * 1000),
          opts.signal,
        ),
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
  let received = 0;
  const stopped = () => ended;
  // stdin -> conn: EOF becomes a FIN; conn -> stdout: until the peer's FIN.
  const up = copyStream(opts.input, conn, { stopped, onBytes: (n) => sent += n })
    .then((r) => ({ dir: "up" as const, r }));
  const down = copyStream(conn, opts.output, {
    propagateEof: false,
    stopped,
    onBytes: (n) => received += n,
  }).then((r) => ({ dir: "down" as const, r }));
  // Like OpenBSD nc: done when both directions reached EOF, or at the first failure.
  let failure: CopyResult | undefined;
  const first = await Promise.race([up, down]);
  if (first.r.kind !== "eof") {
    failure = first.r;
  } else {
    const second = await (first.dir === "up" ? down : up);
    if (second.r.kind !== "eof") failure = second.r;
  }
  ended = true;
  opts.signal?.removeEventListener("abort", onAbort);
  if (failure === undefined) {
    const closed = (conn as { closed?: Promise<unknown> }).closed;
    conn.close();
    if (closed) {
      // Let the last ACK of our FIN arrive before the endpoint goes away.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([closed, new Promise((r) => timer = setTimeout(r, 2_000))]);
      clearTimeout(timer);
    }
    log.debug("cat closed", { sent, received });
    return { outcome: "closed", sent, received };
  }
  conn.abort();
  const error = "error" in failure ? failure.error : opts.signal?.reason;
  log.debug("cat reset", { sent, received });
  return { outcome: "reset", sent, received, error };
}

function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b === undefined ? a : AbortSignal.any([a, b]);
}
