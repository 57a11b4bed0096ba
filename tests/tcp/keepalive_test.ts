import assert from "node:assert/strict";
import { ACK, RST } from "../../src/wire/tcp_flags.ts";
import { TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = { windowScaling: false, timestamps: false, sack: false };

Deno.test("TcpConnection arms no keepalive timer when keepalive is off (the default)", () => {
  const s = TcpScript.established({ config: PLAIN });
  assert.equal(s.conn.pollTimeout(), Infinity);
  s.advance(10 * 3600 * 1000);
  s.expectNothing();
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("TcpConnection probes with SND.NXT - 1 and declares the peer dead after count probes", () => {
  const s = TcpScript.established({ config: PLAIN });
  s.app((c, now) => c.setKeepAlive(now, true, { idle: 1000, interval: 100, count: 3 }));
  assert.equal(s.conn.pollTimeout(), 1000);
  assert.equal(s.fireNext(), 1000);
  s.expectSent({ flags: ACK, seq: s.l(-1), ack: s.r(), len: 0 });
  assert.equal(s.fireNext(), 1100);
  s.expectSent({ flags: ACK, seq: s.l(-1) });
  assert.equal(s.fireNext(), 1200);
  s.expectSent({ flags: ACK, seq: s.l(-1) });
  assert.equal(s.fireNext(), 1300);
  s.expectSent({ flags: RST | ACK, seq: s.l() });
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error"), [{
    type: "error",
    kind: "timed_out",
    detail: "keepalive: peer dead after 3 probes",
  }]);
});

Deno.test("TcpConnection restarts the keepalive idle time when the peer answers a probe", () => {
  const s = TcpScript.established({ config: PLAIN });
  s.app((c, now) => c.setKeepAlive(now, true, { idle: 1000, interval: 100, count: 2 }));
  s.fireNext();
  s.expectSent({ seq: s.l(-1) });
  s.advance(30);
  s.send({}); // the probe's ACK
  s.expectNothing();
  assert.equal(s.conn.pollTimeout(), 2030);
  s.fireNext();
  s.expectSent({ seq: s.l(-1) });
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("TcpConnection answers a keepalive probe from the peer with an ACK", () => {
  const s = TcpScript.established({ config: PLAIN });
  s.send({ seq: s.r(-1) });
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r() });
});

Deno.test("TcpConnection uses the config's keepalive settings when keepAlive is on from the start", () => {
  const s = TcpScript.established({
    config: {
      ...PLAIN,
      keepAlive: true,
      keepAliveIdle: 500,
      keepAliveInterval: 50,
      keepAliveCount: 1,
    },
  });
  assert.equal(s.conn.pollTimeout(), 500);
  s.fireNext();
  s.expectSent({ seq: s.l(-1) });
  s.fireNext();
  s.expectSent({ flags: RST | ACK });
  assert.equal(s.eventsOf("error")[0].detail, "keepalive: peer dead after 1 probe");
});

Deno.test("TcpConnection detects a dead peer after 7200 s idle and 9 probes 75 s apart with the Linux defaults", () => {
  const s = TcpScript.established({ config: { ...PLAIN, keepAlive: true } });
  assert.equal(s.conn.pollTimeout(), 7_200_000);
  for (let k = 0; k < 9; k++) {
    assert.equal(s.fireNext(), 7_200_000 + k * 75_000);
    s.expectSent({ flags: ACK, seq: s.l(-1), ack: s.r(), len: 0 });
  }
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.equal(s.fireNext(), 7_875_000);
  s.expectSent({ flags: RST | ACK, seq: s.l(), ack: s.r() });
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error"), [{
    type: "error",
    kind: "timed_out",
    detail: "keepalive: peer dead after 9 probes",
  }]);
});

Deno.test("TcpConnection sends no keepalive probe while data is outstanding", () => {
  const s = TcpScript.established({
    config: { ...PLAIN, keepAlive: true, keepAliveIdle: 100, rtoMin: 1000, retries: 1 },
  });
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  s.advance(150); // keepalive timer at 100: data in flight, so it only re-arms
  s.expectNothing();
  s.send({ ack: s.l(10) });
  assert.equal(s.conn.pollTimeout(), 250);
  s.fireNext();
  s.expectSent({ seq: s.l(9), len: 0 });
});

Deno.test("TcpConnection waits a full idle time after setKeepAlive when the connection was already idle", () => {
  const s = TcpScript.established({ config: PLAIN });
  s.advance(5000); // idle longer than the keepalive idle time below
  s.app((c, now) => c.setKeepAlive(now, true, { idle: 1000, interval: 100, count: 3 }));
  s.expectNothing();
  assert.equal(s.conn.pollTimeout(), 6000); // as Linux: a full idle time from setsockopt
  assert.equal(s.fireNext(), 6000);
  s.expectSent({ flags: ACK, seq: s.l(-1), ack: s.r(), len: 0 });
});
