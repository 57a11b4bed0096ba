/**
 * Lab scenarios about closing: the four-way close, simultaneous close,
 * half-close, TIME_WAIT and its lost-ACK case, SO_REUSEADDR, FIN_WAIT_2
 * timeout, and the closes that reset instead.
 *
 * @module
 */

import type { Stack } from "../stack/stack.ts";
import type { StackConnection } from "../stack/stack_connection.ts";
import type { TcpConfig } from "../tcp/config.ts";
import type { LabScenario } from "./scenario.ts";
import type { LabWorld } from "./world.ts";
import { twoHosts } from "./scenarios_open.ts";

const ACK = 0x10;
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The client closes first, the server 100 ms later after reading EOF, and
 * the client's last ACK (sent in TIME_WAIT) is lost; runs until idle.
 */
export function closeLosingLastAck(w: LabWorld, c: StackConnection, s: StackConnection): void {
  w.dropNext(
    "client",
    (x) => x.flags === ACK && x.payload.length === 0 && c.state === "TIME_WAIT",
    "the client's last ACK",
  );
  w.app("client", "close()");
  c.close();
  w.run(100);
  w.app("server", "close() after reading EOF");
  s.close();
  w.runUntilIdle();
}

/** Reads what is available; returns the text and whether EOF was reached. */
export function readAvailable(c: StackConnection): { text: string; eof: boolean } {
  const buf = new Uint8Array(65536);
  let text = "";
  for (;;) {
    const n = c.read(buf);
    if (n > 0) text += dec.decode(buf.subarray(0, n));
    else return { text, eof: n < 0 };
  }
}

/** Both hosts and both ends of an established connection. */
export interface Established {
  /** The server host's stack. */
  readonly server: Stack;
  /** The client host's stack. */
  readonly client: Stack;
  /** The client's end (port 40000). */
  readonly c: StackConnection;
  /** The server's end (port 80). */
  readonly s: StackConnection;
}

/** Opens client:40000 → server:80 and returns both ends once ESTABLISHED. */
export function established(w: LabWorld, tcp: Partial<TcpConfig> = {}): Established {
  const { server, client } = twoHosts(w, tcp);
  const l = server.listen(80);
  w.app("client", "connect(server, 80)");
  const c = client.connect(server.localAddr, 80, { localPort: 40000 });
  w.run(50);
  let s = l.accept();
  // With --loss the handshake may need retransmissions: wait (bounded) for it.
  for (let t = 0; s === undefined && t < 120_000; t += 50) {
    w.run(50);
    s = l.accept();
  }
  if (!s) throw new Error("lab: the handshake did not complete within 120 s");
  l.close();
  return { server, client, c, s };
}

const sec = (t: number | undefined) => (t === undefined ? "never" : `${(t / 1000).toFixed(3)} s`);

/** The four-way close (RFC 9293 §3.6, the seeds' 四次挥手). */
export const close: LabScenario = {
  name: "close",
  title: "the four-way close and TIME_WAIT (RFC 9293 §3.6)",
  watch: [
    "The active closer goes FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT; the passive one CLOSE_WAIT → LAST_ACK → CLOSED.",
    "The FIN reaches the server's application as EOF, after the data queued before it.",
    "The server stays in CLOSE_WAIT until its application calls close().",
    "TIME_WAIT lasts 2·MSL (MSL 30 s as on Linux) and then the connection is gone.",
  ],
  run(w) {
    const { client, c, s } = established(w);
    w.app("client", 'write("bye"); close()');
    c.write(enc.encode("bye"));
    c.close();
    w.run(100);
    const got = readAvailable(s);
    w.app("server", `read() → "${got.text}", then read() → EOF`);
    w.run(400);
    w.app("server", "close()");
    s.close();
    w.runUntilIdle();
    const tw = w.stateTime("client", "TIME_WAIT");
    const closed = w.lines.findLast((l) => l.who === "client" && l.text.includes("→ CLOSED"))
      ?.time;
    return [
      `the server read "${got.text}" and then EOF (eof=${got.eof})`,
      `the server sat in CLOSE_WAIT from ${sec(w.stateTime("server", "CLOSE_WAIT"))} ` +
      `to ${sec(w.stateTime("server", "LAST_ACK"))} (until its close())`,
      `the client was in TIME_WAIT from ${sec(tw)} to ${sec(closed)}: ` +
      `${((closed ?? 0) - (tw ?? 0)) / 1000} s = 2·MSL`,
      `connections left on the client: ${client.connections().length}`,
    ];
  },
};

/** Simultaneous close through CLOSING (RFC 9293 §3.6, figure 13). */
export const simultaneousClose: LabScenario = {
  name: "simultaneous-close",
  title: "simultaneous close: both FINs cross, both sides pass CLOSING (RFC 9293 §3.6)",
  watch: [
    "Both sides send FIN at the same moment: ESTABLISHED → FIN_WAIT_1.",
    "Each gets the other's FIN before the ACK of its own: FIN_WAIT_1 → CLOSING.",
    "The ACKs arrive: CLOSING → TIME_WAIT on both sides.",
  ],
  run(w) {
    const { c, s } = established(w);
    w.app("client", "close()");
    c.close();
    w.app("server", "close()");
    s.close();
    w.run(200);
    return [
      `client: ${c.state}, server: ${s.state}`,
      `CLOSING reached: client ${sec(w.stateTime("client", "CLOSING"))}, ` +
      `server ${sec(w.stateTime("server", "CLOSING"))}`,
    ];
  },
};

/** Half-close with shutdown(SHUT_WR) (the seeds' 半关闭). */
export const halfClose: LabScenario = {
  name: "half-close",
  title: "half-close: closeWrite() sends FIN, the other direction keeps flowing",
  watch: [
    "The client sends its request and closeWrite(): FIN, FIN_WAIT_1 → FIN_WAIT_2.",
    "The server reads the request, then EOF, and is in CLOSE_WAIT — yet it can still write.",
    "The client, in FIN_WAIT_2, keeps receiving and reads every byte before the server's FIN.",
  ],
  run(w) {
    const { c, s } = established(w);
    w.app("client", 'write("request"); closeWrite()');
    c.write(enc.encode("request"));
    c.closeWrite();
    w.run(100);
    const req = readAvailable(s);
    w.app("server", `read() → "${req.text}", then EOF; writes 3 replies while in ${s.state}`);
    for (const part of ["reply-1 ", "reply-2 ", "reply-3"]) {
      s.write(enc.encode(part));
      w.run(30);
    }
    w.app("server", "close()");
    s.close();
    w.run(200);
    const rep = readAvailable(c);
    w.app("client", `read() → "${rep.text}", then EOF`);
    w.run(100);
    const fw2 = w.stateTime("client", "FIN_WAIT_2") ?? 0;
    const tw = w.stateTime("client", "TIME_WAIT") ?? Infinity;
    const dataSegs =
      w.lines.filter((l) =>
        l.who === "server" && l.kind === "segment" && /length [1-9]/.test(l.text) &&
        l.time >= fw2 && l.time < tw + 1
      ).length;
    return [
      `the server got "${req.text}" + EOF and still sent "${rep.text}"`,
      `the client stayed in FIN_WAIT_2 from ${sec(fw2)} to ${sec(tw)} while the server sent ` +
      `${dataSegs} data segments; it read all of them, then EOF (eof=${rep.eof})`,
    ];
  },
};

/** TIME_WAIT with the last ACK lost: the FIN comes again and 2MSL restarts. */
export const timeWait: LabScenario = {
  name: "time-wait",
  title: "why TIME_WAIT: the last ACK is lost and the peer's FIN comes again (RFC 9293 §3.6)",
  watch: [
    "The client's final ACK is lost, so the server, in LAST_ACK, retransmits its FIN after its RTO.",
    "The client is still in TIME_WAIT, so it can ACK that FIN again — and restarts its 2·MSL timer.",
    "Without TIME_WAIT the retransmitted FIN would have met a RST and the server would see an error.",
  ],
  run(w) {
    const { c, s } = established(w);
    closeLosingLastAck(w, c, s);
    const tw = w.stateTime("client", "TIME_WAIT") ?? 0;
    const closed = w.lines.findLast((l) => l.who === "client" && l.text.includes("→ CLOSED"))
      ?.time ?? 0;
    const fins = w.countSent("server", /Flags \[F/);
    const lastFin = w.lines.findLast((l) => l.who === "server" && l.text.includes("Flags [F"))
      ?.time ?? 0;
    return [
      `the server sent its FIN ${fins} times; the server ended ${s.state} with ${
        s.error ? "error " + s.error.kind : "no error"
      }`,
      `the client entered TIME_WAIT at ${sec(tw)} and left at ${sec(closed)}: ` +
      `2·MSL after the retransmitted FIN arrived (${sec(lastFin + w.delay)})`,
    ];
  },
};

/** SO_REUSEADDR and the TIME_WAIT port rules. */
export const reuseAddr: LabScenario = {
  name: "reuseaddr",
  title: "a restarted server, TIME_WAIT and SO_REUSEADDR",
  watch: [
    "The server closes first, so the server's port 80 connection is the one in TIME_WAIT.",
    "listen(80) again fails with 'address in use' — the restart problem SO_REUSEADDR solves.",
    "With reuseAddress the listen works; the exact 4-tuple in TIME_WAIT is still refused.",
  ],
  run(w) {
    const { server, c, s } = established(w);
    w.app("server", "close() first (the server is the active closer)");
    s.close();
    w.run(100);
    w.app("client", "close() after EOF");
    c.close();
    w.run(100);
    const out: string[] = [`server connection state: ${s.state}`];
    const attempt = (what: string, fn: () => unknown) => {
      try {
        fn();
        w.app("server", `${what} → ok`);
        out.push(`${what}: ok`);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        w.app("server", `${what} → ${msg}`);
        out.push(`${what}: ${msg}`);
      }
    };
    attempt("listen(80)", () => server.listen(80));
    attempt("listen(80, { reuseAddress: true })", () => server.listen(80, { reuseAddress: true }));
    attempt(
      "connect(client:40000) from port 80 with reuseAddress",
      () => server.connect(s.remote, 40000, { localPort: 80, reuseAddress: true }),
    );
    return out;
  },
};
