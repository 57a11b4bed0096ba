import assert from "node:assert/strict";
import { formatStatTable, sendLimit, type StatRow } from "../../src/tunnel/stat.ts";

const base: StatRow = {
  state: "ESTABLISHED",
  local: "127.0.0.1:7000/22",
  peer: "127.0.0.1:40000/40000",
  sendQ: 200_000,
  recvQ: 0,
  rtt: 20,
  rttvar: 5,
  rto: 220,
  cwnd: 14_160,
  ssthresh: null,
  mss: 1416,
  retransmits: 0,
  lost: 0,
  bytesSent: 0,
  bytesAcked: 0,
  bytesReceived: 0,
  unacked: 14_160,
  sndWnd: 65_535,
  rcvWnd: 131_072,
};

function detail(r: StatRow): string {
  const out = formatStatTable({
    role: "server",
    udp: "127.0.0.1:7000",
    encrypted: true,
    time: 0,
    counters: {},
    connections: [r],
  });
  return out.split("\n")[3];
}

Deno.test("tou stat's detail line has ss -tani's windows, send rate, limit and timer", () => {
  assert.equal(
    detail(base),
    "\t rtt:20/5 rto:220 mss:1416 cwnd:10 retrans:0 lost:0 bytes_sent:0 bytes_acked:0 " +
      "bytes_received:0 send:5.7Mbps rcv_space:131072 snd_wnd:65535 limit:cwnd timer:(on,220ms)",
  );
  // Idle: nothing in flight, so no retransmission timer, and the sender is the limit.
  assert.match(detail({ ...base, unacked: 0, sendQ: 0 }), /limit:sender$/);
});

Deno.test("tou stat prints delivery_rate, pacing_rate and every armed timer the way ss -tani does", () => {
  const r: StatRow = {
    ...base,
    deliveryRate: 125_000, // bytes per second: 1 Mbps
    pacingRate: 2_500_000,
    timers: { retransmit: 219.4, delayedAck: 12, keepalive: 7_200_000, lossProbe: 30 },
  };
  assert.match(
    detail(r),
    / send:5\.7Mbps pacing_rate:20Mbps delivery_rate:1Mbps rcv_space:131072 snd_wnd:65535 limit:cwnd timer:\(on,220ms\) timer:\(delack,12ms\) timer:\(keepalive,120min\) timer:\(tlp,30ms\)$/,
  );
  // The ss names of every kind tou has.
  const all = detail({
    ...base,
    timers: {
      retransmit: 1,
      persist: 2,
      delayedAck: 3,
      keepalive: 4,
      timeWait: 60_000,
      finWait2: 1500,
      pacing: 5,
      lossProbe: 6,
      reorder: 7,
      idle: 600_000,
    },
  });
  assert.match(
    all,
    /timer:\(on,1ms\) timer:\(persist,2ms\) timer:\(delack,3ms\) timer:\(keepalive,4ms\) timer:\(timewait,1min\) timer:\(fin_wait2,1\.5sec\) timer:\(pacing,5ms\) timer:\(tlp,6ms\) timer:\(reorder,7ms\) timer:\(idle,10min\)$/,
  );
  // The timers listed are the ones armed: none armed, none printed (no guess from in-flight data).
  assert.doesNotMatch(detail({ ...base, timers: {} }), /timer:/);
  // Pacing holding data back is a limit of its own.
  assert.match(
    detail({ ...base, unacked: 1416, timers: { pacing: 0.5 } }),
    /limit:pacing timer:\(pacing,1ms\)$/,
  );
});

Deno.test("sendLimit names the window that stops the sender", () => {
  assert.equal(sendLimit({ ...base, sndWnd: 8000, unacked: 8000, cwnd: 100_000 }), "rwnd");
  assert.equal(sendLimit({ ...base, unacked: 14_160 }), "cwnd");
  assert.equal(sendLimit({ ...base, unacked: 1416, sendQ: 2000 }), "sender");
  assert.equal(sendLimit({ ...base, unacked: 1416 }), "none");
});
