import assert from "node:assert/strict";
import { ACK, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { TcpScript } from "../_harness/tcp_script.ts";

const ts = (tsVal: number, tsEcr = 0) => ({ timestamps: { tsVal, tsEcr } });

function withTimestamps(tsOffset = 0): TcpScript {
  return TcpScript.established({ tsOffset, config: { sack: false, windowScaling: false } }, {
    options: { mss: 1460, ...ts(50) },
  });
}

Deno.test("TcpConnection sends TSval = now + tsOffset modulo 2^32 when timestamps are in use", () => {
  const s = TcpScript.client({ tsOffset: 2 ** 32 - 10 });
  s.expectSent({ flags: SYN, options: ts(2 ** 32 - 10) });
  s.advance(25);
  s.send({
    seq: s.remoteIss,
    ack: s.l(),
    flags: SYN | ACK,
    options: { mss: 1460, ...ts(7, 2 ** 32 - 10) },
  });
  s.expectSent({ flags: ACK, options: ts(15, 7) });
  assert.equal(s.conn.info().rtt, 25); // RTT from TSecr of the SYN-ACK
});

Deno.test("TcpConnection omits timestamps on every segment when the peer's SYN had none", () => {
  const s = TcpScript.established({}, { options: { mss: 1460 } });
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10, options: { timestamps: undefined } });
  assert.equal(s.conn.info().timestamps, false);
});

Deno.test("TcpConnection updates TS.Recent only from segments at or before Last.ACK.sent", () => {
  const s = withTimestamps();
  s.send({ seq: s.r(0), payload: "a", options: ts(100) });
  s.advance(40);
  s.expectSent({ ack: s.r(1), options: ts(40, 100) });
  // out of order: beyond Last.ACK.sent, so its TSval is not echoed
  s.send({ seq: s.r(1000), payload: "z", options: ts(200) });
  s.expectSent({ ack: s.r(1), options: ts(40, 100) });
  // the hole-filling segment is at Last.ACK.sent: echoed
  s.send({ seq: s.r(1), payload: "b", options: ts(150) });
  s.expectSent({ ack: s.r(2), options: ts(40, 150) });
});

Deno.test("TcpConnection drops a segment with an old TSval (PAWS) and ACKs it", () => {
  const s = withTimestamps();
  s.send({ seq: s.r(0), payload: "a", options: ts(100) });
  s.send({ seq: s.r(1), payload: "x", options: ts(99) });
  s.expectSent({ flags: ACK, ack: s.r(1), options: ts(0, 100) });
  assert.equal(s.conn.readable, 1);
  // TSval wraps: 2^32 - 1 is older than 100
  s.send({ seq: s.r(1), payload: "y", options: ts(2 ** 32 - 1) });
  s.expectSent({ ack: s.r(1) });
  // a newer TSval across the wrap is accepted
  s.send({ seq: s.r(1), payload: "b", options: ts(100 + 2 ** 31 - 1) });
  assert.equal(s.conn.readable, 2);
});

Deno.test("TcpConnection applies no PAWS check to a RST", () => {
  const s = withTimestamps();
  s.send({ seq: s.r(0), flags: RST, options: ts(1) });
  assert.equal(s.conn.state, "CLOSED");
});

Deno.test("TcpConnection accepts a segment without timestamps when they are in use (Linux behaviour)", () => {
  const s = withTimestamps();
  s.send({ seq: s.r(0), payload: "plain", options: {} });
  assert.equal(s.conn.readable, 5);
});

Deno.test("TcpConnection echoes the SYN's TSval in its SYN-ACK and takes an RTT from the third ACK", () => {
  const s = TcpScript.server({ tsOffset: 1000 }, { options: { mss: 1460, ...ts(4242) } });
  s.expectSent({ flags: SYN | ACK, options: ts(1000, 4242) });
  s.advance(30);
  s.send({ options: ts(4272, 1000) });
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.equal(s.conn.info().rtt, 30);
});

Deno.test("TcpConnection echoes the TSval of a retransmission whose first copy it already ACKed", () => {
  const s = withTimestamps();
  s.send({ seq: s.r(0), payload: "ab", options: ts(100) });
  s.advance(40);
  s.expectSent({ ack: s.r(2), options: ts(40, 100) });
  // our ACK was lost; the peer retransmits with a newer TSval
  s.send({ seq: s.r(0), payload: "ab", options: ts(300) });
  s.expectSent({ ack: s.r(2), options: ts(40, 300) });
  // an older duplicate (ending before Last.ACK.sent) does not move TS.Recent
  s.send({ seq: s.r(0), payload: "a", options: ts(400) });
  s.expectSent({ ack: s.r(2), options: ts(40, 300) });
});

Deno.test("TcpConnection leaves timestamps out of its SYN-ACK and data when only the peer offers them", () => {
  const s = TcpScript.server({ config: { timestamps: false } }, {
    options: { mss: 1460, ...ts(4242) },
  });
  s.expectSent({ flags: SYN | ACK, options: { timestamps: undefined, mss: 1428 } });
  s.send({ options: ts(4243, 0) });
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.equal(s.conn.info().timestamps, false);
  assert.equal(s.conn.info().mss, 1428); // no option space reserved
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10, options: { timestamps: undefined } });
  // PAWS is off: an "old" TSval does not get a segment dropped
  s.send({ seq: s.r(0), payload: "a", options: ts(1) });
  assert.equal(s.conn.readable, 1);
});

Deno.test("TcpConnection accepts an older TSval when TS.Recent is more than 24 days old (RFC 7323 §5.5)", () => {
  const s = withTimestamps();
  s.send({ seq: s.r(0), payload: "a", options: ts(1_000_000) });
  s.advance(40);
  s.sent.length = 0;
  s.advance(24 * 24 * 3600 * 1000 + 1);
  s.send({ seq: s.r(1), payload: "b", options: ts(5) }); // would fail PAWS if TS.Recent were valid
  assert.equal(s.conn.readable, 2);
  s.advance(40);
  s.expectSent({ ack: s.r(2), options: { timestamps: { tsVal: s.now, tsEcr: 5 } } });
});

Deno.test("TcpConnection takes no RTT sample from an ACK echoing an earlier copy of a retransmitted SYN-ACK", () => {
  // Soak finding: the client's ACKs of the SYN-ACK were lost for seconds; the one that
  // came echoed the TSval of an earlier SYN-ACK copy (its TS.Recent), an 11.7 s "RTT"
  // gave an RTO of 35 s, beyond the user timeout, and the first data was never resent.
  const s = TcpScript.server({}, { options: { mss: 1460, ...ts(100) } });
  const first = s.expectSent({ flags: SYN | ACK });
  const echoed = first.options.timestamps!.tsVal;
  s.fireNext(); // RTO: the SYN-ACK again
  s.expectSent({ flags: SYN | ACK });
  s.fireNext();
  s.expectSent({ flags: SYN | ACK });
  s.advance(500);
  s.send({ flags: ACK, options: ts(9000, echoed) });
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.ok(s.now - echoed > 3000); // what the echo would have measured
  assert.equal(s.conn.info().rto, 3000); // RFC 6298 §5.7's fallback instead
});
