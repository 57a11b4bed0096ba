/**
 * The real transport of the tunnel: a tou {@linkcode Endpoint} on a UDP
 * socket, sealed with the pre-shared key when there is one.
 *
 * It opens through the public `openEndpoint`, handing it a socket
 * decorator. With a key, the UDP socket is wrapped in a {@linkcode SealedSocket}
 * (server side "responder", client side "initiator", so a datagram
 * reflected back to its sender never authenticates), and the TCP segment
 * budget is reduced by the seal's overhead unless the user set it, so
 * that sealed datagrams stay as large as plaintext ones would be.
 *
 * @module
 */

import { type Endpoint, openEndpoint } from "../net/endpoint.ts";
import { resolveHostname } from "../net/addr.ts";
import { InvalidOptionError, type ResolvedTouOptions, TOU_OPTION_SPECS } from "../net/mod.ts";
import type { TraceSubscriber } from "../net/trace_hub.ts";
import {
  TUNNEL_DEFAULT_CONGESTION,
  TUNNEL_DEFAULT_LOSS_TOLERANCE,
} from "../tcp/congestion/defaults.ts";
import type { DatagramSocket } from "../udp/datagram_socket.ts";
import { autoFallbackReason } from "../seal/cipher_choice.ts";
import { SEALED_OVERHEAD, SealedSocket, type SealedSocketStats } from "../seal/sealed_socket.ts";
import { formatHostPort } from "./address.ts";
import { withContext } from "./errors.ts";
import type { OpenEndpointOptions, TunnelEndpoint } from "./transport.ts";
import { type SegmentObserver, TracingSocket } from "./trace_socket.ts";
import { openPcapFile, PcapSocket } from "../udp/pcap_socket.ts";
import { SealDropWatch } from "./drop_reports.ts";
import { HeldSocket } from "../udp/held_socket.ts";

/** Whether the "auto cipher fell back to ChaCha20-Poly1305" note was logged (once per process). */
let fallbackLogged = false;

/** Options of {@linkcode openTouEndpoint}. */
export interface TouEndpointOptions extends OpenEndpointOptions {
  /** Sees every TCP segment (plaintext, before sealing); for `tou demo` and debugging. */
  readonly observe?: SegmentObserver;
  /** Writes every TCP segment (plaintext, inside the seal) to this pcap file for Wireshark. */
  readonly pcap?: string;
}

/** Counters of one tunnel endpoint, flattened for metrics. */
export type EndpointMetrics = Readonly<Record<string, number>>;

/** One connection of the endpoint as `tou stat` shows it. */
export interface EndpointConnection {
  /** Both ends: UDP address and TCP port. */
  readonly tuple: {
    /** Our side. */
    readonly local: { readonly hostname: string; readonly port: number; readonly tcpPort: number };
    /** The peer's side. */
    readonly remote: { readonly hostname: string; readonly port: number; readonly tcpPort: number };
  };
  /** TCP state name (ESTABLISHED, TIME_WAIT, ...). */
  readonly state: string;
  /** True when accepted from a listener. */
  readonly passive: boolean;
  /** TCP_INFO-like figures. */
  readonly info: {
    readonly rtt: number;
    readonly rttvar: number;
    readonly rto: number;
    readonly cwnd: number;
    readonly ssthresh: number;
    readonly mss: number;
    readonly bytesSent: number;
    readonly bytesAcked: number;
    readonly bytesReceived: number;
    readonly retransmits: number;
    readonly lost: number;
    readonly unacked: number;
    readonly sendQueue: number;
    readonly recvQueue: number;
    readonly sndWnd: number;
    readonly rcvWnd: number;
    /** Bytes per second. */
    readonly deliveryRate?: number;
    /** Bytes per second; absent when pacing is off. */
    readonly pacingRate?: number;
    /** Armed timers with the ms left. */
    readonly timers?: Readonly<Partial<Record<string, number>>>;
  };
}

/** A tunnel endpoint that can also report its connections and counters. */
export interface ObservableEndpoint extends TunnelEndpoint {
  /** Every connection of the endpoint, TIME_WAIT and embryonic ones included. */
  connections(): EndpointConnection[];
  /** Stack, UDP and seal counters. */
  metrics(): EndpointMetrics;
  /** Whether datagrams are sealed with a key. */
  readonly encrypted: boolean;
  /** The TCP options in effect (defaults filled in), as `tou stat --json` shows them. */
  readonly options: Readonly<ResolvedTouOptions>;
  /** Watches the connections (`Endpoint.subscribe`); returns the unsubscribe function. */
  subscribe(subscriber: TraceSubscriber): () => void;
}

/**
 * Opens a tou endpoint for the tunnel.
 *
 * @param opts UDP address, key, role, TCP tunables and a segment observer.
 * @returns The endpoint.
 * @throws {AddrInUseError} When the UDP address is taken (the message names it).
 * @throws {InvalidOptionError} When a tunable is out of range.
 */
export async function openTouEndpoint(opts: TouEndpointOptions): Promise<ObservableEndpoint> {
  const where = `cannot listen on udp ${formatHostPort(opts)}`;
  const tcp = opts.tcp ?? {};
  const log = opts.logger;
  const key = opts.key;
  let sealed: SealedSocket | undefined;
  let watch: SealDropWatch | undefined;
  let held: HeldSocket | undefined;
  let bound = false;
  const decorate = (udp: DatagramSocket): DatagramSocket => {
    bound = true; // called once the UDP socket is bound
    let socket = udp;
    if (key !== undefined) {
      // Drops (wrong key, replays, stale) are reported rate-limited, with bounded state.
      watch = log && new SealDropWatch(log);
      sealed = new SealedSocket(watch ? watch.below(udp) : udp, {
        psk: key,
        role: opts.role ?? "peer",
        cipher: opts.cipher,
      });
      const why = autoFallbackReason(opts.cipher);
      if (why !== undefined && log !== undefined && !fallbackLogged) {
        fallbackLogged = true;
        log.info("sealing with chacha20-poly1305: AES-256-GCM needs libcrypto", { reason: why });
      }
      socket = watch ? watch.above(sealed) : sealed;
    }
    if (opts.pcap !== undefined) socket = new PcapSocket(socket, openPcapFile(opts.pcap));
    if (opts.observe) socket = new TracingSocket(socket, opts.observe);
    if (opts.hold) socket = held = new HeldSocket(socket);
    return socket;
  };
  // The plaintext default (not openEndpoint's loopback size), less the seal's overhead when
  // sealed, so that sealed datagrams stay as large as plaintext ones would be.
  const segmentBudget = tcp.segmentBudget ??
    TOU_OPTION_SPECS.segmentBudget.default - (key === undefined ? 0 : SEALED_OVERHEAD);
  let ep: Endpoint;
  try {
    const hostname = await resolveHostname(opts.hostname, opts.hostname.includes(":") ? 6 : 4);
    // issue 9: the tunnel's paths have random loss, which BBR's model does not read as congestion
    const congestionControl = tcp.congestionControl ?? TUNNEL_DEFAULT_CONGESTION;
    const lossTolerance = tcp.lossTolerance ?? TUNNEL_DEFAULT_LOSS_TOLERANCE;
    // TCP Fast Open is on by default in the tunnel (docs/stack.md): both ends are tou, so no
    // middlebox drops SYN data, and a new stream's first bytes then reach the service half a
    // round trip after the local application sent them instead of one and a half.
    // noDelay: the relay writes what the kernel socket delivered, already coalesced; Nagle
    // would hold a request's second write for the ACK of its first (a delayed ACK away).
    // lazyAcks: a relay closes its side when the other side's FIN arrives, so the ACK of a
    // FIN rides on the FIN that follows, and the ACK of a Fast Open SYN-ACK on the close or
    // the next request (two datagrams less per short connection).
    ep = await openEndpoint({
      fastOpen: true,
      noDelay: true,
      lazyAcks: true,
      ...tcp,
      congestionControl,
      lossTolerance,
      segmentBudget,
      hostname,
      port: opts.port,
      ...(opts.udpReusePort ? { udpReusePort: true } : {}),
      decorate,
    });
  } catch (e) {
    watch?.close();
    // Only a failure to resolve or bind the address gets the "cannot listen on udp …" context.
    throw bound || e instanceof InvalidOptionError ? e : withContext(e, where);
  }
  return new TouTunnelEndpoint(ep, sealed, watch, held);
}

class TouTunnelEndpoint implements ObservableEndpoint {
  readonly #ep: Endpoint;
  readonly #sealed: SealedSocket | undefined;
  readonly #watch: SealDropWatch | undefined;

  readonly #held: HeldSocket | undefined;

  constructor(
    ep: Endpoint,
    sealed: SealedSocket | undefined,
    watch: SealDropWatch | undefined,
    held: HeldSocket | undefined,
  ) {
    this.#ep = ep;
    this.#sealed = sealed;
    this.#watch = watch;
    this.#held = held;
  }

  serve(): void {
    this.#held?.release();
  }

  get addr(): { hostname: string; port: number } {
    return { hostname: this.#ep.addr.hostname, port: this.#ep.addr.port };
  }

  get encrypted(): boolean {
    return this.#sealed !== undefined;
  }

  get options(): Readonly<ResolvedTouOptions> {
    return this.#ep.options;
  }

  listen(opts: { readonly tcpPort: number; readonly backlog?: number }) {
    return this.#ep.listen(opts);
  }

  subscribe(subscriber: TraceSubscriber): () => void {
    return this.#ep.subscribe(subscriber);
  }

  connect(
    opts: {
      readonly hostname: string;
      readonly port: number;
      readonly tcpPort: number;
      readonly fastOpen?: boolean;
      readonly signal?: AbortSignal;
    },
  ) {
    return this.#ep.connect(opts);
  }

  /**
   * Lets closing connections finish their FIN exchange (up to `graceMs`,
   * default 2 s), then closes (UDP socket released).
   */
  async close(opts: { readonly graceMs?: number } = {}): Promise<void> {
    await this.#ep.closeGracefully({ timeout: opts.graceMs ?? 2_000 });
    this.#watch?.close();
  }

  connections(): EndpointConnection[] {
    return this.#ep.connections();
  }

  metrics(): EndpointMetrics {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.#ep.counters)) {
      if (typeof v === "number") out[`stack_${snake(k)}`] = v;
    }
    for (const [k, v] of Object.entries(this.#ep.listenerCounters())) {
      out[`listen_${snake(k)}`] = v;
    }
    for (const [k, v] of Object.entries(this.#ep.dropCounters())) out[`tcp_${snake(k)}`] = v;
    for (const [k, v] of Object.entries(this.#ep.limitGauges())) out[`stack_${snake(k)}`] = v;
    for (const [k, v] of Object.entries(this.#ep.udpStats() ?? {})) {
      if (typeof v === "number") out[`udp_${snake(k)}`] = v;
    }
    if (this.#sealed) {
      const s: SealedSocketStats = this.#sealed.stats;
      for (const [k, v] of Object.entries(s)) {
        if (typeof v === "number") out[`seal_${snake(k)}`] = v;
      }
    }
    return out;
  }
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
