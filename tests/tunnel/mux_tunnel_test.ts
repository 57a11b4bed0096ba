/**
 * The multiplexed tunnel (`TunnelClient.start({ mux: true })`) end to end:
 * a real TunnelServer and TunnelClient on loopback, kernel TCP applications
 * and services on both ends.
 */

import assert from "node:assert/strict";
import { TunnelClient } from "../../src/tunnel/client.ts";
import { TunnelServer } from "../../src/tunnel/server.ts";
import type { ForwardSpec } from "../../src/tunnel/address.ts";
import { MUX_PORT } from "../../src/tunnel/mux_frame.ts";
import { MUX_WINDOW } from "../../src/tunnel/mux_stream.ts";
import { openTouEndpoint } from "../../src/tunnel/tou_endpoint.ts";
import type {
  EndpointFactory,
  TunnelConn,
  TunnelEndpoint,
  TunnelListener,
} from "../../src/tunnel/transport.ts";
import {
  type Captured,
  captureLog,
  connectLocal,
  echoService,
  pattern,
  readAll,
  readOutcome,
  tcpService,
  until,
  within,
  writeAll,
} from "./_harness.ts";

const LOOP = "127.0.0.1";

/** A tou endpoint whose tunnel connections to or from {@linkcode MUX_PORT} are recorded. */
interface Wrapped {
  readonly open: EndpointFactory;
  /** Mux connections the client opened. */
  readonly muxConns: TunnelConn[];
}

/**
 * Wraps the real endpoint: records the client's mux connections and, with
 * `noMux`, plays a server without a listener on {@linkcode MUX_PORT} (an
 * older tou server: the stack answers the SYN with a RST).
 */
function wrapEndpoint(
  opts: { readonly noMux?: boolean; readonly endFirstMuxSession?: boolean } = {},
): Wrapped {
  const muxConns: TunnelConn[] = [];
  const open: EndpointFactory = async (o) => {
    const ep = await openTouEndpoint(o);
    const wrapped: TunnelEndpoint & Pick<typeof ep, "metrics" | "connections"> = {
      get addr() {
        return ep.addr;
      },
      listen: (l) => {
        if (opts.noMux && l.tcpPort === MUX_PORT) return idleListener();
        return ep.listen(l);
      },
      connect: async (c) => {
        const conn = await ep.connect(c);
        if (c.tcpPort !== MUX_PORT) return conn;
        muxConns.push(conn);
        return opts.endFirstMuxSession && muxConns.length === 1 ? endedAtOnce(conn) : conn;
      },
      close: (c) => ep.close(c),
      serve: () => ep.serve?.(),
      metrics: () => ep.metrics(),
      connections: () => ep.connections(),
    };
    return wrapped;
  };
  return { open, muxConns };
}

/** `conn` as if the peer's FIN arrived right after the handshake. */
function endedAtOnce(conn: TunnelConn): TunnelConn {
  let first = true;
  return new Proxy(conn, {
    get(target, key) {
      if (key === "read") {
        return (p: Uint8Array) => {
          if (!first) return target.read(p);
          first = false;
          return Promise.resolve(null);
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A listener that never accepts (nothing listens behind it). */
function idleListener(): TunnelListener {
  const { promise: closed, resolve } = Promise.withResolvers<void>();
  return {
    close: () => resolve(),
    [Symbol.asyncIterator]: () => ({
      next: () => closed.then(() => ({ done: true as const, value: undefined })),
    }),
  };
}

interface MuxPair {
  readonly server: TunnelServer;
  readonly client: TunnelClient;
  readonly serverLog: Captured;
  readonly clientLog: Captured;
  readonly muxConns: TunnelConn[];
  localPort(i?: number): number;
  close(drainTimeoutMs?: number): Promise<void>;
}

/** A server with `forwards` and a mux client with locals for `tunnelPorts`. */
async function startMuxPair(opts: {
  readonly forwards: readonly ForwardSpec[];
  readonly tunnelPorts: readonly number[];
  /** The server has no mux listener (an older server). */
  readonly noMux?: boolean;
  /** The client's first mux session ends as soon as it is open. */
  readonly endFirstMuxSession?: boolean;
  /** Pre-shared key of both. */
  readonly key?: Uint8Array;
}): Promise<MuxPair> {
  const serverLog = captureLog();
  const clientLog = captureLog();
  const serverEp = wrapEndpoint({ noMux: opts.noMux });
  const clientEp = wrapEndpoint({ endFirstMuxSession: opts.endFirstMuxSession });
  const server = await TunnelServer.start({
    listen: { hostname: LOOP, port: 0 },
    forwards: opts.forwards,
    logger: serverLog.logger,
    openEndpoint: serverEp.open,
    key: opts.key,
  });
  const client = await TunnelClient.start({
    server: { hostname: LOOP, port: server.addr.port },
    locals: opts.tunnelPorts.map((p) => ({ listen: { hostname: LOOP, port: 0 }, tunnelPort: p })),
    mux: true,
    logger: clientLog.logger,
    openEndpoint: clientEp.open,
    key: opts.key,
  });
  return {
    server,
    client,
    serverLog,
    clientLog,
    muxConns: clientEp.muxConns,
    localPort: (i = 0) => client.listeners[i].addr.port,
    close: async (drainTimeoutMs = 0) => {
      await client.close({ drainTimeoutMs });
      await server.close({ drainTimeoutMs });
    },
  };
}

function fwd(tunnelPort: number, port: number): ForwardSpec {
  return { tunnelPort, target: { hostname: LOOP, port } };
}

/** Sends `data`, half-closes, and returns what came back to EOF. */
async function roundTrip(port: number, data: Uint8Array): Promise<Uint8Array> {
  const app = await connectLocal(port);
  try {
    const [, back] = await Promise.all([
      writeAll(app, data).then(() => app.closeWrite()),
      readAll(app),
    ]);
    return back;
  } finally {
    app.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function clientConnections(client: TunnelClient): number {
  return (client.endpoint as unknown as { connections(): unknown[] }).connections().length;
}

Deno.test("mux tunnel carries many concurrent connections byte-exact over one tunnel connection", async () => {
  const echo = echoService();
  const pair = await startMuxPair({ forwards: [fwd(7, echo.port)], tunnelPorts: [7] });
  try {
    const sizes = [0, 1, 1000, 65_535, 65_536, 200_001, 3 << 20, 0, 1 << 20, 77_777, 12, 4_321];
    await within(
      60_000,
      "round trips",
      Promise.all(sizes.map(async (n, i) => {
        const data = pattern(n, 40 + i);
        const back = await roundTrip(pair.localPort(), data);
        assert.ok(sameBytes(back, data), `connection ${i} (${n} bytes) changed`);
      })),
    );
    assert.equal(pair.muxConns.length, 1, "one tunnel connection for all of them");
    assert.equal(pair.server.muxSessions, 1);
    assert.equal(clientConnections(pair.client), 1);
    await until(() => pair.server.relay.counters.sessionsClosed === sizes.length, "closed");
    assert.equal(pair.server.relay.counters.sessionsOpened, sizes.length);
    assert.equal(pair.server.relay.counters.sessionsReset, 0);
    // later connections reuse the session
    for (let i = 0; i < 20; i++) {
      const data = pattern(100 + i, i);
      assert.ok(sameBytes(await roundTrip(pair.localPort(), data), data));
    }
    assert.equal(pair.muxConns.length, 1);
    assert.equal(pair.server.muxSessions, 1);
  } finally {
    await pair.close(2_000);
    await echo.close();
  }
});

Deno.test("mux tunnel resets the connection and the server logs once when the target is unreachable", async () => {
  const probe = Deno.listen({ hostname: LOOP, port: 0 });
  const deadPort = probe.addr.port;
  probe.close();
  const echo = echoService();
  const pair = await startMuxPair({
    forwards: [fwd(22, deadPort), fwd(7, echo.port)],
    tunnelPorts: [22, 7],
  });
  try {
    const app = await connectLocal(pair.localPort(0));
    assert.equal(await within(10_000, "app outcome", readOutcome(app)), "ConnectionReset");
    app.close();
    const lines = pair.serverLog.lines.filter((l) => l.includes("cannot reach forward target"));
    assert.equal(lines.length, 1, pair.serverLog.lines.join(""));
    assert.match(lines[0], new RegExp(`127\\.0\\.0\\.1:${deadPort}: connection refused`));
    assert.equal(pair.server.relay.counters.connectFailures, 1);
    // the client logs the reset once, and nothing about a refusal: the tunnel worked
    await until(() => pair.client.relay.sessions().length === 0, "client session ended");
    const resets = pair.clientLog.lines.filter((l) => /session reset/.test(l));
    assert.equal(resets.length, 1, pair.clientLog.lines.join(""));
    assert.match(resets[0], /session reset by tunnel side .*error=ConnectionReset/);
    assert.ok(!pair.clientLog.lines.some((l) => /cannot open tunnel|WARN|ERROR/.test(l)));
    // the session is unharmed
    const data = pattern(5000, 3);
    assert.ok(sameBytes(await roundTrip(pair.localPort(1), data), data));
    assert.equal(pair.muxConns.length, 1);
  } finally {
    await pair.close();
    await echo.close();
  }
});

Deno.test("mux tunnel: an unmapped tunnel port is refused (RST REFUSED) and the client logs it once", async () => {
  const echo = echoService();
  const pair = await startMuxPair({ forwards: [fwd(7, echo.port)], tunnelPorts: [8, 7] });
  try {
    const app = await connectLocal(pair.localPort(0));
    await writeAll(app, new TextEncoder().encode("anyone?"));
    assert.equal(await within(10_000, "app outcome", readOutcome(app)), "ConnectionReset");
    app.close();
    await until(() => pair.client.relay.counters.connectFailures === 1, "counted");
    const lines = pair.clientLog.lines.filter((l) => /connection refused/.test(l));
    assert.equal(lines.length, 1, pair.clientLog.lines.join(""));
    assert.match(
      lines[0],
      /port 8: connection refused \(the server forwards no service on port 8\)/,
    );
    assert.equal(pair.server.relay.counters.sessionsOpened, 0);
    assert.equal(echo.conns.length, 0, "never an open relay");
    // the session is unharmed
    const data = pattern(5000, 4);
    assert.ok(sameBytes(await roundTrip(pair.localPort(1), data), data));
    assert.equal(pair.muxConns.length, 1);
  } finally {
    await pair.close();
    await echo.close();
  }
});

Deno.test("mux tunnel: a stalled service stalls only its own connection, the others keep flowing", async () => {
  const total = 32 << 20;
  const data = pattern(total, 21);
  const { promise: release, resolve: letRead } = Promise.withResolvers<void>();
  const stalled = tcpService(async (c) => {
    await release;
    const got = await readAll(c);
    assert.equal(got.length, total);
    assert.ok(sameBytes(got, data), "bytes arrived out of order or changed");
    c.close();
  });
  const echo = echoService();
  const pair = await startMuxPair({
    forwards: [fwd(9, stalled.port), fwd(7, echo.port)],
    tunnelPorts: [9, 7],
  });
  try {
    const app = await connectLocal(pair.localPort(0));
    let written = 0;
    const writer = (async () => {
      while (written < total) {
        written += await app.write(data.subarray(written, Math.min(total, written + (1 << 20))));
      }
      await app.closeWrite();
    })();
    // wait until the stalled connection's application cannot write any more (bounded)
    let last = -1;
    for (let i = 0, still = 0; i < 100 && still < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      still = written === last ? still + 1 : 0;
      last = written;
    }
    assert.ok(written < total, "the application could write everything with nobody reading");
    // between the two relays (in the stream, the sessions and the server's copy buffer) at
    // most one window and one chunk: the kernel sockets hold the rest
    const intoStream = pair.client.relay.sessions().find((s) => s.tunnelPort === 9)!.pipe.aToB;
    const outOfStream = pair.server.relay.sessions().find((s) => s.tunnelPort === 9)!.pipe.bToA;
    const between = intoStream - outOfStream;
    assert.ok(between <= MUX_WINDOW + 64 * 1024, `${between} bytes in the stalled stream`);
    assert.ok(between >= MUX_WINDOW / 2, `only ${between} bytes in the stalled stream`);
    // the same session carries another connection both ways meanwhile
    const other = pattern(4 << 20, 22);
    assert.ok(sameBytes(await within(20_000, "other", roundTrip(pair.localPort(1), other)), other));
    assert.equal(written, last, "the stalled writer stayed stalled");
    assert.equal(pair.muxConns.length, 1);
    letRead();
    await within(60_000, "writer", writer);
    assert.equal(await within(30_000, "eof", readOutcome(app)), "eof");
    app.close();
  } finally {
    letRead();
    await pair.close(5_000);
    await stalled.close();
    await echo.close();
  }
});

Deno.test("mux tunnel: when the session's connection dies its streams are reset, the next connection opens a new session", async () => {
  const echo = echoService();
  const pair = await startMuxPair({ forwards: [fwd(7, echo.port)], tunnelPorts: [7] });
  try {
    const apps = await Promise.all([1, 2, 3].map(() => connectLocal(pair.localPort())));
    for (const app of apps) {
      await writeAll(app, new Uint8Array([7]));
      assert.equal(await within(10_000, "echo", readOutcome(app)), "data 1");
    }
    assert.equal(pair.muxConns.length, 1);
    pair.muxConns[0].abort(); // the session's tou connection is reset
    for (const app of apps) {
      assert.equal(await within(10_000, "app outcome", readOutcome(app)), "ConnectionReset");
      app.close();
    }
    // the server's streams were reset too: their sessions end, the services see it
    await until(() => pair.server.relay.sessions().length === 0, "server sessions");
    await until(() => pair.server.muxSessions === 0, "server mux session");
    const data = pattern(100_000, 5);
    assert.ok(sameBytes(await within(10_000, "new", roundTrip(pair.localPort(), data)), data));
    assert.equal(pair.muxConns.length, 2, "a new session");
    assert.equal(pair.server.muxSessions, 1);
  } finally {
    await pair.close();
    await echo.close();
  }
});

Deno.test("mux client falls back to a tunnel connection per stream when the server has no mux port", async () => {
  const echo = echoService();
  const pair = await startMuxPair({ forwards: [fwd(7, echo.port)], tunnelPorts: [7], noMux: true });
  try {
    // two at once: both wait for the one mux attempt, then both go one connection per stream
    const datas = [pattern(70_000, 6), pattern(1000, 7)];
    const backs = await within(
      15_000,
      "round trips",
      Promise.all(datas.map((d) => roundTrip(pair.localPort(), d))),
    );
    for (let i = 0; i < 2; i++) assert.ok(sameBytes(backs[i], datas[i]));
    const data = pattern(3000, 8);
    assert.ok(sameBytes(await roundTrip(pair.localPort(), data), data));
    const warnings = pair.clientLog.lines.filter((l) => /refused the multiplexed session/.test(l));
    assert.equal(warnings.length, 1, pair.clientLog.lines.join(""));
    assert.match(warnings[0], /carrying each connection over its own tunnel connection/);
    assert.equal(pair.muxConns.length, 0, "no mux connection was ever established");
    assert.equal(pair.server.muxSessions, 0);
    await until(() => pair.server.relay.counters.sessionsClosed === 3, "closed");
    assert.equal(pair.server.relay.counters.sessionsOpened, 3);
    assert.equal(pair.client.relay.counters.connectFailures, 0);
    assert.ok(!pair.clientLog.lines.some((l) => /cannot open tunnel/.test(l)));
  } finally {
    await pair.close();
    await echo.close();
  }
});

Deno.test("mux client resets each waiting connection and logs once per connection when the server is unreachable", async () => {
  // a UDP port nobody answers on: the session's SYNs go unanswered until the connect timeout
  const silent = Deno.listenDatagram({ transport: "udp", hostname: LOOP, port: 0 });
  const log = captureLog();
  const client = await TunnelClient.start({
    server: { hostname: LOOP, port: (silent.addr as Deno.NetAddr).port },
    locals: [{ listen: { hostname: LOOP, port: 0 }, tunnelPort: 7 }],
    mux: true,
    connectTimeoutMs: 300,
    logger: log.logger,
  });
  try {
    const port = client.listeners[0].addr.port;
    const apps = await Promise.all([connectLocal(port), connectLocal(port)]);
    for (const app of apps) {
      assert.equal(await within(10_000, "app outcome", readOutcome(app)), "ConnectionReset");
      app.close();
    }
    const lines = log.lines.filter((l) => /cannot open tunnel/.test(l));
    assert.equal(lines.length, 2, log.lines.join(""));
    assert.match(lines[0], /timed out/);
    assert.equal(client.relay.counters.connectFailures, 2);
    assert.ok(!log.lines.some((l) => /refused the multiplexed session/.test(l)));
  } finally {
    await client.close();
    silent.close();
  }
});

Deno.test("mux tunnel: TunnelClient.close alone drains its stream, then both ends close the session without a reset", async () => {
  const response = pattern(3 << 20, 31);
  const svc = tcpService(async (c) => {
    assert.equal(new TextDecoder().decode(await readAll(c)), "request");
    await writeAll(c, response);
    c.close();
  });
  const pair = await startMuxPair({ forwards: [fwd(9, svc.port)], tunnelPorts: [9] });
  try {
    const app = await connectLocal(pair.localPort());
    await writeAll(app, new TextEncoder().encode("request"));
    await app.closeWrite();
    const got = readAll(app);
    got.catch(() => {});
    // opened (it may be finished already: 3 MiB on loopback take a few ms)
    await until(() => pair.server.relay.counters.sessionsOpened === 1, "server session");
    const r = await pair.client.close({ drainTimeoutMs: 20_000 });
    assert.deepEqual(r, { finished: 1, reset: 0 });
    assert.ok(sameBytes(await got, response));
    app.close();
    await until(() => pair.server.muxSessions === 0, "server mux session ended");
    assert.equal(pair.server.relay.counters.sessionsReset, 0);
    assert.equal(pair.server.relay.counters.sessionsClosed, 1);
  } finally {
    await pair.close();
    await svc.close();
  }
});

Deno.test("mux client opens another session when the one its connection waited for ended meanwhile", async () => {
  const echo = echoService();
  const pair = await startMuxPair({
    forwards: [fwd(7, echo.port)],
    tunnelPorts: [7],
    endFirstMuxSession: true,
  });
  try {
    const data = pattern(10_000, 9);
    assert.ok(
      sameBytes(await within(10_000, "round trip", roundTrip(pair.localPort(), data)), data),
    );
    assert.equal(pair.muxConns.length, 2, "a second session");
  } finally {
    await pair.close();
    await echo.close();
  }
});

Deno.test("mux tunnel carries streams over a sealed (keyed) tunnel connection", async () => {
  const echo = echoService();
  const pair = await startMuxPair({
    forwards: [fwd(7, echo.port)],
    tunnelPorts: [7],
    key: crypto.getRandomValues(new Uint8Array(32)),
  });
  try {
    const datas = [pattern(0, 1), pattern(300_000, 2), pattern(1234, 3)];
    const backs = await within(
      15_000,
      "round trips",
      Promise.all(datas.map((d) => roundTrip(pair.localPort(), d))),
    );
    for (let i = 0; i < datas.length; i++) assert.ok(sameBytes(backs[i], datas[i]));
    assert.equal(pair.muxConns.length, 1);
  } finally {
    await pair.close();
    await echo.close();
  }
});
