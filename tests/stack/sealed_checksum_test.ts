/**
 * docs/wire-format.md "No checksum inside a sealed datagram": a stack over a
 * socket that authenticates every byte (SealedSocket) neither computes nor
 * verifies the TCP checksum; over a plaintext socket it does both.
 */
import assert from "node:assert/strict";
import { Stack } from "../../src/stack/stack.ts";
import { SealedSocket } from "../../src/seal/sealed_socket.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type { DatagramAddr, DatagramSocket } from "../../src/udp/datagram_socket.ts";
import { ForwardingSocket } from "../../src/udp/forwarding_socket.ts";
import { verifyTcpChecksum } from "../../src/wire/checksum.ts";
import { emitEnvelope, ENVELOPE_HEADER_LEN, EnvelopeType } from "../../src/wire/envelope.ts";
import { seq } from "../../src/wire/seq.ts";
import { decodeSegment, emitSegment, segmentEncodedLength } from "../../src/wire/tcp_codec.ts";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import { WireError } from "../../src/wire/wire_error.ts";

const PSK = new Uint8Array(32).fill(5);
const STACK_ADDR = { hostname: "10.0.0.1", port: 7000 };
const PEER_ADDR = { hostname: "10.0.0.2", port: 40000 };

const SYN_SEG: TcpSegment = {
  srcPort: 50000,
  dstPort: 80,
  seq: seq(1000),
  ack: seq(0),
  flags: SYN,
  window: 65535,
  urgentPointer: 0,
  options: { mss: 1400 },
  payload: new Uint8Array(0),
};

/** A SYN datagram whose TCP checksum field holds `field`. */
function synDatagram(field: number): Uint8Array {
  const buf = new Uint8Array(ENVELOPE_HEADER_LEN + segmentEncodedLength(SYN_SEG));
  emitSegment(SYN_SEG, buf, emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 0));
  buf[ENVELOPE_HEADER_LEN + 16] = field >> 8;
  buf[ENVELOPE_HEADER_LEN + 17] = field & 0xff;
  return buf;
}

/** The correct checksum of the SYN above. */
function goodField(): number {
  const d = synDatagram(0);
  emitSegment(SYN_SEG, d, ENVELOPE_HEADER_LEN);
  return (d[ENVELOPE_HEADER_LEN + 16] << 8) | d[ENVELOPE_HEADER_LEN + 17];
}

interface World {
  readonly clock: VirtualClock;
  readonly stack: Stack;
  /** The peer's socket (sealed or not, as the stack's). */
  readonly peer: DatagramSocket;
  /** Datagrams the peer received (copies of the plaintext). */
  readonly got: Uint8Array[];
}

function world(sealed: boolean): World {
  const clock = new VirtualClock({ seed: 3, start: 1_700_000_000_000 });
  const net = new SimNetwork(clock, { seed: 3 });
  const seal = (s: DatagramSocket, role: "initiator" | "responder"): DatagramSocket =>
    sealed
      ? new SealedSocket(s, {
        psk: PSK,
        role,
        now: () => clock.now(),
        randomBytes: (b) => clock.randomBytes(b),
      })
      : s;
  const stack = new Stack(seal(net.bind(STACK_ADDR), "responder"), clock);
  stack.listen(80);
  const peer = seal(net.bind(PEER_ADDR), "initiator");
  const got: Uint8Array[] = [];
  peer.setHandler((data) => got.push(data.slice()));
  return { clock, stack, peer, got };
}

function answer(w: World): Uint8Array {
  assert.equal(w.got.length, 1, "one answer");
  return w.got[0].subarray(ENVELOPE_HEADER_LEN);
}

Deno.test("Stack under a seal accepts a segment whose TCP checksum field is arbitrary", () => {
  for (const field of [0, 0xdead, goodField() ^ 1]) {
    const w = world(true);
    w.peer.send(synDatagram(field), STACK_ADDR);
    w.clock.advance(50);
    assert.equal(w.stack.counters.badSegments, 0, `field 0x${field.toString(16)}`);
    assert.equal(w.stack.counters.segmentsIn, 1);
    const synAck = decodeSegment(answer(w), false);
    assert.ok(!(synAck instanceof WireError));
    assert.equal(synAck.flags, SYN | ACK);
    w.stack.close();
  }
});

Deno.test("Stack under a seal sends its segments with the TCP checksum field 0", () => {
  const w = world(true);
  w.peer.send(synDatagram(0), STACK_ADDR);
  w.clock.advance(50);
  const synAck = answer(w);
  assert.equal((synAck[16] << 8) | synAck[17], 0);
  assert.ok(!verifyTcpChecksum(synAck), "no checksum was computed");
  w.stack.close();
});

Deno.test("Stack over plaintext drops a segment with a wrong TCP checksum", () => {
  const w = world(false);
  w.peer.send(synDatagram(goodField() ^ 1), STACK_ADDR);
  w.peer.send(synDatagram(0), STACK_ADDR);
  w.clock.advance(50);
  assert.equal(w.stack.counters.badSegments, 2);
  assert.equal(w.stack.counters.segmentsIn, 0);
  assert.deepEqual(w.got, [], "not answered");
  w.stack.close();
});

Deno.test("Stack over plaintext accepts a good checksum and sends valid ones", () => {
  const w = world(false);
  w.peer.send(synDatagram(goodField()), STACK_ADDR);
  w.clock.advance(50);
  assert.equal(w.stack.counters.segmentsIn, 1);
  assert.ok(verifyTcpChecksum(answer(w)));
  w.stack.close();
});

Deno.test("Stack under a seal behind a ForwardingSocket decorator still skips the checksum", () => {
  const clock = new VirtualClock({ seed: 4, start: 1_700_000_000_000 });
  const net = new SimNetwork(clock, { seed: 4 });
  const opts = {
    psk: PSK,
    now: () => clock.now(),
    randomBytes: (b: Uint8Array) => clock.randomBytes(b),
  };
  class Watch extends ForwardingSocket {
    seen = 0;
    override send(data: Uint8Array, addr?: DatagramAddr): void {
      this.seen++;
      super.send(data, addr);
    }
  }
  const watched = new Watch(new SealedSocket(net.bind(STACK_ADDR), { ...opts, role: "responder" }));
  assert.equal(watched.authenticated, true);
  const stack = new Stack(watched, clock);
  stack.listen(80);
  const peer = new SealedSocket(net.bind(PEER_ADDR), { ...opts, role: "initiator" });
  const got: Uint8Array[] = [];
  peer.setHandler((d) => got.push(d.slice()));
  peer.send(synDatagram(0x1234), STACK_ADDR);
  clock.advance(50);
  assert.equal(stack.counters.segmentsIn, 1);
  assert.equal(watched.seen, 1);
  assert.equal(got.length, 1);
  assert.equal((got[0][ENVELOPE_HEADER_LEN + 16] << 8) | got[0][ENVELOPE_HEADER_LEN + 17], 0);
  stack.close();
});

Deno.test("Stacks under a seal move data both ways byte-exact without checksums", () => {
  const clock = new VirtualClock({ seed: 9, start: 1_700_000_000_000 });
  const net = new SimNetwork(clock, { seed: 9 });
  net.setLink("*", "*", { delay: 5, loss: 0.02 });
  const opts = {
    psk: PSK,
    now: () => clock.now(),
    randomBytes: (b: Uint8Array) => clock.randomBytes(b),
  };
  const a = new Stack(
    new SealedSocket(net.bind(STACK_ADDR), { ...opts, role: "responder" }),
    clock,
  );
  const b = new Stack(new SealedSocket(net.bind(PEER_ADDR), { ...opts, role: "initiator" }), clock);
  const l = a.listen(80);
  const c = b.connect(STACK_ADDR, 80);
  clock.runUntilIdle();
  const s = l.accept()!;
  const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + 7) & 0xff);
  let off = 0;
  const got: number[] = [];
  const buf = new Uint8Array(65536);
  for (let round = 0; round < 10_000 && got.length < data.length; round++) {
    if (off < data.length) off += c.write(data.subarray(off));
    clock.advance(5);
    for (let n = s.read(buf); n > 0; n = s.read(buf)) got.push(...buf.subarray(0, n));
  }
  assert.equal(got.length, data.length);
  assert.deepEqual(Uint8Array.from(got), data);
  assert.equal(a.counters.badSegments + b.counters.badSegments, 0);
  a.close();
  b.close();
});
