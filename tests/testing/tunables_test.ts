/**
 * Every stack tunable is reachable from the testbed (issue 8): at creation
 * (`tcp`, `stack`) and on a live testbed (`reconfigure`), checked by the
 * compiler for completeness and segment by segment for the tunables the
 * issue names (the RFC 6298 §5.7 fallback, the initial window in bytes,
 * RFC 1337 on/off, the user timeout) and for Fast Open switched on live.
 */
import assert from "node:assert/strict";
import { TimedOutError } from "../../src/net/errors.ts";
import type { StackOptions, StackReconfigure } from "../../src/stack/stack_options.ts";
import type { TcpConfig } from "../../src/tcp/config.ts";
import {
  createTestbed,
  type RawPeer,
  type Testbed,
  type TestbedOptions,
} from "../../src/testing/mod.ts";
import { ACK, FIN, SYN } from "../../src/wire/tcp_flags.ts";

const PLAIN = { timestamps: false, windowScaling: false, sack: false };

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

/** StackOptions fields that are not tunables: a secret, socket ownership, a shared cache object. */
type NotTunable = "isnSecret" | "ownsSocket" | "fastOpenCache";

// Compile-time proofs (checked whenever this file is type-checked): a TcpConfig or StackOptions
// field added without a way to set it from the testbed, at creation or live, stops compiling.
const _tcpAtCreation: Equal<NonNullable<TestbedOptions["tcp"]>, Partial<TcpConfig>> = true;
const _tcpLive: Equal<NonNullable<StackReconfigure["tcp"]>, Partial<TcpConfig>> = true;
const _stackAtCreation: Equal<
  keyof NonNullable<TestbedOptions["stack"]>,
  Exclude<keyof StackOptions, "tcp">
> = true;
const _stackLive: Equal<Exclude<keyof StackOptions, NotTunable>, keyof StackReconfigure> = true;

/** Passive open from `peer` (ISN 0) to port 80 of the stack (ISN 1000); returns the accepted connection. */
function open(tb: Testbed, peer: RawPeer) {
  const l = tb.stack.listeners().find((x) => x.port === 80) ?? tb.stack.listen(80);
  tb.setNextIsn(1000);
  peer.send({ flags: "S", seq: 0, options: { mss: 1000 } });
  assert.equal(peer.next()!.segment.flags, SYN | ACK);
  peer.send({ flags: ".", seq: 1, ack: 1001 });
  return l.accept()!;
}

/** Payload lengths of the data segments the stack sends at once after a write of 10 kB. */
function initialFlight(tb: Testbed, peer: RawPeer): number[] {
  const conn = open(tb, peer);
  conn.write(new Uint8Array(10_000));
  tb.advance(0);
  return peer.take().map((r) => r.segment.payload.length);
}

Deno.test("Testbed reaches rtoFallback: after a retransmitted SYN the RTO restarts at it when data transmission begins (RFC 6298 §5.7)", () => {
  const tb = createTestbed({ tcp: { ...PLAIN, rtoFallback: 2500 } });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  tb.setNextIsn(1000);
  const c = tb.stack.connect(peer.addr, 40000);
  peer.targetPort = c.localPort;
  assert.equal(peer.next()!.segment.flags, SYN);
  tb.advance(1000); // the SYN is lost: resent after rtoInitial
  assert.deepEqual(peer.take().map((r) => [r.segment.flags, r.time]), [[SYN, 1000]]);
  tb.advance(100);
  peer.send({ flags: "S.", seq: 0, ack: 1001, options: { mss: 1000 } });
  assert.equal(peer.next()!.segment.flags, ACK);
  c.write(new Uint8Array(10));
  tb.advance(0);
  assert.equal(peer.next()!.segment.payload.length, 10);
  // the 100 ms handshake RTT is no sample (Karn); without §5.7 the SYN's backed-off 2 s would stay
  assert.equal(tb.nextTimeout(), 1100 + 2500);
  tb.advance(2500);
  const again = peer.next()!;
  assert.deepEqual([again.segment.seq, again.segment.payload.length, again.time], [1001, 10, 3600]);
  tb.close();
});

Deno.test("Testbed reaches initialWindowBytes at creation and live: the first flight is that many bytes in whole segments (RFC 6928)", () => {
  const tb = createTestbed({ tcp: { ...PLAIN, initialWindowBytes: 2500, pacing: false } });
  assert.deepEqual(initialFlight(tb, tb.rawPeer({ tcpPort: 40000 })), [1000, 1000]);
  tb.reconfigure({ tcp: { initialWindowBytes: 4000 } });
  assert.deepEqual(initialFlight(tb, tb.rawPeer({ tcpPort: 40001 })), [1000, 1000, 1000, 1000]);
  tb.close();
});

Deno.test("Testbed reaches rfc1337 live: TIME_WAIT ignores an exact RST when on (RFC 1337) and closes on it when off (RFC 9293 §3.10.7.4)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  const timeWait = (peer: RawPeer) => {
    const conn = open(tb, peer);
    conn.close();
    assert.equal(peer.next()!.segment.flags, FIN | ACK);
    peer.send({ flags: "F.", seq: 1, ack: 1002 });
    assert.equal(peer.next()!.segment.flags, ACK);
    assert.equal(tb.state(peer, 80, peer.tcpPort), "TIME_WAIT");
    peer.send({ flags: "R", seq: 2 }); // exactly RCV.NXT
    tb.advance(0);
    return tb.state(peer, 80, peer.tcpPort);
  };
  assert.equal(tb.stack.config.rfc1337, true); // the default
  assert.equal(timeWait(tb.rawPeer({ tcpPort: 40000 })), "TIME_WAIT");
  tb.reconfigure({ tcp: { rfc1337: false } });
  assert.equal(timeWait(tb.rawPeer({ tcpPort: 40001 })), undefined); // closed and released
  tb.close();
});

Deno.test("Testbed reaches userTimeout: sent data unacknowledged that long aborts the connection with TimedOutError (RFC 9293 §3.8.3, RFC 5482)", () => {
  const tb = createTestbed({ tcp: { ...PLAIN, userTimeout: 5000 } });
  const peer = tb.rawPeer({ tcpPort: 40000 });
  const conn = tb.conn(open(tb, peer));
  conn.write("lost");
  tb.advance(4999);
  assert.equal(conn.state, "ESTABLISHED");
  tb.advance(1);
  assert.equal(conn.state, "CLOSED");
  assert.throws(() => conn.write("x"), TimedOutError);
  tb.close();
});

Deno.test("Testbed.reconfigure switches Fast Open on for a live listener: the next cookie request gets a cookie (RFC 7413 §4.1.2)", () => {
  const tb = createTestbed({ tcp: PLAIN });
  tb.stack.listen(80);
  const cookieOf = (peer: RawPeer) => {
    peer.send({ flags: "S", seq: 0, options: { mss: 1000, fastOpen: new Uint8Array(0) } });
    const synAck = peer.next()!;
    assert.equal(synAck.segment.flags, SYN | ACK);
    return synAck.segment.options.fastOpen;
  };
  assert.equal(cookieOf(tb.rawPeer({ tcpPort: 40000 })), undefined);
  tb.reconfigure({ fastOpen: true });
  assert.ok((cookieOf(tb.rawPeer({ tcpPort: 40001 }))?.length ?? 0) >= 4);
  tb.close();
});
