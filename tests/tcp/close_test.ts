import assert from "node:assert/strict";
import { ACK, FIN, PSH, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { bytes, makeSegment, TcpPair, TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = { windowScaling: false, timestamps: false, sack: false, msl: 1000 };

/** An established connection whose peer has sent nothing yet. */
function established(config: Record<string, unknown> = {}): TcpScript {
  return TcpScript.established({ config: { ...PLAIN, ...config } });
}

Deno.test("TcpConnection half-closes with closeWrite and reaches TIME_WAIT then CLOSED when closing actively", () => {
  const s = established();
  s.app((c, now) => {
    c.write(bytes("bye"));
    c.closeWrite(now);
  });
  s.expectSent({ flags: ACK | PSH | FIN, seq: s.l(), payload: "bye" });
  assert.equal(s.conn.state, "FIN_WAIT_1");
  assert.throws(() => s.conn.write(bytes("x")), { name: "TcpUsageError" });
  s.send({ ack: s.l(4) });
  assert.equal(s.conn.state, "FIN_WAIT_2");
  // reading goes on in FIN_WAIT_2
  s.send({ seq: s.r(0), ack: s.l(4), payload: "more" });
  assert.equal(s.readText(), "more");
  s.send({ seq: s.r(4), ack: s.l(4), flags: ACK | FIN });
  s.expectSent({ flags: ACK, seq: s.l(4), ack: s.r(5) });
  assert.equal(s.conn.state, "TIME_WAIT");
  assert.equal(s.conn.read(new Uint8Array(8)), -1);
  assert.equal(s.conn.pollTimeout(), s.now + 2000);
  s.advance(1999);
  assert.equal(s.conn.state, "TIME_WAIT");
  s.advance(1);
  assert.equal(s.conn.state, "CLOSED");
  s.expectNothing();
  assert.deepEqual(s.states(), ["FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED"]);
  assert.deepEqual(s.eventsOf("state").at(-1), {
    type: "state",
    from: "TIME_WAIT",
    to: "CLOSED",
    cause: "2MSL timeout",
  });
  assert.equal(s.eventsOf("closed").length, 1);
  assert.equal(s.eventsOf("error").length, 0);
});

Deno.test("TcpConnection goes from FIN_WAIT_1 straight to TIME_WAIT when a FIN acknowledges our FIN", () => {
  const s = established();
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(1), flags: ACK | FIN });
  s.expectSent({ flags: ACK, seq: s.l(1), ack: s.r(1) });
  assert.deepEqual(s.states(), ["FIN_WAIT_1", "TIME_WAIT"]);
});

Deno.test("TcpConnection passes through CLOSING when both ends close at once", () => {
  const s = established();
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(0), flags: ACK | FIN }); // the peer's FIN crosses ours
  s.expectSent({ flags: ACK, seq: s.l(1), ack: s.r(1) });
  assert.equal(s.conn.state, "CLOSING");
  s.send({ seq: s.r(1), ack: s.l(1) });
  assert.deepEqual(s.states(), ["FIN_WAIT_1", "CLOSING", "TIME_WAIT"]);
});

Deno.test("TcpConnection goes CLOSE_WAIT → LAST_ACK → CLOSED when the peer closes first", () => {
  const s = established();
  s.send({ seq: s.r(0), flags: ACK | FIN | PSH, payload: "last words" });
  s.expectSent({ flags: ACK, ack: s.r(11) });
  assert.equal(s.conn.state, "CLOSE_WAIT");
  assert.deepEqual(s.events.map((e) => e.type), ["readable", "eof", "state"]);
  assert.equal(s.readText(), "last words");
  assert.equal(s.conn.read(new Uint8Array(4)), -1);
  s.app((c) => c.write(bytes("reply")));
  s.expectSent({ payload: "reply", ack: s.r(11) });
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l(5) });
  assert.equal(s.conn.state, "LAST_ACK");
  s.send({ seq: s.r(11), ack: s.l(6) });
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.states(), ["CLOSE_WAIT", "LAST_ACK", "CLOSED"]);
  // Both buffers are empty: their rings went back to the free list (ring_pool.ts).
  assert.equal(s.conn.bufferBytes, 2 * 64);
  assert.equal(s.conn.pollTimeout(), Infinity);
});

Deno.test("TcpConnection retransmits the FIN like data when its ACK is lost", () => {
  const s = established();
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  assert.equal(s.fireNext(), 200);
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  assert.equal(s.fireNext(), 600);
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(1) });
  assert.equal(s.conn.state, "FIN_WAIT_2");
  assert.equal(s.conn.pollTimeout(), Infinity); // not orphaned: FIN_WAIT_2 lasts
});

Deno.test("TcpConnection re-ACKs a retransmitted FIN and restarts 2MSL when in TIME_WAIT", () => {
  const s = established();
  s.app((c, now) => c.closeWrite(now));
  s.send({ ack: s.l(1), flags: ACK | FIN });
  s.sent.length = 0;
  s.advance(1500);
  s.send({ seq: s.r(0), ack: s.l(1), flags: ACK | FIN });
  s.expectSent({ flags: ACK, seq: s.l(1), ack: s.r(1) });
  assert.equal(s.conn.pollTimeout(), 1500 + 2000);
  // RFC 1337: a RST does not end TIME_WAIT
  s.send({ seq: s.r(1), flags: RST });
  assert.equal(s.conn.state, "TIME_WAIT");
  s.advance(2000);
  assert.equal(s.conn.state, "CLOSED");
});

Deno.test("TcpConnection times out an orphaned FIN_WAIT_2 after finWait2Timeout", () => {
  const s = established({ finWait2Timeout: 5000 });
  s.app((c, now) => c.close(now));
  assert.equal(s.conn.orphaned, true);
  s.expectSent({ flags: ACK | FIN });
  s.advance(10);
  s.send({ ack: s.l(1) });
  assert.equal(s.conn.state, "FIN_WAIT_2");
  assert.equal(s.conn.pollTimeout(), 5010);
  s.advance(5000);
  assert.equal(s.conn.state, "CLOSED");
  s.expectNothing();
  assert.equal(s.eventsOf("state").at(-1)!.type === "state" && s.states().at(-1), "CLOSED");
});

Deno.test("TcpConnection sends RST and skips TIME_WAIT when aborted", () => {
  const s = established();
  s.send({ seq: s.r(0), payload: "abc" });
  s.app((c, now) => c.abort(now));
  s.expectSent({ flags: RST | ACK, seq: s.l(), ack: s.r(3) });
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.equal(s.eventsOf("error")[0].kind, "aborted");
  assert.equal(s.conn.pollTimeout(), Infinity);
  s.app((c, now) => c.abort(now)); // idempotent
  s.expectNothing();
});

Deno.test("TcpConnection resets instead of closing when close() leaves unread data", () => {
  const s = established();
  s.send({ seq: s.r(0), payload: "unread" });
  s.app((c, now) => c.close(now));
  s.expectSent({ flags: RST | ACK, seq: s.l(), ack: s.r(6) });
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.states(), ["CLOSED"]);
});

Deno.test("TcpConnection ignores data after the peer's FIN when in CLOSE_WAIT", () => {
  const s = established();
  s.send({ seq: s.r(0), flags: ACK | FIN, payload: "x" });
  s.expectSent({ ack: s.r(2) });
  s.send({ seq: s.r(2), payload: "after fin" });
  assert.equal(s.readText(), "x");
  assert.equal(s.conn.rcvNxt, s.r(2));
});

Deno.test("TcpConnection ACKs and discards data when the read side was shut down", () => {
  const s = established();
  s.send({ seq: s.r(0), payload: "before" });
  s.app((c) => c.shutdownRead());
  assert.equal(s.conn.readable, 0);
  assert.equal(s.conn.read(new Uint8Array(10)), -1);
  s.send({ seq: s.r(6), payload: "after!" });
  s.send({ seq: s.r(12), payload: "again!" });
  s.advance(40); // delayed ACK
  s.expectSent({ flags: ACK, ack: s.r(18), window: 65535 - 18 }); // edge kept: SWS avoidance
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.equal(s.conn.rcvWnd, 65535 - 18);
});

Deno.test("TcpConnection resets when data arrives after close()", () => {
  const s = established();
  s.app((c, now) => c.close(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(1) });
  assert.equal(s.conn.state, "FIN_WAIT_2");
  s.send({ seq: s.r(0), ack: s.l(1), payload: "late" });
  s.expectSent({ flags: RST | ACK, seq: s.l(1), ack: s.r(0) });
  assert.equal(s.conn.state, "CLOSED");
});

Deno.test("TcpConnection processes an out-of-order FIN once the gap is filled", () => {
  const s = established();
  s.send({ seq: s.r(3), flags: ACK | FIN, payload: "def" });
  s.expectSent({ ack: s.r(0) });
  assert.equal(s.conn.state, "ESTABLISHED");
  s.send({ seq: s.r(0), payload: "abc" });
  s.expectSent({ ack: s.r(7) });
  assert.equal(s.conn.state, "CLOSE_WAIT");
  assert.equal(s.readText(), "abcdef");
  assert.equal(s.conn.read(new Uint8Array(1)), -1);
});

Deno.test("TcpConnection answers a bare out-of-order FIN with an immediate duplicate ACK (RFC 5681 §4.2, RFC 9293 §3.10.7.4)", () => {
  const s = established();
  s.send({ seq: s.r(3), flags: ACK | FIN }); // bytes 0..2 missing
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r(0) });
  s.expectNothing();
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.equal(s.conn.pollTimeout(), Infinity); // answered now, not on a timer
  s.send({ seq: s.r(3), flags: ACK | FIN }); // its retransmission: another duplicate ACK
  s.expectSent({ flags: ACK, ack: s.r(0) });
  s.send({ seq: s.r(0), payload: "abc" });
  s.expectSent({ flags: ACK, ack: s.r(4) });
  assert.equal(s.conn.state, "CLOSE_WAIT");
  assert.equal(s.readText(), "abc");
});

Deno.test("TcpConnection goes SYN_RCVD → FIN_WAIT_1 and sends the FIN after the handshake when closeWrite is called early", () => {
  const s = TcpScript.server({ config: PLAIN });
  s.expectSent({ flags: ACK | 0x02 });
  s.app((c, now) => c.closeWrite(now));
  assert.equal(s.conn.state, "FIN_WAIT_1");
  s.expectNothing();
  s.send({ ack: s.l() });
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  assert.equal(s.eventsOf("connected").length, 1);
  s.send({ ack: s.l(1) });
  assert.deepEqual(s.states(), ["SYN_RCVD", "FIN_WAIT_1", "FIN_WAIT_2"]);
});

Deno.test("TcpPair half-closes each direction independently when both ends closeWrite", () => {
  const pair = new TcpPair({ config: { msl: 500 } });
  pair.run({ until: () => pair.server?.state === "ESTABLISHED" });
  const server = pair.server!;
  pair.client.write(bytes("request"));
  pair.client.closeWrite(pair.now);
  pair.run({ until: () => server.state === "CLOSE_WAIT" });
  const buf = new Uint8Array(100);
  assert.equal(server.read(buf), 7);
  assert.equal(server.read(buf), -1);
  server.write(bytes("response"));
  server.closeWrite(pair.now);
  pair.run({ until: () => pair.client.state === "TIME_WAIT" && server.state === "CLOSED" });
  assert.equal(pair.client.read(buf), 8);
  assert.equal(new TextDecoder().decode(buf.subarray(0, 8)), "response");
  assert.equal(pair.client.read(buf), -1);
  pair.run();
  assert.equal(pair.client.state, "CLOSED");
  assert.deepEqual(pair.states("client"), [
    "SYN_SENT",
    "ESTABLISHED",
    "FIN_WAIT_1",
    "FIN_WAIT_2",
    "TIME_WAIT",
    "CLOSED",
  ]);
  assert.deepEqual(pair.states("server"), [
    "SYN_RCVD",
    "ESTABLISHED",
    "CLOSE_WAIT",
    "LAST_ACK",
    "CLOSED",
  ]);
});

const DEFAULT_TIMERS = { windowScaling: false, timestamps: false, sack: false };

Deno.test("TcpConnection stays in TIME_WAIT for 2·MSL = 60 s when MSL has its 30 s default", () => {
  const s = TcpScript.established({ config: DEFAULT_TIMERS });
  s.app((c, now) => c.closeWrite(now));
  s.advance(5);
  s.send({ ack: s.l(1), flags: ACK | FIN });
  assert.equal(s.conn.state, "TIME_WAIT");
  assert.equal(s.conn.pollTimeout(), 5 + 60_000);
  s.advance(59_999);
  assert.equal(s.conn.state, "TIME_WAIT");
  s.advance(1);
  assert.equal(s.conn.state, "CLOSED");
});

Deno.test("TcpConnection times out an orphaned FIN_WAIT_2 after the 60 s default", () => {
  const s = TcpScript.established({ config: DEFAULT_TIMERS });
  s.app((c, now) => c.close(now));
  s.send({ ack: s.l(1) });
  assert.equal(s.conn.state, "FIN_WAIT_2");
  assert.equal(s.conn.pollTimeout(), 60_000);
  s.advance(59_999);
  assert.equal(s.conn.state, "FIN_WAIT_2");
  s.advance(1);
  assert.deepEqual(s.eventsOf("state").at(-1), {
    type: "state",
    from: "FIN_WAIT_2",
    to: "CLOSED",
    cause: "FIN_WAIT_2 timeout",
  });
  assert.equal(s.eventsOf("error").length, 0);
});

Deno.test("TcpConnection arms the FIN_WAIT_2 timeout when close() follows closeWrite() in FIN_WAIT_2", () => {
  const s = established({ finWait2Timeout: 3000 });
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(1) });
  assert.equal(s.conn.state, "FIN_WAIT_2");
  assert.equal(s.conn.pollTimeout(), Infinity); // half-closed, still owned: waits for the peer
  s.advance(100);
  s.app((c, now) => c.close(now));
  assert.equal(s.conn.orphaned, true);
  s.expectNothing();
  assert.equal(s.conn.pollTimeout(), 3100);
  s.advance(3000);
  assert.equal(s.conn.state, "CLOSED");
});

Deno.test("TcpConnection ignores a RST in TIME_WAIT whatever its sequence number (RFC 1337)", () => {
  const s = established();
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(1), flags: ACK | FIN });
  s.expectSent({ flags: ACK, ack: s.r(1) });
  const deadline = s.conn.pollTimeout();
  s.send({ seq: s.r(1), flags: RST }); // exact
  s.send({ seq: s.r(1), ack: s.l(1), flags: RST | ACK });
  s.send({ seq: s.r(500), flags: RST }); // in window
  s.expectNothing(); // no challenge ACK either
  assert.equal(s.conn.state, "TIME_WAIT");
  assert.equal(s.conn.pollTimeout(), deadline); // the 2MSL timer is not restarted by a RST
  assert.equal(s.eventsOf("error").length, 0);
});

Deno.test("TcpConnection ignores data after the peer's FIN without ACKing it when in CLOSE_WAIT", () => {
  const s = established();
  s.send({ seq: s.r(0), flags: ACK | FIN, payload: "x" });
  s.expectSent({ ack: s.r(2) });
  s.send({ seq: s.r(2), payload: "after fin" }); // RFC 9293 §3.10.7.4 seventh: ignore the text
  s.expectNothing();
  assert.equal(s.conn.readable, 1);
  assert.equal(s.conn.rcvNxt, s.r(2));
  assert.equal(s.conn.state, "CLOSE_WAIT");
  s.send({ seq: s.r(0), flags: ACK | FIN, payload: "x" }); // a retransmitted FIN: ACK again
  s.expectSent({ flags: ACK, ack: s.r(2) });
});

Deno.test("TcpConnection keeps ACKing and discarding data after shutdownRead when the peer goes on sending", () => {
  const s = established();
  s.app((c) => c.shutdownRead());
  s.send({ seq: s.r(0), payload: new Uint8Array(3000) });
  s.expectSent({ flags: ACK, ack: s.r(3000) }); // two full segments' worth: ACK at once
  assert.equal(s.conn.readable, 0);
  assert.equal(s.conn.info().recvQueue, 0); // discarded, so the window stays open
  s.send({ seq: s.r(3000), flags: ACK | FIN });
  s.expectSent({ flags: ACK, ack: s.r(3001) });
  assert.equal(s.conn.state, "CLOSE_WAIT");
  assert.equal(s.eventsOf("readable").length, 0);
});

Deno.test("TcpPair passes both ends through CLOSING when both close at the same instant", () => {
  const pair = new TcpPair({ config: { msl: 500 } });
  pair.run({ until: () => pair.server?.state === "ESTABLISHED" });
  const server = pair.server!;
  pair.client.closeWrite(pair.now);
  server.closeWrite(pair.now);
  pair.run();
  for (const end of ["client", "server"] as const) {
    assert.deepEqual(pair.states(end).slice(-4), ["FIN_WAIT_1", "CLOSING", "TIME_WAIT", "CLOSED"]);
  }
});

/** A connection in TIME_WAIT: we closed first, the peer ACKed our FIN and sent its own. */
function timeWait(config: Record<string, unknown> = {}): TcpScript {
  const s = established(config);
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(1), flags: ACK | FIN });
  s.expectSent({ flags: ACK, ack: s.r(1) });
  assert.equal(s.conn.state, "TIME_WAIT");
  return s;
}

Deno.test("TcpConnection closes TIME_WAIT on an exact RST when rfc1337 is off (RFC 9293 §3.10.7.4 second step)", () => {
  const s = timeWait({ rfc1337: false });
  s.send({ seq: s.r(5), ack: s.l(1), flags: RST }); // not at RCV.NXT: a challenge ACK
  s.expectSent({ flags: ACK, ack: s.r(1) });
  assert.equal(s.conn.state, "TIME_WAIT");
  s.send({ seq: s.r(1), ack: s.l(1), flags: RST });
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error"), []);
});

Deno.test("TcpConnection ignores an exact RST in TIME_WAIT when rfc1337 is on (RFC 1337)", () => {
  const s = timeWait();
  s.send({ seq: s.r(1), ack: s.l(1), flags: RST });
  s.expectNothing();
  assert.equal(s.conn.state, "TIME_WAIT");
});

Deno.test("TcpConnection.handleSegment returns the reopen verdict for a new SYN above RCV.NXT in TIME_WAIT (RFC 9293 §3.6.1, RFC 6191)", () => {
  const s = timeWait();
  const verdict = (seqNo: number, flags = SYN) =>
    s.conn.handleSegment(s.now, makeSegment({ seq: seqNo, ack: 0, flags }));
  assert.equal(verdict(s.r(1)), "done"); // not above RCV.NXT
  assert.equal(verdict(s.r(100_000)), "reopen");
  assert.equal(verdict(s.r(100_000), SYN | ACK), "done");
  s.drain();
  assert.equal(s.conn.state, "TIME_WAIT"); // the stack decides whether a listener takes it
  assert.equal(s.conn.handleSegment(s.now, makeSegment({ seq: s.r(0), ack: s.l(1) })), "done");
});

Deno.test("TcpConnection in TIME_WAIT with timestamps: the ISN decides a reopen, not the TSval (offsets are random per connection, RFC 7323 §5.4; RFC 6528 ISNs grow per 4-tuple)", () => {
  // RFC 6191's timestamp rule assumes TSvals that grow across incarnations (Linux keys its
  // offset on the address pair); tou draws one per connection, so a new incarnation's SYN may
  // carry an older TSval. Treating that as PAWS refused every other reuse of a port in a
  // tunnel's TIME_WAIT (ab: "Connection reset by peer" in bench:requests).
  const ts = (tsVal: number) => ({ timestamps: { tsVal, tsEcr: 0 } });
  const s = TcpScript.established(
    { config: { ...PLAIN, timestamps: true } },
    { options: { mss: 1460, ...ts(1000) } },
  );
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(1), flags: ACK | FIN, options: ts(1001) });
  s.expectSent({ flags: ACK, ack: s.r(1) });
  assert.equal(s.conn.state, "TIME_WAIT"); // TS.Recent is 1001
  const verdict = (seqNo: number, tsVal: number) =>
    s.conn.handleSegment(
      s.now,
      makeSegment({ seq: seqNo, ack: 0, flags: SYN, options: ts(tsVal) }),
    );
  assert.equal(verdict(s.r(100_000), 900), "reopen"); // older TSval, higher ISN: a new incarnation
  assert.equal(verdict(s.r(-50_000), 5000), "done"); // newer TSval, lower ISN: an old duplicate
  s.drain();
  assert.equal(s.conn.state, "TIME_WAIT");
});

Deno.test("TcpConnection gives its buffers' memory back on entering TIME_WAIT, and keeps bytes the application has not read", () => {
  // read everything: both rings shrink to the compact size
  const s = established();
  s.app((c, now) => {
    c.write(bytes("bye"));
    c.closeWrite(now);
  });
  const sending = s.conn.bufferBytes;
  s.send({ ack: s.l(4) });
  // FIN_WAIT_2: our FIN was acknowledged, the send ring goes back at once
  assert.equal(s.conn.state, "FIN_WAIT_2");
  assert.ok(sending - s.conn.bufferBytes >= 4096 - 64, `${sending} -> ${s.conn.bufferBytes}`);
  s.send({ seq: s.r(0), ack: s.l(4), payload: "more" });
  assert.equal(s.readText(), "more");
  const before = s.conn.bufferBytes;
  s.send({ seq: s.r(4), ack: s.l(4), flags: ACK | FIN });
  assert.equal(s.conn.state, "TIME_WAIT");
  assert.ok(before >= 4096 + 64, `rings before: ${before}`);
  assert.equal(s.conn.bufferBytes, 128);
  // bytes not read yet stay readable in TIME_WAIT
  const t = established();
  t.app((c, now) => c.closeWrite(now));
  t.send({ ack: t.l(1) });
  t.send({ seq: t.r(0), ack: t.l(1), flags: ACK | FIN | PSH, payload: "unread" });
  assert.equal(t.conn.state, "TIME_WAIT");
  assert.ok(t.conn.bufferBytes > 128);
  assert.equal(t.readText(), "unread");
  // ...and once read, their ring goes back too (no byte can follow the FIN)
  assert.equal(t.conn.bufferBytes, 128);
});

Deno.test("TcpConnection gives the receive ring back once the bytes up to the peer's FIN are read, and on shutdownRead", () => {
  // CLOSE_WAIT: the peer's FIN arrived with data; the app reads it and keeps writing
  const s = established();
  s.send({ seq: s.r(0), ack: s.l(0), flags: ACK | FIN | PSH, payload: "last" });
  assert.equal(s.conn.state, "CLOSE_WAIT");
  const held = s.conn.bufferBytes;
  assert.equal(s.readText(), "last");
  assert.ok(held - s.conn.bufferBytes >= 4096 - 64, `${held} -> ${s.conn.bufferBytes}`);
  s.app((c) => c.write(bytes("reply")));
  // shutdownRead in ESTABLISHED: later data is discarded, the ring is not needed
  const t = established();
  const before = t.conn.bufferBytes;
  t.app((c) => c.shutdownRead());
  assert.ok(before - t.conn.bufferBytes >= 4096 - 64, `${before} -> ${t.conn.bufferBytes}`);
  t.send({ seq: t.r(0), ack: t.l(0), payload: "ignored" });
  assert.equal(t.conn.read(new Uint8Array(16)), -1);
});

Deno.test("TcpConnection reports its last cwnd in TIME_WAIT, where the controller's state is dropped, and ACKs a retransmitted FIN", () => {
  const s = established({ congestionControl: "bbr" });
  s.app((c, now) => c.closeWrite(now));
  s.expectSent({ flags: ACK | FIN, seq: s.l() });
  s.send({ ack: s.l(1), flags: ACK | FIN });
  s.expectSent({ flags: ACK, ack: s.r(1) });
  assert.equal(s.conn.state, "TIME_WAIT");
  const cwnd = s.conn.info().cwnd;
  assert.ok(cwnd > 10_000, String(cwnd)); // BBR's window as the FIN was acknowledged
  s.send({ seq: s.r(0), ack: s.l(1), flags: ACK | FIN }); // our ACK was lost: ACK again
  s.expectSent({ flags: ACK, ack: s.r(1) });
  s.send({ seq: s.r(1), ack: s.l(1) }); // a duplicate ACK changes nothing
  s.expectNothing();
  assert.equal(s.conn.info().cwnd, cwnd);
  assert.equal(s.conn.state, "TIME_WAIT");
});
