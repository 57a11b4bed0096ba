import assert from "node:assert/strict";
import { ACK, PSH } from "../../src/wire/tcp_flags.ts";
import { TcpPair, TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = { windowScaling: false, timestamps: false, sack: false };
const MSS = 1428;

Deno.test("TcpConnection retransmits from SND.UNA with a backed-off RTO when no ACK comes", () => {
  const s = TcpScript.established({ config: PLAIN });
  assert.equal(s.conn.info().rto, 200); // SYN-ACK RTT sample of 0 ms, rtoMin 200
  s.app((c) => c.write(new Uint8Array(3000)));
  s.expectSent({ seq: s.l(0), len: MSS });
  s.expectSent({ seq: s.l(MSS), len: MSS });
  s.expectSent({ flags: ACK | PSH, seq: s.l(2 * MSS), len: 144 });
  assert.equal(s.fireNext(), 200);
  s.expectSent({ seq: s.l(0), len: MSS }); // cwnd is one segment after a timeout
  s.expectNothing();
  assert.equal(s.fireNext(), 600);
  s.expectSent({ seq: s.l(0), len: MSS });
  assert.equal(s.conn.info().rto, 800);
  const info = s.conn.info();
  assert.equal(info.retransmits, 2);
  assert.equal(info.lost, 2);
  assert.equal(info.cwnd, MSS);
  assert.equal(info.ssthresh, 2 * MSS);
  s.advance(50);
  s.send({ ack: s.l(MSS) });
  s.expectSent({ seq: s.l(MSS), len: MSS });
  s.expectSent({ seq: s.l(2 * MSS), len: 144 });
  s.expectNothing();
  // Karn: the ACK of a retransmitted segment gives no RTT sample
  assert.equal(s.conn.info().rtt, 0);
  assert.equal(s.conn.info().rto, 200);
  s.send({ ack: s.l(3000) });
  assert.equal(s.conn.pollTimeout(), Infinity);
});

Deno.test("TcpConnection gives up with timed_out when retries retransmissions go unanswered", () => {
  const s = TcpScript.established({ config: { ...PLAIN, retries: 3 } });
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  const times = [s.fireNext(), s.fireNext(), s.fireNext()];
  assert.deepEqual(times, [200, 600, 1400]);
  assert.equal(s.sent.splice(0).length, 3);
  assert.equal(s.fireNext(), 3000);
  s.expectNothing(); // no RST on a retransmission timeout
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error"), [{
    type: "error",
    kind: "timed_out",
    detail: "timed out after 3 retransmissions",
  }]);
});

Deno.test("TcpConnection takes an RTT sample from TSecr when the ACK covers a retransmission", () => {
  const s = TcpScript.established({}, {
    options: { mss: 1460, timestamps: { tsVal: 1, tsEcr: 0 } },
  });
  s.app((c) => c.write(new Uint8Array(100)));
  s.expectSent({ len: 100, options: { timestamps: { tsVal: 0, tsEcr: 1 } } });
  s.fireNext();
  s.expectSent({ len: 100, options: { timestamps: { tsVal: 200, tsEcr: 1 } } });
  s.advance(50);
  s.send({ ack: s.l(100), options: { timestamps: { tsVal: 2, tsEcr: 200 } } });
  const info = s.conn.info();
  assert.equal(info.rtt, 6.25); // second sample of 50 ms after a first of 0
  assert.equal(info.rttvar, 12.5);
});

Deno.test("TcpConnection fast-retransmits on the third duplicate ACK and recovers with NewReno when holes remain", () => {
  const s = TcpScript.established({ config: PLAIN });
  s.app((c) => c.write(new Uint8Array(30 * MSS)));
  for (let i = 0; i < 10; i++) s.expectSent({ seq: s.l(i * MSS), len: MSS });
  s.send({ ack: s.l(MSS) }); // slow start: 2 more segments
  s.expectSent({ seq: s.l(10 * MSS) });
  s.expectSent({ seq: s.l(11 * MSS) });
  s.expectNothing();
  // segment 1 was lost: three duplicate ACKs
  s.send({ ack: s.l(MSS) });
  s.send({ ack: s.l(MSS) });
  s.expectNothing();
  s.send({ ack: s.l(MSS) });
  s.expectSent({ seq: s.l(MSS), len: MSS });
  s.expectNothing();
  let info = s.conn.info();
  assert.equal(info.ssthresh, Math.floor(11 * MSS / 2));
  assert.equal(info.cwnd, Math.floor(11 * MSS / 2) + 3 * MSS);
  assert.equal(info.lost, 1);
  // a partial ACK (segment 5 lost too) retransmits the next hole at once
  s.send({ ack: s.l(5 * MSS) });
  s.expectSent({ seq: s.l(5 * MSS), len: MSS });
  s.expectNothing();
  // the full ACK ends recovery: cwnd = min(ssthresh, FlightSize + MSS) with nothing in flight
  s.send({ ack: s.l(12 * MSS) });
  info = s.conn.info();
  assert.equal(info.cwnd, 2 * MSS);
  s.expectSent({ seq: s.l(12 * MSS), len: MSS });
  s.expectSent({ seq: s.l(13 * MSS), len: MSS });
  s.expectNothing();
  assert.equal(s.conn.info().retransmits, 2);
});

Deno.test("TcpConnection does not count window updates or data-carrying ACKs as duplicates", () => {
  const s = TcpScript.established({ config: PLAIN });
  s.app((c) => c.write(new Uint8Array(4 * MSS)));
  s.sent.length = 0;
  s.send({ ack: s.l(0), window: 60000 });
  s.send({ ack: s.l(0), window: 60001 });
  s.send({ ack: s.l(0), seq: s.r(0), payload: "x" });
  s.send({ ack: s.l(0), seq: s.r(1), payload: "y" });
  // no fast retransmit, only ACKs for the data
  for (const seg of s.sent) assert.equal(seg.payload.length, 0);
  assert.equal(s.conn.info().retransmits, 0);
});

Deno.test("TcpPair delivers all data when every tenth segment is dropped", () => {
  const total = 300_000;
  const pair = new TcpPair({ drop: (_seg, from, n) => from === "client" && n % 10 === 7 });
  pair.keepTrace = false;
  const data = new Uint8Array(total);
  for (let i = 0; i < total; i++) data[i] = (i * 7) & 0xff;
  let written = 0;
  const got = new Uint8Array(total);
  let read = 0;
  const buf = new Uint8Array(65536);
  pair.run({
    app: () => {
      if (pair.client.state === "ESTABLISHED" && written < total) {
        written += pair.client.write(data.subarray(written));
      }
      if (pair.server) {
        for (let n = pair.server.read(buf); n > 0; n = pair.server.read(buf)) {
          got.set(buf.subarray(0, n), read);
          read += n;
        }
      }
    },
    until: () => read === total && pair.client.info().sendQueue === 0,
  });
  assert.deepEqual(got, data);
  const info = pair.client.info();
  assert.ok(info.retransmits > 0);
  assert.equal(info.bytesAcked, total);
});

Deno.test("TcpConnection starts with a one-segment window when the SYN had to be retransmitted", () => {
  const s = TcpScript.client({ config: PLAIN });
  s.expectSent({ flags: 0x02 });
  s.fireNext();
  s.expectSent({ flags: 0x02 });
  s.send({ seq: s.remoteIss, ack: s.l(), flags: 0x12, options: { mss: 1460 } });
  s.expectSent({ flags: ACK });
  assert.equal(s.conn.info().cwnd, MSS); // RFC 5681 §3.1
  assert.equal(s.conn.info().rto, 1000); // backoff dropped, no RTT sample (Karn)
});
