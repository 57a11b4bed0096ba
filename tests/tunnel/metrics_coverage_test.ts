/**
 * Every drop counter the stack keeps appears in `tou stat --metrics` (issue
 * #11): the test enumerates the counters of each layer from their own
 * definitions (stack, listeners, per-connection TCP drops summed to the
 * endpoint, the seal, the relay) and looks for each in the exposition.
 */
import assert from "node:assert/strict";
import { formatPrometheus, takeSnapshot } from "../../src/tunnel/stat.ts";
import { zeroCounters } from "../../src/stack/stack_options.ts";
import { StackListener } from "../../src/stack/stack_listener.ts";
import { TCP_DROP_COUNTER_NAMES } from "../../src/tcp/drop_counters.ts";
import { SealedSocket } from "../../src/seal/sealed_socket.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { parseExposition } from "./_prometheus.ts";
import { echoService, startPair } from "./_harness.ts";

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

Deno.test("tou stat --metrics exports every stack, listener, per-connection TCP drop, seal and relay counter", async () => {
  const echo = echoService();
  const key = new Uint8Array(32).fill(7);
  const pair = await startPair({
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: echo.port } }],
    tunnelPorts: [7],
    serverKey: key,
    clientKey: key,
  });
  try {
    const text = formatPrometheus(takeSnapshot({
      role: "server",
      relay: pair.server.relay,
      endpoint: pair.server.endpoint,
    }));
    const exp = parseExposition(text); // a scraper takes it
    const names = new Set(exp.samples.map((s) => s.name));
    const has = (base: string) => names.has(`tou_${base}_total`) || names.has(`tou_${base}`);
    const clock = new VirtualClock({ seed: 1 });
    const sealed = new SealedSocket(
      new SimNetwork(clock).bind({ hostname: "127.0.0.1", port: 1 }),
      {
        psk: key,
      },
    );
    const expected = [
      ...Object.keys(zeroCounters()).map((k) => `stack_${snake(k)}`),
      ...Object.keys(new StackListener(1, 1, 1, () => {}).counters).map((k) =>
        `listen_${snake(k)}`
      ),
      ...TCP_DROP_COUNTER_NAMES.map((k) => `tcp_${snake(k)}`),
      ...Object.keys(sealed.stats).map((k) => `seal_${snake(k)}`),
      ...Object.keys(pair.server.relay.counters).map((k) => snake(k)),
      "stack_buffer_bytes",
      "stack_buffer_share",
      "stack_capped_connections",
    ];
    sealed.close();
    const missing = expected.filter((n) => !has(n));
    assert.deepEqual(missing, [], text);
    assert.ok(expected.length >= 60, String(expected.length));
    // the limit and drop counters have their own help text, not the generated one
    for (const n of ["stack_conn_limit_refused_total", "tcp_challenge_acks_total"]) {
      assert.notEqual(exp.help.get(`tou_${n}`), n.replaceAll("_", " ") + ".");
    }
  } finally {
    await pair.close();
    await echo.close();
  }
});
