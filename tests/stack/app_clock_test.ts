/**
 * App calls on a stack connection run on the runtime's current time, not on
 * a clock cached inside the connection at its last input (issue 8, rule 1).
 */
import assert from "node:assert/strict";
import { createTestbed, type RawPeer, type Testbed } from "../../src/testing/mod.ts";
import { ACK, FIN, SYN } from "../../src/wire/tcp_flags.ts";

const PLAIN = { timestamps: false, windowScaling: false, sack: false };

/** Handshake from `peer` (ISN 0) to port 80 of the stack (ISN 1000); returns the accepted connection. */
function open(tb: Testbed, peer: RawPeer) {
  const l = tb.stack.listen(80);
  tb.setNextIsn(1000);
  peer.send({ flags: "S", seq: 0, options: { mss: 1400 } });
  assert.equal(peer.next()!.segment.flags, SYN | ACK);
  peer.send({ flags: ".", seq: 1, ack: 1001 });
  return l.accept()!;
}

Deno.test("StackConnection.close arms the FIN_WAIT_2 timeout from the current time after 600 s idle (RFC 9293 §3.10.4, no stale clock)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer);
  conn.closeWrite();
  assert.equal(peer.next()!.segment.flags, FIN | ACK);
  peer.send({ flags: ".", seq: 1, ack: 1002 });
  assert.equal(conn.state, "FIN_WAIT_2");
  tb.advance(600_000); // idle: nothing runs the connection
  conn.close(); // orphaned in FIN_WAIT_2: tcp_fin_timeout from now
  assert.equal(tb.nextTimeout(), 600_000 + 60_000);
  tb.advance(59_999);
  assert.equal(conn.state, "FIN_WAIT_2");
  tb.advance(1);
  assert.equal(conn.state, "CLOSED");
  tb.close();
});

Deno.test("StackConnection.setKeepAlive counts the idle time from the current time after 600 s idle (RFC 1122 4.2.3.6, no stale clock)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer);
  tb.advance(600_000);
  conn.setKeepAlive(true, { idle: 10_000, interval: 1000, count: 3 });
  assert.equal(tb.nextTimeout(), 610_000);
  tb.advance(9_999);
  assert.equal(peer.pending, 0);
  tb.advance(1);
  const probe = peer.next()!;
  assert.deepEqual([probe.segment.flags, probe.segment.seq, probe.time], [ACK, 1000, 610_000]);
  tb.close();
});

Deno.test("StackConnection.closeWrite arms the FIN's retransmission timer from the current time after 600 s idle (RFC 6298 §5.1, RFC 9293 §3.10.4, no stale clock)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const peer = tb.rawPeer({ targetPort: 80 });
  const conn = open(tb, peer);
  const rto = conn.info().rto;
  tb.advance(600_000);
  conn.closeWrite();
  const fin = peer.next()!;
  assert.deepEqual([fin.segment.flags, fin.segment.seq, fin.time], [FIN | ACK, 1001, 600_000]);
  assert.equal(tb.nextTimeout(), 600_000 + rto);
  tb.advance(rto - 1);
  assert.equal(peer.pending, 0); // not resent at once, as a deadline in the past would have it
  tb.advance(1);
  const again = peer.next()!;
  assert.deepEqual([again.segment.flags, again.segment.seq, again.time], [
    FIN | ACK,
    1001,
    600_000 + rto,
  ]);
  tb.close();
});
