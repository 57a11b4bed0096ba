// A WebSocket server and client from npm (`ws`) over toNodeSocket, on kernel TCP and on tou: the
// same exchange (text and 1 MiB binary messages echoed, a clean close with a code, a server that
// terminates the connection) must give the same result on both, with no unhandled rejection.

import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import http from "node:http";
import { WebSocket, WebSocketServer } from "ws";
import { serveNodeServer, toNodeSocket } from "../../mod.ts";
import { pattern } from "../net/_util.ts";
import { sha16 } from "./_node_http.ts";
import {
  kernelTransport,
  onTransport,
  touTransport,
  type Transport,
  within,
} from "./_transports.ts";
import { recordUnhandled } from "./_unhandled.ts";

const BLOB = pattern(1024 * 1024, 23);

/** Echo server; "/terminate" drops the connection after the first message. */
async function serveWs(t: Transport) {
  const listener = await t.listen();
  const server = http.createServer((_req, res) => res.end("not a websocket"));
  const wss = new WebSocketServer({ noServer: true });
  const closes: string[] = [];
  server.on("upgrade", (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (req.url === "/terminate") ws.terminate();
        else ws.send(data, { binary: isBinary });
      });
      ws.on("close", (code: number, reason: Buffer) => closes.push(`${code} ${reason}`));
    });
  });
  const serving = serveNodeServer(listener, server);
  return {
    closes,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      listener.close();
      await serving;
    },
  };
}

function open(t: Transport, path: string): Promise<WebSocket> {
  const ws = new WebSocket(
    `ws://tou.invalid${path}`,
    {
      createConnection: () => toNodeSocket(t.connect()).setNoDelay(true),
    } as ConstructorParameters<typeof WebSocket>[1],
  );
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function exchange(t: Transport) {
  const server = await serveWs(t);
  const ws = await open(t, "/echo");
  const got: string[] = [];
  const done = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))
  );
  const all = new Promise<void>((resolve) => {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const bytes = new Uint8Array(data as Buffer);
      got.push(isBinary ? `bin ${bytes.length} ${sha16(bytes)}` : `text ${bytes.length}`);
      if (got.length === 105) resolve();
    });
  });
  for (let i = 0; i < 100; i++) ws.send(`message ${i} `.repeat(i + 1));
  for (let i = 0; i < 5; i++) ws.send(BLOB, { binary: true });
  await all;
  ws.close(4000, "bye");
  const clientClose = await done;
  await within(
    (async () => {
      while (server.closes.length === 0) await new Promise((r) => setTimeout(r, 5));
    })(),
    10_000,
    "server sees the close",
  );

  const dropped = await open(t, "/terminate");
  const dropClose = new Promise<number>((resolve) =>
    dropped.on("close", (code: number) => resolve(code))
  );
  dropped.send("hello");
  const droppedCode = await dropClose;
  await server.close();
  return {
    messages: got.length,
    texts: got.filter((g) => g.startsWith("text")).length,
    binaries: [...new Set(got.filter((g) => g.startsWith("bin")))],
    clientClose,
    serverClose: server.closes[0],
    droppedCode,
  };
}

Deno.test("ws server and client exchange, close and get dropped alike on kernel TCP and tou", async () => {
  const rec = recordUnhandled();
  try {
    const kernel = await onTransport(kernelTransport, (t) => within(exchange(t), 60_000, "kernel"));
    const tou = await onTransport(touTransport, (t) => within(exchange(t), 60_000, "tou"));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(rec.seen, []);
    assert.deepEqual(tou, kernel);
    assert.deepEqual(kernel, {
      messages: 105,
      texts: 100,
      binaries: [`bin ${BLOB.length} ${sha16(BLOB)}`],
      clientClose: { code: 4000, reason: "bye" },
      serverClose: "4000 bye",
      droppedCode: 1006,
    });
  } finally {
    rec.stop();
  }
});
