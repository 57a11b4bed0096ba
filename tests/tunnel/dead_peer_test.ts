import assert from "node:assert/strict";
import { resolveTouOptions, toStackOptions } from "../../src/net/options.ts";
import {
  connectTimeoutSignal,
  DEFAULT_CONNECT_TIMEOUT_S,
  tunnelTcp,
} from "../../src/tunnel/dead_peer.ts";
import type { TcpConfig } from "../../src/tcp/config.ts";
import { TcpScript } from "../_harness/tcp_script.ts";

/** The TCP config a tunnel endpoint gets with the default dead-peer settings. */
function tunnelConfig(extra: Partial<TcpConfig> = {}): Partial<TcpConfig> {
  const tcp = toStackOptions(resolveTouOptions(tunnelTcp({}, {}))).tcp!;
  return { ...tcp, windowScaling: false, timestamps: false, sack: false, ...extra };
}

Deno.test("tunnelTcp makes an idle tunnel connection notice a silent peer after 25 s by default", () => {
  const s = TcpScript.established({ config: tunnelConfig() });
  while ((s.conn.state as string) !== "CLOSED") s.fireNext();
  assert.equal(s.now, 25_000); // 10 s idle, then 3 probes 5 s apart
  assert.equal(s.eventsOf("error")[0].detail, "keepalive: peer dead after 3 probes");
});

Deno.test("tunnelTcp makes a sending tunnel connection give up after 20 s without an ACK by default", () => {
  const s = TcpScript.established({ config: tunnelConfig() });
  s.app((c) => c.write(new Uint8Array(1000)));
  while ((s.conn.state as string) !== "CLOSED") s.fireNext();
  assert.equal(s.now, 20_000);
  assert.match(
    s.eventsOf("error")[0].detail,
    /^timed out after 20000 ms without acknowledgment \(user timeout\)$/,
  );
});

Deno.test("tunnelTcp lets explicit tunables win and turns keepalive off with 0", () => {
  assert.equal(tunnelTcp({ keepAliveIdle: 5 }, {}).keepAliveIdle, 5);
  assert.deepEqual(tunnelTcp(undefined, { keepAliveMs: 0, userTimeoutMs: 0 }), {
    keepAlive: false,
    userTimeout: 0,
    amplificationLimit: 3,
    // the session limits (session_limits.ts)
    maxConnections: 4096,
    maxConnectionsPerAddr: 2048,
    idleTimeout: 600_000,
    memoryBudget: 128 * 1024 * 1024,
  });
  const fast = tunnelTcp({}, { keepAliveMs: 1_000, userTimeoutMs: 2_000 });
  assert.equal(fast.keepAliveIdle! + 3 * fast.keepAliveInterval!, 2_500);
});

Deno.test("connectTimeoutSignal aborts with a TimedOut error after the timeout", async () => {
  assert.equal(DEFAULT_CONNECT_TIMEOUT_S, 8);
  const signal = connectTimeoutSignal(20);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(signal.aborted);
  assert.ok(signal.reason instanceof Deno.errors.TimedOut);
});
