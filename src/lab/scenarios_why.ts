/**
 * Lab scenarios that show why TCP's rules exist by breaking them: a
 * TIME_WAIT made too short (the last FIN meets a RST; an old duplicate
 * lands in a new connection), a port connecting to itself, and the initial
 * sequence numbers of RFC 6528.
 *
 * @module
 */

import type { StackConnection } from "../stack/stack_connection.ts";
import type { TcpConfig } from "../tcp/config.ts";
import type { LabScenario } from "./scenario.ts";
import { closeLosingLastAck, readAvailable } from "./scenarios_close.ts";
import type { LabWorld } from "./world.ts";

const sec = (t: number | undefined) => (t === undefined ? "never" : `${(t / 1000).toFixed(3)} s`);

/** A fixed RFC 6528 secret per host, so that every run picks the same ISNs. */
function secret(n: number): Uint8Array {
  return new Uint8Array(16).map((_, i) => (n * 31 + i * 7) & 0xff);
}

/** Runs until `done()` or `limitMs` of virtual time passed, in `step` ms steps. */
function runUntil(w: LabWorld, done: () => boolean, limitMs: number, step = 10): void {
  for (let t = 0; t < limitMs && !done(); t += step) w.run(step);
}

/** Connects client:40000 → server:80 and waits (bounded) for the accept. */
function connectAndAccept(
  w: LabWorld,
  client: ReturnType<LabWorld["host"]>,
  server: ReturnType<LabWorld["host"]>,
  l: ReturnType<ReturnType<LabWorld["host"]>["listen"]>,
): { c: StackConnection; s: StackConnection } {
  const c = client.connect(server.localAddr, 80, { localPort: 40000, reuseAddress: true });
  let s = l.accept();
  for (let t = 0; s === undefined && t < 120_000; t += 10) {
    w.run(10);
    s = l.accept();
  }
  if (s === undefined) throw new Error("lab: the handshake did not complete within 120 s");
  return { c, s };
}

/** TIME_WAIT shorter than the peer's retransmission timeout: the last FIN meets a RST. */
export const shortTimeWait: LabScenario = {
  name: "short-time-wait",
  title: "TIME_WAIT made too short: the retransmitted last FIN is answered by RST",
  watch: [
    "The client's MSL is cut to 10 ms, so its TIME_WAIT lasts 20 ms instead of 60 s.",
    "The client's last ACK is lost; the server, in LAST_ACK, retransmits its FIN after its RTO.",
    "By then the client's connection is gone: a FIN for no connection is answered with a RST.",
    "The server never learns that its FIN arrived: its close ends in an error (compare: tou lab time-wait).",
  ],
  run(w) {
    // the timeline the tests pin: NewReno and a fixed window
    const tcp: Partial<TcpConfig> = { msl: 10, congestionControl: "newreno", recvAutoTune: false };
    const server = w.host("server", "127.0.0.1", { isn: 5000 });
    const client = w.host("client", "127.0.0.2", { isn: 1000, tcp });
    const l = server.listen(80);
    w.app("client", "connect(server, 80), with MSL 10 ms: TIME_WAIT = 2·MSL = 20 ms");
    const { c, s } = connectAndAccept(w, client, server, l);
    l.close();
    closeLosingLastAck(w, c, s);
    const rsts = w.countSent("client", /Flags \[R/);
    return [
      `the client left TIME_WAIT at ${
        sec(
          w.lines.findLast((l) => l.who === "client" && l.text.includes("TIME_WAIT → CLOSED"))
            ?.time,
        )
      }, after ${2 * 10} ms`,
      `the server retransmitted its FIN ${w.countSent("server", /Flags \[F/) - 1} time(s); ` +
      `the client answered with ${rsts} RST(s)`,
      `the server left LAST_ACK by "${
        w.states.findLast((x) => x.who === "server")?.cause
      }", not by the ACK of its FIN: it cannot tell whether its FIN (and the data before it) arrived`,
    ];
  },
};

/** A delayed duplicate of an old connection accepted by a new one with the same 4-tuple. */
export const oldDuplicate: LabScenario = {
  name: "old-duplicate",
  title: "TIME_WAIT made too short: an old duplicate lands in a new connection (RFC 9293 §3.4.1)",
  watch: [
    "Both hosts pick ISNs by RFC 6528 (a 4 µs clock plus a hash of the 4-tuple) and use an MSL of 10 ms.",
    "The first connection sends 48 segments of 'O'; one of them is held in the network for 350 ms, so it is retransmitted and the transfer completes.",
    "The connection closes; after a 20 ms TIME_WAIT the client connects again from the same port: same 4-tuple.",
    "The new ISN is the old one plus 250 per ms: the first connection sent more bytes than that, so its old sequence numbers fall inside the new connection's window.",
    "The held-back copy finally arrives and is accepted as data of the new connection: the server reads 'O' bytes in the middle of the 'N' stream.",
  ],
  run(w) {
    // the timeline the tests pin: NewReno and a fixed window
    const tcp: Partial<TcpConfig> = { msl: 10, congestionControl: "newreno", recvAutoTune: false };
    const server = w.host("server", "127.0.0.1", { tcp, isnSecret: secret(1) });
    const client = w.host("client", "127.0.0.2", { tcp, isnSecret: secret(2) });
    const l = server.listen(80, { reuseAddress: true });
    w.app("client", "connect(server, 80) from port 40000");
    const first = connectAndAccept(w, client, server, l);
    const mss = first.c.info().mss;
    const n = 48, heldIndex = 40;
    let sent = 0;
    w.holdNext(
      "client",
      (x) => x.payload.length > 0 && ++sent === heldIndex,
      `data segment ${heldIndex} of the first connection`,
      350,
    );
    w.app("client", `write(${n} × ${mss} bytes of "O"); close()`);
    const old = new Uint8Array(n * mss).fill(0x4f);
    let off = first.c.write(old);
    runUntil(w, () => {
      if (off < old.length) off += first.c.write(old.subarray(off));
      readAvailable(first.s);
      return off === old.length && first.c.info().unacked === 0;
    }, 10_000);
    first.c.close();
    w.run(30);
    readAvailable(first.s);
    w.app("server", "close() after EOF");
    first.s.close();
    runUntil(w, () => first.c.state === "CLOSED", 10_000);
    const oldIss = first.c.info().iss, t0 = w.stateTime("client", "SYN_SENT") ?? 0;
    w.app("client", "connect(server, 80) from port 40000 again: the same 4-tuple");
    const t1 = w.now;
    const second = connectAndAccept(w, client, server, l);
    const newIss = second.c.info().iss;
    const window = second.s.info().rcvWnd;
    const heldSeq = (oldIss + 1 + (heldIndex - 1) * mss) >>> 0;
    w.note(
      `new client ISN ${newIss} = old ${oldIss} + ${(newIss - oldIss) >>> 0} (250 per ms × ${
        t1 - t0
      } ms); the server accepts seq ${(newIss + 1) >>> 0} .. ${(newIss + 1 + window) >>> 0}`,
    );
    runUntil(w, () => w.lines.some((x) => x.text.startsWith("▶")), 1_000);
    w.run(50);
    w.app("client", `write(${n} × ${mss} bytes of "N"); close()`);
    const fresh = new Uint8Array(n * mss).fill(0x4e);
    let off2 = second.c.write(fresh);
    let got = "";
    runUntil(w, () => {
      if (off2 < fresh.length) off2 += second.c.write(fresh.subarray(off2));
      got += readAvailable(second.s).text;
      return off2 === fresh.length && second.c.info().unacked === 0;
    }, 10_000);
    second.c.close();
    w.run(100);
    got += readAvailable(second.s).text;
    w.app("server", "close() after EOF");
    second.s.close();
    w.run(100);
    const oldBytes = [...got].filter((ch) => ch === "O").length;
    const at = got.indexOf("O");
    const inWindow = ((heldSeq - newIss - 1) >>> 0) < window;
    return [
      `first connection: client ISN ${oldIss}; the held-back segment carries seq ${heldSeq}`,
      `second connection (same 4-tuple, ${t1 - t0} ms later): client ISN ${newIss}, ` +
      `${(newIss - oldIss) >>> 0} higher; the old first connection sent ${old.length} bytes`,
      `the old seq ${heldSeq} is ${inWindow ? "inside" : "outside"} the new receive window ` +
      `(${(newIss + 1) >>> 0} + ${window})`,
      `the server's application read ${got.length} bytes of the new connection, ` +
      `${oldBytes} of them "O" from the old one${at >= 0 ? ` (from offset ${at})` : ""}`,
      "with the 60 s TIME_WAIT of a 30 s MSL the client could not have reused the 4-tuple " +
      "until every old duplicate had died in the network",
    ];
  },
};

/** A port connecting to itself completes as a simultaneous open. */
export const selfConnect: LabScenario = {
  name: "self-connect",
  title: "self-connect: a port connecting to itself is a simultaneous open (RFC 9293 §3.5)",
  watch: [
    "The host connects from port 40000 to its own address, port 40000: the 4-tuple is its own mirror.",
    "Its SYN comes back to itself, in SYN_SENT: that is a simultaneous open, so it goes to SYN_RCVD and sends SYN-ACK.",
    "Its own SYN-ACK completes the handshake: ESTABLISHED with no listener, talking to itself.",
    "This bites real programs that connect to a port in the ephemeral range on the same host while nothing listens there.",
  ],
  run(w) {
    const host = w.host("host", "127.0.0.1", { isn: 1000 });
    w.app("host", "connect(127.0.0.1, port 40000) from port 40000 (nothing listens there)");
    const c = host.connect(host.localAddr, 40000, { localPort: 40000 });
    w.run(100);
    w.app("host", 'write("hello, me")');
    c.write(new TextEncoder().encode("hello, me"));
    w.run(100);
    const { text } = readAvailable(c);
    w.app("host", `read() → "${text}"`);
    w.app("host", "close()");
    c.close();
    w.run(200);
    const states: string[] = [];
    for (const l of w.lines) {
      const m = / (\w+) → (\w+) {2}\(/.exec(l.text);
      if (m && l.kind === "state") {
        if (states.length === 0) states.push(m[1]);
        states.push(m[2]);
      }
    }
    return [
      `states: ${states.join(" → ")}`,
      `segments sent: ${w.countSent("host", /./)}, all to itself; it read back "${text}"`,
      `ISN ${c.info().iss}, peer's ISN ${c.info().irs}: the same number, the same connection`,
    ];
  },
};

/** RFC 6528 initial sequence numbers: a clock plus a keyed hash of the 4-tuple. */
export const isn: LabScenario = {
  name: "isn",
  title: "initial sequence numbers (RFC 6528): ISN = 4 µs clock + hash(4-tuple, secret)",
  watch: [
    "Each host has a secret key; ISN = M + F(local ip, local port, remote ip, remote port, key), M counting 4 µs ticks.",
    "Two connections at the same instant from ports 40000 and 40001 get unrelated ISNs: F differs per 4-tuple.",
    "The same 4-tuple 1 s later gets an ISN exactly 250 000 higher: only M moved, so old and new numbers stay apart.",
    "An off-path attacker who does not know the key cannot guess the ISN of someone else's connection (RFC 6528 §3).",
  ],
  run(w) {
    const tcp: Partial<TcpConfig> = { msl: 100 };
    const server = w.host("server", "127.0.0.1", { tcp, isnSecret: secret(1) });
    const client = w.host("client", "127.0.0.2", { tcp, isnSecret: secret(2) });
    const l = server.listen(80, { reuseAddress: true });
    const open = (port: number) => {
      w.app("client", `connect(server, 80) from port ${port}`);
      return client.connect(server.localAddr, 80, { localPort: port, reuseAddress: true });
    };
    const accept = () => {
      let s = l.accept();
      for (let t = 0; s === undefined && t < 120_000; t += 10) {
        w.run(10);
        s = l.accept();
      }
      if (s === undefined) throw new Error("lab: the handshake did not complete within 120 s");
      return s;
    };
    const t0 = w.now;
    const a = open(40000), b = open(40001);
    w.run(50);
    const sa = accept(), sb = accept();
    const ia = a.info(), ib = b.info();
    for (const c of [a, b]) c.close();
    w.run(20);
    for (const c of [sa, sb]) c.close();
    w.run(930);
    const t1 = w.now;
    const a2 = open(40000);
    w.run(50);
    const sa2 = accept();
    const ia2 = a2.info();
    const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
    w.note(
      `client ISNs: port 40000 ${hex(ia.iss)}, port 40001 ${hex(ib.iss)}, port 40000 again ${
        hex(ia2.iss)
      }`,
    );
    a2.close();
    w.run(20);
    sa2.close();
    w.run(500);
    return [
      `t=${t0} ms, 127.0.0.2:40000 → 127.0.0.1:80: client ISN ${ia.iss} (${
        hex(ia.iss)
      }), server ISN ${ia.irs}`,
      `t=${t0} ms, 127.0.0.2:40001 → 127.0.0.1:80: client ISN ${ib.iss} (${
        hex(ib.iss)
      }), server ISN ${ib.irs}`,
      `same instant, ports one apart: ISNs ${((ib.iss - ia.iss) >>>
        0)} apart (mod 2^32): F(4-tuple) is a keyed hash`,
      `t=${t1} ms, 127.0.0.2:40000 again: client ISN ${ia2.iss}, ${
        (ia2.iss - ia.iss) >>> 0
      } = 250 × ${t1 - t0} ms ` +
      "later: only the clock M moved",
      `the server picked ISNs by the same rule with its own key: ${ia.irs}, ${ib.irs}, ${ia2.irs}`,
    ];
  },
};
