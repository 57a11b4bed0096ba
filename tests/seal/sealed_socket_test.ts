import assert from "node:assert/strict";
import fc from "fast-check";
import type {
  Datagram,
  DatagramAddr,
  DatagramHandler,
  DatagramSocket,
} from "../../src/udp/datagram_socket.ts";
import { ForwardingSocket } from "../../src/udp/forwarding_socket.ts";
import { ConnectionRefusedError, SocketClosedError } from "../../src/udp/errors.ts";
import { type AeadAlgorithm, chacha20Poly1305Noble } from "../../src/seal/aead.ts";
import { aes256GcmNative } from "../../src/seal/aes_gcm.ts";
import type { SealRole } from "../../src/seal/key_schedule.ts";
import {
  SEALED_OVERHEAD,
  SealedSocket,
  type SealedSocketOptions,
} from "../../src/seal/sealed_socket.ts";
import { openUdpSocket } from "../../src/udp/deno_udp_socket.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { EnvelopeType, parseEnvelope } from "../../src/wire/envelope.ts";

// Every contract test runs once per sealing cipher (the receiver opens both).
const CIPHERS: readonly AeadAlgorithm[] = ["aes-256-gcm", "chacha20-poly1305"];
/** The cipher of the test that is running (tests of one file run one at a time). */
let CIPHER: AeadAlgorithm = "aes-256-gcm";

function test(name: string, fn: () => void | Promise<void>): void {
  for (const c of CIPHERS) {
    Deno.test(`${name} [${c}]`, () => {
      CIPHER = c;
      return fn();
    });
  }
}

const PSK = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
const OTHER_PSK = Uint8Array.from({ length: 32 }, (_, i) => (i * 53 + 5) & 0xff);
const A_ADDR = { hostname: "10.0.0.1", port: 1001 };
const B_ADDR = { hostname: "10.0.0.2", port: 2002 };
const EVE_ADDR = { hostname: "10.0.0.66", port: 6666 };

/** Records a copy of every datagram its inner socket sends: the wire as an attacker sees it. */
class Tap extends ForwardingSocket {
  readonly sent: { data: Uint8Array; to: DatagramAddr | undefined }[] = [];
  override send(data: Uint8Array, addr?: DatagramAddr): void {
    this.sent.push({ data: data.slice(), to: addr });
    this.inner.send(data, addr);
  }
}

interface Side {
  readonly sock: SealedSocket;
  readonly tap: Tap;
  /** Payloads delivered to the application (copies). */
  readonly got: number[][];
}

interface World {
  readonly clock: VirtualClock;
  readonly net: SimNetwork;
  readonly a: Side;
  readonly b: Side;
  /** A raw (unsealed) socket an attacker uses to inject datagrams. */
  readonly eve: DatagramSocket;
  /** What eve received. */
  readonly eveGot: Uint8Array[];
}

type SideOpts = Partial<SealedSocketOptions>;

function side(
  net: SimNetwork,
  clock: VirtualClock,
  addr: DatagramAddr,
  role: SealRole,
  opts: SideOpts = {},
  echo = false,
): Side {
  const tap = new Tap(net.bind(addr));
  const sock = new SealedSocket(tap, {
    psk: PSK,
    cipher: CIPHER,
    role,
    now: () => clock.now(),
    randomBytes: (b) => clock.randomBytes(b),
    ...opts,
  });
  const got: number[][] = [];
  sock.setHandler((data, from) => {
    got.push([...data]);
    if (echo) sock.send(data, from);
  });
  return { sock, tap, got };
}

function world(
  opts: { seed?: number; a?: SideOpts; b?: SideOpts; echo?: boolean; start?: number } = {},
): World {
  const seed = opts.seed ?? 1;
  const clock = new VirtualClock({ seed, start: opts.start ?? 1_700_000_000_000 });
  const net = new SimNetwork(clock, { seed });
  net.setLink("*", "*", { delay: 5 });
  const a = side(net, clock, A_ADDR, "initiator", opts.a);
  const b = side(net, clock, B_ADDR, "responder", opts.b, opts.echo);
  const eve = net.bind(EVE_ADDR);
  const eveGot: Uint8Array[] = [];
  eve.setHandler((data) => eveGot.push(data.slice()));
  return { clock, net, a, b, eve, eveGot };
}

function bytes(...xs: number[]): Uint8Array {
  return Uint8Array.from(xs);
}

function payload(n: number, tag: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + tag) & 0xff);
}

test("SealedSocket delivers both ways when both sides share the key", () => {
  const w = world({ echo: true });
  w.a.sock.send(bytes(1, 2, 3), B_ADDR);
  w.a.sock.send(payload(1400, 9), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[1, 2, 3], [...payload(1400, 9)]]);
  assert.deepEqual(w.a.got, [[1, 2, 3], [...payload(1400, 9)]]);
  assert.equal(w.a.sock.stats.sealed, 2);
  assert.equal(w.a.sock.stats.opened, 2);
  assert.equal(w.b.sock.stats.opened, 2);
  assert.equal(w.b.sock.stats.peers, 1);
  assert.equal(w.a.sock.stats.peers, 1);
});

test("SealedSocket adds exactly the overhead when sealing", () => {
  const w = world();
  w.a.sock.send(payload(100, 1), B_ADDR);
  w.a.sock.send(new Uint8Array(), B_ADDR);
  assert.equal(w.a.sock.overhead, SEALED_OVERHEAD);
  assert.equal(SEALED_OVERHEAD, 48);
  assert.equal(w.a.tap.sent[0].data.length, 148);
  assert.equal(w.a.tap.sent[1].data.length, 48);
  const env = parseEnvelope(w.a.tap.sent[0].data);
  assert.ok(env.ok);
  assert.equal(env.value.type, EnvelopeType.SEALED);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[...payload(100, 1)], []]);
});

test("SealedSocket hides the payload and never repeats a nonce when sending", () => {
  const w = world();
  const secret = payload(64, 3);
  for (let i = 0; i < 5; i++) w.a.sock.send(secret, B_ADDR);
  const wire = w.a.tap.sent.map((s) => s.data);
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  const secretHex = hex(secret.subarray(0, 16));
  for (const d of wire) assert.ok(!hex(d).includes(secretHex));
  // Salt identical, counters 0..4, ciphertexts all different.
  const salts = new Set(wire.map((d) => hex(d.subarray(4, 20))));
  assert.equal(salts.size, 1);
  assert.deepEqual(wire.map((d) => new DataView(d.buffer).getUint32(24)), [0, 1, 2, 3, 4]);
  assert.equal(new Set(wire.map((d) => hex(d.subarray(32)))).size, 5);
});

test("SealedSocket delivers through receive() and skips forgeries when in pull mode", async () => {
  const clock = new VirtualClock({ seed: 3, start: 1_700_000_000_000 });
  const net = new SimNetwork(clock, { seed: 3 });
  const opts = {
    psk: PSK,
    cipher: CIPHER,
    now: () => clock.now(),
    randomBytes: (b: Uint8Array) => clock.randomBytes(b),
  };
  const a = new SealedSocket(net.bind(A_ADDR), opts);
  const b = new SealedSocket(net.bind(B_ADDR), opts);
  const eve = net.bind(EVE_ADDR);
  eve.send(payload(80, 1), B_ADDR);
  a.send(bytes(7, 8, 9), B_ADDR);
  const got = b.receive();
  clock.runUntilIdle();
  const d = await got;
  assert.deepEqual([...d.data], [7, 8, 9]);
  assert.deepEqual(d.from, A_ADDR);
  assert.equal(b.stats.malformed, 1);
  assert.equal(b.stats.opened, 1);
  b.close();
  await assert.rejects(b.receive(), SocketClosedError);
});

test("SealedSocket drops, counts and never answers when the key is wrong", () => {
  const w = world({ echo: true, a: { psk: OTHER_PSK } });
  for (let i = 0; i < 10; i++) w.a.sock.send(payload(200, i), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, []);
  assert.equal(w.b.sock.stats.authFailures, 10);
  assert.equal(w.b.sock.stats.opened, 0);
  assert.equal(w.b.sock.stats.peers, 0, "a failed salt must not be cached");
  assert.equal(w.b.sock.stats.sealed, 0);
  assert.equal(w.b.tap.sent.length, 0, "nothing sent back");
  assert.deepEqual(w.a.got, []);
});

test("SealedSocket drops when both sides have the same role", () => {
  for (
    const [ra, rb] of [["initiator", "initiator"], ["responder", "responder"], [
      "peer",
      "initiator",
    ]]
  ) {
    const w = world({ a: { role: ra as SealRole }, b: { role: rb as SealRole } });
    w.a.sock.send(bytes(1), B_ADDR);
    w.clock.runUntilIdle();
    assert.deepEqual(w.b.got, [], `${ra} -> ${rb}`);
    assert.equal(w.b.sock.stats.authFailures, 1);
  }
  const w = world({ a: { role: "peer" }, b: { role: "peer" } });
  w.a.sock.send(bytes(1), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[1]]);
});

test("SealedSocket drops a datagram when any byte of it is tampered with", () => {
  const w = world({ echo: true });
  w.a.sock.send(payload(60, 4), B_ADDR);
  const original = w.a.tap.sent[0].data;
  w.clock.runUntilIdle();
  assert.equal(w.b.got.length, 1);
  for (let i = 0; i < original.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const forged = original.slice();
      forged[i] ^= bit;
      w.eve.send(forged, B_ADDR);
    }
  }
  w.clock.runUntilIdle();
  assert.equal(w.b.got.length, 1, "no forgery delivered");
  const s = w.b.sock.stats;
  assert.equal(s.opened, 1);
  assert.equal(
    s.authFailures + s.malformed + s.replays + s.tooOld + s.rateLimited,
    original.length * 2,
  );
  assert.equal(w.eveGot.length, 0, "nothing answered");
  assert.equal(s.peers, 1);
});

test("SealedSocket keeps accepting when forgeries carry huge counters", () => {
  const w = world();
  w.a.sock.send(bytes(1), B_ADDR);
  w.a.sock.send(bytes(2), B_ADDR);
  const [first, second] = w.a.tap.sent.map((s) => s.data);
  w.clock.runUntilIdle();
  assert.equal(w.b.got.length, 2);
  // A forged counter far ahead must not slide the window (it does not authenticate).
  const forged = second.slice();
  forged[20] = 0x00;
  forged[21] = 0x10;
  w.eve.send(forged, B_ADDR);
  w.clock.runUntilIdle();
  assert.equal(w.b.sock.stats.authFailures, 1);
  w.a.sock.send(bytes(3), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[1], [2], [3]]);
  assert.ok(first.length > 0);
});

test("SealedSocket drops and counts a replayed datagram", () => {
  const w = world();
  w.a.sock.send(bytes(5, 5), B_ADDR);
  w.clock.runUntilIdle();
  const wire = w.a.tap.sent[0].data;
  w.eve.send(wire, B_ADDR);
  w.eve.send(wire, B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[5, 5]]);
  assert.equal(w.b.sock.stats.replays, 2);
  assert.equal(w.eveGot.length, 0);
});

test("SealedSocket accepts reordered datagrams within the window and drops older ones", () => {
  const w = world({ b: { replayWindow: 64 } });
  w.net.setLink(A_ADDR.hostname, B_ADDR.hostname, { loss: 1 }); // only eve's copies arrive
  for (let i = 0; i < 100; i++) w.a.sock.send(bytes(i), B_ADDR);
  const wire = w.a.tap.sent.map((s) => s.data);
  // 99 first, then 98..50 backwards, then 0 and 35 (below 99 - 64: too old), 36 (just inside).
  w.eve.send(wire[99], B_ADDR);
  for (let i = 98; i >= 50; i--) w.eve.send(wire[i], B_ADDR);
  w.eve.send(wire[0], B_ADDR);
  w.eve.send(wire[35], B_ADDR);
  w.eve.send(wire[36], B_ADDR);
  w.eve.send(wire[60], B_ADDR);
  w.clock.runUntilIdle();
  const s = w.b.sock.stats;
  assert.deepEqual(w.b.got.map((p) => p[0]), [
    99,
    ...Array.from({ length: 49 }, (_, i) => 98 - i),
    36,
  ]);
  assert.equal(s.opened, 51);
  assert.equal(s.tooOld, 2);
  assert.equal(s.replays, 1);
});

test("SealedSocket drops a datagram reflected back to its sender", () => {
  for (const role of ["peer", "initiator"] as const) {
    const w = world({ a: { role }, b: { role: role === "peer" ? "peer" : "responder" } });
    w.a.sock.send(bytes(1, 1), B_ADDR);
    const wire = w.a.tap.sent[0].data;
    w.eve.send(wire, A_ADDR);
    w.clock.runUntilIdle();
    assert.deepEqual(w.a.got, [], role);
    assert.equal(w.a.sock.stats.reflected, 1);
    assert.deepEqual(w.b.got, [[1, 1]]);
  }
});

test("SealedSocket drops a datagram reflected back after the sender rekeyed", () => {
  const w = world({ a: { role: "peer", rekeyAfter: 1 }, b: { role: "peer" } });
  w.a.sock.send(bytes(1), B_ADDR);
  w.a.sock.send(bytes(2), B_ADDR);
  assert.equal(w.a.sock.stats.rekeys, 1);
  w.eve.send(w.a.tap.sent[0].data, A_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.a.got, []);
  assert.equal(w.a.sock.stats.reflected, 1);
});

test("SealedSocket picks a new salt and stays readable when rekeying", () => {
  const w = world({ a: { rekeyAfter: 3 } });
  for (let i = 0; i < 7; i++) w.a.sock.send(bytes(i), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[0], [1], [2], [3], [4], [5], [6]]);
  assert.equal(w.a.sock.stats.rekeys, 2);
  assert.equal(w.b.sock.stats.peers, 3);
  const salts = new Set(w.a.tap.sent.map((s) => String(s.data.subarray(4, 20))));
  assert.equal(salts.size, 3);
});

test("SealedSocket drops and reports the offset when the peer clock is skewed", () => {
  const w = world({ b: { now: () => w.clock.now() + 200_000 } });
  w.a.sock.send(bytes(1), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, []);
  assert.equal(w.b.sock.stats.stale, 1);
  assert.equal(w.b.sock.stats.lastStaleOffset, -200);
  assert.equal(w.b.sock.stats.peers, 0);
});

test("SealedSocket calls onStale with the sender and offset when dropping a stale datagram", () => {
  const reports: [DatagramAddr, number][] = [];
  const w = world({
    b: {
      now: () => w.clock.now() + 200_000,
      onStale: (from, offset) => {
        reports.push([from, offset]);
        throw new Error("ignored");
      },
    },
  });
  w.a.sock.send(bytes(1), B_ADDR);
  w.a.sock.send(bytes(2), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(reports, [[A_ADDR, -200], [A_ADDR, -200]]);
  assert.equal(w.b.sock.stats.stale, 2);
});

test("SealedSocket accepts any send time when maxClockSkew is Infinity", () => {
  const w = world({ b: { now: () => w.clock.now() + 1e9, maxClockSkew: Infinity } });
  w.a.sock.send(bytes(1), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[1]]);
});

test("SealedSocket drops an old session replayed to a restarted receiver", () => {
  const w = world();
  w.a.sock.send(bytes(1), B_ADDR);
  w.clock.runUntilIdle();
  const wire = w.a.tap.sent[0].data;
  // The receiver restarts with empty state; the capture is replayed 121 s later.
  w.b.sock.close();
  w.clock.advance(121_000);
  const b2 = side(w.net, w.clock, B_ADDR, "responder");
  w.eve.send(wire, B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(b2.got, []);
  assert.equal(b2.sock.stats.stale, 1);
  assert.equal(b2.sock.stats.lastStaleOffset, -121);
});

test("SealedSocket limits new peer sessions when unknown salts exceed the rate", () => {
  const w = world({ b: { newPeersPerSecond: 2 } });
  const senders = [0, 1, 2].map((i) =>
    side(w.net, w.clock, { hostname: `10.0.1.${i}`, port: 7000 }, "initiator")
  );
  for (const s of senders) s.sock.send(bytes(1), B_ADDR);
  w.clock.runUntilIdle();
  assert.equal(w.b.got.length, 2);
  assert.equal(w.b.sock.stats.rateLimited, 1);
  w.clock.advance(1000);
  senders[2].sock.send(bytes(2), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got.at(-1), [2]);
  assert.equal(w.b.sock.stats.peers, 3);
});

test("SealedSocket keeps new-session budget for other sources when one address floods unknown salts", () => {
  const w = world({ b: { newPeersPerSecond: 100 } });
  // 150 new salts from one address: with one global bucket they would take all 100 tokens.
  const flood = Array.from(
    { length: 150 },
    (_, i) => side(w.net, w.clock, { hostname: "10.0.9.9", port: 20_000 + i }, "initiator"),
  );
  for (const f of flood) f.sock.send(bytes(9), B_ADDR);
  w.clock.runUntilIdle();
  assert.equal(w.b.got.length, 10); // a tenth of the budget per source address
  assert.equal(w.b.sock.stats.rateLimited, 140);
  const other = side(w.net, w.clock, { hostname: "10.0.1.1", port: 7000 }, "initiator");
  other.sock.send(bytes(1), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got.at(-1), [1]);
});

test("SealedSocket refuses a new peer while all sessions are recent when at maxPeers", () => {
  const w = world({ b: { maxPeers: 1 } });
  const c = side(w.net, w.clock, { hostname: "10.0.1.9", port: 7000 }, "initiator");
  w.a.sock.send(bytes(1), B_ADDR);
  w.clock.runUntilIdle();
  c.sock.send(bytes(2), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[1]]);
  assert.equal(w.b.sock.stats.peerLimit, 1);
  // Once a's session has been idle for more than twice the skew, it may be evicted.
  w.clock.advance(240_001);
  c.sock.send(bytes(3), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[1], [3]]);
  assert.equal(w.b.sock.stats.evictions, 1);
  assert.equal(w.b.sock.stats.peers, 1);
});

test("SealedSocket counts malformed datagrams when they are not sealed envelopes", () => {
  const w = world({ echo: true });
  w.eve.send(new Uint8Array(), B_ADDR);
  w.eve.send(bytes(0x00, 0x06, 0, 0, 1, 2, 3), B_ADDR); // a plain TCP_SEGMENT envelope
  w.eve.send(bytes(0x00, 0x80, 0, 0, 1, 2, 3), B_ADDR); // SEALED but truncated
  w.eve.send(payload(200, 1), B_ADDR);
  const huge = new Uint8Array(48);
  huge[1] = 0x80;
  huge[20] = 0xff; // counter >= 2^53
  w.eve.send(huge, B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, []);
  assert.equal(w.b.sock.stats.malformed, 5);
  assert.equal(w.eveGot.length, 0);
});

test("SealedSocket passes connect, remoteAddr and refused errors through", () => {
  const clock = new VirtualClock({ seed: 5 });
  const net = new SimNetwork(clock, { seed: 5 });
  const a = new SealedSocket(net.bind(A_ADDR), {
    psk: PSK,
    cipher: CIPHER,
    now: () => clock.now(),
  });
  const errors: Error[] = [];
  a.setHandler(() => {}, (e) => errors.push(e));
  assert.equal(a.remoteAddr, undefined);
  a.connect(B_ADDR);
  assert.deepEqual(a.remoteAddr, B_ADDR);
  assert.deepEqual(a.localAddr, A_ADDR);
  a.send(bytes(1)); // nothing bound at B
  clock.runUntilIdle();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ConnectionRefusedError);
  a.disconnect();
  assert.equal(a.remoteAddr, undefined);
  a.close();
  a.close();
  assert.throws(() => a.send(bytes(1), B_ADDR), (e: unknown) => {
    assert.ok(e instanceof SocketClosedError);
    assert.equal(e.message, "Cannot send from 10.0.0.1:1001: socket closed");
    return true;
  });
});

test("SealedSocket interoperates when the two sides use different AEAD implementations", () => {
  const aead = CIPHER === "aes-256-gcm" ? aes256GcmNative : chacha20Poly1305Noble;
  const w = world({ a: { aead }, echo: true });
  w.a.sock.send(payload(500, 2), B_ADDR);
  w.clock.runUntilIdle();
  assert.deepEqual(w.b.got, [[...payload(500, 2)]]);
  assert.deepEqual(w.a.got, [[...payload(500, 2)]]);
});

test("SealedSocket produces identical wire bytes when the seed is the same", () => {
  const run = () => {
    const w = world({ seed: 42 });
    w.a.sock.send(payload(100, 5), B_ADDR);
    return w.a.tap.sent[0].data;
  };
  assert.deepEqual(run(), run());
});

test("SealedSocket throws RangeError when the key or a limit is invalid", () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock);
  const inner = net.bind(A_ADDR);
  assert.throws(() => new SealedSocket(inner, { psk: new Uint8Array(16) }), /key is 16 bytes/);
  assert.throws(() => new SealedSocket(inner, { psk: PSK, maxPeers: 0 }), RangeError);
  assert.throws(() => new SealedSocket(inner, { psk: PSK, replayWindow: 33 }), RangeError);
  assert.throws(() => new SealedSocket(inner, { psk: PSK, maxClockSkew: 10 }), RangeError);
  assert.throws(() => new SealedSocket(inner, { psk: PSK, rekeyAfter: 2 ** 60 }), RangeError);
});

test("SealedSocket keeps delivered bytes intact when the handler causes a nested delivery", () => {
  // An inner socket whose send delivers synchronously to its peer (the worst case).
  class Loopback implements DatagramSocket {
    peer: Loopback | undefined;
    handler: DatagramHandler | undefined;
    constructor(readonly localAddr: DatagramAddr) {}
    readonly remoteAddr = undefined;
    send(data: Uint8Array): void {
      this.peer?.handler?.(data.slice(), this.localAddr);
    }
    receive(): Promise<Datagram> {
      return Promise.reject(new Error("push only"));
    }
    setHandler(h: DatagramHandler): void {
      this.handler = h;
    }
    connect(): void {}
    disconnect(): void {}
    close(): void {}
  }
  const x = new Loopback(A_ADDR);
  const y = new Loopback(B_ADDR);
  x.peer = y;
  y.peer = x;
  const sx = new SealedSocket(x, { psk: PSK, cipher: CIPHER });
  const sy = new SealedSocket(y, { psk: PSK, cipher: CIPHER });
  const seen: string[] = [];
  let pings = 0;
  sx.setHandler((data) => {
    const before = String(data);
    if (pings++ < 1) sx.send(bytes(9, 9, 9), B_ADDR); // y echoes back into sx synchronously
    seen.push(`${before}|${String(data)}`);
  });
  sy.setHandler((data) => sy.send(data, A_ADDR));
  sx.send(bytes(1, 2), B_ADDR);
  assert.deepEqual(seen, ["9,9,9|9,9,9", "1,2|1,2"]);
});

test("SealedSocket round-trips and never delivers mutations when given random datagrams", () => {
  const seed = Date.now() % 100_000;
  try {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 1500 }), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (payloads, where) => {
          const w = world({ seed: 9 });
          for (const p of payloads) w.a.sock.send(p, B_ADDR);
          w.clock.runUntilIdle();
          assert.deepEqual(w.b.got, payloads.map((p) => [...p]));
          const wire = w.a.tap.sent[where % payloads.length].data.slice();
          wire[(where >>> 3) % wire.length] ^= 1 << (where & 7);
          w.eve.send(wire, B_ADDR);
          w.clock.runUntilIdle();
          assert.equal(w.b.got.length, payloads.length);
        },
      ),
      { seed, numRuns: 60 },
    );
  } catch (e) {
    console.error(`fast-check seed ${seed}`);
    throw e;
  }
});

test("SealedSocket round-trips over real loopback UDP when wrapping a DenoUdpSocket", async () => {
  const a = new SealedSocket(await openUdpSocket({ hostname: "127.0.0.1", port: 0 }), {
    psk: PSK,
    cipher: CIPHER,
    role: "initiator",
  });
  const b = new SealedSocket(await openUdpSocket({ hostname: "127.0.0.1", port: 0 }), {
    psk: PSK,
    cipher: CIPHER,
    role: "responder",
  });
  try {
    a.connect(b.localAddr);
    a.send(payload(1400, 6));
    const got = await b.receive();
    assert.deepEqual(got.data, payload(1400, 6));
    assert.deepEqual(got.from, a.localAddr);
    b.send(bytes(4, 2), got.from);
    const back = await a.receive();
    assert.deepEqual([...back.data], [4, 2]);
    assert.equal(b.stats.opened, 1);
    assert.equal(a.stats.opened, 1);
  } finally {
    a.close();
    b.close();
  }
});
