/**
 * Lab scenario about connected UDP (the seeds' "UDP 连接和断开套接字"):
 * connect records the peer and sends nothing, filters other sources,
 * delivers port-unreachable as an error only when connected, re-targets,
 * and `connect({ family: "unspec" })` dissolves the association.
 *
 * @module
 */

import type { DatagramAddr } from "../udp/datagram_socket.ts";
import type { LabScenario } from "./scenario.ts";
import type { LabWorld } from "./world.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Connected-UDP semantics, step by step. */
export const udpConnect: LabScenario = {
  name: "udp-connect",
  title: "connected UDP: connect() records a peer, filters, gets ICMP errors, AF_UNSPEC undoes it",
  watch: [
    "An unconnected socket receives from anyone, and a port-unreachable notice for it is lost: nothing can match it to the socket.",
    "connect(server1) sends no packet at all; it only records the peer: send() needs no address, and datagrams from server2 are filtered.",
    "Connected to a port where nothing listens, the ICMP port-unreachable comes back as 'connection refused'.",
    "connect() again re-targets; connect({ family: 'unspec' }) (AF_UNSPEC) dissolves the association, and send() without an address then fails.",
  ],
  run(w) {
    const client = w.network.bind({ hostname: "127.0.0.2", port: 5000 });
    const server1 = w.network.bind({ hostname: "127.0.0.1", port: 9001 });
    const server2 = w.network.bind({ hostname: "127.0.0.3", port: 9002 });
    const nobody: DatagramAddr = { hostname: "127.0.0.1", port: 9999 };
    w.nameAddr(client.localAddr, "client");
    w.nameAddr(server1.localAddr, "server1");
    w.nameAddr(server2.localAddr, "server2");
    w.nameAddr(nobody, "127.0.0.1:9999");
    const received: string[] = [];
    const errors: string[] = [];
    client.setHandler(
      (data, from) => {
        const text = dec.decode(data);
        received.push(text);
        w.line("client", "event", `receives "${text}" from ${w.nameOf(from)}`);
      },
      (err) => {
        errors.push(err.name);
        w.line("client", "event", `error: ${err.name}: ${err.message}`);
      },
    );
    for (const [name, s] of [["server1", server1], ["server2", server2]] as const) {
      s.setHandler((data, from) => {
        w.line(name, "event", `receives "${dec.decode(data)}", answers with sendto()`);
        s.send(enc.encode(`hi from ${name}`), from);
      });
    }
    let seen = 0;
    const step = (ms = 100) => {
      w.run(ms);
      seen = narrate(w, seen);
    };
    const send = (text: string, to?: DatagramAddr) => {
      w.app("client", to ? `sendto(${w.nameOf(to)}, "${text}")` : `send("${text}")`);
      try {
        client.send(enc.encode(text), to);
      } catch (e) {
        const err = e as Error;
        errors.push(err.name);
        w.line("client", "event", `send failed: ${err.name}: ${err.message}`);
      }
      step();
    };

    w.note("1. unconnected");
    send("ping", server1.localAddr);
    send("ping", server2.localAddr);
    send("anyone there?", nobody);
    const datagramsBefore = w.network.stats().sent;
    w.note("2. connect(server1)");
    w.app("client", "connect(server1)");
    client.connect(server1.localAddr);
    step();
    const sentByConnect = w.network.stats().sent - datagramsBefore;
    send("ping");
    w.app("server2", `sendto(client, "unsolicited")`);
    server2.send(enc.encode("unsolicited"), client.localAddr);
    step();
    w.note("3. connect to a port where nothing is bound");
    w.app("client", "connect(127.0.0.1:9999)");
    client.connect(nobody);
    send("anyone there?");
    w.note("4. connect(server2): re-target");
    w.app("client", "connect(server2)");
    client.connect(server2.localAddr);
    send("ping");
    w.note("5. connect({ family: 'unspec' }): disconnect");
    w.app("client", "connect({ family: 'unspec' })");
    client.connect({ family: "unspec" });
    send("ping");
    send("ping", server1.localAddr);
    w.app("server2", `sendto(client, "unsolicited")`);
    server2.send(enc.encode("unsolicited"), client.localAddr);
    step();
    for (const s of [client, server1, server2]) s.close();
    return [
      `datagrams sent by connect(): ${sentByConnect}`,
      `the client received: ${received.map((r) => `"${r}"`).join(", ")}`,
      `errors the client saw: ${errors.join(", ")}`,
      `datagrams filtered by the connected socket: ${w.network.stats().drops.filtered}`,
    ];
  },
};

/** Adds the network's drops and notices since record `seen` to the timeline; returns the new count. */
function narrate(w: LabWorld, seen: number): number {
  const records = w.network.trace.records();
  for (const r of records.slice(seen)) {
    if (r.kind === "drop" && r.reason === "filtered") {
      w.lineAt(
        r.time,
        "client",
        "event",
        `drops a datagram from ${w.nameOf(r.from)}: not the connected peer`,
      );
    } else if (r.kind === "unreachable") {
      w.lineAt(
        r.time,
        "",
        "note",
        `nothing is bound at ${w.nameOf(r.to)}: an ICMP port-unreachable goes back`,
      );
    } else if (r.kind === "notice" && r.reason === "ignored") {
      w.lineAt(
        r.time,
        "client",
        "event",
        "the port-unreachable notice is ignored: the socket is not connected",
      );
    }
  }
  return records.length;
}
