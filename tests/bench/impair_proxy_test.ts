/**
 * bench/impair.ts's proxy over real loopback UDP (the engine's decisions are
 * tested on virtual time in impair_engine_test.ts): datagrams reach the
 * upstream and replies come back to the client that sent them, each
 * direction delayed by its own `--delay`, and the report counts them.
 */
import assert from "node:assert/strict";
import { runProxy } from "../../bench/impair.ts";
import { ImpairOptionsSchema } from "../../bench/_impair_config.ts";
import { freeUdpPort } from "../../bench/_proc.ts";

Deno.test("runProxy forwards both ways over real UDP, each direction delayed by its own --delay, and reports what it forwarded", async () => {
  const echo = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const client = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = freeUdpPort();
  const proxied = runProxy(ImpairOptionsSchema.parse({
    listen: `127.0.0.1:${port}`,
    upstream: `127.0.0.1:${(echo.addr as Deno.NetAddr).port}`,
    delay: "30/10",
    duration: 1.5,
    sockbuf: 0,
    quiet: true,
  }));
  const echoing = (async () => {
    for (let i = 0; i < 5; i++) {
      const [data, from] = await echo.receive();
      await echo.send(data, from);
    }
  })();
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  const rtts: number[] = [];
  try {
    await new Promise((r) => setTimeout(r, 100)); // the proxy binds
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await client.send(new Uint8Array([i, 1, 2, 3]), to);
      const [data] = await client.receive();
      rtts.push(performance.now() - t0);
      assert.deepEqual([...data], [i, 1, 2, 3], "the reply reaches the client that sent");
    }
    await echoing;
  } finally {
    echo.close();
    client.close();
  }
  const report = await proxied;
  // 30 ms up plus 10 ms down, give or take the timer's resolution
  for (const rtt of rtts) assert.ok(rtt >= 39 && rtt < 500, `rtt ${rtt} ms`);
  assert.equal(report.clients, 1);
  assert.equal(report.up.received, 5);
  assert.equal(report.up.forwarded, 5);
  assert.equal(report.down.forwarded, 5);
  assert.equal(report.pendingAtEnd, 0);
});
