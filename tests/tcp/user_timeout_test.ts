import assert from "node:assert/strict";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";
import { TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = { windowScaling: false, timestamps: false, sack: false };

Deno.test("TcpConnection aborts when data stays unacknowledged for userTimeout, clamping the RTO to it", () => {
  const s = TcpScript.established({ config: { ...PLAIN, userTimeout: 5_000, rtoMin: 1_000 } });
  s.app((c) => c.write(new Uint8Array(100)));
  s.expectSent({ len: 100 });
  // RTOs 1, 2 s (backed off): retransmissions at 1000 and 3000; the next (at 7000) is clamped to 5000.
  assert.equal(s.fireNext(), 1_000);
  s.expectSent({ seq: s.l(), len: 100 });
  assert.equal(s.fireNext(), 3_000);
  s.expectSent({ seq: s.l(), len: 100 });
  assert.equal(s.fireNext(), 5_000);
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error"), [{
    type: "error",
    kind: "timed_out",
    detail: "timed out after 5000 ms without acknowledgment (user timeout)",
  }]);
});

Deno.test("TcpConnection restarts the user timeout when an ACK advances SND.UNA", () => {
  const s = TcpScript.established({
    config: { ...PLAIN, userTimeout: 5_000, noDelay: true, rtoMin: 1_000 },
  });
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  s.advance(4_000); // retransmissions at 1000 and 3000
  s.sent.length = 0;
  s.send({ ack: s.l(5) }); // progress at 4000: half of it acknowledged
  s.advance(4_900);
  assert.equal(s.conn.state, "ESTABLISHED");
  s.advance(200); // 9000 = 4000 + 5000
  assert.equal(s.conn.state, "CLOSED");
  assert.equal(s.eventsOf("error")[0].kind, "timed_out");
});

Deno.test("TcpConnection stops retrying a SYN at userTimeout before synRetries run out", () => {
  const s = TcpScript.client({ config: { ...PLAIN, userTimeout: 8_000 } });
  s.expectSent({ flags: SYN });
  const times: number[] = [];
  const closed = () => (s.conn.state as string) === "CLOSED";
  while (!closed()) {
    times.push(s.fireNext());
    if (!closed()) s.expectSent({ flags: SYN });
  }
  assert.deepEqual(times, [1_000, 3_000, 7_000, 8_000]);
  assert.match(s.eventsOf("error")[0].detail, /SYN.*\(user timeout 8000 ms\)$/);
});

Deno.test("TcpConnection keeps a connection whose peer answers zero-window probes past userTimeout", () => {
  const s = TcpScript.established({ config: { ...PLAIN, userTimeout: 2_000 } }, { window: 0 });
  s.app((c) => c.write(new Uint8Array(10)));
  for (let i = 0; i < 6; i++) {
    s.fireNext(); // persist timer: a probe
    s.sent.length = 0;
    s.send({ flags: ACK, window: 0 }); // the live peer answers, its window still closed
  }
  assert.ok(s.now > 2_000);
  assert.equal(s.conn.state, "ESTABLISHED");
});

Deno.test("TcpConnection aborts at userTimeout when zero-window probes go unanswered", () => {
  const s = TcpScript.established({ config: { ...PLAIN, userTimeout: 3_000 } }, { window: 0 });
  s.app((c) => c.write(new Uint8Array(10)));
  s.advance(60_000);
  assert.equal(s.conn.state, "CLOSED");
  assert.match(s.eventsOf("error")[0].detail, /zero-window probes \(user timeout 3000 ms\)$/);
  assert.ok(s.events.length > 0);
});
