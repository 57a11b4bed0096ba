import assert from "node:assert/strict";
import { TunnelServer } from "../../src/tunnel/server.ts";
import { Logger } from "../../src/tunnel/log.ts";
import type { TunnelEndpoint, TunnelListener } from "../../src/tunnel/transport.ts";

Deno.test("TunnelServer.start opens its endpoint held and starts it serving only after every service port listens (startup race: SYNs drew RSTs)", async () => {
  const calls: string[] = [];
  const listener = (port: number): TunnelListener => ({
    close: () => calls.push(`close ${port}`),
    async *[Symbol.asyncIterator]() {},
  });
  const endpoint: TunnelEndpoint = {
    addr: { hostname: "127.0.0.1", port: 7000 },
    listen: ({ tcpPort }) => {
      calls.push(`listen ${tcpPort}`);
      return listener(tcpPort);
    },
    connect: () => Promise.reject(new Error("not used")),
    close: () => void calls.push("close endpoint"),
    serve: () => void calls.push("serve"),
  };
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: [
      { tunnelPort: 22, target: { hostname: "127.0.0.1", port: 1 } },
      { tunnelPort: 80, target: { hostname: "127.0.0.1", port: 2 } },
    ],
    logger: new Logger({ level: "error" }),
    openEndpoint: (o) => {
      calls.push(`open hold=${o.hold}`);
      return Promise.resolve(endpoint);
    },
  });
  assert.deepEqual(calls, ["open hold=true", "listen 22", "listen 80", "listen 65535", "serve"]);
  await server.close();
});

Deno.test("TunnelServer.start refuses a forward on the reserved tunnel port 65535 (multiplexed sessions)", async () => {
  await assert.rejects(
    TunnelServer.start({
      listen: { hostname: "127.0.0.1", port: 0 },
      forwards: [{ tunnelPort: 65535, target: { hostname: "127.0.0.1", port: 1 } }],
      logger: new Logger({ level: "error" }),
      openEndpoint: () => Promise.reject(new Error("not reached")),
    }),
    /tunnel port 65535 is reserved for multiplexed sessions/,
  );
});
