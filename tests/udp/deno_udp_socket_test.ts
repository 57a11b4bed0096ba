// Real-loopback tests of DenoUdpSocket's connected-UDP rules. Third parties
// are raw Deno.listenDatagram conns, so ordering does not depend on the code
// under test: `await raw.send(...)` means the datagram is in the kernel queue.

import assert from "node:assert/strict";
import { DenoUdpSocket, openUdpSocket } from "../../src/udp/deno_udp_socket.ts";
import type { DatagramAddr } from "../../src/udp/datagram_socket.ts";
import {
  AddrInUseError,
  DestinationAddressRequiredError,
  InvalidAddrError,
  SocketClosedError,
} from "../../src/udp/errors.ts";

const LO = "127.0.0.1";
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A raw socket standing in for some other host. */
interface Raw {
  conn: Deno.DatagramConn;
  addr: DatagramAddr;
  send(text: string, to: DatagramAddr): Promise<number>;
  recv(): Promise<{ text: string; from: DatagramAddr }>;
}

/** Runs `body` with fresh sockets; closes all of them and waits for every op to settle. */
async function withSockets(
  body: (ctx: {
    open(opts?: { hostname?: string; port?: number; maxInFlight?: number }): Promise<DenoUdpSocket>;
    raw(): Raw;
  }) => Promise<void>,
): Promise<void> {
  const socks: DenoUdpSocket[] = [];
  const raws: Deno.DatagramConn[] = [];
  try {
    await body({
      async open(opts) {
        const s = await openUdpSocket({ hostname: LO, ...opts });
        socks.push(s);
        return s;
      },
      raw() {
        const conn = Deno.listenDatagram({ transport: "udp", hostname: LO, port: 0 });
        raws.push(conn);
        const a = conn.addr as Deno.NetAddr;
        return {
          conn,
          addr: { hostname: a.hostname, port: a.port },
          send: (text, to) => conn.send(enc(text), { transport: "udp", ...to }),
          recv: async () => {
            const [d, from] = await conn.receive();
            const f = from as Deno.NetAddr;
            return { text: dec(d), from: { hostname: f.hostname, port: f.port } };
          },
        };
      },
    });
  } finally {
    for (const s of socks) s.close();
    for (const r of raws) r.close();
    await Promise.all(socks.map((s) => s.closed));
  }
}

/** Resolves with the next `n` datagrams delivered to a push handler. */
function collect(sock: DenoUdpSocket, n: number): Promise<{ text: string; from: DatagramAddr }[]> {
  const got: { text: string; from: DatagramAddr }[] = [];
  return new Promise((resolve) => {
    sock.setHandler((data, from) => {
      got.push({ text: dec(data), from: { hostname: from.hostname, port: from.port } });
      if (got.length === n) resolve(got);
    });
  });
}

Deno.test("openUdpSocket binds an ephemeral port when port is 0", async () => {
  await withSockets(async ({ open }) => {
    const s = await open({ port: 0 });
    assert.equal(s.localAddr.hostname, LO);
    assert.ok(s.localAddr.port > 0 && s.localAddr.port <= 65535);
    assert.equal(s.remoteAddr, undefined);
  });
});

Deno.test("openUdpSocket rejects with AddrInUseError naming the address when the port is bound", async () => {
  await withSockets(async ({ open }) => {
    const s = await open();
    const err = await openUdpSocket({ hostname: LO, port: s.localAddr.port }).then(
      () => assert.fail("bind should fail"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AddrInUseError);
    assert.ok(err instanceof Deno.errors.AddrInUse);
    assert.equal(err.name, "AddrInUse");
    assert.equal(err.message, `Cannot bind ${LO}:${s.localAddr.port}: address already in use`);
  });
});

Deno.test("openUdpSocket rejects with InvalidAddrError when the hostname or port is malformed", async () => {
  await assert.rejects(openUdpSocket({ hostname: "localhost" }), InvalidAddrError);
  await assert.rejects(openUdpSocket({ hostname: LO, port: 65536 }), InvalidAddrError);
  await assert.rejects(openUdpSocket({ hostname: LO, port: -1 }), InvalidAddrError);
  await assert.rejects(openUdpSocket({ hostname: LO, maxInFlight: 0 }), InvalidAddrError);
});

Deno.test("DenoUdpSocket.receive returns a datagram and its sender when unconnected", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const r = raw();
    await r.send("hello", s.localAddr);
    const got = await s.receive();
    assert.equal(dec(got.data), "hello");
    assert.deepEqual(got.from, r.addr);
    assert.equal(s.stats().received, 1);
  });
});

Deno.test("DenoUdpSocket.send delivers to an explicit address when unconnected", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const r = raw();
    s.send(enc("to-raw"), r.addr);
    const got = await r.recv();
    assert.equal(got.text, "to-raw");
    assert.deepEqual(got.from, s.localAddr);
  });
});

Deno.test("DenoUdpSocket.connect records the peer and sends nothing", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    s.connect(peer.addr);
    assert.deepEqual(s.remoteAddr, peer.addr);
    s.send(enc("first"));
    // Had connect sent anything, it would arrive before "first".
    assert.equal((await peer.recv()).text, "first");
    assert.equal(s.stats().sent, 1);
  });
});

Deno.test("DenoUdpSocket.send without an address goes to the connected peer", async () => {
  await withSockets(async ({ open }) => {
    const a = await open();
    const b = await open();
    a.connect(b.localAddr);
    const got = collect(b, 2);
    a.send(enc("one"));
    a.send(enc("two"));
    assert.deepEqual((await got).map((g) => g.text), ["one", "two"]);
    assert.deepEqual((await got)[0].from, a.localAddr);
  });
});

Deno.test("DenoUdpSocket filters and counts datagrams from other sources when connected", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    const stranger = raw();
    s.connect(peer.addr);
    await stranger.send("stranger", s.localAddr);
    await peer.send("peer", s.localAddr);
    const got = await s.receive();
    assert.equal(dec(got.data), "peer");
    assert.deepEqual(got.from, peer.addr);
    assert.equal(s.stats().filtered, 1);
    assert.equal(s.stats().received, 1);
  });
});

Deno.test("DenoUdpSocket push handler sees only the peer's datagrams when connected", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    const stranger = raw();
    s.connect(peer.addr);
    const got = collect(s, 2);
    await stranger.send("x1", s.localAddr);
    await peer.send("p1", s.localAddr);
    await stranger.send("x2", s.localAddr);
    await peer.send("p2", s.localAddr);
    assert.deepEqual((await got).map((g) => g.text), ["p1", "p2"]);
    assert.equal(s.stats().filtered, 2);
  });
});

Deno.test("DenoUdpSocket.connect re-targets sends and the filter when called again", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const first = raw();
    const second = raw();
    s.connect(first.addr);
    s.send(enc("to-first"));
    assert.equal((await first.recv()).text, "to-first");
    s.connect(second.addr);
    assert.deepEqual(s.remoteAddr, second.addr);
    s.send(enc("to-second"));
    assert.equal((await second.recv()).text, "to-second");
    await first.send("old-peer", s.localAddr);
    await second.send("new-peer", s.localAddr);
    assert.equal(dec((await s.receive()).data), "new-peer");
    assert.equal(s.stats().filtered, 1);
  });
});

Deno.test("DenoUdpSocket.connect with family unspec dissolves the association", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    const other = raw();
    s.connect(peer.addr);
    s.connect({ family: "unspec" });
    assert.equal(s.remoteAddr, undefined);
    assert.throws(() => s.send(enc("x")), DestinationAddressRequiredError);
    await other.send("anyone", s.localAddr);
    const got = await s.receive();
    assert.equal(dec(got.data), "anyone");
    assert.deepEqual(got.from, other.addr);
    assert.equal(s.stats().filtered, 0);
  });
});

Deno.test("DenoUdpSocket.disconnect dissolves the association like AF_UNSPEC", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    s.connect(peer.addr);
    s.disconnect();
    assert.equal(s.remoteAddr, undefined);
    assert.throws(() => s.send(enc("x")), DestinationAddressRequiredError);
    s.disconnect(); // idempotent
    assert.equal(s.remoteAddr, undefined);
  });
});

Deno.test("DenoUdpSocket.send throws DestinationAddressRequiredError when unconnected and no address", async () => {
  await withSockets(async ({ open }) => {
    const s = await open();
    const err = (() => {
      try {
        s.send(enc("x"));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof DestinationAddressRequiredError);
    assert.equal(err.name, "DestinationAddressRequired");
    assert.equal(
      err.message,
      `Cannot send from ${LO}:${s.localAddr.port}: destination address required (socket not connected)`,
    );
    assert.equal(s.stats().inFlight, 0);
  });
});

Deno.test("DenoUdpSocket.send throws InvalidAddrError when the address is malformed", async () => {
  await withSockets(async ({ open }) => {
    const s = await open();
    assert.throws(() => s.send(enc("x"), { hostname: LO, port: 0 }), InvalidAddrError);
    assert.throws(() => s.send(enc("x"), { hostname: "example.com", port: 80 }), InvalidAddrError);
    assert.throws(() => s.send(enc("x"), { hostname: LO, port: 70000 }), InvalidAddrError);
    assert.throws(() => s.connect({ hostname: LO, port: 1.5 }), InvalidAddrError);
    assert.equal(s.remoteAddr, undefined);
  });
});

Deno.test("DenoUdpSocket.send throws SocketClosedError when called after close", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    s.connect(peer.addr);
    s.close();
    s.close(); // idempotent
    assert.throws(() => s.send(enc("x")), SocketClosedError);
    assert.throws(() => s.send(enc("x"), peer.addr), (e: unknown) => {
      assert.ok(e instanceof SocketClosedError);
      assert.ok(e instanceof Deno.errors.BadResource);
      assert.equal(e.name, "SocketClosed");
      assert.equal(e.message, `Cannot send from ${LO}:${s.localAddr.port}: socket closed`);
      return true;
    });
    await s.closed;
  });
});

Deno.test("DenoUdpSocket.receive rejects with SocketClosedError when pending at close and after", async () => {
  await withSockets(async ({ open }) => {
    const s = await open();
    const pending = s.receive();
    s.close();
    await assert.rejects(pending, SocketClosedError);
    await assert.rejects(s.receive(), SocketClosedError);
    await s.closed;
  });
});

Deno.test("DenoUdpSocket.close releases the port when closed settles", async () => {
  const s = await openUdpSocket({ hostname: LO });
  s.setHandler(() => {});
  const port = s.localAddr.port;
  s.close();
  await s.closed;
  const again = await openUdpSocket({ hostname: LO, port });
  assert.equal(again.localAddr.port, port);
  again.close();
  await again.closed;
});

Deno.test("DenoUdpSocket.send completes a datagram sent just before close", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    s.send(enc("last words"), peer.addr);
    s.close();
    assert.equal((await peer.recv()).text, "last words");
    await s.closed;
    assert.equal(s.stats().sent, 1);
  });
});

Deno.test("DenoUdpSocket.send copies the payload when the caller reuses its buffer", async () => {
  await withSockets(async ({ open }) => {
    const a = await open();
    const b = await open();
    a.connect(b.localAddr);
    const got = collect(b, 3);
    const scratch = new Uint8Array(1452);
    for (const ch of ["a", "b", "c"]) {
      scratch.fill(ch.charCodeAt(0));
      a.send(scratch.subarray(0, 4));
    }
    scratch.fill(0x7a);
    assert.deepEqual((await got).map((g) => g.text), ["aaaa", "bbbb", "cccc"]);
  });
});

Deno.test("DenoUdpSocket.send keeps send order when a fresh socket sends a burst", async () => {
  // Raw Deno sends the first burst of a fresh socket in reverse order.
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    const texts = Array.from({ length: 20 }, (_, i) => `seq${i}`);
    for (const t of texts) s.send(enc(t), peer.addr);
    const got: string[] = [];
    for (let i = 0; i < texts.length; i++) got.push((await peer.recv()).text);
    assert.deepEqual(got, texts);
    for (const t of texts) s.send(enc(t), peer.addr); // warm socket: sent directly
    got.length = 0;
    for (let i = 0; i < texts.length; i++) got.push((await peer.recv()).text);
    assert.deepEqual(got, texts);
  });
});

Deno.test("DenoUdpSocket.send keeps order when a burst exceeds what Deno sends per turn", async () => {
  // Raw Deno sends ~256 datagrams per event-loop turn in order and the rest
  // reversed; the receiver may drop some (small kernel buffer) but must
  // never see a sequence number go backwards.
  await withSockets(async ({ open, raw }) => {
    const s = await open({ maxInFlight: 2048 });
    const sink = raw();
    const marker = raw();
    const seen: number[] = [];
    let sawMarker = false;
    const reader = (async () => {
      while (!sawMarker) {
        const [d, from] = await sink.conn.receive();
        if ((from as Deno.NetAddr).port === marker.addr.port) sawMarker = true;
        else seen.push(new DataView(d.buffer, d.byteOffset).getUint32(0, true));
      }
    })();
    s.send(new Uint8Array(8), sink.addr); // warm the socket up
    const buf = new Uint8Array(8);
    for (let i = 0; i < 1000; i++) {
      new DataView(buf.buffer).setUint32(0, i + 1, true);
      s.send(buf, sink.addr);
    }
    s.close();
    await s.closed; // every send has completed: all are queued or dropped at the sink
    for (let tries = 0; !sawMarker && tries < 50; tries++) {
      await marker.send("end", sink.addr);
      await Promise.race([reader, new Promise((r) => setTimeout(r, 10))]);
    }
    await reader;
    const data = seen.filter((x) => x > 0);
    assert.ok(data.length > 100, `only ${data.length} datagrams arrived`);
    for (let i = 1; i < data.length; i++) {
      assert.ok(data[i] > data[i - 1], `reordered at ${i}: ${data[i - 1]} then ${data[i]}`);
    }
    assert.equal(s.stats().sent, 1001);
  });
});

Deno.test("DenoUdpSocket push handler gets each datagram's bytes when the receive buffer is reused", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const r = raw();
    const views: Uint8Array[] = [];
    const texts: string[] = [];
    const done = new Promise<void>((resolve) => {
      s.setHandler((data) => {
        views.push(data);
        texts.push(dec(data));
        if (texts.length === 3) resolve();
      });
    });
    await r.send("long datagram", s.localAddr);
    await r.send("mid", s.localAddr);
    await r.send("x", s.localAddr);
    await done;
    assert.deepEqual(texts, ["long datagram", "mid", "x"]);
    // One receive buffer: every view shares it.
    assert.equal(views[0].buffer, views[2].buffer);
  });
});

Deno.test("DenoUdpSocket.setHandler rejects pending receive calls with Busy", async () => {
  await withSockets(async ({ open }) => {
    const s = await open();
    const pending = s.receive();
    s.setHandler(() => {});
    await assert.rejects(pending, Deno.errors.Busy);
    await assert.rejects(s.receive(), Deno.errors.Busy);
  });
});

Deno.test("DenoUdpSocket stops calling the handler when closed inside it", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const r = raw();
    let calls = 0;
    s.setHandler(() => {
      calls++;
      s.close();
    });
    await r.send("1", s.localAddr);
    await r.send("2", s.localAddr);
    await s.closed;
    assert.equal(calls, 1);
  });
});

Deno.test("DenoUdpSocket reports a failed send to the error handler naming the address", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    const err = new Promise<Error>((resolve) => s.setHandler(() => {}, resolve));
    s.send(new Uint8Array(70000), peer.addr); // over the UDP payload limit: EMSGSIZE
    const e = await err;
    assert.match(e.message, new RegExp(`^Cannot send to ${LO}:${peer.addr.port}: `));
    assert.ok(e.cause instanceof Error);
    assert.equal(s.stats().sendErrors, 1);
    assert.equal(s.stats().inFlight, 0);
  });
});

Deno.test("DenoUdpSocket.receive rejects once with a failed send's error when no handler is set", async () => {
  await withSockets(async ({ open, raw }) => {
    const s = await open();
    const peer = raw();
    const first = s.receive();
    s.send(new Uint8Array(70000), peer.addr);
    await assert.rejects(first, /^Error: Cannot send to/);
    // Reported once (like Linux SO_ERROR): the next receive gets data.
    await peer.send("after", s.localAddr);
    assert.equal(dec((await s.receive()).data), "after");
  });
});

Deno.test("DenoUdpSocket.send drops and counts datagrams when maxInFlight sends are pending", async () => {
  await withSockets(async ({ open }) => {
    const a = await open({ maxInFlight: 2 });
    const b = await open();
    a.connect(b.localAddr);
    const got = collect(b, 2);
    for (let i = 0; i < 5; i++) a.send(enc(`d${i}`));
    assert.equal(a.stats().sendDropped, 3);
    assert.equal(a.stats().inFlight, 2);
    assert.deepEqual((await got).map((g) => g.text), ["d0", "d1"]);
  });
});

Deno.test("DenoUdpSocket surfaces no connection refused when the connected peer's port is closed", async () => {
  // The kernel socket is never connect()ed, so Linux drops the ICMP port
  // unreachable instead of reporting ECONNREFUSED (see docs/udp.md).
  await withSockets(async ({ open }) => {
    const dead = await openUdpSocket({ hostname: LO });
    const deadAddr = dead.localAddr;
    dead.close();
    await dead.closed;
    const s = await open();
    const errors: Error[] = [];
    s.setHandler(() => {}, (e) => errors.push(e));
    s.connect(deadAddr);
    s.send(enc("anyone?"));
    await new Promise((r) => setTimeout(r, 30));
    s.send(enc("still?"));
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(errors, []);
    assert.equal(s.stats().sent, 2);
  });
});

Deno.test("DenoUdpSocket accepts a connected IPv4 peer when bound dual-stack to ::", async () => {
  let s: DenoUdpSocket;
  try {
    s = await openUdpSocket({ hostname: "::" });
  } catch {
    return; // No IPv6 on this host.
  }
  const peer = Deno.listenDatagram({ transport: "udp", hostname: LO, port: 0 });
  try {
    const peerAddr = peer.addr as Deno.NetAddr;
    s.connect({ hostname: LO, port: peerAddr.port });
    await peer.send(enc("mapped"), { transport: "udp", hostname: LO, port: s.localAddr.port });
    const got = await s.receive();
    assert.equal(dec(got.data), "mapped");
    assert.equal(got.from.hostname, "::ffff:127.0.0.1");
    assert.equal(s.stats().filtered, 0);
  } finally {
    s.close();
    peer.close();
    await s.closed;
  }
});

Deno.test("DenoUdpSocket exchanges datagrams over IPv6 loopback when connected with a non-canonical address", async () => {
  let a: DenoUdpSocket;
  try {
    a = await openUdpSocket({ hostname: "::1" });
  } catch {
    return; // No IPv6 on this host.
  }
  const b = await openUdpSocket({ hostname: "::1" });
  try {
    a.connect({ hostname: "0:0:0:0:0:0:0:1", port: b.localAddr.port });
    assert.deepEqual(a.remoteAddr, { hostname: "::1", port: b.localAddr.port });
    b.connect(a.localAddr);
    const got = collect(a, 1);
    b.send(enc("v6"));
    const [d] = await got;
    assert.equal(d.text, "v6");
    assert.deepEqual(d.from, b.localAddr);
    assert.equal(a.stats().filtered, 0);
  } finally {
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  }
});
