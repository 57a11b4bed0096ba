/**
 * Lab scenarios about reliability and flow control: retransmission (fast
 * retransmit and RTO), the zero window and persist probes, keepalive, and
 * the resets that close() and abort() send.
 *
 * @module
 */

import type { LabScenario } from "./scenario.ts";
import { established, readAvailable } from "./scenarios_close.ts";

const sec = (t: number | undefined) => (t === undefined ? "never" : `${(t / 1000).toFixed(3)} s`);

/** Fast retransmit on three duplicate ACKs, and a retransmission timeout for a lost tail. */
export const retransmission: LabScenario = {
  name: "retransmission",
  title: "loss: fast retransmit on 3 duplicate ACKs (RFC 5681 §3.2) and the RTO (RFC 6298)",
  watch: [
    "The client sends 8 full segments; the 3rd is lost.",
    "Every segment after the hole makes the server ACK at once with the same ack (a duplicate ACK) and a SACK block.",
    "On the third duplicate ACK the client retransmits the hole without waiting for its timer; cwnd is halved (NewReno).",
    "Later a lone last segment is lost: no duplicate ACKs can come, so only the retransmission timer (RTO) recovers it.",
  ],
  run(w) {
    const { c, s } = established(w, { noDelay: true });
    const mss = c.info().mss;
    let sent = 0;
    w.dropNext("client", (x) => x.payload.length > 0 && ++sent === 3, "the 3rd data segment");
    w.app("client", `write(${8 * mss} bytes): 8 segments of ${mss}`);
    c.write(new Uint8Array(8 * mss));
    w.run(300);
    const cwndAfterFast = c.info().cwnd;
    readAvailable(s);
    w.app("client", "write(100 bytes): one small segment, which is lost");
    w.dropNext("client", (x) => x.payload.length === 100, "the only segment in flight");
    c.write(new Uint8Array(100));
    w.run(1500);
    const got = readAvailable(s);
    const info = c.info();
    const dupAcks = w.countSent("server", /ack (\d+).*sack/);
    const rto = w.lines.find((l) =>
      l.who === "client" && l.kind === "segment" && l.text.endsWith("length 100")
    );
    const rtx = w.lines.findLast((l) =>
      l.who === "client" && l.kind === "segment" && l.text.endsWith("length 100")
    );
    return [
      `duplicate ACKs with SACK blocks from the server: ${dupAcks}`,
      `cwnd after fast recovery: ${cwndAfterFast} bytes`,
      `the lost tail was sent at ${sec(rto?.time)} and retransmitted at ${sec(rtx?.time)} ` +
      `(RTO ${info.rto} ms, rtt ${info.rtt} ms)`,
      `retransmissions in all: ${info.retransmits}; the server received ${
        8 * mss + got.text.length
      } bytes`,
    ];
  },
};

/** The zero window and persist-timer probes (RFC 9293 §3.8.6.1). */
export const zeroWindow: LabScenario = {
  name: "zero-window",
  title:
    "flow control: a reader that stops, the zero window and persist probes (RFC 9293 §3.8.6.1)",
  watch: [
    "The server's application does not read, so its receive buffer (8 KiB here) fills and it advertises win 0.",
    "The client stops sending data and probes the window instead, backing off (persist timer).",
    "When the application reads, the server sends a window update and the data flows again.",
  ],
  run(w) {
    const { c, s } = established(w, { recvBufferSize: 8192, windowScaling: false });
    w.app("client", "write(20000 bytes)");
    const data = new Uint8Array(20000);
    let written = c.write(data);
    w.run(5000);
    const probes = w.countSent("client", /length 1$/);
    const zeroAt = w.lines.find((l) => l.who === "server" && l.text.includes("win 0,"))?.time;
    w.app("server", "read() everything");
    let got = readAvailable(s).text.length;
    for (let i = 0; i < 20 && got < 20000; i++) {
      w.run(200);
      if (written < data.length) written += c.write(data.subarray(written));
      got += readAvailable(s).text.length;
    }
    return [
      `the server advertised a zero window at ${sec(zeroAt)}`,
      `window probes sent by the client while the window was closed: ${probes}`,
      `after the reads the server got ${got} of 20000 bytes`,
    ];
  },
};

/** Keepalive finds a dead peer (RFC 1122 4.2.3.6). */
export const keepalive: LabScenario = {
  name: "keepalive",
  title: "keepalive: probing an idle connection and finding a dead peer (RFC 1122 4.2.3.6)",
  watch: [
    "Keepalive is off by default; here the client turns it on with idle 10 s, interval 2 s, 3 probes (Linux: 7200 s, 75 s, 9).",
    "A probe is an ACK with seq = SND.NXT - 1; a live peer answers it with an ACK.",
    "Then the network fails: the probes go unanswered, and after 3 of them the connection is timed out.",
  ],
  run(w) {
    const { c } = established(w);
    w.app("client", "setKeepAlive(true, idle 10 s, interval 2 s, count 3)");
    c.setKeepAlive(true, { idle: 10_000, interval: 2_000, count: 3 });
    w.run(12_000);
    const answered = w.countSent("server", /Flags \[\.\]/);
    w.note("the network between client and server goes down: every datagram is lost from now on");
    w.network.setPath("127.0.0.1", "127.0.0.2", {
      ...w.link,
      partitions: [{ from: w.now, to: Number.POSITIVE_INFINITY }],
    });
    w.run(30_000);
    const probes = w.countSent("client", /Flags \[\.\]/) - 1;
    return [
      `keepalive probes answered while the server was alive: ${answered}`,
      `probes sent in all: ${probes}`,
      `the client's connection: ${c.state}, error ${c.error?.kind}: ${c.error?.detail}`,
      `declared dead at ${
        sec(w.lines.find((l) => l.who === "client" && l.text.includes("error"))?.time)
      }`,
    ];
  },
};

/** close() with unread data, and abort() (SO_LINGER 0): both reset. */
export const resets: LabScenario = {
  name: "resets",
  title: "closes that reset: close() with unread data, and abort() (linger 0)",
  watch: [
    "The server closes while 5 bytes it never read are in its buffer: RFC 1122 4.2.2.13 says send RST, not FIN.",
    "The client sees 'connection reset' and skips TIME_WAIT altogether.",
    "abort() (SO_LINGER with 0) resets at once: no FIN, no TIME_WAIT, on either side.",
  ],
  run(w) {
    const { server, client, c, s } = established(w);
    w.app("client", 'write("hello")');
    c.write(new TextEncoder().encode("hello"));
    w.run(100);
    w.app("server", "close() without reading");
    s.close();
    w.run(100);
    const first =
      `server: ${s.state}; client: ${c.state}, error ${c.error?.kind}: ${c.error?.detail}`;
    const l = server.listen(81);
    const c2 = client.connect(server.localAddr, 81, { localPort: 40001 });
    w.run(100);
    const s2 = l.accept();
    w.app("client", "abort() on a second connection");
    c2.abort();
    w.run(100);
    return [
      first,
      `second connection after abort(): client ${c2.state}, server ${s2?.state}, ` +
      `server error ${s2?.error?.kind}: ${s2?.error?.detail}`,
      `RSTs sent by the server: ${w.countSent("server", /Flags \[R/)}, ` +
      `by the client: ${w.countSent("client", /Flags \[R/)}`,
    ];
  },
};
