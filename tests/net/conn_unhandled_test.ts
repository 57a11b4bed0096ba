// No unhandled promise rejection from tou, whatever ends a connection: a reset, abort(), the
// endpoint closing, a retransmission, keepalive or SYN timeout, a refused or aborted connect, a
// listener or endpoint closing under accept(), a handshake failing on the server side; during
// reads, writes (direct and through the streams, the Node socket too) and the handshake. Every
// error must reach the caller through the call or stream it belongs to. Runs on the simulator, so
// each path is deterministic.

import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { toNodeSocket, type TouConn } from "../../mod.ts";
import { within } from "../compat/_transports.ts";
import { recordUnhandled } from "../compat/_unhandled.ts";
import { CLIENT_HOST, SERVER_HOST, SERVER_PORT, type SimWorld, simWorld } from "./_sim.ts";

/** Where each error surfaced, by path name. */
type Outcomes = Record<string, string>;

function name(e: unknown): string {
  return e instanceof Error ? e.name : String(e);
}

/**
 * Starts every kind of pending operation, on `c` and on `d` (a Node socket: its own connection,
 * since a failing stream closes its connection); returns their outcomes once settled.
 */
function pendingOps(c: TouConn, d: TouConn): () => Promise<Outcomes> {
  const read = c.read(new Uint8Array(10)).then(String, name);
  // A writable write that cannot finish: more than the send buffer and the peer's window.
  const writer = c.writable.getWriter();
  const big = writer.write(new Uint8Array(16 << 20)).then(() => "ok", name);
  const writerClosed = writer.closed.then(() => "ok", name);
  // A readable the app reads from, and one built but never read (its errors must stay silent).
  void c.readable;
  const sock = toNodeSocket(d);
  const sockError = new Promise<string>((resolve) => {
    sock.once("error", (e: Error & { code?: string }) => resolve(e.code ?? e.name));
    sock.once("close", () => resolve("close"));
  });
  (sock as Duplex).resume();
  void c.closed; // never rejects
  // write() until the buffers are full and one waits; it ends only with the error.
  const directWrite = (async () => {
    for (;;) await d.write(new Uint8Array(1 << 20));
  })().then(() => "ok", name);
  return async () => ({
    read: await read,
    "writable write": await big,
    "writer.closed": await writerClosed,
    "node socket": await sockError,
    write: await directWrite,
  });
}

/** Two connections from the client to the server: a, c and their server ends b, d. */
async function pairs(w: SimWorld): Promise<{ a: TouConn; b: TouConn; c: TouConn; d: TouConn }> {
  const l = w.server.listen({ tcpPort: 80 });
  const target = { hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 };
  const a = await w.until(w.client.connect(target), "connect");
  const b = await w.until(l.accept(), "accept");
  const c = await w.until(w.client.connect(target), "connect");
  const d = await w.until(l.accept(), "accept");
  return { a, b, c, d };
}

async function withRecorder(fn: () => Promise<void>): Promise<void> {
  const rec = recordUnhandled();
  try {
    await fn();
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(rec.seen, [], "unhandled promise rejections");
  } finally {
    rec.stop();
  }
}

Deno.test("TouConn reports a peer's reset through each pending call and stream, never as an unhandled rejection", async () => {
  await withRecorder(async () => {
    const w = simWorld();
    const { a, b, c, d } = await pairs(w);
    const settled = pendingOps(a, c);
    await w.run(50);
    b.abort();
    d.abort();
    await w.run(1_000);
    const got = await within(settled(), 10_000, "settled");
    assert.deepEqual(got, {
      read: "ConnectionReset",
      "writable write": "BrokenPipe",
      "writer.closed": "BrokenPipe",
      "node socket": "ECONNRESET",
      write: "ConnectionReset",
    });
    assert.equal((await w.until(a.closed, "closed")).reason, "reset");
    await w.close();
  });
});

Deno.test("TouConn.abort and close interrupt each pending call and stream, never as an unhandled rejection", async () => {
  await withRecorder(async () => {
    for (const how of ["abort", "close"] as const) {
      const w = simWorld();
      const { a, c } = await pairs(w);
      const settled = pendingOps(a, c);
      await w.run(50);
      a[how]();
      c[how]();
      await w.run(1_000);
      const got = await within(settled(), 10_000, "settled");
      assert.equal(got.read, "Interrupted", how);
      assert.equal(got["writable write"], "Interrupted", how);
      assert.equal(got.write, "Interrupted", how);
      await w.close();
    }
  });
});

Deno.test("TouConn reports its endpoint closing through each pending call and stream, never as an unhandled rejection", async () => {
  await withRecorder(async () => {
    const w = simWorld();
    const { a, c } = await pairs(w);
    const settled = pendingOps(a, c);
    await w.run(50);
    w.client.close();
    await w.run(1_000);
    const got = await within(settled(), 10_000, "settled");
    assert.deepEqual(got, {
      read: "ConnectionAborted",
      "writable write": "ConnectionAborted",
      "writer.closed": "ConnectionAborted",
      "node socket": "ECONNABORTED",
      write: "ConnectionAborted",
    });
    await w.close();
  });
});

Deno.test("TouConn reports a retransmission timeout through each pending call and stream, never as an unhandled rejection", async () => {
  await withRecorder(async () => {
    const w = simWorld({ options: { retries: 3 } });
    const { a, c } = await pairs(w);
    const settled = pendingOps(a, c);
    await w.run(50);
    w.net.setPath(CLIENT_HOST, SERVER_HOST, { delay: 5, loss: 1 });
    await w.drive(() => a.state === "CLOSED" && c.state === "CLOSED", "retransmissions run out");
    await w.run(1_000);
    const got = await within(settled(), 10_000, "settled");
    assert.deepEqual(got, {
      read: "TimedOut",
      "writable write": "TimedOut",
      "writer.closed": "TimedOut",
      "node socket": "ETIMEDOUT",
      write: "TimedOut",
    });
    await w.close();
  });
});

Deno.test("Endpoint.connect reports refusal, SYN timeout, abort and endpoint close to its caller only", async () => {
  await withRecorder(async () => {
    const w = simWorld({ options: { synRetries: 2 } });
    const target = { hostname: SERVER_HOST, port: SERVER_PORT };
    const refused = w.client.connect({ ...target, tcpPort: 81 }).then(() => "ok", name);
    assert.equal(await w.until(refused, "refused"), "ConnectionRefused");

    w.net.setPath(CLIENT_HOST, SERVER_HOST, { delay: 5, loss: 1 });
    w.server.listen({ tcpPort: 80 });
    const timedOut = w.client.connect({ ...target, tcpPort: 80 }).then(() => "ok", name);
    assert.equal(await w.until(timedOut, "timed out"), "TimedOut");

    const ac = new AbortController();
    const aborted = w.client.connect({ ...target, tcpPort: 80, signal: ac.signal }).then(
      () => "ok",
      name,
    );
    await w.run(10);
    ac.abort();
    assert.equal(await w.until(aborted, "aborted"), "AbortError");

    // Sockets made from connects that fail get the error as an "error" event.
    const sock = toNodeSocket(w.client.connect({ ...target, tcpPort: 80 }));
    const sockErr = new Promise<string>((resolve) =>
      sock.once("error", (e: Error & { code?: string }) => resolve(e.code ?? e.name))
    );
    const closing = w.client.connect({ ...target, tcpPort: 80 }).then(() => "ok", name);
    await w.run(10);
    w.client.close();
    assert.equal(await w.until(closing, "endpoint closed"), "ConnectionAborted");
    await w.run(1_000);
    assert.equal(await within(sockErr, 10_000, "socket error"), "ECONNABORTED");
    await w.close();
  });
});

Deno.test("TouConn reports a keepalive timeout on an idle connection through its pending read, stream and Node socket, never as an unhandled rejection", async () => {
  await withRecorder(async () => {
    const w = simWorld({
      options: { keepAlive: true, keepAliveIdle: 1_000, keepAliveInterval: 500, keepAliveCount: 2 },
    });
    const { a, c } = await pairs(w);
    const l2 = w.server.listen({ tcpPort: 81 });
    const e = await w.until(
      w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 81 }),
      "connect",
    );
    await w.until(l2.accept(), "accept");
    // Idle: nothing in flight, so only keepalive can notice the dead path.
    const read = a.read(new Uint8Array(10)).then(String, name);
    const streamRead = c.readable.getReader().read().then((r) => r.done ? "done" : "value", name);
    const sock = toNodeSocket(e);
    const sockError = new Promise<string>((resolve) => {
      sock.once("error", (err: Error & { code?: string }) => resolve(err.code ?? err.name));
      sock.once("close", () => resolve("close"));
    });
    (sock as Duplex).resume();
    await w.run(50);
    w.net.setPath(CLIENT_HOST, SERVER_HOST, { delay: 5, loss: 1 });
    await w.drive(
      () => a.state === "CLOSED" && c.state === "CLOSED" && e.state === "CLOSED",
      "keepalive probes run out",
    );
    await w.run(1_000);
    const got = await within(
      Promise.all([read, streamRead, sockError]),
      10_000,
      "settled",
    );
    // Only a reset ends the readable as EOF (as on a Deno.TcpConn); a timeout errors it.
    assert.deepEqual(got, ["TimedOut", "TimedOut", "ETIMEDOUT"]);
    assert.equal((await w.until(a.closed, "closed")).reason, "timed_out");
    await w.close();
  });
});

Deno.test("Listeners report their own close and the endpoint's to accept() only; handshakes that fail on the server side stay silent", async () => {
  await withRecorder(async () => {
    const w = simWorld({ serverOptions: { synAckRetries: 1 } });
    const target = { hostname: SERVER_HOST, port: SERVER_PORT };

    // A pending accept() when its listener closes.
    const l1 = w.server.listen({ tcpPort: 80 });
    const accept1 = l1.accept().then(() => "ok", name);
    l1.close();
    assert.equal(await w.until(accept1, "accept on a closed listener"), "BadResource");

    // A connection waiting in the accept queue is reset when the listener closes: the client's
    // pending read gets ConnectionReset.
    const l2 = w.server.listen({ tcpPort: 82 });
    const queued = await w.until(w.client.connect({ ...target, tcpPort: 82 }), "connect");
    const queuedRead = queued.read(new Uint8Array(1)).then(String, name);
    await w.run(50);
    l2.close();
    assert.equal(await w.until(queuedRead, "queued connection reset"), "ConnectionReset");

    // A half-open handshake on the server (SYN-ACKs lost, the client gone) times out silently,
    // while the client's connect gets the timeout.
    const l3 = w.server.listen({ tcpPort: 83 });
    const pendingAccept = l3.accept().then(() => "ok", name);
    w.net.setLink(SERVER_HOST, CLIENT_HOST, { delay: 5, loss: 1 });
    const ac = new AbortController();
    const halfOpen = w.client.connect({ ...target, tcpPort: 83, signal: ac.signal }).then(
      () => "ok",
      name,
    );
    await w.run(100);
    assert.ok(w.server.connections().some((c) => c.state === "SYN_RCVD"), "a half-open handshake");
    ac.abort();
    assert.equal(await w.until(halfOpen, "connect aborted"), "AbortError");
    await w.drive(() => w.server.connections().length === 0, "SYN_RCVD gives up", 120_000);
    w.net.setPath(CLIENT_HOST, SERVER_HOST, { delay: 5 });

    // The endpoint closing under a pending accept() and a for-await loop over a listener.
    const loop = (async () => {
      for await (const conn of l3) conn.close();
      return "ended";
    })().catch(name);
    const l4 = w.server.listen({ tcpPort: 84 });
    const accept4 = l4.accept().then(() => "ok", name);
    await w.run(10);
    w.server.close();
    await w.run(100);
    assert.deepEqual(
      await within(Promise.all([pendingAccept, accept4, loop]), 10_000, "settled"),
      ["BadResource", "BadResource", "ended"],
    );
    await w.close();
  });
});

Deno.test("Duplex.fromWeb over a connection's streams (the issue-14 program's bridge) sees a reset, abort() and the endpoint closing without an unhandled rejection", async () => {
  await withRecorder(async () => {
    const outcomes: Record<string, string> = {};
    for (const how of ["peer reset", "abort", "endpoint close"] as const) {
      const w = simWorld();
      const { a, b } = await pairs(w);
      const duplex = Duplex.fromWeb({ readable: a.readable, writable: a.writable });
      const ended = new Promise<string>((resolve) => {
        duplex.once("error", (e: Error) => resolve(`error ${e.name}`));
        duplex.once("close", () => resolve("close"));
      });
      duplex.resume();
      // Keep writing so a write is in flight when it ends.
      const big = new Uint8Array(1 << 20);
      const writing = (async () => {
        for (let i = 0; i < 64 && !duplex.destroyed; i++) {
          if (!duplex.write(big)) {
            await new Promise((r) => duplex.once("drain", r).once("close", r));
          }
        }
      })();
      await w.run(50);
      if (how === "peer reset") b.abort();
      else if (how === "abort") a.abort();
      else w.client.close();
      await w.run(1_000);
      outcomes[how] = await within(ended, 10_000, how);
      duplex.destroy();
      await within(writing, 10_000, "writer stops");
      await w.close();
    }
    // Each reaches the Duplex as an "error" (the write in flight fails), not the process.
    assert.deepEqual(outcomes, {
      "peer reset": "error BrokenPipe",
      abort: "error Interrupted",
      "endpoint close": "error ConnectionAborted",
    });
  });
});
