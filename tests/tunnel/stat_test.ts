import assert from "node:assert/strict";
import {
  fetchStat,
  formatPrometheus,
  formatStatTable,
  startControlServer,
  takeSnapshot,
} from "../../src/tunnel/stat.ts";
import { Relay } from "../../src/tunnel/relay.ts";
import { Logger } from "../../src/tunnel/log.ts";
import { TCP_STATES, type TcpState } from "../../src/tcp/state.ts";
import { parseExposition, sampleValue } from "./_prometheus.ts";
import {
  connectLocal,
  echoService,
  readOutcome,
  startControlledPair,
  startPair,
  writeAll,
} from "./_harness.ts";

Deno.test("startControlServer reports one ESTABLISHED row per open session", async () => {
  const t = await startControlledPair();
  const { echo, pair, control } = t;
  try {
    const app = await connectLocal(pair.localPort());
    await writeAll(app, new Uint8Array(1000));
    let got = 0;
    while (got < 1000) {
      const o = await readOutcome(app);
      assert.match(o, /^data /);
      got += Number(o.slice(5));
    }
    const snap = await fetchStat(control.addr, "connections");
    assert.equal(snap.role, "server");
    assert.equal(snap.encrypted, false);
    assert.equal(snap.connections.length, 1);
    const row = snap.connections[0];
    assert.equal(row.state, "ESTABLISHED");
    assert.ok(TCP_STATES.includes(row.state as TcpState));
    assert.equal(row.session?.tunnelPort, 7);
    assert.equal(row.session?.tcpPeer, `127.0.0.1:${echo.port}`);
    assert.equal(row.session?.bytesIn, 1000);
    assert.equal(row.bytesReceived, 1000);
    assert.equal(row.local, `127.0.0.1:${pair.server.addr.port}/7`);
    assert.ok(row.rtt > 0);
    assert.equal(snap.counters.sessions_active, 1);

    const table = formatStatTable(snap);
    assert.match(
      table,
      /^ESTABLISHED +\d+ +\d+ +127\.0\.0\.1:\d+\/7 +127\.0\.0\.1:\d+\/\d+ +#1 → /m,
    );
    assert.match(table, /\t rtt:[0-9.]+\/[0-9.]+ rto:\d+ mss:\d+ cwnd:\d+ retrans:0/);

    const metrics = await fetchStat(control.addr, "metrics");
    const exp = parseExposition(metrics); // throws on anything a scraper would reject
    assert.equal(sampleValue(exp, "tou_connections", { state: "ESTABLISHED" }), 1);
    assert.ok(exp.samples.every((x) => x.labels.role === "server"));
    assert.ok(exp.samples.length > 20, metrics);
    assert.match(metrics, /^tou_connections\{role="server",state="ESTABLISHED"\} 1$/m);
    assert.match(metrics, /^tou_sessions_active\{role="server"\} 1$/m);
    assert.match(metrics, /^tou_bytes_into_tunnel_total\{role="server"\} 1000$/m);
    assert.match(metrics, /^# TYPE tou_stack_datagrams_in_total counter$/m);
    // the process's own memory, as gauges (bench:soak's RSS goal, readable live)
    assert.match(metrics, /^# TYPE tou_process_resident_bytes gauge$/m);
    assert.ok(sampleValue(exp, "tou_process_resident_bytes") > 10 * 1024 * 1024);
    assert.ok(sampleValue(exp, "tou_process_heap_used_bytes") > 0);
    assert.ok(sampleValue(exp, "tou_process_external_bytes") >= 0);

    const res = await fetch(`http://127.0.0.1:${control.addr.port}/nope`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    app.close();
  } finally {
    await t.close();
  }
});

Deno.test("fetchStat names the address when nothing listens there", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  await assert.rejects(fetchStat({ hostname: "127.0.0.1", port }, "connections"), (e: Error) => {
    assert.equal(
      e.message,
      `cannot reach control endpoint 127.0.0.1:${port}: connection refused ` +
        "(is tou server/client running with --control?)",
    );
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});

Deno.test("formatPrometheus counts connections by state when several share one", () => {
  const base = {
    local: "a",
    peer: "b",
    sendQ: 0,
    recvQ: 0,
    rtt: 1,
    rttvar: 1,
    rto: 200,
    cwnd: 1,
    ssthresh: null,
    mss: 1,
    retransmits: 2,
    lost: 0,
    bytesSent: 0,
    bytesAcked: 0,
    bytesReceived: 0,
  };
  const text = formatPrometheus({
    role: "client",
    udp: "0.0.0.0:1",
    encrypted: true,
    time: 0,
    counters: { sessions_active: 2 },
    connections: [
      { ...base, state: "TIME_WAIT" },
      { ...base, state: "ESTABLISHED" },
      { ...base, state: "TIME_WAIT" },
    ],
  });
  parseExposition(text);
  assert.match(text, /^tou_connections\{role="client",state="TIME_WAIT"\} 2$/m);
  assert.match(text, /^tou_connections\{role="client",state="ESTABLISHED"\} 1$/m);
  assert.match(text, /^tou_connection_retransmits\{role="client"\} 6$/m);
  assert.match(text, /^# TYPE tou_sessions_active gauge$/m);
  assert.match(text, /^tou_encrypted\{role="client"\} 1$/m);
});

Deno.test("takeSnapshot falls back to session rows when the endpoint lists no connections", () => {
  const snap = takeSnapshot({
    role: "client",
    relay: {
      sessions: () => [],
      counters: {
        sessionsOpened: 3,
        sessionsClosed: 2,
        sessionsReset: 1,
        connectFailures: 0,
        bytesIntoTunnel: 10,
        bytesOutOfTunnel: 20,
      },
    } as unknown as Parameters<typeof takeSnapshot>[0]["relay"],
    endpoint: {
      addr: { hostname: "127.0.0.1", port: 9 },
      listen: () => {
        throw new Error("unused");
      },
      connect: () => Promise.reject(new Error("unused")),
      close: () => {},
    },
  });
  assert.equal(snap.udp, "127.0.0.1:9");
  assert.deepEqual(snap.connections, []);
  assert.equal(snap.counters.sessions_opened_total, 3);
  assert.equal(snap.counters.bytes_out_of_tunnel_total, 20);
});

Deno.test("startControlServer names the address when it is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      startControlServer({ hostname: "127.0.0.1", port: taken.addr.port }, {
        role: "server",
        relay: new Relay("server", new Logger({ sink: () => {} })),
        endpoint: {
          addr: { hostname: "127.0.0.1", port: 9 },
          listen: () => {
            throw new Error("unused");
          },
          connect: () => Promise.reject(new Error("unused")),
          close: () => {},
        },
      }),
      (e: Error) => {
        assert.ok(e instanceof Deno.errors.AddrInUse);
        assert.equal(
          e.message,
          `cannot listen on control 127.0.0.1:${taken.addr.port}: address already in use`,
        );
        return true;
      },
    );
  } finally {
    taken.close();
  }
});

Deno.test("parseExposition rejects what a scraper would when the text is malformed", () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{role="x"} 1\n';
  assert.equal(parseExposition(ok).samples.length, 1);
  for (
    const bad of [
      ok.slice(0, -1), // no final newline
      "a_total 1\n", // no TYPE
      "# HELP a A.\n# TYPE a counter\na 1\n", // counter without _total
      ok + 'a_total{role="x"} 2\n', // repeated sample
      "# HELP a A.\n# TYPE a gauge\na{role=x} 1\n", // unquoted label
      "# HELP a A.\n# TYPE a gauge\na one\n", // not a number
    ]
  ) {
    assert.throws(() => parseExposition(bad), Error, JSON.stringify(bad));
  }
});

Deno.test("tou stat lists a multiplexed connection's streams under it, on the server and the client", async () => {
  const echo = echoService();
  const pair = await startPair({
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: echo.port } }],
    tunnelPorts: [7],
    mux: true,
  });
  const controls = await Promise.all(
    (["server", "client"] as const).map((role) =>
      startControlServer({ hostname: "127.0.0.1", port: 0 }, {
        role,
        relay: pair[role].relay,
        endpoint: pair[role].endpoint,
      })
    ),
  );
  const apps: Deno.Conn[] = [];
  try {
    for (const size of [300, 700]) {
      const app = await connectLocal(pair.localPort());
      apps.push(app);
      await writeAll(app, new Uint8Array(size));
      let got = 0;
      while (got < size) got += Number((await readOutcome(app)).slice(5));
    }
    for (const [i, control] of controls.entries()) {
      const role = i === 0 ? "server" : "client";
      const snap = await fetchStat(control.addr, "connections");
      assert.equal(snap.connections.length, 1, `${role}: one tunnel connection`);
      const row = snap.connections[0];
      assert.equal(row.session, undefined);
      assert.equal(row.streams?.length, 2, `${role}: ${JSON.stringify(row)}`);
      assert.deepEqual(row.streams!.map((s) => s.bytesIn + s.bytesOut), [600, 1400]);
      assert.ok(row.streams!.every((s) => typeof s.stream === "number" && s.tunnelPort === 7));
      assert.equal(snap.counters.sessions_active, 2);
      const table = formatStatTable(snap);
      assert.match(table, /^ESTABLISHED .* mux: 2 streams$/m);
      const arrow = role === "server" ? "→" : "←";
      assert.match(
        table,
        new RegExp(`^\\t stream:\\d+ #\\d+ ${arrow} \\S+ port:7 session_in:\\d+`, "m"),
      );
    }
  } finally {
    for (const a of apps) a.close();
    for (const c of controls) await c.close();
    await pair.close();
    await echo.close();
  }
});
