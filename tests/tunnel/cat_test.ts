import assert from "node:assert/strict";
import { runCat } from "../../src/tunnel/cat.ts";
import { openTouEndpoint } from "../../src/tunnel/tou_endpoint.ts";
import type { HostPort } from "../../src/tunnel/address.ts";
import { Logger } from "../../src/tunnel/log.ts";
import { TunnelServer } from "../../src/tunnel/server.ts";
import { echoService, pattern, within } from "./_harness.ts";

/** Input that yields `data` in chunks, then EOF (optionally after `hold` resolves). */
function input(data: Uint8Array, hold?: Promise<void>) {
  let off = 0;
  return {
    async read(p: Uint8Array): Promise<number | null> {
      if (off >= data.length) {
        await hold;
        return null;
      }
      const n = Math.min(p.length, data.length - off, 10_000);
      p.set(data.subarray(off, off + n));
      off += n;
      return n;
    },
  };
}

function output() {
  const chunks: Uint8Array[] = [];
  return {
    write(p: Uint8Array): Promise<number> {
      chunks.push(p.slice());
      return Promise.resolve(p.length);
    },
    bytes(): Uint8Array {
      const total = chunks.reduce((a, c) => a + c.length, 0);
      const out = new Uint8Array(total);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
  };
}

const quiet = new Logger({ sink: () => {} });

Deno.test("runCat moves both ways between a listener and a connector until both EOF", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const ciphers: unknown[] = [];
  const spy: typeof openTouEndpoint = (o) => {
    ciphers.push(o.cipher);
    return openTouEndpoint(o);
  };
  const fromListener = pattern(150_000, 1);
  const fromConnector = pattern(90_000, 2);
  const { promise: bound, resolve } = Promise.withResolvers<HostPort>();
  // The listener's stdin stays open until the connector's data has arrived: output keeps
  // flowing to the connector after the connector's own EOF (its half-close).
  const { promise: connectorDone, resolve: release } = Promise.withResolvers<void>();
  const lOut = output();
  const listening = runCat({
    listen: { addr: { hostname: "127.0.0.1", port: 0 }, tunnelPort: 5 },
    input: input(fromListener, connectorDone),
    output: {
      write: (p) => {
        const r = lOut.write(p);
        if (lOut.bytes().length === fromConnector.length) release();
        return r;
      },
    },
    key,
    cipher: "chacha20-poly1305",
    openEndpoint: spy,
    logger: quiet,
    onListening: resolve,
  });
  const addr = await bound;
  const cOut = output();
  const connecting = runCat({
    connect: { server: { hostname: "127.0.0.1", port: addr.port }, tunnelPort: 5 },
    input: input(fromConnector),
    output: cOut,
    key,
    cipher: "aes-256-gcm",
    openEndpoint: spy,
    logger: quiet,
  });
  const [l, c] = await within(20_000, "cat pair", Promise.all([listening, connecting]));
  // Each side seals with its own cipher and opens the other's.
  assert.deepEqual(ciphers, ["chacha20-poly1305", "aes-256-gcm"]);
  assert.deepEqual(l, {
    outcome: "closed",
    sent: fromListener.length,
    received: fromConnector.length,
  });
  assert.deepEqual(c, {
    outcome: "closed",
    sent: fromConnector.length,
    received: fromListener.length,
  });
  assert.deepEqual(lOut.bytes(), fromConnector);
  assert.deepEqual(cOut.bytes(), fromListener);
});

Deno.test("runCat talks to a service of a TunnelServer when given its tunnel port", async () => {
  const echo = echoService();
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: echo.port } }],
    logger: quiet,
  });
  try {
    const data = pattern(300_000, 3);
    const out = output();
    const r = await within(
      20_000,
      "cat",
      runCat({
        connect: { server: { hostname: "127.0.0.1", port: server.addr.port }, tunnelPort: 7 },
        input: input(data),
        output: out,
        logger: quiet,
      }),
    );
    assert.equal(r.outcome, "closed");
    assert.deepEqual(out.bytes(), data);
  } finally {
    await server.close({ drainTimeoutMs: 1_000 });
    await echo.close();
  }
});

Deno.test("runCat rejects with ConnectionRefused when nothing listens on the tunnel port", async () => {
  const server = await TunnelServer.start({
    listen: { hostname: "127.0.0.1", port: 0 },
    forwards: [{ tunnelPort: 7, target: { hostname: "127.0.0.1", port: 9 } }],
    logger: quiet,
  });
  try {
    await assert.rejects(
      runCat({
        connect: { server: { hostname: "127.0.0.1", port: server.addr.port }, tunnelPort: 8 },
        input: input(new Uint8Array(0)),
        output: output(),
        logger: quiet,
      }),
      Deno.errors.ConnectionRefused,
    );
  } finally {
    await server.close();
  }
});
