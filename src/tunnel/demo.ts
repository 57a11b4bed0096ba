/**
 * `tou demo`: a TCP echo service, a tunnel server, a tunnel client and a
 * test application, all on loopback in one process. The application pushes
 * data through the tunnel, reads the echo back, and the demo prints what
 * happened: bytes, time, throughput, RTT, retransmissions, and the
 * handshake and close segments as the client's tou stack saw them.
 *
 * @module
 */

import { sendingAead } from "../seal/cipher_choice.ts";
import { formatHostPort } from "./address.ts";
import { TunnelClient } from "./client.ts";
import { Logger } from "./log.ts";
import { copyStream } from "./pipe.ts";
import { TunnelServer } from "./server.ts";
import { type ObservableEndpoint, openTouEndpoint } from "./tou_endpoint.ts";
import { describeSegment } from "./trace_socket.ts";
import type { TunnelConn } from "./transport.ts";

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /** Bytes pushed through the tunnel (and echoed back). Default 20 MiB. */
  readonly bytes?: number;
  /** Seal datagrams with a random key. Default true. */
  readonly encrypt?: boolean;
  /** Receives each output line. Default `console.log`. */
  readonly print?: (line: string) => void;
  /** Log level of the tunnel's own logs (to stderr). Default "warn". */
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /** Write the client's TCP segments (plaintext) to this pcap file. */
  readonly pcap?: string;
}

/** What the demo measured. */
export interface DemoResult {
  /** Bytes sent by the application. */
  readonly sent: number;
  /** Bytes it read back. */
  readonly received: number;
  /** Whether the echo's SHA-256 equals the data's. */
  readonly sha256Equal: boolean;
  /** Wall time of the transfer in ms. */
  readonly ms: number;
  /** Smoothed RTT of the client's tunnel connection, ms. */
  readonly rtt: number;
  /** Segments it retransmitted. */
  readonly retransmits: number;
  /** Segments seen on the client's tunnel connection. */
  readonly segments: number;
  /** The handshake and close lines printed. */
  readonly trace: readonly string[];
}

interface TracedSegment {
  readonly t: number;
  readonly dir: "in" | "out";
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  readonly len: number;
  readonly line: string;
}

const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const ACK = 0x10;

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Picks the segments worth showing: the handshake, every FIN/RST and the ACK of each FIN. */
export function selectTrace(segs: readonly TracedSegment[]): TracedSegment[] {
  const out: TracedSegment[] = [];
  const pendingFin: TracedSegment[] = [];
  for (const s of segs) {
    const handshake = (s.flags & SYN) !== 0 ||
      (out.length > 0 && out.length < 3 && s.len === 0 && (out.at(-1)!.flags & SYN) !== 0);
    let acksFin = false;
    for (let i = 0; i < pendingFin.length; i++) {
      const f = pendingFin[i];
      if (f.dir !== s.dir && (s.flags & ACK) && ((s.ack - (f.seq + f.len + 1)) | 0) >= 0) {
        acksFin = true;
        pendingFin.splice(i, 1);
        break;
      }
    }
    if ((s.flags & FIN) !== 0) pendingFin.push(s);
    if (handshake || acksFin || (s.flags & (FIN | RST)) !== 0) out.push(s);
  }
  return out;
}

/**
 * Runs the demo.
 *
 * @param opts Size, encryption, output.
 * @returns The measurements.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const total = opts.bytes ?? 20 * 1024 * 1024;
  const print = opts.print ?? ((l: string) => console.log(l));
  const log = new Logger({ level: opts.logLevel ?? "warn" });
  const key = (opts.encrypt ?? true) ? crypto.getRandomValues(new Uint8Array(32)) : undefined;

  // 1. A TCP echo service.
  const echo = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echoLoop = (async () => {
    for await (const c of echo) {
      copyStream(c, c).finally(() => {
        try {
          c.close();
        } catch { /* closed */ }
      });
    }
  })().catch(() => {});

  // 2. The tunnel server forwarding tunnel port 7 to it.
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: echo.addr.port } }],
    key,
    logger: log.child({ role: "server" }),
  });

  // 3. The tunnel client, whose segments we watch.
  const segs: TracedSegment[] = [];
  let t0 = -1;
  const client = await TunnelClient.start({
    server: { hostname: "127.0.0.1", port: server.addr.port },
    locals: [{ listen: { hostname: "127.0.0.1", port: 0 }, tunnelPort: 7 }],
    key,
    logger: log.child({ role: "client" }),
    openEndpoint: (o) =>
      openTouEndpoint({
        ...o,
        pcap: opts.pcap,
        observe: (dir, _peer, seg) => {
          const now = performance.now();
          if (t0 < 0) t0 = now;
          const interesting = (seg.flags & (SYN | FIN | RST)) !== 0 || seg.payload.length === 0;
          segs.push({
            t: now - t0,
            dir,
            flags: seg.flags,
            seq: seg.seq,
            ack: seg.ack,
            len: seg.payload.length,
            line: interesting ? describeSegment(seg) : "",
          });
        },
      }),
  });
  const local = client.listeners[0].addr;

  print("tou demo: a TCP echo service reached through a tou tunnel, all on loopback");
  print(`  echo service   tcp ${formatHostPort(echo.addr)}`);
  print(
    `  tou server     udp ${formatHostPort(server.addr)}, tunnel port 7 -> ${
      formatHostPort(echo.addr)
    }`,
  );
  print(
    `  tou client     tcp ${formatHostPort(local)} -> tunnel port 7 via udp ${
      formatHostPort(server.addr)
    }`,
  );
  print(
    `  encryption     ${key ? `${sendingAead().name}, random pre-shared key` : "none (plaintext)"}`,
  );
  print(`Pushing ${mib(total)} through the tunnel and reading the echo back...`);

  // 4. The application: send everything, half-close, read the echo to EOF.
  const data = new Uint8Array(total);
  for (let off = 0; off < total; off += 65536) {
    crypto.getRandomValues(data.subarray(off, Math.min(total, off + 65536)));
  }
  const back = new Uint8Array(total);
  const start = performance.now();
  const app = await Deno.connect({ hostname: local.hostname, port: local.port });
  let tunnelConn: TunnelConn | undefined;
  const writer = (async () => {
    let off = 0;
    while (off < total) off += await app.write(data.subarray(off, Math.min(total, off + 65536)));
    await app.closeWrite();
  })();
  let received = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    tunnelConn ??= client.relay.sessions()[0]?.conn;
    const n = await app.read(buf);
    if (n === null) break;
    back.set(buf.subarray(0, Math.min(n, total - received)), received);
    received += n;
  }
  await writer;
  const ms = performance.now() - start;
  app.close();

  // 5. Wait for the tunnel connection's close handshake to finish.
  const closed = (tunnelConn as { closed?: Promise<unknown> } | undefined)?.closed;
  if (closed) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([closed, new Promise((r) => timer = setTimeout(r, 3_000))]);
    clearTimeout(timer);
  }
  type Info = { rtt: number; rto: number; cwnd: number; mss: number; retransmits: number };
  const info = (tunnelConn as { info?(): Info } | undefined)?.info?.();
  const equal = received === total && (await sha256(data)) === (await sha256(back));

  const udp = (ep: unknown) => {
    const m = (ep as Partial<ObservableEndpoint>).metrics?.() ?? {};
    return { sent: m.udp_sent ?? 0, dropped: m.udp_send_dropped ?? 0 };
  };
  const clientUdp = udp(client.endpoint);
  const serverUdp = udp(server.endpoint);
  await client.close({ drainTimeoutMs: 1_000 });
  await server.close({ drainTimeoutMs: 1_000 });
  echo.close();
  await echoLoop;

  // 6. Report.
  const shown = selectTrace(segs);
  const trace: string[] = [];
  let lastIndex = -1;
  for (const s of shown) {
    const idx = segs.indexOf(s);
    const skipped = segs.slice(lastIndex + 1, idx);
    if (skipped.length > 3) {
      const bytes = skipped.reduce((a, x) => a + x.len, 0);
      trace.push(`  ... ${skipped.length} segments (${mib(bytes)} of data and their ACKs) ...`);
    } else {
      for (const k of skipped) trace.push(traceLine(k));
    }
    trace.push(traceLine(s));
    lastIndex = idx;
  }
  print("");
  print("The client's tunnel connection, segment by segment (tcpdump style;");
  print("Flags: S = SYN, . = ACK, P = PUSH, F = FIN, R = RST):");
  for (const l of trace) print(l);
  print("");
  const secs = ms / 1000;
  print("Result");
  print(
    `  sent ${total} bytes, got ${received} bytes back, sha256 ${equal ? "equal" : "DIFFERENT"}`,
  );
  print(
    `  time ${secs.toFixed(2)} s, throughput ${
      (total / (1024 * 1024) / secs).toFixed(1)
    } MiB/s each way`,
  );
  if (info) {
    print(
      `  tunnel connection: rtt ${info.rtt.toFixed(2)} ms, rto ${Math.round(info.rto)} ms, ` +
        `mss ${info.mss}, cwnd ${
          info.mss > 0 ? Math.round(info.cwnd / info.mss) : 0
        } segments, retransmits ${info.retransmits}`,
    );
  }
  print(`  segments on the client's tunnel connection: ${segs.length}`);
  print(
    `  UDP datagrams sent: client ${clientUdp.sent}, server ${serverUdp.sent}; dropped by a ` +
      `full send queue: client ${clientUdp.dropped}, server ${serverUdp.dropped}`,
  );
  return {
    sent: total,
    received,
    sha256Equal: equal,
    ms,
    rtt: info?.rtt ?? 0,
    retransmits: info?.retransmits ?? 0,
    segments: segs.length,
    trace,
  };
}

function traceLine(s: TracedSegment): string {
  const who = s.dir === "out" ? "client > server" : "server > client";
  const line = s.line !== "" ? s.line : `data segment, length ${s.len}`;
  return `  ${`+${s.t.toFixed(3)} ms`.padStart(14)}  ${who}  ${line}`;
}
