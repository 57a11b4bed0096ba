/**
 * End to end: `tou stat` against running `tou server` and `tou client`
 * processes: one `ss -ti`-like row per connection (state, Recv-Q/Send-Q,
 * addresses, RTT, cwnd, retransmissions), the JSON snapshot, and the same
 * counters as Prometheus text.
 */

import assert from "node:assert/strict";
import { runTou } from "../cli/_process.ts";
import { startTunnel } from "../cli/_tunnel.ts";
import { parseExposition, sampleValue } from "../tunnel/_prometheus.ts";
import {
  connectLocal,
  pattern,
  readAll,
  tcpService,
  within,
  writeAll,
} from "../tunnel/_harness.ts";
import type { StatSnapshot } from "../../src/tunnel/stat.ts";
import { TCP_STATES } from "../../src/tcp/state.ts";

Deno.test("tou stat shows the queues, RTT, cwnd and retransmits of live tunnel connections", async () => {
  // A service that does not read until released: the bytes pile up in the queues.
  const { promise: release, resolve: letRead } = Promise.withResolvers<void>();
  const total = 16 * 1024 * 1024;
  const svc = tcpService(async (c) => {
    await release;
    assert.equal((await readAll(c)).length, total);
    c.close();
  });
  const t = await startTunnel({ targetPort: svc.port });
  try {
    const app = await connectLocal(t.localPort());
    const sending = writeAll(app, pattern(total, 5)).then(() => app.closeWrite());
    sending.catch(() => {});
    // Wait until the server's tunnel connection holds unread bytes (its TCP target is full).
    let server: StatSnapshot | undefined;
    await within(
      30_000,
      "recv-Q",
      (async () => {
        for (;;) {
          const r = await runTou(["stat", "--control", String(t.serverControl), "--json"]);
          assert.equal(r.code, 0, r.stderr);
          server = JSON.parse(r.stdout) as StatSnapshot;
          if ((server.connections[0]?.recvQ ?? 0) > 0) return;
          await new Promise((r) => setTimeout(r, 200));
        }
      })(),
    );
    assert.equal(server!.role, "server");
    assert.equal(server!.connections.length, 1);
    const row = server!.connections[0];
    assert.equal(row.state, "ESTABLISHED");
    assert.ok(TCP_STATES.includes(row.state as never));
    assert.ok(row.rtt > 0 && row.cwnd > 0 && row.mss > 0, JSON.stringify(row));
    assert.equal(row.session?.tunnelPort, 80);
    assert.equal(row.session?.tcpPeer, `127.0.0.1:${svc.port}`);

    // The client's table: its send queue fills up, since the server's window is closing.
    let lines: string[] = [];
    let m: RegExpMatchArray | null = null;
    await within(
      30_000,
      "send-Q",
      (async () => {
        for (;;) {
          const table = await runTou(["stat", "--control", String(t.clientControl)]);
          assert.equal(table.code, 0, table.stderr);
          lines = table.stdout.split("\n");
          m = lines[2].match(
            /^ESTABLISHED +(\d+) +(\d+) +0\.0\.0\.0:\d+\/\d+ +127\.0\.0\.1:\d+\/80 +#1 ← 127\.0\.0\.1:\d+$/,
          );
          assert.ok(m, table.stdout);
          if (Number(m[2]) > 0) return;
          await new Promise((r) => setTimeout(r, 200));
        }
      })(),
    );
    assert.match(lines[0], /^tou client udp 0\.0\.0\.0:\d+ \(encrypted\), 1 connection$/);
    assert.match(
      lines[1],
      /^State +Recv-Q +Send-Q +Local Address\/Port +Peer Address\/Port +Session$/,
    );
    assert.match(
      lines[3],
      /^\t rtt:[0-9.]+\/[0-9.]+ rto:\d+ mss:\d+ cwnd:\d+( ssthresh:\d+)? retrans:\d+ lost:\d+ bytes_sent:\d+ bytes_acked:\d+ bytes_received:\d+( send:[0-9.]+[KMG]?bps)?( pacing_rate:[0-9.]+[KMG]?bps)? delivery_rate:[0-9.]+[KMG]?bps rcv_space:\d+ snd_wnd:\d+ limit:(cwnd|rwnd|sender|pacing|none)( timer:\((on|persist|keepalive|timewait|delack|fin_wait2|tlp|reorder|pacing|idle),[0-9.]+(ms|sec|min)\))* session_in:\d+ session_out:0 age:[0-9.]+s$/,
    );

    // The live web dashboard: --web prints its URL, and the page is there.
    const web = await runTou(["stat", "--control", String(t.clientControl), "--web"]);
    assert.equal(web.code, 0, web.stderr);
    assert.equal(web.stdout, `http://127.0.0.1:${t.clientControl}/dashboard\n`);
    const page = await fetch(web.stdout.trim());
    assert.match(await page.text(), /<title>tou dashboard<\/title>/);
    const both = await runTou(["stat", "--control", String(t.clientControl), "--web", "--json"]);
    assert.equal(both.code, 2);

    // The same figures for a scraper.
    const prom = await runTou(["stat", "--control", String(t.clientControl), "--metrics"]);
    assert.equal(prom.code, 0, prom.stderr);
    const exp = parseExposition(prom.stdout);
    assert.equal(sampleValue(exp, "tou_connections", { role: "client", state: "ESTABLISHED" }), 1);
    assert.equal(sampleValue(exp, "tou_sessions_active", { role: "client" }), 1);
    assert.equal(sampleValue(exp, "tou_encrypted", { role: "client" }), 1);
    assert.ok(sampleValue(exp, "tou_bytes_into_tunnel_total", { role: "client" }) > 0);
    assert.ok(sampleValue(exp, "tou_connection_retransmits", { role: "client" }) >= 0);
    assert.equal(exp.types.get("tou_seal_auth_failures_total"), "counter");
    assert.equal(exp.types.get("tou_sessions_active"), "gauge");

    letRead();
    await within(60_000, "send", sending);
    assert.equal((await within(30_000, "eof", readAll(app))).length, 0);
    app.close();
  } finally {
    letRead();
    await t.stop();
    await svc.close();
  }
});

Deno.test("tou stat exits 1 with one line when no control endpoint listens there", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const r = await runTou(["stat", "--control", String(port)]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `tou: cannot reach control endpoint 127.0.0.1:${port}: connection refused ` +
      "(is tou server/client running with --control?)\n",
  );
  assert.equal(r.stdout, "");
});
