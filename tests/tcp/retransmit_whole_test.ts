/**
 * Regression tests for two bench:soak stalls (1000 sealed tunnelled
 * connections through 3% loss, 2% reordering, 1% duplication): a sender whose
 * send records had been split into thousands of 1-byte pieces by resends cut
 * to the few bytes of room each ACK opened, with the hole at SND.UNA never
 * resent because cwnd - pipe stayed negative, timeout after timeout.
 */
import assert from "node:assert/strict";
import { TcpConnection } from "../../src/tcp/connection.ts";
import { tcpConfig } from "../../src/tcp/config.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import { seq, seqSub } from "../../src/wire/seq.ts";

const config = tcpConfig({ timestamps: false, sack: false, pacing: false, delayedAck: 0 });

/** An established pair at time 3; the client's ISS is 1000. */
function pair() {
  const client = TcpConnection.connect(0, { localPort: 1, remotePort: 2, iss: seq(1000), config });
  const server = TcpConnection.accept(
    0,
    { localPort: 2, remotePort: 1, iss: seq(5000), config },
    client.pollTransmit(0)!,
  );
  client.handleSegment(1, server.pollTransmit(1)!);
  server.handleSegment(2, client.pollTransmit(2)!);
  assert.equal(client.state, "ESTABLISHED");
  return { client, server };
}

function drain(c: TcpConnection, now: number): TcpSegment[] {
  const out: TcpSegment[] = [];
  for (let s = c.pollTransmit(now); s !== undefined; s = c.pollTransmit(now)) out.push(s);
  return out;
}

Deno.test("go-back-N after a zero window resends whole segments, not the few bytes cwnd - pipe leaves (RFC 1122 4.2.3.4, RFC 6675 §4)", () => {
  const { client, server } = pair();
  drain(server, 3);
  const mss = client.info().mss;
  const cwnd = client.info().cwnd;
  // Everything the initial window allows but 5 bytes: cwnd - pipe will be 5.
  client.write(new Uint8Array(cwnd - 5));
  const first = drain(client, 4).filter((s) => s.payload.length > 0);
  assert.ok(first.length >= 2);
  const probeAck = (window: number): TcpSegment => ({
    srcPort: 2,
    dstPort: 1,
    seq: seq(5001),
    ack: seq(1001), // acknowledges nothing
    flags: 0x10,
    window,
    urgentPointer: 0,
    options: {},
    payload: new Uint8Array(0),
  });
  client.handleSegment(10, probeAck(0)); // zero window: SND.NXT goes back to SND.UNA
  client.handleSegment(20, probeAck(0xffff)); // the window opens again
  const resent = drain(client, 20).filter((s) => s.payload.length > 0);
  assert.ok(resent.length > 0, "the window reopened: something is resent");
  for (const s of resent) {
    const at = seqSub(s.seq, seq(1001));
    // a whole segment, or the whole rest of the data
    assert.ok(
      s.payload.length >= Math.min(mss, cwnd - 5 - at),
      `a ${s.payload.length}-byte resend at ${at}`,
    );
  }
});

// Pins the RFC 6298 §5.4 rule (the head goes at a timeout whatever the pipe); this simple
// case also passed before the change, which guards the stalled state the soak reached.
Deno.test("a retransmission timeout resends the segment at SND.UNA even when recent sends fill cwnd (RFC 6298 §5.4)", () => {
  const { client } = pair();
  const mss = client.info().mss;
  client.write(new Uint8Array(2 * mss));
  const head = drain(client, 4).filter((s) => s.payload.length > 0)[0];
  assert.ok(head !== undefined);
  const rto = client.pollTimeout();
  assert.ok(Number.isFinite(rto));
  // Just before the timeout, more data leaves: in flight, too young for RACK to call lost.
  client.write(new Uint8Array(6 * mss));
  assert.ok(drain(client, rto - 0.1).some((s) => s.payload.length > 0));
  client.handleTimeout(rto);
  const resent = drain(client, rto).filter((s) => s.payload.length > 0);
  assert.ok(
    resent.some((s) => s.seq === head.seq),
    `resent after the timeout: ${
      resent.map((s) => seqSub(s.seq, head.seq)).join(", ") || "nothing"
    }`,
  );
});
