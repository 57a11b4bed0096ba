import { TunnelServer } from "../../src/tunnel/server.ts";
import { TunnelClient } from "../../src/tunnel/client.ts";
import { Logger } from "../../src/tunnel/log.ts";
Deno.test("probe", async () => {
  const echo = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => { for await (const c of echo) { (async () => { const b = new Uint8Array(65536); for (;;) { const n = await c.read(b).catch(() => null); if (n === null) { await c.closeWrite().catch(()=>{}); c.close(); return; } let o = 0; while (o < n) o += await c.write(b.subarray(o, n)); } })(); } })();
  const log = new Logger({ level: "debug" }); const key = crypto.getRandomValues(new Uint8Array(32));
  const server = await TunnelServer.start({ listen: { hostname: "127.0.0.1", port: 0 }, forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: echo.addr.port } }], key, logger: log.child({ role: "server" }) });
  const client = await TunnelClient.start({ server: { hostname: "127.0.0.1", port: server.addr.port }, locals: [{ listen: { hostname: "127.0.0.1", port: 0 }, tunnelPort: 7 }], key, logger: log.child({ role: "client" }) });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: client.listeners[0].addr.port });
  const N = 20 * 1024 * 1024;
  const t0 = performance.now();
  const data = new Uint8Array(N); for (let i = 0; i < N; i++) data[i] = i * 7;
  const w = (async () => { let o = 0; while (o < N) o += await conn.write(data.subarray(o, Math.min(N, o + 65536))); await conn.closeWrite(); })();
  let got = 0; const b = new Uint8Array(65536);
  for (;;) { const n = await conn.read(b); if (n === null) break; got += n; }
  await w;
  console.log("got", got, "ms", performance.now() - t0);
  conn.close();
  console.log(await client.close({ drainTimeoutMs: 1000 }));
  console.log(await server.close({ drainTimeoutMs: 1000 }));
  echo.close();
});
