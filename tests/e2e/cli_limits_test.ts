/**
 * End to end: the session cap and the idle timeout of a real `tou server`
 * process (issue 11, finding 4: forged handshakes opened 2000 sessions and
 * idle sessions never expired). Past `--max-sessions` a new tunnel
 * connection is refused at once: the client resets the application's TCP
 * connection instead of letting it hang, and the server counts the refusal
 * in `tou stat --metrics`; idle sessions end after `--idle-timeout`, which
 * frees their slots.
 */

import assert from "node:assert/strict";
import { runTou } from "../cli/_process.ts";
import { startTunnel } from "../cli/_tunnel.ts";
import { connectLocal, echoService, readOutcome, within, writeAll } from "../tunnel/_harness.ts";
import { parseExposition, sampleValue } from "../tunnel/_prometheus.ts";

async function metrics(control: number) {
  const prom = await runTou(["stat", "--control", String(control), "--metrics"]);
  assert.equal(prom.code, 0, prom.stderr);
  return parseExposition(prom.stdout);
}

async function echoOnce(app: Deno.Conn): Promise<string> {
  await writeAll(app, new TextEncoder().encode("ping"));
  return await readOutcome(app);
}

Deno.test("tou server --max-sessions refuses the next tunnel connection at once (the app's connection is reset, the refusal counted), and --idle-timeout frees the slots", async () => {
  const echo = echoService();
  const t = await startTunnel({
    targetPort: echo.port,
    serverArgs: ["--max-sessions", "3", "--idle-timeout", "3"],
  });
  const apps: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const app = await connectLocal(t.localPort());
      apps.push(app);
      assert.equal(await within(10_000, `session ${i}`, echoOnce(app)), "data 4");
    }
    const fourth = await connectLocal(t.localPort());
    apps.push(fourth);
    const started = performance.now();
    const outcome = await within(10_000, "refused session", echoOnce(fourth).catch((e) => e.name));
    const took = performance.now() - started;
    assert.match(outcome, /^(ConnectionReset|eof|BrokenPipe)$/, outcome);
    assert.ok(took < 3_000, `refused after ${took.toFixed(0)} ms`);
    let exp = await metrics(t.serverControl);
    assert.equal(sampleValue(exp, "tou_stack_conn_limit_refused_total", { role: "server" }), 1);
    assert.equal(sampleValue(exp, "tou_stack_capped_connections", { role: "server" }), 3);
    assert.equal(sampleValue(exp, "tou_sessions_active", { role: "server" }), 3);
    // the server says so, once (rate-limited), within a second or two
    const line = await t.server.waitFor(
      (r) =>
        /tunnel connections? refused in the last \d+ s: the server holds --max-sessions \(3\)/.test(
          r.msg,
        ),
      "refusal log line",
      5_000,
    );
    assert.equal(line.level, "warn");

    // no data for 3 s: the three sessions are reset by the idle timeout, freeing their slots
    const ends = await within(
      15_000,
      "idle expiry",
      Promise.all(apps.slice(0, 3).map((a) => readOutcome(a))),
    );
    for (const e of ends) assert.match(e, /^(ConnectionReset|eof)$/, e);
    exp = await metrics(t.serverControl);
    assert.ok(sampleValue(exp, "tou_stack_idle_expired_total", { role: "server" }) >= 3);
    const again = await connectLocal(t.localPort());
    apps.push(again);
    assert.equal(await within(10_000, "session after expiry", echoOnce(again)), "data 4");
  } finally {
    for (const a of apps) {
      try {
        a.close();
      } catch { /* closed */ }
    }
    await t.stop();
    await echo.close();
  }
});
