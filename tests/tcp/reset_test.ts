import assert from "node:assert/strict";
import { ACK, FIN, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = { windowScaling: false, timestamps: false, sack: false };

function established(config: Record<string, unknown> = {}): TcpScript {
  return TcpScript.established({ config: { ...PLAIN, ...config } });
}

Deno.test("TcpConnection resets when a RST carries exactly RCV.NXT", () => {
  const s = established();
  s.send({ seq: s.r(0), payload: "data" });
  s.send({ seq: s.r(4), flags: RST });
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error"), [{
    type: "error",
    kind: "reset",
    detail: "connection reset by peer",
  }]);
  assert.deepEqual(s.events.slice(-3).map((e) => e.type), ["error", "state", "closed"]);
  // data received before the reset can still be read, then EOF
  assert.equal(s.readText(), "data");
  assert.equal(s.conn.read(new Uint8Array(1)), -1);
});

Deno.test("TcpConnection sends a challenge ACK when a RST is in the window but not at RCV.NXT", () => {
  const s = established();
  s.send({ seq: s.r(100), flags: RST });
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r() });
  s.expectNothing();
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("TcpConnection drops a RST silently when it is outside the window", () => {
  const s = established();
  s.send({ seq: s.r(-1), flags: RST });
  s.send({ seq: s.r(70_000), flags: RST | ACK });
  s.expectNothing();
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("TcpConnection answers a SYN in a synchronized state with a challenge ACK", () => {
  const s = established();
  s.send({ seq: s.r(10), flags: SYN });
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r() });
  assert.equal(s.conn.state, "ESTABLISHED");
  s.send({ seq: 12345, flags: SYN }); // out of the window: a challenge ACK too (RFC 5961 §4.2)
  s.expectSent({ flags: ACK, ack: s.r() });
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("RFC 5961 §4.2: SYNs out of the window share the challenge ACK rate limit", () => {
  const s = established({ challengeAckLimit: 3 });
  for (let i = 0; i < 10; i++) s.send({ seq: s.r(1_000_000 + i * 70_000), flags: SYN });
  for (let i = 0; i < 10; i++) s.send({ seq: s.r(10 + i), flags: SYN }); // in the window
  for (let i = 0; i < 3; i++) s.expectSent({ flags: ACK, seq: s.l(), ack: s.r() });
  s.expectNothing();
  assert.equal(s.conn.state, "ESTABLISHED");
  s.advance(1000);
  s.send({ seq: s.r(-5000), flags: SYN });
  s.expectSent({ flags: ACK, ack: s.r() });
});

Deno.test("RFC 5961 §3.2, §4.2, §5.2: RST, SYN and too-old or too-new ACK guesses together stay under the limit", () => {
  const s = established({ challengeAckLimit: 4 });
  s.send({ seq: s.r(100), flags: RST }); // §3.2 in window, not exact
  s.send({ seq: s.r(5), flags: SYN }); // §4.2
  s.send({ seq: s.r(0), ack: s.l(-70_000), payload: "x" }); // §5.2 too old
  s.send({ seq: s.r(0), ack: s.l(999), payload: "y" }); // §5.2 not yet sent
  s.send({ seq: s.r(200), flags: RST }); // the fifth: over the limit
  for (let i = 0; i < 4; i++) s.expectSent({ flags: ACK, ack: s.r() });
  s.expectNothing();
  assert.equal(s.conn.readable, 0); // neither guess's data was taken
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("TcpConnection drops a segment and ACKs when it acknowledges data never sent", () => {
  const s = established();
  s.send({ seq: s.r(0), ack: s.l(50), payload: "ignored" });
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r(0) });
  assert.equal(s.conn.readable, 0);
  assert.equal(s.conn.sndUna, s.l());
});

Deno.test("TcpConnection drops a segment whose ACK is older than SND.UNA - MAX.SND.WND", () => {
  const s = established({});
  s.send({ seq: s.r(0), ack: s.l(-70_000), payload: "old ack" });
  s.expectSent({ flags: ACK, ack: s.r(0) });
  assert.equal(s.conn.readable, 0);
  // an old ACK inside MAX.SND.WND is only ignored: the data is taken
  s.send({ seq: s.r(0), ack: s.l(-100), payload: "ok" });
  assert.equal(s.conn.readable, 2);
});

Deno.test("TcpConnection rate-limits challenge ACKs to challengeAckLimit per second", () => {
  const s = established({ challengeAckLimit: 2 });
  for (let i = 0; i < 5; i++) s.send({ seq: s.r(100 + i), flags: RST });
  s.expectSent({ flags: ACK });
  s.expectSent({ flags: ACK });
  s.expectNothing();
  s.advance(1000);
  s.send({ seq: s.r(100), flags: RST });
  s.expectSent({ flags: ACK });
});

Deno.test("TcpConnection never answers a RST with a RST", () => {
  const s = TcpScript.client({ config: PLAIN });
  s.expectSent({ flags: SYN });
  s.send({ seq: 1, ack: 1, flags: RST | ACK }); // bad ACK in SYN_SENT
  s.send({ seq: 1, ack: 1, flags: RST | SYN | ACK });
  s.expectNothing();
  const e = established();
  e.send({ seq: e.r(-5), flags: RST });
  e.send({ seq: e.r(500_000), flags: RST | FIN });
  e.expectNothing();
});

Deno.test("TcpConnection closes without an error when reset in LAST_ACK", () => {
  const s = established();
  s.send({ seq: s.r(0), flags: ACK | FIN });
  s.app((c, now) => c.closeWrite(now));
  s.sent.length = 0;
  assert.equal(s.conn.state, "LAST_ACK");
  s.send({ seq: s.r(1), flags: RST });
  assert.equal(s.conn.state, "CLOSED");
  assert.equal(s.eventsOf("error").length, 0);
});

Deno.test("TcpConnection reports reset when a RST arrives in CLOSE_WAIT", () => {
  const s = established();
  s.send({ seq: s.r(0), flags: ACK | FIN });
  s.send({ seq: s.r(1), flags: RST | ACK });
  assert.equal(s.conn.state, "CLOSED");
  assert.equal(s.eventsOf("error")[0].kind, "reset");
});

Deno.test("TcpConnection reports refused when reset in SYN_RCVD after a simultaneous open", () => {
  const s = TcpScript.client({ config: PLAIN });
  s.expectSent({ flags: SYN });
  s.send({ seq: s.remoteIss, ack: 0, flags: SYN });
  s.expectSent({ flags: SYN | ACK, seq: s.localIss, ack: s.r() });
  assert.equal(s.conn.state, "SYN_RCVD");
  s.send({ seq: s.r(), flags: RST });
  assert.equal(s.conn.state, "CLOSED");
  assert.equal(s.eventsOf("error")[0].kind, "refused");
});

Deno.test("Unacceptable segments without data draw at most one ACK per 500 ms (Linux tcp_invalid_ratelimit: no ACK loop between desynchronized ends)", () => {
  const s = established();
  for (let i = 0; i < 5; i++) s.send({ seq: s.r(200_000 + i), ack: s.l() }); // pure ACKs, out of window
  s.expectSent({ flags: ACK, ack: s.r() });
  s.expectNothing();
  // data out of the window is still answered each time (RFC 9293 §3.10.7.4)
  s.send({ seq: s.r(-10), ack: s.l(), payload: "old" });
  s.expectSent({ flags: ACK, ack: s.r() });
  s.send({ seq: s.r(-10), ack: s.l(), payload: "old" });
  s.expectSent({ flags: ACK, ack: s.r() });
  s.advance(500);
  s.send({ seq: s.r(200_000), ack: s.l() });
  s.expectSent({ flags: ACK, ack: s.r() });
  assert.equal(s.conn.state, "ESTABLISHED");
});
