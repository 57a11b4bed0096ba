/**
 * Lab scenarios about opening a connection: the three-way handshake,
 * simultaneous open, SYN retransmission with backoff, and a refused connect.
 *
 * @module
 */

import type { Stack } from "../stack/stack.ts";
import type { TcpConfig } from "../tcp/config.ts";
import type { LabScenario } from "./scenario.ts";
import type { LabWorld } from "./world.ts";

const ms = (t: number | undefined): string => (t === undefined ? "never" : `${t} ms`);

/** Client and server hosts with fixed ISNs (1000 and 5000) so sequence numbers read easily. */
export function twoHosts(
  w: LabWorld,
  tcp: Partial<TcpConfig> = {},
): { server: Stack; client: Stack } {
  const server = w.host("server", "127.0.0.1", { isn: 5000, tcp });
  const client = w.host("client", "127.0.0.2", { isn: 1000, tcp });
  return { server, client };
}

/** The three-way handshake (RFC 9293 §3.5). */
export const handshake: LabScenario = {
  name: "handshake",
  title: "the three-way handshake (RFC 9293 §3.5)",
  watch: [
    "SYN, SYN-ACK, ACK: each SYN takes one sequence number, so the ACK of ISN 1000 is 1001.",
    "The client is ESTABLISHED after one round trip, the server half a round trip later.",
    "The SYNs carry the options both sides agree on: MSS, window scale, SACK-permitted, timestamps.",
    "The server's connection waits in the SYN queue (SYN_RCVD), then in the accept queue.",
  ],
  run(w) {
    const { server, client } = twoHosts(w, { timestamps: true });
    w.app("server", "listen(80)");
    const l = server.listen(80);
    w.app("client", "connect(server, 80)");
    const c = client.connect(server.localAddr, 80, { localPort: 40000 });
    w.run(35);
    const queued = l.acceptQueue.length;
    w.app("server", "accept()");
    const s = l.accept();
    w.run(5);
    const info = c.info();
    return [
      `client ESTABLISHED at ${ms(w.stateTime("client", "ESTABLISHED"))} ` +
      `(RTT ${2 * w.delay} ms), server at ${ms(w.stateTime("server", "ESTABLISHED"))}`,
      `ISNs: client ${c.tcp.iss}, server ${s?.tcp.iss}; ` +
      `the client's ACK acknowledges ${c.tcp.rcvNxt} = server ISN + 1`,
      `connections waiting in the accept queue before accept(): ${queued}`,
      `negotiated: MSS ${info.mss}, window scale ${info.sndWscale}/${info.rcvWscale}, ` +
      `SACK ${info.sack}, timestamps ${info.timestamps}`,
    ];
  },
};

/** Simultaneous open (RFC 9293 §3.5, figure 8). */
export const simultaneousOpen: LabScenario = {
  name: "simultaneous-open",
  title: "simultaneous open: both sides connect at once (RFC 9293 §3.5)",
  watch: [
    "Both sides send a SYN and go CLOSED → SYN_SENT.",
    "Each receives the other's SYN while in SYN_SENT, answers SYN-ACK and goes to SYN_RCVD.",
    "Each SYN-ACK completes the other side: four segments, no listener anywhere.",
  ],
  run(w) {
    const a = w.host("a", "127.0.0.1", { isn: 1000 });
    const b = w.host("b", "127.0.0.2", { isn: 5000 });
    w.app("a", "connect(b, port 6000) from port 5000");
    const ca = a.connect(b.localAddr, 6000, { localPort: 5000 });
    w.app("b", "connect(a, port 5000) from port 6000");
    const cb = b.connect(a.localAddr, 5000, { localPort: 6000 });
    w.run(100);
    return [
      `a: ${ca.state}, b: ${cb.state}`,
      `a went through SYN_RCVD at ${ms(w.stateTime("a", "SYN_RCVD"))}, ` +
      `b at ${ms(w.stateTime("b", "SYN_RCVD"))}`,
      `segments sent: a ${w.countSent("a", /./)}, b ${w.countSent("b", /./)}`,
    ];
  },
};

/** SYN retransmission with exponential backoff, then a timed-out connect. */
export const synRetries: LabScenario = {
  name: "syn-retries",
  title: "SYN retransmission with exponential backoff (RFC 6298 §5, RFC 9293 §3.8.1)",
  watch: [
    "The peer never answers: every SYN is lost.",
    "The SYN is sent again after 1 s, then 2 s, 4 s, 8 s ...: the RTO doubles each time.",
    "After synRetries retransmissions (6, as Linux tcp_syn_retries) connect fails: timed out.",
  ],
  run(w) {
    const { server, client } = twoHosts(w);
    server.listen(80);
    w.dropNext("client", (s) => (s.flags & 0x02) !== 0, "the network loses every SYN", 100);
    w.app("client", "connect(server, 80)");
    const c = client.connect(server.localAddr, 80, { localPort: 40000 });
    w.runUntilIdle();
    const times = w.lines.filter((l) => l.who === "client" && l.kind === "segment").map((l) =>
      l.time / 1000
    );
    return [
      `SYNs sent at ${times.map((t) => `${t} s`).join(", ")}`,
      `the connection failed with: ${c.error?.kind}: ${c.error?.detail}`,
    ];
  },
};

/** A SYN to a port where nothing listens is answered with RST: connection refused. */
export const refused: LabScenario = {
  name: "refused",
  title: "connection refused: a SYN to a port with no listener gets RST (RFC 9293 §3.10.7.1)",
  watch: [
    "No socket owns port 81, so the server's stack answers the SYN with RST+ACK.",
    "The client accepts the RST because it acknowledges its SYN, and reports 'refused'.",
  ],
  run(w) {
    const { server, client } = twoHosts(w);
    server.listen(80);
    w.app("client", "connect(server, 81)");
    const c = client.connect(server.localAddr, 81, { localPort: 40000 });
    w.run(100);
    return [
      `client error: ${c.error?.kind}: ${c.error?.detail}`,
      `server RSTs for segments to no socket: ${server.counters.rstsForNoSocket}`,
    ];
  },
};
