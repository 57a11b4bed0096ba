import assert from "node:assert/strict";
import { registerController } from "../../src/tcp/congestion/registry.ts";
import { NoCongestionControl } from "../../src/tcp/congestion/none.ts";
import { ACK, PSH } from "../../src/wire/tcp_flags.ts";
import { TcpPair, TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = {
  windowScaling: false,
  timestamps: false,
  sack: false,
  congestionControl: "newreno",
};
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
  // Karn: the ACK of a retransmitted segment gives no RTT sample, so the backoff stays
  assert.equal(s.conn.info().rtt, 0);
  assert.equal(s.conn.info().rto, 800);
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

Deno.test("TcpConnection fast-retransmits on the third duplicate ACK and recovers with NewReno and PRR when holes remain", () => {
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
  const ssthresh = Math.floor(11 * MSS / 2);
  assert.equal(info.ssthresh, ssthresh);
  assert.equal(info.cwnd, ssthresh); // no inflation: PRR sizes the sending
  assert.equal(info.lost, 1);
  // a partial ACK (segment 5 lost too) of 4 segments: PRR's sndcnt is
  // ceil(4·MSS · ssthresh / RecoverFS) - prr_out = 2·MSS - 1·MSS: the next hole
  s.send({ ack: s.l(5 * MSS) });
  s.expectSent({ seq: s.l(5 * MSS), len: MSS });
  s.expectNothing();
  // the full ACK ends recovery: cwnd = ssthresh (RFC 6937), nothing in flight
  s.send({ ack: s.l(12 * MSS) });
  info = s.conn.info();
  assert.equal(info.cwnd, ssthresh);
  for (let i = 12; i < 17; i++) s.expectSent({ seq: s.l(i * MSS), len: MSS });
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
  assert.equal(s.conn.info().rto, 3000); // RFC 6298 §5.7: no RTT sample, RTO re-initialised
});

Deno.test("TcpConnection re-initialises the RTO to 3 s when data transmission begins after a retransmitted SYN (RFC 6298 §5.7)", () => {
  const s = TcpScript.client({ config: PLAIN });
  s.expectSent({ flags: 0x02 });
  assert.equal(s.fireNext(), 1000);
  s.expectSent({ flags: 0x02 });
  s.advance(100);
  s.send({ seq: s.remoteIss, ack: s.l(), flags: 0x12, options: { mss: 1460 } });
  s.expectSent({ flags: ACK });
  assert.equal(s.conn.info().rto, 3000);
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  assert.equal(s.fireNext(), 1100 + 3000);
  s.expectSent({ seq: s.l(), len: 10 });
});

Deno.test("TcpConnection re-initialises the RTO to 3 s when data transmission begins after a retransmitted SYN-ACK (RFC 6298 §5.7)", () => {
  const s = TcpScript.server({ config: PLAIN }, { options: { mss: 1460 } });
  s.expectSent({ flags: 0x12 });
  assert.equal(s.fireNext(), 1000);
  s.expectSent({ flags: 0x12 });
  s.advance(50);
  s.send({ ack: s.l() });
  assert.equal(s.conn.state, "ESTABLISHED");
  assert.equal(s.conn.info().rto, 3000);
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  assert.equal(s.fireNext(), 1050 + 3000);
});

Deno.test("TcpConnection takes the §5.7 RTO from rtoFallback and keeps a larger rtoInitial (RFC 6298 §5.7)", () => {
  for (
    const [config, rto] of [[{ rtoFallback: 1500 }, 1500], [{ rtoInitial: 5000 }, 5000]] as const
  ) {
    const s = TcpScript.client({ config: { ...PLAIN, ...config } });
    s.expectSent({ flags: 0x02 });
    s.fireNext();
    s.expectSent({ flags: 0x02 });
    s.send({ seq: s.remoteIss, ack: s.l(), flags: 0x12, options: { mss: 1460 } });
    assert.equal(s.conn.info().rto, rto);
  }
});

Deno.test("TcpConnection keeps the measured RTO after a retransmitted SYN when timestamps give a sample (RFC 6298 §5.7, RFC 7323 §4.1)", () => {
  const s = TcpScript.client({ config: { windowScaling: false, sack: false } });
  s.expectSent({ flags: 0x02 });
  s.fireNext();
  const syn = s.expectSent({ flags: 0x02 });
  s.advance(100);
  const tsEcr = syn.options.timestamps!.tsVal;
  s.send({
    seq: s.remoteIss,
    ack: s.l(),
    flags: 0x12,
    options: { mss: 1460, timestamps: { tsVal: 7, tsEcr } },
  });
  const info = s.conn.info();
  assert.deepEqual([info.rtt, info.rto], [100, 300]);
});

Deno.test("TcpConnection sets RTO = SRTT + 4·RTTVAR from the handshake RTT when timestamps are off", () => {
  const s = TcpScript.client({ config: PLAIN });
  s.expectSent({ flags: 0x02 });
  s.advance(300);
  s.send({ seq: s.remoteIss, ack: s.l(), flags: 0x12, options: { mss: 1460 } });
  s.expectSent({ flags: ACK });
  const info = s.conn.info();
  assert.deepEqual([info.rtt, info.rttvar, info.rto], [300, 150, 900]); // RFC 6298 §2.2
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  assert.equal(s.fireNext(), 300 + 900);
  s.expectSent({ seq: s.l(), len: 10 });
});

Deno.test("TcpConnection keeps the RTO at rtoMin when the measured RTT is tiny", () => {
  const s = TcpScript.established({ config: { ...PLAIN, rtoMin: 50 } });
  assert.equal(s.conn.info().rto, 50); // handshake RTT 0 ms: SRTT + max(G, 4·RTTVAR) = 1, raised to 50
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  assert.equal(s.conn.pollTimeout(), 50);
});

Deno.test("TcpConnection backs the RTO off by doubling up to the 120 s rtoMax when retransmissions go unanswered", () => {
  const s = TcpScript.established({ config: PLAIN }); // retries 15, rtoMin 200, rtoMax 120 000
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  const gaps: number[] = [];
  let last = 0;
  while (s.conn.state !== "CLOSED") {
    const t = s.fireNext();
    gaps.push(t - last);
    last = t;
  }
  const expected = Array.from({ length: 16 }, (_, i) => Math.min(200 * 2 ** i, 120_000));
  assert.deepEqual(gaps, expected); // 15 retransmissions, then the 16th timeout gives up
  assert.equal(s.conn.info().retransmits, 15);
  assert.equal(s.eventsOf("error")[0].detail, "timed out after 15 retransmissions");
});

Deno.test("TcpConnection takes no RTT sample from a retransmitted segment's ACK (Karn) but from the next new one", () => {
  const s = TcpScript.client({ config: PLAIN });
  s.expectSent({ flags: 0x02 });
  s.advance(100);
  s.send({ seq: s.remoteIss, ack: s.l(), flags: 0x12, options: { mss: 1460 } });
  s.expectSent({ flags: ACK });
  assert.deepEqual([s.conn.info().rtt, s.conn.info().rto], [100, 300]);
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  assert.equal(s.fireNext(), 400);
  s.expectSent({ seq: s.l(), len: 10 }); // the retransmission
  assert.equal(s.conn.info().rto, 600);
  s.advance(10);
  s.send({ ack: s.l(10) }); // ambiguous: original or retransmission?
  let info = s.conn.info();
  assert.deepEqual([info.rtt, info.rttvar, info.rto], [100, 50, 600]); // no sample: backoff stays
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ seq: s.l(10), len: 10 });
  s.advance(20);
  s.send({ ack: s.l(20) });
  info = s.conn.info();
  assert.deepEqual([info.rtt, info.rttvar], [90, 57.5]); // RFC 6298 §2.3 with R = 20
  assert.equal(info.rto, 320); // the valid sample drops the backoff
});

Deno.test("TcpConnection keeps the RTO backoff when an ACK of new data gives no valid RTT sample (RFC 6298 §5, RFC 9293 MUST-18)", () => {
  const s = TcpScript.client({ config: PLAIN });
  s.expectSent({ flags: 0x02 });
  s.advance(100);
  s.send({ seq: s.remoteIss, ack: s.l(), flags: 0x12, options: { mss: 1460 } });
  s.expectSent({ flags: ACK });
  assert.equal(s.conn.info().rto, 300);
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  assert.equal(s.fireNext(), 400);
  s.expectSent({ seq: s.l(), len: 10 }); // backed off: RTO 600
  s.advance(10);
  s.send({ ack: s.l(10) }); // covers a retransmitted segment, no timestamps: no sample
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ seq: s.l(10), len: 10 });
  // the next segment is retransmitted after the backed-off RTO, not the base 300 ms
  assert.equal(s.fireNext(), 410 + 600);
  s.expectSent({ seq: s.l(10), len: 10 });
});

Deno.test("TcpConnection keeps the RTO backoff when an ACK of a retransmission echoes no usable timestamp (RFC 6298 §5, RFC 7323 §4.1)", () => {
  const s = TcpScript.established({ config: { windowScaling: false, sack: false } }, {
    options: { mss: 1460, timestamps: { tsVal: 1, tsEcr: 0 } },
  });
  const base = s.conn.info().rto;
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  s.fireNext();
  s.expectSent({ seq: s.l(), len: 10 });
  assert.equal(s.conn.info().rto, 2 * base);
  // the ACK carries timestamps, but its TSecr (0) echoes nothing of ours within rtoMax
  s.send({ ack: s.l(10), options: { timestamps: { tsVal: 2, tsEcr: 0x8000_0000 } } });
  assert.equal(s.conn.info().rto, 2 * base);
});

Deno.test("TcpConnection uses the congestion controller named in its config when one is registered", () => {
  const calls: string[] = [];
  class TwoSegments extends NoCongestionControl {
    override readonly name: string = "two-segments-for-test";
    override readonly cwnd: number = 2 * MSS;
    override onAck(): void {
      calls.push("onAck");
    }
    override onRto(): void {
      calls.push("onRto");
    }
  }
  registerController("two-segments-for-test", () => new TwoSegments());
  const s = TcpScript.established({
    config: { ...PLAIN, congestionControl: "two-segments-for-test" },
  });
  s.app((c) => c.write(new Uint8Array(10 * MSS)));
  s.expectSent({ seq: s.l(0), len: MSS });
  s.expectSent({ seq: s.l(MSS), len: MSS });
  s.expectNothing(); // the controller's window, not the initial window of 10
  s.send({ ack: s.l(MSS) });
  s.expectSent({ seq: s.l(2 * MSS), len: MSS });
  s.expectNothing();
  s.fireNext();
  assert.deepEqual(calls, ["onAck", "onRto"]);
  assert.equal(s.conn.info().cwnd, 2 * MSS);
});

Deno.test("TcpConnection times out after userTimeout without acknowledgment, the RTO clamped to it (RFC 9293 §3.8.3, RFC 5482)", () => {
  const s = TcpScript.established({ config: { ...PLAIN, userTimeout: 1000 } });
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  assert.equal(s.fireNext(), 200);
  s.expectSent({ len: 10 });
  assert.equal(s.fireNext(), 600);
  s.expectSent({ len: 10 });
  assert.equal(s.fireNext(), 1000); // not 1400: clamped to the user timeout
  s.expectNothing();
  assert.equal(s.conn.state, "CLOSED");
  assert.deepEqual(s.eventsOf("error").map((e) => [e.kind, e.detail]), [[
    "timed_out",
    "timed out after 1000 ms without acknowledgment (user timeout)",
  ]]);
});

Deno.test("TcpConnection restarts the user timeout when an ACK makes progress (RFC 5482)", () => {
  const s = TcpScript.established({ config: { ...PLAIN, userTimeout: 1000, noDelay: true } });
  s.app((c) => c.write(new Uint8Array(10)));
  s.expectSent({ len: 10 });
  s.advance(900);
  s.expectSent({ len: 10 }); // retransmitted at 200 and 600
  s.expectSent({ len: 10 });
  s.send({ ack: s.l(5) }); // partial progress at 900
  s.advance(999);
  assert.equal(s.conn.state, "ESTABLISHED");
  s.advance(1);
  assert.equal(s.conn.state, "CLOSED"); // 1000 ms after the last progress
});

Deno.test("TcpConnection sends initialWindowBytes rounded down to whole segments as its initial window (RFC 6928)", () => {
  const s = TcpScript.established({
    config: { ...PLAIN, initialWindowBytes: 4000, pacing: false },
  });
  s.app((c) => c.write(new Uint8Array(10 * MSS)));
  s.expectSent({ seq: s.l(0), len: MSS });
  s.expectSent({ seq: s.l(MSS), len: MSS });
  s.expectNothing(); // 4000 bytes: two segments of 1428
  assert.equal(s.conn.info().cwnd, 2 * MSS);
});
