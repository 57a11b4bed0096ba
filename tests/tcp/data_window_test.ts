import assert from "node:assert/strict";
import { ACK, FIN, PSH, SYN } from "../../src/wire/tcp_flags.ts";
import { bytes, TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = { windowScaling: false, timestamps: false, sack: false };

Deno.test("TcpConnection sends full-sized segments up to the initial cwnd when much data is queued", () => {
  const s = TcpScript.established();
  s.app((c) => c.write(new Uint8Array(20_000)));
  for (let i = 0; i < 10; i++) s.expectSent({ flags: ACK, seq: s.l(i * 1428), len: 1428 });
  s.expectNothing();
  assert.equal(s.conn.info().cwnd, 14_280);
  // an ACK of two segments opens the window by slow start
  s.send({ ack: s.l(2856) });
  for (let i = 10; i < 14; i++) s.expectSent({ seq: s.l(i * 1428), len: 1428 });
  s.expectNothing();
});

Deno.test("TcpConnection holds a short segment back (sender SWS avoidance) when the peer window is nearly full", () => {
  const s = TcpScript.established({}, { window: 3000 });
  s.app((c) => c.write(new Uint8Array(5000)));
  s.expectSent({ seq: s.l(0), len: 1428 });
  s.expectSent({ seq: s.l(1428), len: 1428 });
  s.expectNothing(); // 144 bytes of window left: too small, data in flight
  s.send({ ack: s.l(2856), window: 3000 });
  s.expectSent({ seq: s.l(2856), len: 1428 });
  s.expectSent({ flags: ACK | PSH, seq: s.l(4284), len: 716 });
  s.expectNothing();
});

Deno.test("TcpConnection delays a second small segment (Nagle) until the first is acknowledged", () => {
  const s = TcpScript.established();
  s.app((c) => c.write(bytes("0123456789")));
  s.expectSent({ flags: ACK | PSH, seq: s.l(), payload: "0123456789" });
  s.app((c) => c.write(bytes("abc")));
  s.app((c) => c.write(bytes("def")));
  s.expectNothing();
  s.send({ ack: s.l(10) });
  s.expectSent({ flags: ACK | PSH, seq: s.l(10), payload: "abcdef" });
  s.expectNothing();
});

Deno.test("TcpConnection sends small segments at once when noDelay is set", () => {
  const s = TcpScript.established();
  s.app((c) => c.setNoDelay(true));
  s.app((c) => c.write(bytes("ab")));
  s.app((c) => c.write(bytes("cd")));
  s.expectSent({ seq: s.l(0), payload: "ab" });
  s.expectSent({ seq: s.l(2), payload: "cd" });
  s.expectNothing();
});

Deno.test("TcpConnection delays the ACK of one segment and ACKs every second full-sized segment at once", () => {
  const s = TcpScript.established({ config: PLAIN });
  s.send({ payload: new Uint8Array(1000) });
  s.expectNothing();
  assert.equal(s.conn.pollTimeout(), 40);
  s.advance(40);
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r(1000) });
  s.send({ seq: s.r(1000), payload: new Uint8Array(1000) });
  s.expectNothing();
  s.send({ seq: s.r(2000), payload: new Uint8Array(1000) });
  s.expectSent({ flags: ACK, ack: s.r(3000) });
  s.expectNothing();
  assert.equal(s.conn.pollTimeout(), Infinity);
});

Deno.test("TcpConnection ACKs at once with SACK blocks when data arrives out of order", () => {
  const s = TcpScript.established({}, { options: { mss: 1460, sackPermitted: true } });
  s.send({ seq: s.r(1000), payload: new Uint8Array(500).fill(2) });
  s.expectSent({
    flags: ACK,
    ack: s.r(0),
    options: { sackBlocks: [{ left: s.r(1000), right: s.r(1500) }] },
  });
  s.send({ seq: s.r(2000), payload: new Uint8Array(100).fill(3) });
  s.expectSent({
    ack: s.r(0),
    options: {
      sackBlocks: [{ left: s.r(2000), right: s.r(2100) }, { left: s.r(1000), right: s.r(1500) }],
    },
  });
  // the gap-filling segment is ACKed at once
  s.send({ seq: s.r(0), payload: new Uint8Array(1000).fill(1) });
  s.expectSent({
    ack: s.r(1500),
    options: { sackBlocks: [{ left: s.r(2000), right: s.r(2100) }] },
  });
  assert.equal(s.conn.readable, 1500);
  const buf = new Uint8Array(2000);
  assert.equal(s.conn.read(buf), 1500);
  assert.equal(buf[999], 1);
  assert.equal(buf[1000], 2);
});

Deno.test("TcpConnection trims duplicate and overlapping data when segments overlap", () => {
  const s = TcpScript.established({ config: PLAIN });
  s.send({ seq: s.r(0), payload: "hello" });
  s.send({ seq: s.r(2), payload: "lloworld" });
  s.send({ seq: s.r(0), payload: "hel" }); // all old: ACKed at once
  assert.equal(s.readText(), "helloworld");
  const acks = s.sent.splice(0);
  assert.ok(acks.length >= 1);
  assert.equal(acks.at(-1)!.ack, s.r(10));
});

Deno.test("TcpConnection stores only what fits when data goes beyond the receive window", () => {
  const s = TcpScript.established({ config: { ...PLAIN, recvBufferSize: 10 } });
  s.send({ seq: s.r(0), payload: "0123456789abcdef" });
  s.expectSent({ flags: ACK, ack: s.r(10), window: 0 });
  assert.equal(s.readText(), "0123456789");
});

Deno.test("TcpConnection advertises a shrinking window and sends a window update when the app reads", () => {
  const s = TcpScript.established({ config: { ...PLAIN, recvBufferSize: 4000 } });
  for (let i = 0; i < 4; i++) s.send({ seq: s.r(i * 1000), payload: new Uint8Array(1000) });
  s.expectSent({ ack: s.r(2000), window: 2000 });
  s.expectSent({ ack: s.r(4000), window: 0 });
  s.expectNothing();
  // receiver SWS avoidance: 500 bytes of space is not worth advertising
  const buf = new Uint8Array(1500);
  assert.equal(s.app((c) => c.read(buf.subarray(0, 500))), 500);
  s.expectNothing();
  assert.equal(s.app((c) => c.read(buf.subarray(0, 1000))), 1000);
  s.expectSent({ flags: ACK, ack: s.r(4000), window: 1500 });
  s.expectNothing();
});

Deno.test("TcpConnection sends no window update once the peer's FIN is in (RFC 9293 §3.10.7.4: no more data can come; as Linux, which checks RCV_SHUTDOWN)", () => {
  const s = TcpScript.established({ config: { ...PLAIN, recvBufferSize: 4000 } });
  for (let i = 0; i < 4; i++) s.send({ seq: s.r(i * 1000), payload: new Uint8Array(1000) });
  s.expectSent({ ack: s.r(2000), window: 2000 });
  s.expectSent({ ack: s.r(4000), window: 0 });
  s.send({ flags: ACK | FIN, seq: s.r(4000) });
  s.expectSent({ flags: ACK, ack: s.r(4001) });
  s.expectNothing();
  // reading the buffered bytes opens the window, but the peer has nothing more to send: a window
  // update would only draw a RST once the peer's connection is gone (it closes on our FIN's ACK)
  const buf = new Uint8Array(4000);
  assert.equal(s.app((c) => c.read(buf)), 4000);
  s.expectNothing();
});

Deno.test("TcpConnection probes a zero window with backoff and resumes when the window opens", () => {
  const s = TcpScript.established();
  s.app((c) => c.write(new Uint8Array(1000)));
  s.expectSent({ len: 1000 });
  s.advance(10);
  s.send({ ack: s.l(1000), window: 0 });
  s.app((c) => c.write(bytes("xyz")));
  s.expectNothing();
  assert.equal(s.conn.info().rto, 200);
  assert.equal(s.fireNext(), 210);
  s.expectSent({ seq: s.l(1000), payload: "x" });
  s.send({ ack: s.l(1000), window: 0 }); // probe refused
  s.expectNothing();
  assert.equal(s.fireNext(), 610);
  s.expectSent({ seq: s.l(1000), payload: "x" });
  assert.equal(s.fireNext(), 1410);
  s.expectSent({ seq: s.l(1000), payload: "x" });
  s.send({ ack: s.l(1001), window: 100 }); // probe accepted, window open
  s.expectSent({ seq: s.l(1001), payload: "yz" });
  s.expectNothing();
  s.send({ ack: s.l(1003), window: 100 });
  assert.equal(s.conn.pollTimeout(), Infinity);
});

Deno.test("TcpConnection emits writable after a short write when an ACK frees space", () => {
  const s = TcpScript.established({ config: { sendBufferSize: 1000 } });
  assert.equal(s.app((c) => c.write(new Uint8Array(1500))), 1000);
  assert.equal(s.conn.writable, 0);
  s.expectSent({ len: 1000 });
  s.send({ ack: s.l(600) });
  assert.equal(s.eventsOf("writable").length, 1);
  assert.equal(s.conn.writable, 600);
});

Deno.test("TcpConnection emits one readable event until the app drains events when data streams in", () => {
  const s = TcpScript.established();
  s.conn.handleSegment(0, {
    srcPort: 49152,
    dstPort: 80,
    seq: s.r(0),
    ack: s.l(),
    flags: ACK,
    window: 65535,
    urgentPointer: 0,
    options: {},
    payload: bytes("a"),
  });
  s.conn.handleSegment(0, {
    srcPort: 49152,
    dstPort: 80,
    seq: s.r(1),
    ack: s.l(),
    flags: ACK,
    window: 65535,
    urgentPointer: 0,
    options: {},
    payload: bytes("b"),
  });
  s.drain();
  assert.equal(s.eventsOf("readable").length, 1);
  assert.equal(s.readText(), "ab");
});

Deno.test("TcpConnection overrides sender SWS avoidance with the persist timer when nothing is in flight", () => {
  const s = TcpScript.established(); // max window seen: 65535
  s.send({ ack: s.l(), window: 100 });
  s.app((c) => c.write(new Uint8Array(1000)));
  s.expectNothing(); // 100 bytes is less than half the largest window: wait
  assert.equal(s.fireNext(), 200);
  s.expectSent({ seq: s.l(), len: 100 });
  s.expectNothing();
});

Deno.test("TcpConnection shrinks data segments to fit SACK blocks when it sends while holding out-of-order data", () => {
  const s = TcpScript.established({}, {
    options: { mss: 1460, sackPermitted: true, timestamps: { tsVal: 1, tsEcr: 0 } },
  });
  for (const off of [1000, 3000, 5000]) {
    s.send({
      seq: s.r(off),
      payload: new Uint8Array(10),
      options: { timestamps: { tsVal: 1, tsEcr: 0 } },
    });
  }
  s.sent.length = 0;
  s.app((c) => c.write(new Uint8Array(3000)));
  const seg = s.expectSent({ len: 1448 - 20 - 12 - 28 });
  assert.equal(seg.options.sackBlocks?.length, 3);
  s.expectSent({ len: 1388 });
  s.expectSent({ len: 3000 - 2 * 1388 });
});

Deno.test("TcpConnection probes a zero window with its FIN when only the FIN is left to send", () => {
  const s = TcpScript.established();
  s.app((c) => c.write(new Uint8Array(100)));
  s.expectSent({ len: 100 });
  s.send({ ack: s.l(100), window: 0 });
  s.app((c, now) => c.closeWrite(now));
  s.expectNothing();
  s.fireNext();
  s.expectSent({ flags: ACK | 0x01, seq: s.l(100), len: 0 });
  s.send({ ack: s.l(101), window: 0 }); // a Linux-like peer takes a bare FIN at a zero window
  assert.equal(s.conn.state, "FIN_WAIT_2");
});

Deno.test("TcpConnection reports byte and segment counters in info()", () => {
  const s = TcpScript.established();
  s.app((c) => c.write(new Uint8Array(5000)));
  s.sent.length = 0;
  s.send({ ack: s.l(3000), seq: s.r(0), payload: "12345" });
  const info = s.conn.info();
  assert.equal(info.state, "ESTABLISHED");
  assert.equal(info.bytesSent, 5000);
  assert.equal(info.bytesAcked, 3000);
  assert.equal(info.bytesReceived, 5);
  assert.equal(info.unacked, 2000);
  assert.equal(info.sendQueue, 2000);
  assert.equal(info.recvQueue, 5);
  assert.equal(info.retransmits, 0);
  assert.equal(info.mss, 1428);
});

Deno.test("TcpConnection fills a scaled peer window beyond 64 KiB when window scaling is negotiated", () => {
  const s = TcpScript.established({ config: { ...PLAIN, windowScaling: true, initialCwnd: 200 } }, {
    window: 1000,
    options: { mss: 1460, windowScale: 7 },
  });
  assert.equal(s.conn.sndWnd, 1000); // the SYN-ACK's window is not scaled (RFC 7323 §2.2)
  s.send({ window: 1000 }); // 1000 << 7
  assert.equal(s.conn.sndWnd, 128_000);
  s.app((c) => c.write(new Uint8Array(300_000)));
  const sent = s.sent.splice(0);
  const inFlight = sent.reduce((n, seg) => n + seg.payload.length, 0);
  // 89 full segments; the 908 bytes of window left are held back (sender SWS)
  assert.equal(inFlight, 89 * 1428);
  assert.ok(inFlight > 65_535);
  assert.equal(s.conn.info().unacked, 89 * 1428);
});

Deno.test("TcpConnection caps the delayed-ACK timer at 200 ms when delayedAck is set higher", () => {
  const s = TcpScript.established({ config: { ...PLAIN, delayedAck: 500 } });
  s.send({ payload: "x" });
  s.expectNothing();
  assert.equal(s.conn.pollTimeout(), 200);
  s.advance(199);
  s.expectNothing();
  s.advance(1);
  s.expectSent({ flags: ACK, ack: s.r(1) });
});

Deno.test("TcpConnection ACKs every segment at once when delayedAck is 0", () => {
  const s = TcpScript.established({ config: { ...PLAIN, delayedAck: 0 } });
  s.send({ payload: "x" });
  s.expectSent({ flags: ACK, ack: s.r(1) });
  assert.equal(s.conn.pollTimeout(), Infinity);
});

Deno.test("TcpConnection backs the persist timer off up to rtoMax when the window stays closed", () => {
  const s = TcpScript.established({ config: { rtoMax: 1000 } });
  s.app((c) => c.write(new Uint8Array(1000)));
  s.expectSent({ len: 1000 });
  s.advance(10);
  s.send({ ack: s.l(1000), window: 0 });
  s.app((c) => c.write(bytes("xyz")));
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    times.push(s.fireNext());
    s.expectSent({ seq: s.l(1000), payload: "x" });
  }
  // RTO 200, doubling: 200, 400, 800, then the 1000 ms ceiling
  assert.deepEqual(times, [210, 610, 1410, 2410, 3410]);
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("TcpConnection gives up with timed_out when zero-window probes go unanswered retries times", () => {
  const s = TcpScript.established({ config: { retries: 2 } });
  s.app((c) => c.write(new Uint8Array(10)));
  s.send({ ack: s.l(10), window: 0 });
  s.app((c) => c.write(bytes("x")));
  s.sent.length = 0;
  s.fireNext();
  s.fireNext();
  assert.equal(s.sent.splice(0).length, 2);
  s.fireNext();
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.equal(
    s.eventsOf("error")[0].detail,
    "timed out after 2 unanswered zero-window probes",
  );
});

Deno.test("TcpConnection holds at most maxOutOfOrderRanges out-of-order segments when more arrive", () => {
  const s = TcpScript.established({ config: { timestamps: false, maxOutOfOrderRanges: 2 } }, {
    options: { mss: 1460, sackPermitted: true },
  });
  const piece = (n: number) => new Uint8Array(10).fill(n);
  s.send({ seq: s.r(100), payload: piece(1) });
  s.send({ seq: s.r(200), payload: piece(2) });
  s.sent.length = 0;
  s.send({ seq: s.r(300), payload: piece(3) }); // a third range: not stored
  const ack = s.expectSent({ flags: ACK, ack: s.r(0) });
  assert.deepEqual(ack.options.sackBlocks, [
    { left: s.r(200), right: s.r(210) },
    { left: s.r(100), right: s.r(110) },
  ]);
  // the gaps fill up to the stored ranges only; the dropped range must come again
  s.send({ seq: s.r(0), payload: new Uint8Array(100) });
  s.send({ seq: s.r(110), payload: new Uint8Array(90) });
  assert.equal(s.conn.rcvNxt, s.r(210));
  s.send({ seq: s.r(210), payload: new Uint8Array(90) });
  s.send({ seq: s.r(300), payload: piece(3) });
  assert.equal(s.conn.rcvNxt, s.r(310));
  const buf = new Uint8Array(400);
  assert.equal(s.conn.read(buf), 310);
  assert.deepEqual([buf[100], buf[200], buf[300], buf[309]], [1, 2, 3, 3]);
});

Deno.test("TcpConnection repeats a one-octet or FIN zero-window probe when the earlier probe went unanswered", () => {
  for (const finOnly of [false, true]) {
    const s = TcpScript.established();
    s.app((c) => c.write(new Uint8Array(10)));
    s.send({ ack: s.l(10), window: 0 });
    s.app((c, now) => finOnly ? c.closeWrite(now) : c.write(bytes("x")));
    s.sent.length = 0;
    for (let i = 0; i < 3; i++) {
      s.fireNext();
      if (finOnly) s.expectSent({ flags: ACK | 0x01, seq: s.l(10), len: 0 });
      else s.expectSent({ flags: ACK | PSH, seq: s.l(10), payload: "x" });
      s.expectNothing();
    }
    assert.equal(s.conn.info().retransmits, 0); // probes are not retransmissions
  }
});

Deno.test("TcpConnection reports a duplicate segment in a D-SACK block, first and once (RFC 2883 §4)", () => {
  const s = TcpScript.established({ config: { timestamps: false } }, {
    options: { mss: 1460, sackPermitted: true },
  });
  s.send({ seq: s.r(0), payload: new Uint8Array(1000) });
  s.advance(40);
  s.expectSent({ flags: ACK, ack: s.r(1000) });
  // case 1: wholly below RCV.NXT (an unacceptable segment)
  s.send({ seq: s.r(0), payload: new Uint8Array(1000) });
  let ack = s.expectSent({ flags: ACK, ack: s.r(1000) });
  assert.deepEqual(ack.options.sackBlocks, [{ left: s.r(0), right: s.r(1000) }]);
  // case 2: partly old, partly new: the old part is the D-SACK
  s.send({ seq: s.r(500), payload: new Uint8Array(1000) });
  ack = s.expectSent({ flags: ACK, ack: s.r(1500) });
  assert.deepEqual(ack.options.sackBlocks, [{ left: s.r(500), right: s.r(1000) }]);
  // case 3: a duplicate of held out-of-order data: D-SACK first, then the SACK block holding it
  s.send({ seq: s.r(3000), payload: new Uint8Array(500) });
  ack = s.expectSent({ flags: ACK, ack: s.r(1500) });
  assert.deepEqual(ack.options.sackBlocks, [{ left: s.r(3000), right: s.r(3500) }]);
  s.send({ seq: s.r(3000), payload: new Uint8Array(500) });
  ack = s.expectSent({ flags: ACK, ack: s.r(1500) });
  assert.deepEqual(ack.options.sackBlocks, [
    { left: s.r(3000), right: s.r(3500) },
    { left: s.r(3000), right: s.r(3500) },
  ]);
  // the next ACK no longer repeats the D-SACK
  s.send({ seq: s.r(1500), payload: new Uint8Array(100) });
  ack = s.expectSent({ flags: ACK, ack: s.r(1600) });
  assert.deepEqual(ack.options.sackBlocks, [{ left: s.r(3000), right: s.r(3500) }]);
});

Deno.test("TcpConnection sends no D-SACK when SACK was not negotiated", () => {
  const s = TcpScript.established({ config: { timestamps: false } });
  s.send({ seq: s.r(0), payload: new Uint8Array(1000) });
  s.advance(40);
  s.expectSent({ flags: ACK, ack: s.r(1000) });
  s.send({ seq: s.r(0), payload: new Uint8Array(1000) });
  const ack = s.expectSent({ flags: ACK, ack: s.r(1000) });
  assert.equal(ack.options.sackBlocks, undefined);
});

Deno.test("TcpConnection emits writable when the SYN-ACK acknowledges Fast Open data of a full send buffer", () => {
  // The soak's stall: a Fast Open client wrote until its (memory-budget sized) send buffer
  // was full in SYN_SENT; the SYN-ACK acknowledged the SYN's data and freed space, but no
  // "writable" followed, so the writer waited forever with nothing left in flight.
  const s = TcpScript.client({
    config: { sendBufferSize: 4000 },
    fastOpen: { cookie: new Uint8Array(8).fill(7), holdSyn: true },
  });
  s.expectNothing(); // holdSyn: the SYN waits for the first write
  assert.equal(s.app((c) => c.write(new Uint8Array(10_000))), 4000);
  assert.equal(s.conn.writable, 0);
  const syn = s.expectSent({ flags: SYN, seq: s.localIss });
  const synData = syn.payload.length;
  assert.ok(synData > 0);
  s.send({ seq: s.remoteIss, ack: s.l(synData), flags: SYN | ACK, options: { mss: 1460 } });
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.equal(s.conn.writable, synData);
  assert.equal(s.eventsOf("writable").length, 1);
});
