/**
 * Every edge of the RFC 9293 §3.3.2 state diagram (figure 5, its notes, and
 * the RST/abort/timeout edges to CLOSED of note 3), each driven by segments,
 * app calls or time, and each reported as a `state` event with `from`, `to`
 * and `cause`. The last test checks that the scenarios cover every edge of
 * `TCP_TRANSITIONS` except the ones listed with the reason they are never
 * taken by a connection.
 */
import assert from "node:assert/strict";
import { TCP_TRANSITIONS, type TcpState } from "../../src/tcp/state.ts";
import { ACK, FIN, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { bytes, TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = { windowScaling: false, timestamps: false, sack: false, msl: 1000 };

interface Scenario {
  readonly from: TcpState;
  readonly to: TcpState;
  readonly cause: string;
  readonly when: string;
  readonly run: () => TcpScript;
}

const client = (config = {}) => {
  const s = TcpScript.client({ config: { ...PLAIN, ...config } });
  s.expectSent({ flags: SYN });
  return s;
};
const server = (config = {}) => {
  const s = TcpScript.server({ config: { ...PLAIN, ...config } });
  s.expectSent({ flags: SYN | ACK });
  return s;
};
const est = (config = {}) => TcpScript.established({ config: { ...PLAIN, ...config } });
/** ESTABLISHED, then our FIN sent: FIN_WAIT_1. */
const finWait1 = (config = {}) => {
  const s = est(config);
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  return s;
};
/** FIN_WAIT_1, then the peer's ACK of our FIN: FIN_WAIT_2. */
const finWait2 = (config = {}, close = false) => {
  const s = est(config);
  s.app((c, now) => close ? c.close(now) : c.closeWrite(now));
  s.send({ ack: s.l(1) });
  assert.equal(s.conn.state, "FIN_WAIT_2");
  return s;
};
/** The peer's FIN received: CLOSE_WAIT. */
const closeWait = (config = {}) => {
  const s = est(config);
  s.send({ flags: ACK | FIN });
  s.expectSent({ flags: ACK, ack: s.r(1) });
  return s;
};
/** Both FINs crossed: CLOSING, our FIN unacknowledged. */
const closing = (config = {}) => {
  const s = finWait1(config);
  s.send({ ack: s.l(0), flags: ACK | FIN });
  assert.equal(s.conn.state, "CLOSING");
  return s;
};
/** CLOSE_WAIT, then our FIN: LAST_ACK. */
const lastAck = (config = {}) => {
  const s = closeWait(config);
  s.app((c, now) => c.closeWrite(now));
  assert.equal(s.conn.state, "LAST_ACK");
  return s;
};
/** Runs timers until the connection closes. */
const expire = (s: TcpScript) => {
  for (let i = 0; i < 100 && s.conn.state !== "CLOSED"; i++) s.fireNext();
  return s;
};

const SCENARIOS: readonly Scenario[] = [
  // ---- opening (figure 5, top half) ----
  { from: "CLOSED", to: "SYN_SENT", cause: "connect()", when: "connect() is called", run: client },
  {
    from: "LISTEN",
    to: "SYN_RCVD",
    cause: "SYN received",
    when: "a listener accepts a SYN",
    run: server,
  },
  {
    from: "SYN_SENT",
    to: "ESTABLISHED",
    cause: "SYN-ACK received",
    when: "the SYN-ACK arrives",
    run: () => {
      const s = client();
      s.send({ seq: s.remoteIss, ack: s.l(), flags: SYN | ACK });
      s.expectSent({ flags: ACK, seq: s.l(), ack: s.r() });
      return s;
    },
  },
  {
    from: "SYN_SENT",
    to: "SYN_RCVD",
    cause: "SYN received (simultaneous open)",
    when: "a SYN crosses ours",
    run: () => {
      const s = client();
      s.send({ seq: s.remoteIss, ack: 0, flags: SYN });
      s.expectSent({ flags: SYN | ACK, seq: s.localIss, ack: s.r() });
      return s;
    },
  },
  {
    from: "SYN_SENT",
    to: "CLOSED",
    cause: "close()",
    when: "close() is called before the SYN-ACK",
    run: () => {
      const s = client();
      s.app((c, now) => c.close(now));
      s.expectNothing();
      return s;
    },
  },
  {
    from: "SYN_SENT",
    to: "CLOSED",
    cause: "connection refused",
    when: "a RST acknowledges our SYN",
    run: () => {
      const s = client();
      s.send({ seq: 0, ack: s.l(), flags: RST | ACK });
      return s;
    },
  },
  {
    from: "SYN_SENT",
    to: "CLOSED",
    cause: "timed out after 1 SYN retransmission",
    when: "synRetries run out",
    run: () => expire(client({ synRetries: 1 })),
  },
  {
    from: "SYN_RCVD",
    to: "ESTABLISHED",
    cause: "ACK of SYN-ACK received",
    when: "the third ACK arrives",
    run: () => {
      const s = server();
      s.send({});
      return s;
    },
  },
  {
    from: "SYN_RCVD",
    to: "FIN_WAIT_1",
    cause: "closeWrite()",
    when: "closeWrite() is called before the third ACK",
    run: () => {
      const s = server();
      s.app((c, now) => c.closeWrite(now));
      return s;
    },
  },
  {
    from: "SYN_RCVD",
    to: "LISTEN",
    cause: "RST received (passive open)",
    when: "a passive open is reset (note 1)",
    run: () => {
      const s = server();
      s.send({ flags: RST });
      return s;
    },
  },
  {
    from: "LISTEN",
    to: "CLOSED",
    cause: "embryonic connection deleted; the listener goes on",
    when: "a passive open returned to LISTEN",
    run: () => {
      const s = server();
      s.send({ flags: RST });
      return s;
    },
  },
  {
    from: "SYN_RCVD",
    to: "CLOSED",
    cause: "timed out after 1 SYN-ACK retransmission",
    when: "synAckRetries run out",
    run: () => expire(server({ synAckRetries: 1 })),
  },
  {
    from: "SYN_RCVD",
    to: "CLOSED",
    cause: "connection refused",
    when: "a simultaneous open is reset",
    run: () => {
      const s = client();
      s.send({ seq: s.remoteIss, ack: 0, flags: SYN });
      s.send({ flags: RST });
      return s;
    },
  },
  // ---- ESTABLISHED ----
  {
    from: "ESTABLISHED",
    to: "FIN_WAIT_1",
    cause: "closeWrite()",
    when: "closeWrite() is called",
    run: finWait1,
  },
  {
    from: "ESTABLISHED",
    to: "FIN_WAIT_1",
    cause: "close()",
    when: "close() is called with nothing unread",
    run: () => {
      const s = est();
      s.app((c, now) => c.close(now));
      s.expectSent({ flags: ACK | FIN });
      return s;
    },
  },
  {
    from: "ESTABLISHED",
    to: "CLOSE_WAIT",
    cause: "FIN received",
    when: "the peer's FIN arrives",
    run: closeWait,
  },
  {
    from: "ESTABLISHED",
    to: "CLOSED",
    cause: "connection reset by peer",
    when: "a RST at RCV.NXT arrives",
    run: () => {
      const s = est();
      s.send({ flags: RST });
      return s;
    },
  },
  {
    from: "ESTABLISHED",
    to: "CLOSED",
    cause: "connection aborted by the application",
    when: "abort() is called",
    run: () => {
      const s = est();
      s.app((c, now) => c.abort(now));
      s.expectSent({ flags: RST | ACK });
      return s;
    },
  },
  {
    from: "ESTABLISHED",
    to: "CLOSED",
    cause: "close() with unread data: connection reset (RFC 1122 4.2.2.13)",
    when: "close() leaves received data unread",
    run: () => {
      const s = est();
      s.send({ payload: "unread" });
      s.app((c, now) => c.close(now));
      s.expectSent({ flags: RST | ACK });
      return s;
    },
  },
  {
    from: "ESTABLISHED",
    to: "CLOSED",
    cause: "timed out after 1 retransmission",
    when: "retries run out",
    run: () => {
      const s = est({ retries: 1 });
      s.app((c) => c.write(bytes("x")));
      return expire(s);
    },
  },
  {
    from: "ESTABLISHED",
    to: "CLOSED",
    cause: "keepalive: peer dead after 1 probe",
    when: "keepalive probes go unanswered",
    run: () => {
      const s = est();
      s.app((c, now) => c.setKeepAlive(now, true, { idle: 10, interval: 10, count: 1 }));
      return expire(s);
    },
  },
  // ---- FIN_WAIT_1 ----
  {
    from: "FIN_WAIT_1",
    to: "FIN_WAIT_2",
    cause: "ACK of FIN received",
    when: "our FIN is acknowledged",
    run: () => finWait2(),
  },
  {
    from: "FIN_WAIT_1",
    to: "CLOSING",
    cause: "FIN received (simultaneous close)",
    when: "the peer's FIN crosses ours",
    run: closing,
  },
  {
    from: "FIN_WAIT_1",
    to: "TIME_WAIT",
    cause: "FIN+ACK received",
    when: "a FIN acknowledges our FIN (note 2)",
    run: () => {
      const s = finWait1();
      s.send({ ack: s.l(1), flags: ACK | FIN });
      return s;
    },
  },
  {
    from: "FIN_WAIT_1",
    to: "CLOSED",
    cause: "connection reset by peer",
    when: "a RST arrives",
    run: () => {
      const s = finWait1();
      s.send({ flags: RST });
      return s;
    },
  },
  {
    from: "FIN_WAIT_1",
    to: "CLOSED",
    cause: "timed out after 1 retransmission",
    when: "the FIN is never acknowledged",
    run: () => expire(finWait1({ retries: 1 })),
  },
  // ---- FIN_WAIT_2 ----
  {
    from: "FIN_WAIT_2",
    to: "TIME_WAIT",
    cause: "FIN received",
    when: "the peer's FIN arrives",
    run: () => {
      const s = finWait2();
      s.send({ ack: s.l(1), flags: ACK | FIN });
      return s;
    },
  },
  {
    from: "FIN_WAIT_2",
    to: "CLOSED",
    cause: "FIN_WAIT_2 timeout",
    when: "an orphaned connection waits finWait2Timeout",
    run: () => expire(finWait2({ finWait2Timeout: 500 }, true)),
  },
  {
    from: "FIN_WAIT_2",
    to: "CLOSED",
    cause: "data received after close(): connection reset",
    when: "data arrives after close()",
    run: () => {
      const s = finWait2({}, true);
      s.send({ ack: s.l(1), payload: "late" });
      return s;
    },
  },
  {
    from: "FIN_WAIT_2",
    to: "CLOSED",
    cause: "connection reset by peer",
    when: "a RST arrives",
    run: () => {
      const s = finWait2();
      s.send({ ack: s.l(1), flags: RST });
      return s;
    },
  },
  // ---- CLOSE_WAIT ----
  {
    from: "CLOSE_WAIT",
    to: "LAST_ACK",
    cause: "closeWrite()",
    when: "closeWrite() is called",
    run: lastAck,
  },
  {
    from: "CLOSE_WAIT",
    to: "LAST_ACK",
    cause: "close()",
    when: "close() is called",
    run: () => {
      const s = closeWait();
      s.app((c, now) => c.close(now));
      return s;
    },
  },
  {
    from: "CLOSE_WAIT",
    to: "CLOSED",
    cause: "connection reset by peer",
    when: "a RST arrives",
    run: () => {
      const s = closeWait();
      s.send({ seq: s.r(1), flags: RST });
      return s;
    },
  },
  // ---- CLOSING ----
  {
    from: "CLOSING",
    to: "TIME_WAIT",
    cause: "ACK of FIN received",
    when: "our FIN is acknowledged",
    run: () => {
      const s = closing();
      s.send({ seq: s.r(1), ack: s.l(1) });
      return s;
    },
  },
  {
    from: "CLOSING",
    to: "CLOSED",
    cause: "RST received",
    when: "a RST arrives",
    run: () => {
      const s = closing();
      s.send({ seq: s.r(1), flags: RST });
      return s;
    },
  },
  {
    from: "CLOSING",
    to: "CLOSED",
    cause: "timed out after 1 retransmission",
    when: "our FIN is never acknowledged",
    run: () => expire(closing({ retries: 1 })),
  },
  // ---- LAST_ACK ----
  {
    from: "LAST_ACK",
    to: "CLOSED",
    cause: "ACK of FIN received",
    when: "our FIN is acknowledged",
    run: () => {
      const s = lastAck();
      s.send({ seq: s.r(1), ack: s.l(1) });
      return s;
    },
  },
  {
    from: "LAST_ACK",
    to: "CLOSED",
    cause: "RST received",
    when: "a RST arrives",
    run: () => {
      const s = lastAck();
      s.send({ seq: s.r(1), flags: RST });
      return s;
    },
  },
  {
    from: "LAST_ACK",
    to: "CLOSED",
    cause: "timed out after 1 retransmission",
    when: "our FIN is never acknowledged",
    run: () => expire(lastAck({ retries: 1 })),
  },
  // ---- TIME_WAIT ----
  {
    from: "TIME_WAIT",
    to: "CLOSED",
    cause: "2MSL timeout",
    when: "2·MSL pass",
    run: () => {
      const s = finWait1();
      s.send({ ack: s.l(1), flags: ACK | FIN });
      return expire(s);
    },
  },
];

/**
 * Edges of `TCP_TRANSITIONS` that a `TcpConnection` never takes, and why.
 * The stack's listener takes CLOSED → LISTEN and LISTEN → CLOSED for the
 * listening TCB itself (tests/stack/listener_test.ts).
 */
const NOT_TAKEN: ReadonlyMap<string, string> = new Map([
  ["CLOSED→LISTEN", "passive OPEN is Stack.listen(): the listener is the LISTEN TCB"],
  ["LISTEN→SYN_SENT", "SEND on a listener: its foreign socket is unspecified (RFC 9293 §3.10.2)"],
  ["CLOSED→SYN_RCVD", "not an RFC 9293 edge: passive opens start from LISTEN"],
  ["SYN_RCVD→CLOSE_WAIT", "an ACK+FIN in SYN_RCVD passes ESTABLISHED first (ACK before FIN step)"],
]);

function check(sc: Scenario): void {
  const s = sc.run();
  const states = s.eventsOf("state");
  assert.ok(
    states.some((e) => e.from === sc.from && e.to === sc.to && e.cause === sc.cause),
    `expected ${sc.from} → ${sc.to} (${sc.cause}), got ${
      JSON.stringify(states.map((e) => `${e.from}→${e.to} (${e.cause})`))
    }`,
  );
}

for (const sc of SCENARIOS) {
  Deno.test(`TcpConnection reports ${sc.from} → ${sc.to} "${sc.cause}" when ${sc.when}`, () => {
    check(sc);
  });
}

Deno.test("TcpConnection takes every RFC 9293 §3.3.2 edge of TCP_TRANSITIONS when the scenarios run", () => {
  const taken = new Set<string>();
  for (const sc of SCENARIOS) {
    check(sc);
    taken.add(`${sc.from}→${sc.to}`);
  }
  const missing: string[] = [];
  for (const [from, tos] of TCP_TRANSITIONS) {
    for (const to of tos) {
      const edge = `${from}→${to}`;
      if (!taken.has(edge) && !NOT_TAKEN.has(edge)) missing.push(edge);
      if (taken.has(edge) && NOT_TAKEN.has(edge)) missing.push(`${edge} (listed as not taken)`);
    }
  }
  assert.deepEqual(missing, []);
  // every state but LISTEN-as-listener is entered by some scenario
  const entered = new Set(SCENARIOS.map((sc) => sc.to));
  assert.equal(entered.size, 11);
});
