/**
 * Lab scenarios about a listener's two queues: the accept queue bounded by
 * `backlog` and the SYN queue that a SYN flood fills (the seeds' 全连接队列
 * and 半连接队列).
 *
 * @module
 */

import { emitEnvelope, EnvelopeType } from "../wire/envelope.ts";
import { seq } from "../wire/seq.ts";
import { emitSegment } from "../wire/tcp_codec.ts";
import type { LabScenario } from "./scenario.ts";
import type { LabWorld } from "./world.ts";

const sec = (t: number | undefined) => (t === undefined ? "never" : `${(t / 1000).toFixed(3)} s`);

/** Accept-queue overflow: the backlog is full and the application does not accept. */
export const backlog: LabScenario = {
  name: "backlog",
  title: "listen(backlog): the accept queue fills when the application does not accept",
  watch: [
    "backlog bounds the accept queue of ESTABLISHED connections (Linux since 2.2); up to backlog + 1 wait.",
    "With backlog 1 and no accept(), client2 takes the last place; client3's final ACK finds the queue",
    "  full and is dropped: client3 believes it is ESTABLISHED, the server keeps it in SYN_RCVD and",
    "  retransmits its SYN-ACK (tcp_abort_on_overflow = 0; abortOnOverflow would send RST).",
    "client4's SYN arrives while the queue is full and is dropped; client4 retransmits it after 1 s.",
    "Once the application accepts, the retransmissions get client3 and client4 in.",
  ],
  run(w) {
    const server = w.host("server", "127.0.0.1");
    w.app("server", "listen(80, backlog 1), and does not accept() yet");
    const l = server.listen(80, { backlog: 1 });
    const hosts = [1, 2, 3, 4].map((i) => w.host(`client${i}`, `127.0.0.${i + 1}`));
    const conns = hosts.map((h, i) => {
      if (i !== 2) w.run(100); // client3 connects together with client2
      server.setNextIsn((i + 1) * 10_000);
      h.setNextIsn((i + 1) * 1000);
      w.app(`client${i + 1}`, "connect(server, 80)");
      return h.connect(server.localAddr, 80, { localPort: 40001 + i });
    });
    w.run(200);
    const states = conns.map((c) => c.state);
    const serverSide = hosts.map((_, i) =>
      server.connections().find((c) => c.remotePort === 40001 + i)?.state ?? "none"
    );
    const queued = l.acceptQueue.length;
    w.run(1500);
    w.app("server", "accept(), accept()");
    l.accept();
    l.accept();
    w.run(8000);
    return [
      `at 0.5 s: clients ${states.join(", ")}; server side ${serverSide.join(", ")}`,
      `at 0.5 s: ${queued} connections wait in the accept queue (backlog 1 → up to 2)`,
      `final ACKs dropped for a full accept queue (listenOverflows): ${l.counters.listenOverflows}`,
      `SYNs dropped for a full accept queue (listenDrops): ${l.counters.listenDrops}`,
      `client3 ESTABLISHED on the server at ${sec(lastEst(w, 40003))}, ` +
      `client4 at ${sec(lastEst(w, 40004))}`,
      `connections now waiting in the accept queue: ${l.acceptQueue.length}`,
    ];
  },
};

/** When the server's connection with peer TCP port `port` became ESTABLISHED. */
function lastEst(w: LabWorld, port: number): number | undefined {
  return w.lines.find((x) =>
    x.who === "server" && x.kind === "state" && x.text.includes("→ ESTABLISHED") &&
    x.text.includes(`:${port} `)
  )?.time;
}

/** A SYN flood fills the SYN queue; a real client gets in only after it drains. */
export const synFlood: LabScenario = {
  name: "syn-flood",
  title: "SYN flood: spoofed SYNs fill the SYN queue (half-open connections)",
  watch: [
    "An attacker sends 300 SYNs from spoofed ports and never answers the SYN-ACKs.",
    "Each SYN creates a SYN_RCVD connection in the SYN queue (256 here, like tcp_max_syn_backlog).",
    "A real client's SYN finds the queue full and is dropped silently; it retransmits with backoff.",
    "The half-open connections give up after 5 SYN-ACK retransmissions (63 s), then the client gets in.",
  ],
  run(w) {
    // synCookies 0: shows the queue itself (tou's default, 1, answers a full queue with SYN cookies)
    const server = w.host("server", "127.0.0.1", { isn: 5000, synQueueLimit: 256, synCookies: 0 });
    w.app("server", "listen(80)");
    const l = server.listen(80);
    const attacker = w.network.bind({ hostname: "127.0.0.66", port: 7000 });
    attacker.setHandler(() => {});
    w.nameAddr(attacker.localAddr, "attacker");
    w.mute("attacker");
    const buf = new Uint8Array(128);
    for (let i = 0; i < 300; i++) {
      const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 0);
      const len = n + emitSegment(
        {
          srcPort: 10000 + i,
          dstPort: 80,
          seq: seq(i * 7919),
          ack: seq(0),
          flags: 0x02,
          window: 65535,
          urgentPointer: 0,
          options: { mss: 1400 },
          payload: new Uint8Array(0),
        },
        buf,
        n,
      );
      attacker.send(buf.subarray(0, len), server.localAddr);
    }
    w.line("attacker", "app", "sends 300 SYNs from ports 10000–10299 (not shown)");
    w.run(50);
    const flooded = l.synQueue.size;
    const dropsAfterFlood = l.counters.synQueueDrops;
    const client = w.host("client", "127.0.0.2", { isn: 1000 });
    w.app("client", "connect(server, 80)");
    const c = client.connect(server.localAddr, 80, { localPort: 40000 });
    w.runUntilIdle(200_000);
    return [
      `SYN queue after the flood: ${flooded} half-open connections; ` +
      `${dropsAfterFlood} of the attacker's SYNs were already dropped`,
      `the client's SYNs dropped for a full SYN queue: ${
        l.counters.synQueueDrops - dropsAfterFlood
      }`,
      `the client reached ESTABLISHED at ${
        sec(w.stateTime("client", "ESTABLISHED"))
      } (state now ${c.state})`,
      `segments to and from the attacker, not shown: ${w.mutedSegments}`,
    ];
  },
};
