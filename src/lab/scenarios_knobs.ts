/**
 * Lab scenarios for Linux knobs the notes use to tame TIME_WAIT and
 * orphaned connections: tcp_tw_reuse and tcp_orphan_retries
 * (docs/linux-knobs.md).
 *
 * @module
 */

import type { LabScenario } from "./scenario.ts";
import { established } from "./scenarios_close.ts";

const FIN = 0x01;
const sec = (t: number | undefined) => (t === undefined ? "never" : `${(t / 1000).toFixed(3)} s`);

/** tcp_tw_reuse: a new connect() takes the 4-tuple still in TIME_WAIT, 1 s after its last timestamp. */
export const twReuse: LabScenario = {
  name: "tw-reuse",
  title: "tcp_tw_reuse: a connect() reuses a 4-tuple still in TIME_WAIT, thanks to timestamps",
  watch: [
    "The client closes first and sits in TIME_WAIT on its only ephemeral port, 40000.",
    "At once, a new connect() finds no free port: the 4-tuple waits 2·MSL (60 s) by default.",
    "One second after the server's last timestamp, tcp_tw_reuse (2: loopback) lets connect() take it:",
    "the new SYN starts 65537 above the old SND.NXT and its TSval is newer than any old one (PAWS).",
  ],
  run(w) {
    const server = w.host("server", "127.0.0.1", { isn: 5000, tcp: { timestamps: true } });
    const client = w.host("client", "127.0.0.2", {
      isn: 1000,
      tcp: { timestamps: true },
      ephemeralPortRange: [40000, 40000],
    });
    const l = server.listen(80);
    w.app("client", "connect(server, 80)");
    const c = client.connect(server.localAddr, 80);
    w.run(50);
    const s = l.accept()!;
    w.app("client", "close()");
    c.close();
    w.run(20);
    w.app("server", "close()");
    s.close();
    w.run(20);
    const oldSndNxt = c.tcp.sndNxt;
    let refused = "";
    try {
      w.app("client", "connect(server, 80) again, at once");
      client.connect(server.localAddr, 80);
    } catch (e) {
      refused = (e as Error).message;
      w.note(`connect() failed: ${refused}`);
    }
    w.run(1_000);
    w.app("client", "connect(server, 80) again, 1 s later");
    const again = client.connect(server.localAddr, 80);
    w.run(50);
    return [
      `the client entered TIME_WAIT at ${sec(w.stateTime("client", "TIME_WAIT"))}; ` +
      `the first retry failed: ${refused || "it did not"}`,
      `the retry 1 s later took port ${again.localPort} (timeWaitReused = ` +
      `${client.counters.timeWaitReused}) with ISS ${again.tcp.iss} = old SND.NXT ` +
      `${oldSndNxt} + 65537, and reached ${again.state}`,
    ];
  },
};

/** tcp_orphan_retries: the FIN of a closed (orphaned) connection is retransmitted 8 times (0 means 8). */
export const orphanRetries: LabScenario = {
  name: "orphan-retries",
  title: "tcp_orphan_retries: how long an orphaned connection retransmits its FIN",
  watch: [
    "The client calls close(): no application owns the connection any more (it is orphaned).",
    "Every FIN it sends is lost, so it retransmits with exponential backoff.",
    "Orphans use tcp_orphan_retries, not tcp_retries2: 0 (Linux's default) means 8 retransmissions,",
    "then the connection is dropped. Set orphanRetries to change it.",
  ],
  run(w) {
    const { client, c } = established(w);
    w.dropNext("client", (x) => (x.flags & FIN) !== 0, "every FIN of the client", 100);
    w.app("client", "close()");
    c.close();
    w.runUntilIdle();
    const fins = w.countSent("client", /Flags \[F/);
    return [
      `the client sent its FIN ${fins} times (1 + ${fins - 1} retransmissions; ` +
      `orphanRetries = ${client.config.orphanRetries}, retries = ${client.config.retries})`,
      `it was dropped at ${sec(w.stateTime("client", "CLOSED"))} with ` +
      `${c.error ? "error " + c.error.kind : "no error"}`,
    ];
  },
};
