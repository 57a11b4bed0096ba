// node:http server and client over toNodeSocket, on kernel TCP and on tou: the same scenario must
// give the same result on both (keep-alive on and off, 20 MiB bodies both ways checked by sha256,
// requests aborted by either side), and no unhandled promise rejection may occur.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type http from "node:http";
import { pattern } from "../net/_util.ts";
import { agentFor, type HttpResult, request, serveHttp, sha16 } from "./_node_http.ts";
import {
  kernelTransport,
  onTransport,
  touTransport,
  type Transport,
  within,
} from "./_transports.ts";
import { recordUnhandled } from "./_unhandled.ts";

const BIG = pattern(20 * 1024 * 1024, 14);
const BIG_SHA = sha16(BIG);

/** Echoes POST bodies, serves BIG on GET /big, hashes POST /hash, cuts GET /cut short. */
const handler: http.RequestListener = (req, res) => {
  if (req.url === "/big") {
    res.setHeader("content-length", BIG.length);
    res.end(BIG);
    return;
  }
  if (req.url === "/cut") {
    res.setHeader("content-length", BIG.length);
    res.write(BIG.subarray(0, 1 << 20), () => res.destroy());
    return;
  }
  const h = createHash("sha256");
  const parts: Uint8Array[] = [];
  let n = 0;
  req.on("data", (d: Uint8Array) => {
    n += d.length;
    if (req.url === "/hash") h.update(d);
    else parts.push(d);
  });
  req.on("end", () => {
    const out = req.url === "/hash"
      ? new TextEncoder().encode(`${n} ${h.digest("hex").slice(0, 16)}`)
      : new Uint8Array(Buffer.concat(parts));
    res.setHeader("content-length", out.length);
    res.end(out);
  });
};

async function scenario<T>(fn: (t: Transport) => Promise<T>): Promise<{ kernel: T; tou: T }> {
  const rec = recordUnhandled();
  try {
    const kernel = await onTransport(kernelTransport, (t) => within(fn(t), 60_000, "kernel"));
    const tou = await onTransport(touTransport, (t) => within(fn(t), 60_000, "tou"));
    // Let late rejections surface before checking.
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(rec.seen, [], "unhandled promise rejections");
    return { kernel, tou };
  } finally {
    rec.stop();
  }
}

async function sequential(t: Transport, keepAlive: boolean) {
  const server = await serveHttp(t, handler);
  const agent = agentFor(t, keepAlive);
  const results: (HttpResult | string)[] = [];
  for (let i = 0; i < 20; i++) {
    const body = new TextEncoder().encode(`request ${i} `.repeat(i + 1));
    const r = await request(agent, { method: "POST", path: "/echo" }, body);
    results.push(r.sha256 === sha16(body) ? "echoed" : JSON.stringify(r));
  }
  agent.destroy();
  await server.close();
  return { results, connections: server.accepted() };
}

Deno.test("node:http keeps one connection for 20 requests with keep-alive, on kernel TCP and tou alike", async () => {
  const { kernel, tou } = await scenario((t) => sequential(t, true));
  assert.deepEqual(tou, kernel);
  assert.deepEqual(kernel, { results: Array(20).fill("echoed"), connections: 1 });
});

Deno.test("node:http opens a connection per request without keep-alive, on kernel TCP and tou alike", async () => {
  const { kernel, tou } = await scenario((t) => sequential(t, false));
  assert.deepEqual(tou, kernel);
  assert.deepEqual(kernel, { results: Array(20).fill("echoed"), connections: 20 });
});

Deno.test("node:http moves 20 MiB each way with equal sha256, on kernel TCP and tou alike", async () => {
  const { kernel, tou } = await scenario(async (t) => {
    const server = await serveHttp(t, handler);
    const out: Record<string, unknown> = {};
    for (const keepAlive of [false, true]) {
      const agent = agentFor(t, keepAlive);
      const get = await request(agent, { path: "/big" });
      const post = await request(agent, { method: "POST", path: "/hash" }, BIG);
      const check = await request(agent, { method: "POST", path: "/echo" }, BIG.subarray(0, 4096));
      out[keepAlive ? "keepAlive" : "close"] = {
        get,
        post: `${post.status} ${post.text}`,
        echo: check.sha256,
      };
      agent.destroy();
    }
    await server.close();
    return out;
  });
  assert.deepEqual(tou, kernel);
  const per = {
    get: { status: 200, length: BIG.length, sha256: BIG_SHA, aborted: false },
    post: `200 ${BIG.length} ${BIG_SHA}`,
    echo: sha16(BIG.subarray(0, 4096)),
  };
  assert.deepEqual(kernel, { close: per, keepAlive: per });
});

Deno.test("node:http reports requests aborted by either side the same way, on kernel TCP and tou", async () => {
  const { kernel, tou } = await scenario(async (t) => {
    let serverSaw = "";
    const server = await serveHttp(t, (req, res) => {
      if (req.url === "/slow") {
        res.setHeader("content-length", BIG.length);
        res.on("close", () => serverSaw = res.writableFinished ? "finished" : "closed early");
        res.write(BIG.subarray(0, 1 << 20));
        return; // never ends: the client gives up
      }
      handler(req, res);
    });
    const agent = agentFor(t, true);
    // The client aborts after the headers and the first bytes arrive.
    const clientAbort = await request(agent, { path: "/slow" }, undefined, (req, res) => {
      res.once("data", () => req.destroy());
    });
    await within(
      (async () => {
        while (serverSaw === "") await new Promise((r) => setTimeout(r, 5));
      })(),
      10_000,
      "server sees the abort",
    );
    // The server cuts the response short.
    const serverCut = await request(agent, { path: "/cut" });
    // A request after both still works.
    const after = await request(agent, { method: "POST", path: "/echo" }, new Uint8Array(10));
    agent.destroy();
    await server.close();
    return {
      clientAbort: { status: clientAbort.status, aborted: clientAbort.aborted },
      serverSaw,
      serverCut: { status: serverCut.status, aborted: serverCut.aborted },
      after: after.status,
    };
  });
  assert.deepEqual(tou, kernel);
  assert.deepEqual(kernel, {
    clientAbort: { status: 200, aborted: true },
    serverSaw: "closed early",
    serverCut: { status: 200, aborted: true },
    after: 200,
  });
});

Deno.test("node:http over Duplex.fromWeb(conn streams), the program of issue 14, passes on kernel TCP and tou alike", async () => {
  // A small POST, a 20 MiB GET, a 5 MB POST and 50 requests, keep-alive off: over tou this was cut
  // off by a RST (writable.abort() reset the connection) and ended in an unhandled rejection.
  const { kernel, tou } = await scenario(async (t) => {
    const server = await serveHttp(t, handler, "Duplex.fromWeb");
    const agent = agentFor(t, false, "Duplex.fromWeb");
    const small = await request(agent, { method: "POST", path: "/echo" }, new Uint8Array(100));
    const get = await request(agent, { path: "/big" });
    const post = await request(agent, { method: "POST", path: "/hash" }, BIG.subarray(0, 5e6));
    let fifty = 0;
    for (let i = 0; i < 50; i++) {
      const r = await request(agent, { method: "POST", path: "/echo" }, new Uint8Array(i));
      if (r.status === 200 && r.length === i) fifty++;
    }
    agent.destroy();
    await server.close();
    return { small: small.length, get, post: post.text, fifty };
  });
  assert.deepEqual(tou, kernel);
  assert.deepEqual(kernel, {
    small: 100,
    get: { status: 200, length: BIG.length, sha256: BIG_SHA, aborted: false },
    post: `5000000 ${sha16(BIG.subarray(0, 5e6))}`,
    fifty: 50,
  });
});
