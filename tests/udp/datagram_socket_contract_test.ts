// The connected-UDP contract of DatagramSocket (issue 4, part 1), run on
// every backend: the simulator (SimUdpSocket), real loopback UDP over
// Deno.listenDatagram (DenoUdpSocket) and over libc (KernelUdpSocket, issue
// 10; also with GSO and GRO off). One test body per rule; where a
// backend cannot show a rule (real UDP never sees ICMP port unreachable,
// docs/udp.md §1) the test asserts what that backend does instead.

import assert from "node:assert/strict";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type { DatagramAddr, DatagramSocket } from "../../src/udp/datagram_socket.ts";
import { DenoUdpSocket, openUdpSocket } from "../../src/udp/deno_udp_socket.ts";
import {
  kernelUdpAvailable,
  KernelUdpSocket,
  type KernelUdpSocketOptions,
  openKernelUdpSocket,
} from "../../src/udp/kernel_udp_socket.ts";
import {
  AddrInUseError,
  ConnectionRefusedError,
  DestinationAddressRequiredError,
} from "../../src/udp/errors.ts";

/** What a socket received in push mode. */
interface Inbox {
  texts: string[];
  from: DatagramAddr[];
  errors: Error[];
}

/** One backend under test. */
interface Backend {
  /** Opens a socket on a fresh local address. */
  open(): Promise<DatagramSocket>;
  /** Binds `addr` again; resolves with what was thrown (or undefined). */
  bindAgain(addr: DatagramAddr): Promise<unknown>;
  /** An address with nothing bound. */
  deadAddr(): Promise<DatagramAddr>;
  /** Waits until the socket's sends have left (so later sends from others queue after them). */
  sent(sock: DatagramSocket): Promise<void>;
  /** Runs the network until `cond` holds; fails (naming `what`) if it never does. */
  settle(cond: () => boolean, what: string): Promise<void>;
  /** Lets everything in flight arrive, including notices. */
  quiet(): Promise<void>;
  /** Whether port-unreachable notices reach a connected socket. */
  readonly seesUnreachable: boolean;
  close(): Promise<void>;
}

function simBackend(): Backend {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock, { seed: 1 });
  net.setLink("*", "*", { delay: 1 });
  const socks: DatagramSocket[] = [];
  let host = 0;
  return {
    open() {
      const s = net.bind({ hostname: `10.0.0.${++host}`, port: 0 });
      socks.push(s);
      return Promise.resolve(s);
    },
    bindAgain(addr) {
      try {
        net.bind(addr).close();
        return Promise.resolve(undefined);
      } catch (e) {
        return Promise.resolve(e);
      }
    },
    deadAddr: () => Promise.resolve({ hostname: "10.0.0.250", port: 9 }),
    sent: () => Promise.resolve(), // same delay on every link: arrival follows send order
    settle(cond, what) {
      clock.runUntilIdle();
      if (!cond()) throw new Error(`sim: ${what} did not happen`);
      return Promise.resolve();
    },
    quiet() {
      clock.runUntilIdle();
      return Promise.resolve();
    },
    seesUnreachable: true,
    close() {
      for (const s of socks) s.close();
      return Promise.resolve();
    },
  };
}

function realBackend(): Backend {
  return socketBackend((addr) => openUdpSocket(addr), false);
}

function kernelBackend(opts: KernelUdpSocketOptions): () => Backend {
  return () => socketBackend((addr) => openKernelUdpSocket({ ...opts, ...addr }), true);
}

function socketBackend(
  openAt: (addr: { hostname: string; port?: number }) => Promise<DenoUdpSocket | KernelUdpSocket>,
  seesUnreachable: boolean,
): Backend {
  const socks: (DenoUdpSocket | KernelUdpSocket)[] = [];
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  return {
    async open() {
      const s = await openAt({ hostname: "127.0.0.1" });
      socks.push(s);
      return s;
    },
    async bindAgain(addr) {
      try {
        const s = await openAt(addr);
        s.close();
        await s.closed;
        return undefined;
      } catch (e) {
        return e;
      }
    },
    async deadAddr() {
      const s = await openAt({ hostname: "127.0.0.1" });
      const addr = s.localAddr;
      s.close();
      await s.closed;
      return addr;
    },
    async sent(sock) {
      const s = sock as DenoUdpSocket | KernelUdpSocket;
      for (let i = 0; s.stats().inFlight > 0; i++) {
        if (i > 1000) throw new Error("real: sends did not complete");
        await sleep(1);
      }
    },
    async settle(cond, what) {
      for (let i = 0; !cond(); i++) {
        if (i > 1000) throw new Error(`real: ${what} did not happen within 2 s`);
        await sleep(2);
      }
    },
    quiet: () => sleep(50), // loopback delivers (and bounces ICMP) within microseconds
    seesUnreachable,
    async close() {
      for (const s of socks) s.close();
      await Promise.all(socks.map((s) => s.closed));
    },
  };
}

const BACKENDS: [string, () => Backend][] = [["sim", simBackend], ["real", realBackend]];
if (kernelUdpAvailable().ok) {
  BACKENDS.push(
    ["kernel", kernelBackend({})],
    ["kernel, GSO and GRO off", kernelBackend({ gso: false, gro: false })],
  );
}
const enc = (s: string) => new TextEncoder().encode(s);

function inbox(sock: DatagramSocket): Inbox {
  const box: Inbox = { texts: [], from: [], errors: [] };
  sock.setHandler(
    (data, from) => {
      box.texts.push(new TextDecoder().decode(data));
      box.from.push({ hostname: from.hostname, port: from.port });
    },
    (err) => box.errors.push(err),
  );
  return box;
}

function contract(name: string, body: (b: Backend) => Promise<void>): void {
  for (const [backend, make] of BACKENDS) {
    Deno.test(`DatagramSocket (${backend}) ${name}`, async () => {
      const b = make();
      try {
        await body(b);
      } finally {
        await b.close();
      }
    });
  }
}

contract("binds a port and refuses a second bind of the same address", async (b) => {
  const s = await b.open();
  assert.ok(s.localAddr.port > 0);
  assert.equal(s.remoteAddr, undefined);
  const err = await b.bindAgain(s.localAddr);
  assert.ok(err instanceof AddrInUseError, String(err));
  assert.ok(err instanceof Deno.errors.AddrInUse);
  assert.match(err.message, new RegExp(`${s.localAddr.hostname}:${s.localAddr.port}`));
});

contract("delivers a datagram sent to an explicit address with the sender's address", async (b) => {
  const x = await b.open();
  const y = await b.open();
  const got = inbox(y);
  x.send(enc("hello"), y.localAddr);
  await b.settle(() => got.texts.length === 1, "delivery");
  assert.deepEqual(got.texts, ["hello"]);
  assert.deepEqual(got.from, [x.localAddr]);
});

contract("records the peer and sends nothing when connected", async (b) => {
  const x = await b.open();
  const y = await b.open();
  const got = inbox(y);
  x.connect(y.localAddr);
  assert.deepEqual(x.remoteAddr, y.localAddr);
  await b.quiet();
  assert.deepEqual(got.texts, []); // connect put nothing on the wire
});

contract("sends to the connected peer when send has no address", async (b) => {
  const x = await b.open();
  const y = await b.open();
  const got = inbox(y);
  x.connect(y.localAddr);
  x.send(enc("one"));
  x.send(enc("two"));
  await b.settle(() => got.texts.length === 2, "two datagrams");
  assert.deepEqual(got.texts, ["one", "two"]);
  assert.deepEqual(got.from, [x.localAddr, x.localAddr]);
});

contract("no longer delivers datagrams from other sources when connected", async (b) => {
  const x = await b.open();
  const peer = await b.open();
  const stranger = await b.open();
  const got = inbox(x);
  x.connect(peer.localAddr);
  stranger.send(enc("stranger"), x.localAddr);
  await b.sent(stranger);
  peer.send(enc("peer"), x.localAddr);
  await b.settle(() => got.texts.length > 0, "the peer's datagram");
  await b.quiet();
  assert.deepEqual(got.texts, ["peer"]);
});

contract("reports port unreachable as connection refused only when connected", async (b) => {
  const dead = await b.deadAddr();
  // Unconnected: a notice cannot be matched to the socket, so none is seen.
  const loose = await b.open();
  const looseBox = inbox(loose);
  loose.send(enc("anyone?"), dead);
  await b.quiet();
  assert.deepEqual(looseBox.errors, []);
  // Connected to the dead address.
  const x = await b.open();
  const got = inbox(x);
  x.connect(dead);
  x.send(enc("anyone?"));
  await b.quiet();
  if (b.seesUnreachable) {
    assert.equal(got.errors.length, 1);
    const e = got.errors[0];
    assert.ok(e instanceof ConnectionRefusedError, String(e));
    assert.ok(e instanceof Deno.errors.ConnectionRefused);
    assert.match(e.message, new RegExp(`${dead.hostname}:${dead.port}`));
  } else {
    // Deno.listenDatagram: the kernel socket is never connect(2)ed, so Linux
    // drops the ICMP error (docs/udp.md §1).
    assert.deepEqual(got.errors, []);
  }
});

contract("re-targets sending and filtering when connected again", async (b) => {
  const x = await b.open();
  const first = await b.open();
  const second = await b.open();
  const gotFirst = inbox(first);
  const gotSecond = inbox(second);
  const got = inbox(x);
  x.connect(first.localAddr);
  x.send(enc("to-first"));
  x.connect(second.localAddr);
  assert.deepEqual(x.remoteAddr, second.localAddr);
  x.send(enc("to-second"));
  await b.settle(() => gotFirst.texts.length + gotSecond.texts.length === 2, "both sends");
  assert.deepEqual([gotFirst.texts, gotSecond.texts], [["to-first"], ["to-second"]]);
  first.send(enc("old-peer"), x.localAddr);
  await b.sent(first);
  second.send(enc("new-peer"), x.localAddr);
  await b.settle(() => got.texts.length > 0, "the new peer's datagram");
  await b.quiet();
  assert.deepEqual(got.texts, ["new-peer"]);
});

contract("dissolves the association when connected to family unspec", async (b) => {
  for (const dissolve of ["unspec", "disconnect"] as const) {
    const x = await b.open();
    const peer = await b.open();
    const other = await b.open();
    const got = inbox(x);
    x.connect(peer.localAddr);
    if (dissolve === "unspec") x.connect({ family: "unspec" });
    else x.disconnect();
    assert.equal(x.remoteAddr, undefined);
    // A send without an address now has nowhere to go (EDESTADDRREQ).
    assert.throws(() => x.send(enc("x")), (e: unknown) => {
      assert.ok(e instanceof DestinationAddressRequiredError, String(e));
      assert.equal(e.name, "DestinationAddressRequired");
      assert.match(e.message, new RegExp(`${x.localAddr.port}: destination address required`));
      return true;
    });
    // Filtering has stopped: anyone gets through again.
    other.send(enc("anyone"), x.localAddr);
    await b.settle(() => got.texts.length === 1, `delivery after ${dissolve}`);
    assert.deepEqual(got.from, [other.localAddr]);
  }
});

contract(
  "sends to an explicit address even when connected (Linux; BSD says EISCONN)",
  async (b) => {
    const x = await b.open();
    const peer = await b.open();
    const elsewhere = await b.open();
    const gotElsewhere = inbox(elsewhere);
    x.connect(peer.localAddr);
    x.send(enc("detour"), elsewhere.localAddr);
    await b.settle(() => gotElsewhere.texts.length === 1, "the explicit send");
    assert.deepEqual(gotElsewhere.texts, ["detour"]);
    assert.deepEqual(x.remoteAddr, peer.localAddr); // still connected to the peer
  },
);

contract(
  "throws DestinationAddressRequiredError when never connected and send has no address",
  async (b) => {
    const x = await b.open();
    assert.throws(() => x.send(enc("x")), DestinationAddressRequiredError);
  },
);
