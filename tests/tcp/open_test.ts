import assert from "node:assert/strict";
import { TcpConnection } from "../../src/tcp/connection.ts";
import { tcpConfig } from "../../src/tcp/config.ts";
import { seq } from "../../src/wire/seq.ts";
import { ACK, FIN, PSH, RST, SYN } from "../../src/wire/tcp_flags.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import { TcpPair, TcpScript } from "../_harness/tcp_script.ts";

const TS_OFF = { windowScaling: false, timestamps: false, sack: false };

Deno.test("TcpConnection.connect sends a SYN with every enabled option when opening", () => {
  const s = TcpScript.client();
  assert.equal(s.conn.state, "SYN_SENT");
  assert.deepEqual(s.events[0], {
    type: "state",
    from: "CLOSED",
    to: "SYN_SENT",
    cause: "connect()",
  });
  s.expectSent({
    flags: SYN,
    seq: 10_000,
    ack: 0,
    window: 65535,
    len: 0,
    options: {
      mss: 1428,
      windowScale: 7,
      sackPermitted: true,
      timestamps: { tsVal: 0, tsEcr: 0 },
    },
  });
  s.expectNothing();
  assert.equal(s.conn.pollTimeout(), 1000); // RFC 6298 initial RTO
});

Deno.test("TcpConnection completes the three-way handshake when a SYN-ACK arrives", () => {
  const s = TcpScript.client({ config: TS_OFF });
  s.expectSent({ flags: SYN, seq: s.localIss, options: { mss: 1428, windowScale: undefined } });
  s.send({ seq: s.remoteIss, ack: s.l(), flags: SYN | ACK, window: 5000, options: { mss: 1000 } });
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r(), options: { timestamps: undefined } });
  s.expectNothing();
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.deepEqual(s.states(), ["SYN_SENT", "ESTABLISHED"]);
  assert.equal(s.eventsOf("connected").length, 1);
  assert.equal(s.conn.irs, seq(s.remoteIss));
  assert.equal(s.conn.sndWnd, 5000);
  assert.equal(s.conn.info().mss, 1000);
  assert.equal(s.conn.pollTimeout(), Infinity);
});

Deno.test("TcpConnection.accept answers a SYN with a SYN-ACK echoing only offered options", () => {
  const s = TcpScript.server({}, { options: { mss: 1200, timestamps: { tsVal: 777, tsEcr: 0 } } });
  assert.deepEqual(s.events[0], {
    type: "state",
    from: "LISTEN",
    to: "SYN_RCVD",
    cause: "SYN received",
  });
  s.expectSent({
    flags: SYN | ACK,
    seq: s.localIss,
    ack: s.r(),
    window: 65535,
    options: {
      mss: 1428,
      windowScale: undefined,
      sackPermitted: undefined,
      timestamps: { tsVal: 0, tsEcr: 777 },
    },
  });
  s.send({ options: { timestamps: { tsVal: 778, tsEcr: 0 } } });
  assert.equal(s.conn.state, "ESTABLISHED");
  s.expectNothing();
  assert.equal(s.conn.info().mss, 1200 - 12);
  assert.equal(s.conn.info().timestamps, true);
});

Deno.test("TcpConnection accepts data on the third ACK of the handshake", () => {
  const s = TcpScript.server({ config: TS_OFF });
  s.expectSent({ flags: SYN | ACK });
  s.send({ flags: ACK | PSH, payload: "hello" });
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.equal(s.readText(), "hello");
  assert.deepEqual(s.eventsOf("readable").length, 1);
  s.advance(40);
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r(5) });
});

Deno.test("TcpConnection sends queued data with the third ACK when written before the SYN-ACK", () => {
  const s = TcpScript.client({ config: TS_OFF });
  s.expectSent({ flags: SYN });
  s.app((c) => c.write(new TextEncoder().encode("early")));
  s.expectNothing();
  s.send({ seq: s.remoteIss, ack: s.l(), flags: SYN | ACK, options: { mss: 1460 } });
  s.expectSent({ flags: ACK | PSH, seq: s.l(), ack: s.r(), payload: "early" });
  s.expectNothing();
});

Deno.test("TcpConnection retransmits the SYN with exponential backoff and times out when synRetries run out", () => {
  const s = TcpScript.client();
  s.expectSent({ flags: SYN, seq: s.localIss });
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    times.push(s.fireNext());
    s.expectSent({ flags: SYN, seq: s.localIss });
  }
  assert.deepEqual(times, [1000, 3000, 7000, 15000, 31000, 63000]);
  assert.equal(s.fireNext(), 127_000);
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error"), [{
    type: "error",
    kind: "timed_out",
    detail: "timed out after 6 SYN retransmissions",
  }]);
  assert.equal(s.eventsOf("closed").length, 1);
  assert.equal(s.conn.pollTimeout(), Infinity);
});

Deno.test("TcpConnection retransmits the SYN-ACK synAckRetries times when the third ACK never comes", () => {
  const s = TcpScript.server({ config: { synAckRetries: 2 } });
  s.expectSent({ flags: SYN | ACK });
  assert.equal(s.fireNext(), 1000);
  s.expectSent({ flags: SYN | ACK, seq: s.localIss, ack: s.r() });
  assert.equal(s.fireNext(), 3000);
  s.expectSent({ flags: SYN | ACK });
  assert.equal(s.fireNext(), 7000);
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.equal(s.eventsOf("error")[0].detail, "timed out after 2 SYN-ACK retransmissions");
});

Deno.test("TcpConnection resends the SYN-ACK when a duplicate SYN arrives in SYN_RCVD", () => {
  const s = TcpScript.server({ config: TS_OFF });
  s.expectSent({ flags: SYN | ACK });
  s.send({ seq: s.remoteIss, ack: 0, flags: SYN });
  s.expectSent({ flags: SYN | ACK, seq: s.localIss, ack: s.r() });
  s.expectNothing();
  assert.equal(s.conn.state, "SYN_RCVD");
});

Deno.test("TcpConnection answers a SYN-ACK with an old ACK by RST and keeps the handshake going", () => {
  const s = TcpScript.client({ config: TS_OFF });
  s.expectSent({ flags: SYN });
  // RFC 9293 §3.10.7.3: "historical" SYN-ACK: SEG.ACK not in (ISS, SND.NXT]
  s.send({ seq: 999, ack: 5555, flags: SYN | ACK });
  s.expectSent({ flags: RST, seq: 5555, ack: 0 });
  s.expectNothing();
  assert.equal(s.conn.state, "SYN_SENT");
  s.send({ seq: s.remoteIss, ack: s.l(), flags: SYN | ACK });
  s.expectSent({ flags: ACK, ack: s.r() });
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("TcpConnection is refused only by a RST with an acceptable ACK when in SYN_SENT", () => {
  const s = TcpScript.client({ config: TS_OFF });
  s.expectSent({ flags: SYN });
  s.send({ seq: 0, ack: 0, flags: RST }); // no ACK: ignored
  s.send({ seq: 0, ack: s.localIss + 7, flags: RST | ACK }); // bad ACK: ignored, no RST back
  s.expectNothing();
  assert.equal(s.conn.state, "SYN_SENT");
  s.send({ seq: 0, ack: s.l(), flags: RST | ACK });
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error"), [{
    type: "error",
    kind: "refused",
    detail: "connection refused",
  }]);
  assert.throws(() => s.conn.write(new Uint8Array(1)), { name: "TcpUsageError" });
});

Deno.test("TcpConnection answers a bad ACK in SYN_RCVD with RST seq=SEG.ACK", () => {
  const s = TcpScript.server({ config: TS_OFF });
  s.expectSent({ flags: SYN | ACK });
  s.send({ ack: s.localIss + 100 });
  s.expectSent({ flags: RST, seq: s.localIss + 100 });
  assert.equal(s.conn.state, "SYN_RCVD");
});

Deno.test("TcpConnection returns a passive open to LISTEN and deletes it when a RST arrives in SYN_RCVD", () => {
  const s = TcpScript.server({ config: TS_OFF });
  s.expectSent({ flags: SYN | ACK });
  s.send({ flags: RST, seq: s.r() });
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  // RFC 9293 §3.10.7.4: back to LISTEN, "the user need not be informed"
  assert.deepEqual(s.eventsOf("state").slice(1), [
    { type: "state", from: "SYN_RCVD", to: "LISTEN", cause: "RST received (passive open)" },
    {
      type: "state",
      from: "LISTEN",
      to: "CLOSED",
      cause: "embryonic connection deleted; the listener goes on",
    },
  ]);
  assert.equal(s.eventsOf("error").length, 0);
  assert.equal(s.eventsOf("closed").length, 1);
  assert.equal(s.conn.pollTimeout(), Infinity);
});

/** Passes one connection's pending output to the other, returning what was passed. */
function shuttle(from: TcpConnection, to: TcpConnection, now: number): TcpSegment[] {
  const out: TcpSegment[] = [];
  for (;;) {
    const seg = from.pollTransmit(now);
    if (seg === undefined) break;
    out.push({ ...seg, payload: seg.payload.slice() });
  }
  for (const seg of out) to.handleSegment(now, seg);
  return out;
}

Deno.test("TcpConnection answers a SYN-ACK in SYN_RCVD after a simultaneous open with an ACK (RFC 9293 §3.10.7.4, RFC 5961 §4.2)", () => {
  const s = TcpScript.client({ config: TS_OFF });
  s.expectSent({ flags: SYN, seq: s.localIss });
  s.send({ seq: s.remoteIss, ack: 0, flags: SYN, options: { mss: 1460 } }); // the peer's SYN crosses ours
  assert.equal(s.conn.state, "SYN_RCVD");
  s.expectSent({ flags: SYN | ACK, seq: s.localIss, ack: s.r() });
  s.send({ seq: s.remoteIss, ack: s.l(), flags: SYN | ACK, options: { mss: 1460 } });
  assert.equal(s.conn.state, "ESTABLISHED");
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r() });
  s.expectNothing();
});

Deno.test("TcpConnection goes SYN_SENT → SYN_RCVD → ESTABLISHED on both sides when opening simultaneously", () => {
  const config = tcpConfig();
  const a = TcpConnection.connect(0, { localPort: 1, remotePort: 2, iss: seq(100), config });
  const b = TcpConnection.connect(0, { localPort: 2, remotePort: 1, iss: seq(900), config });
  const synA = a.pollTransmit(0)!;
  const synB = b.pollTransmit(0)!;
  a.handleSegment(1, synB);
  b.handleSegment(1, synA);
  assert.equal(a.state, "SYN_RCVD");
  assert.equal(b.state, "SYN_RCVD");
  // both SYN-ACKs cross on the wire (RFC 9293 §3.5 figure 8)
  const drain = (c: TcpConnection) => {
    const out: TcpSegment[] = [];
    for (let seg = c.pollTransmit(2); seg; seg = c.pollTransmit(2)) out.push(seg);
    return out;
  };
  const fromA = drain(a);
  const fromB = drain(b);
  assert.equal(fromA.length, 1);
  assert.equal(fromA[0].flags, SYN | ACK);
  assert.equal(fromA[0].seq, 100);
  assert.equal(fromA[0].ack, 901);
  for (const seg of fromA) b.handleSegment(3, seg);
  for (const seg of fromB) a.handleSegment(3, seg);
  assert.equal(a.state, "ESTABLISHED");
  assert.equal(b.state, "ESTABLISHED");
  // each SYN-ACK (SEG.SEQ = IRS < RCV.NXT) draws an ACK (RFC 9293 §3.10.7.4, as Linux)
  const ackA = a.pollTransmit(4)!;
  const ackB = b.pollTransmit(4)!;
  assert.deepEqual([ackA.flags, ackA.seq, ackA.ack], [ACK, 101, 901]);
  assert.deepEqual([ackB.flags, ackB.seq, ackB.ack], [ACK, 901, 101]);
  a.handleSegment(5, ackB);
  b.handleSegment(5, ackA);
  assert.equal(a.pollTransmit(5), undefined); // a pure ACK draws nothing
  assert.equal(b.pollTransmit(5), undefined);
  const statesOf = (c: TcpConnection) => {
    const out: string[] = [];
    for (let ev = c.pollEvent(); ev; ev = c.pollEvent()) if (ev.type === "state") out.push(ev.to);
    return out;
  };
  assert.deepEqual(statesOf(a), ["SYN_SENT", "SYN_RCVD", "ESTABLISHED"]);
  assert.deepEqual(statesOf(b), ["SYN_SENT", "SYN_RCVD", "ESTABLISHED"]);
  // data flows both ways afterwards
  a.write(new Uint8Array([1, 2, 3]));
  shuttle(a, b, 4);
  assert.equal(b.readable, 3);
});

Deno.test("TcpConnection sizes data segments from the peer MSS minus timestamps when both offer them", () => {
  const s = TcpScript.established({}, {
    options: { mss: 1000, timestamps: { tsVal: 5, tsEcr: 0 } },
  });
  s.app((c) => c.write(new Uint8Array(3000)));
  s.expectSent({
    flags: ACK,
    seq: s.l(),
    len: 988,
    options: { timestamps: { tsVal: 0, tsEcr: 5 } },
  });
  s.expectSent({ flags: ACK, seq: s.l(988), len: 988 });
  s.expectSent({ flags: ACK, seq: s.l(1976), len: 988 });
  s.expectSent({ flags: ACK | PSH, seq: s.l(2964), len: 36 });
  s.expectNothing();
});

Deno.test("TcpConnection keeps every segment within segmentBudget when the peer's MSS is larger", () => {
  const s = TcpScript.established({ config: { segmentBudget: 600 } }, {
    options: { mss: 9000, timestamps: { tsVal: 5, tsEcr: 0 } },
  });
  s.app((c) => c.write(new Uint8Array(2000)));
  s.expectSent({ len: 568 }); // 600 - 20 - 12
  s.expectSent({ len: 568 });
  s.expectSent({ len: 568 });
  s.expectSent({ len: 296 });
  assert.equal(s.conn.info().mss, 568);
});

Deno.test("TcpConnection uses the default MSS 536 when the SYN-ACK has no MSS option", () => {
  const s = TcpScript.established({ config: TS_OFF }, { options: {} });
  assert.equal(s.conn.info().mss, 536);
  s.app((c) => c.write(new Uint8Array(600)));
  s.expectSent({ len: 536 });
  s.expectSent({ len: 64, flags: ACK | PSH });
});

Deno.test("TcpConnection scales windows only when both SYNs carry window scale", () => {
  const config = { recvBufferSize: 1 << 20, timestamps: false, sack: false };
  const scaled = TcpScript.established({ config }, { window: 1000, options: { windowScale: 2 } });
  assert.equal(scaled.conn.sndWnd, 1000); // SYN-ACK window is never scaled
  scaled.send({ window: 1000 });
  assert.equal(scaled.conn.sndWnd, 4000);
  scaled.app((c) => c.write(new Uint8Array(10)));
  scaled.expectSent({ window: (1 << 20) >> 5, len: 10 }); // our shift: 5 for 1 MiB

  const plain = TcpScript.established({ config }, { window: 1000, options: {} });
  plain.send({ window: 1000 });
  assert.equal(plain.conn.sndWnd, 1000);
  plain.app((c) => c.write(new Uint8Array(10)));
  plain.expectSent({ window: 65535, len: 10 });
});

Deno.test("TcpConnection sends the FIN once established when closeWrite is called in SYN_SENT", () => {
  const s = TcpScript.client({ config: TS_OFF });
  s.expectSent({ flags: SYN });
  s.app((c, now) => {
    c.write(new TextEncoder().encode("req"));
    c.closeWrite(now);
  });
  s.expectNothing();
  s.send({ seq: s.remoteIss, ack: s.l(), flags: SYN | ACK });
  s.expectSent({ flags: ACK | PSH | FIN, seq: s.l(), payload: "req" });
  assert.deepEqual(s.states(), ["SYN_SENT", "ESTABLISHED", "FIN_WAIT_1"]);
});

Deno.test("TcpPair opens and exchanges data when both ends use the defaults", () => {
  const pair = new TcpPair();
  assert.ok(pair.run({ until: () => pair.server?.state === "ESTABLISHED" }));
  assert.equal(pair.client.state, "ESTABLISHED");
  const info = pair.client.info();
  assert.equal(info.timestamps, true);
  assert.equal(info.sack, true);
  assert.equal(info.mss, 1428 - 12);
  assert.equal(info.rtt, 10); // SYN-ACK RTT through timestamps
});

Deno.test("TcpConnection gives up after synRetries SYN retransmissions when configured lower", () => {
  const s = TcpScript.client({ config: { ...TS_OFF, synRetries: 2 } });
  s.expectSent({ flags: SYN, seq: s.localIss });
  assert.equal(s.fireNext(), 1000);
  s.expectSent({ flags: SYN, seq: s.localIss });
  assert.equal(s.fireNext(), 3000);
  s.expectSent({ flags: SYN, seq: s.localIss });
  assert.equal(s.fireNext(), 7000);
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.equal(s.eventsOf("error")[0].detail, "timed out after 2 SYN retransmissions");
});

Deno.test("TcpConnection uses rtoInitial for the first SYN timeout when configured", () => {
  const s = TcpScript.client({ config: { ...TS_OFF, rtoInitial: 3000 } });
  s.expectSent({ flags: SYN });
  assert.equal(s.conn.pollTimeout(), 3000);
  assert.equal(s.fireNext(), 3000);
  s.expectSent({ flags: SYN });
  assert.equal(s.conn.pollTimeout(), 9000);
});

Deno.test("TcpConnection answers a SYN-ACK acknowledging beyond SND.NXT with RST and keeps the handshake going", () => {
  const s = TcpScript.client({ config: TS_OFF });
  s.expectSent({ flags: SYN });
  // RFC 9293 §3.10.7.3: SEG.ACK > SND.NXT is unacceptable: <SEQ=SEG.ACK><CTL=RST>
  s.send({ seq: s.remoteIss, ack: s.l(1), flags: SYN | ACK });
  s.expectSent({ flags: RST, seq: s.l(1), ack: 0 });
  s.expectNothing();
  assert.equal(s.conn.state, "SYN_SENT");
  assert.equal(s.conn.irs, 0); // the old SYN was not taken
  // the real SYN-ACK still completes the handshake, and the SYN timer still runs
  assert.equal(s.conn.pollTimeout(), 1000);
  s.send({ seq: s.remoteIss + 5, ack: s.l(), flags: SYN | ACK });
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.remoteIss + 6 });
  assert.equal(s.conn.state, "ESTABLISHED");
});
