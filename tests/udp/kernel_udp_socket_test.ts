// KernelUdpSocket (issue 10): batching, GSO/GRO, buffer sizing, and every
// run-time fallback (GSO refused, GRO refused, forced buffers refused, no
// FFI) still moving a tou transfer byte-exact. The connected-UDP contract
// runs on this backend in datagram_socket_contract_test.ts.

import assert from "node:assert/strict";
import { createEndpoint, type Endpoint } from "../../src/net/endpoint.ts";
import { RealRuntime } from "../../src/stack/real_runtime.ts";
import * as L from "../../src/udp/_libc.ts";
import { type Libc, loadLibc } from "../../src/udp/_libc.ts";
import {
  kernelUdpAvailable,
  KernelUdpSocket,
  type KernelUdpSocketOptions,
  openKernelUdpSocket,
} from "../../src/udp/kernel_udp_socket.ts";
import { openDatagramSocket, pickUdpBackend } from "../../src/udp/open_datagram_socket.ts";
import { bulkDigest, bulkReceive, bulkSend, deadline } from "../net/_util.ts";

const ok = kernelUdpAvailable().ok;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A libc whose kernel refuses what `refuse` names (errno as a real kernel would set it). */
function refusingLibc(refuse: { gso?: boolean; gro?: boolean; forceBuffers?: boolean }): Libc {
  const real = loadLibc()!;
  let fakeErrno = 0;
  const fail = (e: number) => {
    fakeErrno = e;
    return -1;
  };
  return {
    ...real,
    setsockopt(fd, level, name, val, len) {
      if (refuse.gro && level === L.SOL_UDP && name === L.UDP_GRO) return fail(L.ENOPROTOOPT);
      if (
        refuse.forceBuffers && level === L.SOL_SOCKET &&
        (name === L.SO_RCVBUFFORCE || name === L.SO_SNDBUFFORCE)
      ) return fail(L.EPERM);
      fakeErrno = 0;
      return real.setsockopt(fd, level, name, val, len);
    },
    sendmmsg(fd, vec, vlen, flags) {
      // A device without checksum offload answers a GSO message with EIO.
      if (refuse.gso) {
        const dv = new DataView(vec.buffer, vec.byteOffset);
        if (dv.getBigUint64(40, true) > 0n) return fail(L.EIO); // first msg_controllen
      }
      fakeErrno = 0;
      return real.sendmmsg(fd, vec, vlen, flags);
    },
    errno: () => {
      const e = fakeErrno; // read once, right after the refused call
      fakeErrno = 0;
      return e !== 0 ? e : real.errno();
    },
  };
}

/** Two endpoints over the given kernel sockets; moves `mib` MiB one way; checks sha256. */
async function transfer(
  opts: KernelUdpSocketOptions,
  libc?: Libc,
  mib = 4,
): Promise<KernelUdpSocket[]> {
  const sa = KernelUdpSocket.bind({ hostname: "127.0.0.1", ...opts }, libc ?? loadLibc());
  const sb = KernelUdpSocket.bind({ hostname: "127.0.0.1", ...opts }, libc ?? loadLibc());
  const tunables = { segmentBudget: 1448, msl: 1000 };
  const server: Endpoint = createEndpoint(sa, new RealRuntime(), tunables);
  const client: Endpoint = createEndpoint(sb, new RealRuntime(), tunables);
  try {
    const listener = server.listen({ tcpPort: 9 });
    const a = await client.connect({ hostname: "127.0.0.1", port: sa.localAddr.port, tcpPort: 9 });
    const b = await listener.accept();
    const [sent, got] = await deadline(
      Promise.all([bulkSend(a, mib, 3), bulkReceive(b)]),
      30_000,
      `${mib} MiB`,
      () => {
        a.abort();
        b.abort();
      },
    );
    assert.equal(got.bytes, mib * 1024 * 1024);
    assert.equal(got.sha256, sent);
    assert.equal(sent, bulkDigest(mib, 3));
    // The window stays within what the receive buffers absorb: no drops on a clean path.
    assert.deepEqual([sa.stats().receiveDrops, sb.stats().receiveDrops], [0, 0]);
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  } finally {
    server.close();
    client.close();
    await Promise.all([server.closed, client.closed]);
  }
  return [sa, sb];
}

Deno.test({
  name: "KernelUdpSocket moves a tou transfer byte-exact with GSO and GRO",
  ignore: !ok,
  async fn() {
    const [a, b] = await transfer({});
    const s = a.stats();
    const r = b.stats();
    assert.ok(s.gso && r.gro);
    assert.ok(b.stats().sent > 0 && a.stats().received > 0);
    // Data went out in GSO messages from the client (b) side.
    assert.ok(r.gsoMessages > 0, JSON.stringify(r));
    assert.ok(r.sendCalls < r.sent, "batched: fewer sendmmsg calls than datagrams");
  },
});

Deno.test({
  name: "KernelUdpSocket falls back to plain sends when the kernel refuses GSO, once logged",
  ignore: !ok,
  async fn() {
    const logs: string[] = [];
    const [a, b] = await transfer({ log: (m) => logs.push(m) }, refusingLibc({ gso: true }));
    assert.equal(b.stats().gso, false);
    assert.equal(b.stats().gsoMessages, 0);
    const n = logs.filter((m) => m.includes("GSO refused")).length;
    assert.ok(n >= 1 && n <= 2, String(n)); // once per socket that tried GSO
    assert.equal(a.stats().sendErrors + b.stats().sendErrors, 0);
  },
});

Deno.test({
  name: "KernelUdpSocket receives plain datagrams when the kernel refuses GRO, once logged",
  ignore: !ok,
  async fn() {
    const logs: string[] = [];
    const [a] = await transfer({ log: (m) => logs.push(m) }, refusingLibc({ gro: true }));
    assert.equal(a.stats().gro, false);
    assert.equal(a.stats().groMessages, 0);
    assert.equal(logs.filter((m) => m.includes("GRO refused")).length, 2);
  },
});

Deno.test({
  name: "KernelUdpSocket uses the plain buffer size when the forced one is refused",
  ignore: !ok,
  async fn() {
    const logs: string[] = [];
    const s = KernelUdpSocket.bind({
      hostname: "127.0.0.1",
      receiveBufferBytes: 1 << 30, // beyond any rmem_max
      log: (m) => logs.push(m),
    }, refusingLibc({ forceBuffers: true }));
    const rmemMax = Number(Deno.readTextFileSync("/proc/sys/net/core/rmem_max"));
    assert.equal(s.stats().receiveBufferBytes, 2 * rmemMax); // the kernel doubles the request
    assert.equal(s.receiveCapacity, rmemMax);
    assert.equal(logs.filter((m) => m.includes("SO_RCVBUFFORCE refused")).length, 1);
    s.close();
    await s.closed;
  },
});

Deno.test({
  name: "KernelUdpSocket reads back the buffer size the kernel granted",
  ignore: !ok,
  async fn() {
    const s = await openKernelUdpSocket({ hostname: "127.0.0.1", receiveBufferBytes: 3 << 20 });
    // Root (CAP_NET_ADMIN) gets the forced size; others get at most rmem_max. Doubled either way.
    const got = s.stats().receiveBufferBytes;
    const rmemMax = Number(Deno.readTextFileSync("/proc/sys/net/core/rmem_max"));
    assert.ok(got >= 2 * Math.min(3 << 20, rmemMax), String(got));
    assert.equal(s.receiveCapacity, got / 2);
    s.close();
    await s.closed;
  },
});

Deno.test({
  name: "KernelUdpSocket delivers a batch in order, GSO run with a shorter tail, split by GRO",
  ignore: !ok,
  async fn() {
    for (const feature of [true, false]) {
      const a = await openKernelUdpSocket({ hostname: "127.0.0.1", gso: feature });
      const b = await openKernelUdpSocket({ hostname: "127.0.0.1", gro: feature });
      const got: Uint8Array[] = [];
      b.setHandler((d) => got.push(d.slice()));
      const sizes = [...new Array(100).fill(1452), 100, 1452, 1452, 0, 7];
      a.connect(b.localAddr);
      sizes.forEach((n, i) => {
        const buf = a.batch.reserve(n);
        buf.fill(i & 0xff);
        a.batch.commit(n);
      });
      a.batch.flush();
      for (let i = 0; got.length < sizes.length && i < 500; i++) await sleep(2);
      assert.deepEqual(got.map((d) => d.length), sizes);
      got.forEach((d, i) => assert.ok(d.every((x) => x === (i & 0xff))));
      if (feature) {
        assert.ok(a.stats().gsoMessages >= 2, JSON.stringify(a.stats()));
        assert.ok(b.stats().groMessages >= 1, JSON.stringify(b.stats()));
      }
      assert.ok(a.stats().sendCalls <= 2, "one sendmmsg for the whole batch");
      a.close();
      b.close();
      await Promise.all([a.closed, b.closed]);
    }
  },
});

Deno.test({
  name: "KernelUdpSocket works over IPv6 with the sender's address decoded",
  ignore: !ok,
  async fn() {
    const a = await openKernelUdpSocket({ hostname: "::1" });
    const b = await openKernelUdpSocket({ hostname: "::1" });
    a.send(new Uint8Array([1, 2]), b.localAddr);
    const d = await b.receive();
    assert.deepEqual([...d.data], [1, 2]);
    assert.deepEqual(d.from, { hostname: "::1", port: a.localAddr.port });
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  },
});

Deno.test({
  name: "KernelUdpSocket shares a port with reusePort and refuses it without",
  ignore: !ok,
  async fn() {
    const a = await openKernelUdpSocket({ hostname: "127.0.0.1", reusePort: true });
    const b = await openKernelUdpSocket({ ...a.localAddr, reusePort: true });
    assert.equal(b.localAddr.port, a.localAddr.port);
    await assert.rejects(openKernelUdpSocket(a.localAddr), Deno.errors.AddrInUse);
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  },
});

Deno.test({
  name: "KernelUdpSocket keeps its port across disconnect (Linux unhashes an ephemeral one)",
  ignore: !ok,
  async fn() {
    const a = await openKernelUdpSocket({ hostname: "127.0.0.1" });
    const b = await openKernelUdpSocket({ hostname: "127.0.0.1" });
    a.connect(b.localAddr);
    a.disconnect();
    b.send(new Uint8Array([5]), a.localAddr);
    const d = await a.receive();
    assert.deepEqual([...d.data], [5]);
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  },
});

Deno.test("pickUdpBackend honours an explicit backend and falls back from auto", () => {
  assert.equal(pickUdpBackend("deno"), "deno");
  assert.equal(pickUdpBackend("auto"), ok ? "kernel" : "deno");
});

Deno.test({
  name: "openDatagramSocket falls back to Deno.listenDatagram without --allow-ffi " +
    "and a tou transfer completes byte-exact",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const script = new URL("./_no_ffi_transfer.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-read", "--allow-env", script],
      stdout: "piped",
      stderr: "piped",
      env: { TOU_UDP_BACKEND: "" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /backend deno; 2097152 bytes; sha256 ok/);
    assert.match(text, /FFI not allowed/);
  },
});

Deno.test({
  name: "openDatagramSocket(kernel) opens a KernelUdpSocket when FFI is allowed",
  ignore: !ok,
  async fn() {
    const s = await openDatagramSocket({ hostname: "127.0.0.1", backend: "kernel" });
    assert.ok(s instanceof KernelUdpSocket);
    s.close();
    await s.closed;
  },
});

Deno.test({
  name:
    "KernelUdpSocket answers each sender from its handler at the sender's address when 8 v4 and v6 sources send",
  ignore: !ok,
  async fn() {
    for (const host of ["127.0.0.1", "::1"]) {
      // The reply goes to the `from` object just decoded: its sockaddr bytes are reused as received.
      const server = await openKernelUdpSocket({ hostname: host });
      server.setHandler((data, from) => server.send(data.map((b) => b + 1), from));
      const clients = [];
      for (let i = 0; i < 8; i++) clients.push(await openKernelUdpSocket({ hostname: host }));
      const got = clients.map((c) => c.receive());
      clients.forEach((c, i) => c.send(new Uint8Array([i]), server.localAddr));
      const replies = await deadline(Promise.all(got), 5_000, "the replies");
      assert.deepEqual(replies.map((d) => d.data[0]), [1, 2, 3, 4, 5, 6, 7, 8]);
      for (const [i, d] of replies.entries()) {
        assert.equal(d.from.port, server.localAddr.port, `client ${i}`);
      }
      for (const c of [server, ...clients]) {
        c.close();
        await c.closed;
      }
    }
  },
});
