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

Deno.test("sendLimit names the window that stops the sender", () => {
  assert.equal(sendLimit({ ...base, sndWnd: 8000, unacked: 8000, cwnd: 100_000 }), "rwnd");
  assert.equal(sendLimit({ ...base, unacked: 14_160 }), "cwnd");
  assert.equal(sendLimit({ ...base, unacked: 1416, sendQ: 2000 }), "sender");
  assert.equal(sendLimit({ ...base, unacked: 1416 }), "none");
});
