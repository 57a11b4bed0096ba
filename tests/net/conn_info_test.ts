// TouConn.info(): the Linux TCP_INFO figures (state, rtt, rttvar, rto,
// cwnd, ssthresh, mss, bytes sent/acked/received, retransmits, lost), on a
// clean and on a lossy simulated path.

import assert from "node:assert/strict";
import type { TcpInfo, TouConn } from "../../mod.ts";
import { pattern } from "./_util.ts";
import { SERVER_HOST, SERVER_PORT, type SimWorld, simWorld } from "./_sim.ts";

async function pair(w: SimWorld): Promise<{ a: TouConn; b: TouConn }> {
  const l = w.server.listen({ tcpPort: 80 });
  const a = await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
    "connect",
  );
  const b = await w.until(l.accept(), "accept");
  return { a, b };
}

/** Sends `data` from a to b and has b read it all. */
async function transfer(w: SimWorld, a: TouConn, b: TouConn, data: Uint8Array): Promise<void> {
  const writing = (async () => {
    let off = 0;
    while (off < data.length) off += await a.write(data.subarray(off));
  })();
  const buf = new Uint8Array(65_536);
  let got = 0;
  const reading = (async () => {
    while (got < data.length) got += (await b.read(buf))!;
  })();
  await w.until(Promise.all([writing, reading]), "transfer", 600_000);
  await w.drive(() => a.info().unacked === 0, "acknowledged");
}

const LINUX_TCP_INFO_FIELDS = [
  "state",
  "rtt",
  "rttvar",
  "rto",
  "cwnd",
  "ssthresh",
  "mss",
  "bytesSent",
  "bytesAcked",
  "bytesReceived",
  "retransmits",
  "lost",
] as const satisfies readonly (keyof TcpInfo)[];

Deno.test("TouConn.info reports state, RTT, windows and byte counts when the path is clean", async () => {
  const w = simWorld({ link: { delay: 5 } }); // 10 ms round trip
  const { a, b } = await pair(w);
  const fresh = a.info();
  for (const k of LINUX_TCP_INFO_FIELDS) assert.ok(k in fresh, k);
  assert.equal(fresh.state, "ESTABLISHED");
  assert.equal(fresh.bytesSent, 0);
  // Segment budget 1448 - 20 (TCP header) - 12 (timestamps) = 1416 payload bytes.
  assert.equal(fresh.mss, 1416);
  assert.ok(fresh.rto >= 200 && fresh.rto <= 1000, `rto ${fresh.rto}`); // one SYN RTT sample
  assert.equal(fresh.ssthresh, Infinity); // no loss yet
  assert.equal(fresh.cwnd, 10 * 1416); // initialCwnd segments (RFC 6928)

  const n = 300_000;
  await transfer(w, a, b, pattern(n, 1));
  const ia = a.info();
  const ib = b.info();
  assert.equal(ia.state, "ESTABLISHED");
  assert.ok(ia.rtt >= 10 && ia.rtt <= 60, `rtt ${ia.rtt}`); // 10 ms path + delayed ACKs
  assert.ok(ia.rttvar >= 0 && ia.rttvar <= ia.rtt, `rttvar ${ia.rttvar}`);
  assert.equal(ia.rto, 200); // RFC 6298 rto = srtt + 4·rttvar, raised to rtoMin (200 ms)
  assert.ok(ia.cwnd > 10 * 1416, `cwnd ${ia.cwnd} grew in slow start`);
  assert.equal(ia.ssthresh, Infinity);
  assert.equal(ia.bytesSent, n);
  assert.equal(ia.bytesAcked, n);
  assert.equal(ib.bytesReceived, n);
  assert.equal(ia.bytesReceived, 0);
  assert.equal(ia.retransmits, 0);
  assert.equal(ia.lost, 0);
  assert.equal(ia.unacked, 0);
  assert.equal(ia.sendQueue, 0);
  assert.equal(ib.recvQueue, 0);
  assert.equal(ib.rcvMss, 1416);
  assert.equal(ia.timestamps, true);
  assert.equal(ia.sack, true);
  // Endpoint.connections() carries the same snapshot.
  const listed = w.client.connections().find((c) => c.tuple.local.tcpPort === a.localAddr.port)!;
  assert.deepEqual(listed.info, a.info());
  assert.equal(listed.state, "ESTABLISHED");
  assert.equal(listed.passive, false);
  await w.close();
});

Deno.test("TouConn.info counts retransmits and loss events when the path drops segments", async () => {
  const seed = 7;
  const w = simWorld({ seed, link: { delay: 5, loss: 0.03 } });
  const { a, b } = await pair(w);
  const n = 1_000_000;
  await transfer(w, a, b, pattern(n, 2));
  const ia = a.info();
  const ib = b.info();
  const seedNote = `seed ${seed}`;
  assert.ok(ia.retransmits > 0, seedNote);
  assert.ok(ia.lost > 0 && ia.lost <= ia.retransmits, `lost ${ia.lost}, ${seedNote}`);
  assert.ok(ia.bytesSent > n, `bytesSent ${ia.bytesSent} includes retransmissions`);
  assert.equal(ia.bytesAcked, n);
  assert.equal(ib.bytesReceived, n);
  assert.ok(Number.isFinite(ia.ssthresh), `ssthresh ${ia.ssthresh} set by a loss`);
  assert.ok(ia.rto >= 200, `rto ${ia.rto}`);
  await w.close();
});

Deno.test("TouConn.info reports the closing states when the connection shuts down", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  a.close();
  await w.drive(() => a.info().state === "FIN_WAIT_2", "FIN_WAIT_2");
  assert.equal(b.info().state, "CLOSE_WAIT");
  b.close();
  assert.equal(b.info().state, "LAST_ACK");
  await w.drive(() => a.info().state === "TIME_WAIT", "TIME_WAIT");
  assert.equal(a.state, "TIME_WAIT");
  await w.close();
});
