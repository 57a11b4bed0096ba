// SealedSocket's batched output (issue 10): the stack's segment is encoded
// straight into the inner socket's batch buffer and sealed there in place,
// with no copy; without an inner batch there is no batch (the stack then
// takes the copying `send`).

import assert from "node:assert/strict";
import { createEndpoint, type Endpoint } from "../../src/net/endpoint.ts";
import { SEALED_OVERHEAD, SealedSocket } from "../../src/seal/sealed_socket.ts";
import { RealRuntime } from "../../src/stack/real_runtime.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type {
  Datagram,
  DatagramAddr,
  DatagramBatchOutput,
  DatagramHandler,
  DatagramSocket,
} from "../../src/udp/datagram_socket.ts";
import { SocketClosedError } from "../../src/udp/errors.ts";
import { kernelUdpAvailable, KernelUdpSocket } from "../../src/udp/kernel_udp_socket.ts";
import { loadLibc } from "../../src/udp/_libc.ts";
import { bulkDigest, bulkReceive, bulkSend, deadline } from "../net/_util.ts";

const PSK = Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 1) & 0xff);
const ME = { hostname: "10.0.0.1", port: 1000 };
const YOU = { hostname: "10.0.0.2", port: 2000 };
const HEADER_LEN = 32; // envelope header, salt, counter, time: the associated data

/** A socket with a batch output over one arena; records commits and sends. */
class BatchInner implements DatagramSocket {
  readonly localAddr: DatagramAddr = ME;
  readonly remoteAddr: DatagramAddr | undefined = undefined;
  readonly arena = new Uint8Array(8192);
  readonly committed: { bytes: Uint8Array; addr: DatagramAddr | undefined }[] = [];
  sends = 0;
  flushes = 0;
  #tail = 0;
  #at = -1;
  readonly batch: DatagramBatchOutput = {
    reserve: (n) => {
      this.#at = this.#tail;
      return this.arena.subarray(this.#tail, this.#tail + n);
    },
    commit: (len, addr) => {
      this.committed.push({ bytes: this.arena.subarray(this.#at, this.#at + len), addr });
      this.#tail = this.#at + len;
      this.#at = -1;
    },
    flush: () => {
      this.flushes++;
    },
  };
  send(): void {
    this.sends++;
  }
  receive(): Promise<Datagram> {
    return new Promise(() => {});
  }
  #handler: DatagramHandler | undefined;
  setHandler(h: DatagramHandler): void {
    this.#handler = h;
  }
  /** Hands `data` to the handler as if it arrived from `from`. */
  arrive(data: Uint8Array, from: DatagramAddr): void {
    this.#handler?.(data, from);
  }
  connect(): void {}
  disconnect(): void {}
  close(): void {}
}

const now = () => 1_700_000_000_000;
let salt = 0;
const randomBytes = (b: Uint8Array) => b.fill(++salt);

function pair(rekeyAfter?: number) {
  const inner = new BatchInner();
  const sender = new SealedSocket(inner, {
    psk: PSK,
    role: "initiator",
    now,
    randomBytes,
    rekeyAfter,
  });
  const rxInner = new BatchInner();
  const receiver = new SealedSocket(rxInner, { psk: PSK, role: "responder", now, randomBytes });
  const got: number[][] = [];
  receiver.setHandler((d) => got.push([...d]));
  return { inner, sender, rxInner, receiver, got };
}

Deno.test("SealedSocket batch hands out the plaintext slot inside the inner batch buffer", () => {
  const { inner, sender } = pair();
  const b = sender.batch!;
  assert.ok(b !== undefined);
  const slot = b.reserve(100);
  assert.equal(slot.length, 100);
  assert.equal(slot.buffer, inner.arena.buffer, "the inner socket's own buffer: no copy later");
  assert.equal(slot.byteOffset, HEADER_LEN, "after the associated data");
  b.commit(100, YOU);
  assert.equal(inner.committed.length, 1);
  assert.equal(inner.committed[0].bytes.length, 100 + SEALED_OVERHEAD);
  assert.equal(inner.committed[0].addr, YOU);
  assert.equal(inner.sends, 0, "the copying send was not used");
  b.flush();
  assert.equal(inner.flushes, 1);
});

Deno.test("SealedSocket batch seals in place what the peer opens byte-exact", () => {
  const { inner, sender, rxInner, got } = pair();
  const b = sender.batch!;
  const payloads = [1, 1400, 0, 37].map((n, k) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xff)
  );
  for (const p of payloads) {
    b.reserve(p.length).set(p);
    b.commit(p.length, YOU);
  }
  // The ciphertext replaced the plaintext in place.
  assert.notDeepEqual([...inner.committed[1].bytes.subarray(HEADER_LEN, HEADER_LEN + 1400)], [
    ...payloads[1],
  ]);
  for (const c of inner.committed) rxInner.arrive(c.bytes, ME);
  assert.deepEqual(got, payloads.map((p) => [...p]));
  assert.equal(sender.stats.sealed, 4);
});

Deno.test("SealedSocket batch commits fewer bytes than reserved and rekeys like send", () => {
  const { inner, sender, rxInner, got } = pair(2);
  const b = sender.batch!;
  for (let i = 0; i < 5; i++) {
    const slot = b.reserve(64);
    slot[0] = i;
    b.commit(1, YOU);
  }
  for (const c of inner.committed) rxInner.arrive(c.bytes, ME);
  assert.deepEqual(got, [[0], [1], [2], [3], [4]]);
  assert.equal(sender.stats.rekeys, 2);
});

Deno.test("SealedSocket batch refuses commit without reserve, oversize commits and use after close", () => {
  const { sender } = pair();
  const b = sender.batch!;
  assert.throws(() => b.commit(1, YOU), /without reserve/);
  b.reserve(10);
  assert.throws(() => b.commit(11, YOU), RangeError);
  sender.close();
  assert.throws(() => b.reserve(10), SocketClosedError);
});

Deno.test("SealedSocket has no batch when the inner socket has none (the stack sends a copy)", () => {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock);
  const s = new SealedSocket(net.bind(ME), { psk: PSK });
  assert.equal(s.batch, undefined);
  assert.equal(s.authenticated, true);
  s.close();
});

Deno.test({
  name: "SealedSocket over the kernel backend moves a transfer byte-exact through the batch only",
  ignore: !kernelUdpAvailable().ok,
  async fn() {
    const mib = 4;
    const raw = [0, 1].map(() => KernelUdpSocket.bind({ hostname: "127.0.0.1" }, loadLibc()!));
    const copies = [0, 0];
    raw.forEach((s, i) => {
      const send = s.send.bind(s);
      s.send = (data, addr) => {
        copies[i]++;
        send(data, addr);
      };
    });
    const sealed = raw.map((s, i) =>
      new SealedSocket(s, { psk: PSK, role: i === 0 ? "responder" : "initiator" })
    );
    assert.ok(sealed.every((s) => s.batch !== undefined));
    const tunables = { segmentBudget: 1400, msl: 1000 };
    const server: Endpoint = createEndpoint(sealed[0], new RealRuntime(), tunables);
    const client: Endpoint = createEndpoint(sealed[1], new RealRuntime(), tunables);
    try {
      const l = server.listen({ tcpPort: 9 });
      const a = await client.connect({
        hostname: "127.0.0.1",
        port: raw[0].localAddr.port,
        tcpPort: 9,
      });
      const b = await l.accept();
      const [sent, got] = await deadline(
        Promise.all([bulkSend(a, mib, 5), bulkReceive(b)]),
        30_000,
        `${mib} MiB`,
        () => {
          a.abort();
          b.abort();
        },
      );
      assert.equal(got.bytes, mib * 1024 * 1024);
      assert.equal(got.sha256, sent);
      assert.equal(sent, bulkDigest(mib, 5));
      a.close();
      b.close();
      await Promise.all([a.closed, b.closed]);
    } finally {
      server.close();
      client.close();
      await Promise.all([server.closed, client.closed]);
    }
    assert.deepEqual(copies, [0, 0], "no datagram took the copying send");
    assert.ok(sealed[1].stats.sealed > mib * 700, `${sealed[1].stats.sealed} sealed`);
    assert.ok(sealed[0].stats.opened > mib * 700);
  },
});
