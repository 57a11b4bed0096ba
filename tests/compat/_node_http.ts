/**
 * node:http over either transport: a server fed with `server.emit("connection",
 * toNodeSocket(conn))` and a client whose agent's `createConnection` returns
 * `toNodeSocket(transport.connect())`.
 *
 * @module
 */

import http from "node:http";
import { createHash } from "node:crypto";
import { Duplex } from "node:stream";
import { serveNodeServer, toNodeSocket } from "../../mod.ts";
import type { Transport } from "./_transports.ts";

/** A running server. */
export interface HttpServer {
  /** Connections accepted so far. */
  readonly accepted: () => number;
  /** Stops listening and destroys the open sockets. */
  close(): Promise<void>;
}

/** How a connection becomes a Node socket. */
export type Adapter = "toNodeSocket" | "Duplex.fromWeb";

/** Node's own bridge over the connection's Web streams, as the program used it. */
function fromWeb(conn: Deno.Conn): Duplex {
  return Duplex.fromWeb({ readable: conn.readable, writable: conn.writable });
}

/**
 * Serves `handler` on a fresh listener of `t`.
 *
 * @param t The transport.
 * @param handler The request handler.
 * @param adapter How each connection becomes a socket.
 * @returns The server.
 */
export async function serveHttp(
  t: Transport,
  handler: http.RequestListener,
  adapter: Adapter = "toNodeSocket",
): Promise<HttpServer> {
  const listener = await t.listen();
  const server = http.createServer(handler);
  const sockets = new Set<Duplex>();
  let accepted = 0;
  server.on("connection", (sock: Duplex) => {
    accepted++;
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  const loop = adapter === "toNodeSocket" ? serveNodeServer(listener, server) : (async () => {
    for await (const conn of listener) server.emit("connection", fromWeb(conn));
  })();
  return {
    accepted: () => accepted,
    async close() {
      listener.close();
      await loop.catch(() => {});
      for (const s of sockets) s.destroy();
    },
  };
}

/**
 * An agent whose sockets are `toNodeSocket(t.connect())`.
 *
 * @param t The transport.
 * @param keepAlive Whether sockets are reused.
 * @returns The agent.
 */
export function agentFor(
  t: Transport,
  keepAlive: boolean,
  adapter: Adapter = "toNodeSocket",
): http.Agent {
  const agent = new http.Agent({ keepAlive, maxSockets: 1 });
  (agent as unknown as {
    createConnection: (o: unknown, cb: (e: Error | null, s?: Duplex) => void) => Duplex | undefined;
  }).createConnection = adapter === "toNodeSocket"
    ? () => toNodeSocket(t.connect()).setNoDelay(true)
    : (_o, cb) => {
      t.connect().then((c) => cb(null, fromWeb(c)), (e) => cb(e));
      return undefined;
    };
  return agent;
}

/** What a request came back with. */
export interface HttpResult {
  /** Status code, or the error's code when the request failed. */
  readonly status: number | string;
  /** Body length. */
  readonly length: number;
  /** Body sha256 (hex), first 16 characters. */
  readonly sha256: string;
  /** Whether the response was cut short ("aborted"). */
  readonly aborted: boolean;
  /** The body as text when it is at most 256 bytes. */
  readonly text?: string;
}

/**
 * One request through `agent`.
 *
 * @param agent The agent.
 * @param opts Method, path, headers.
 * @param body Request body.
 * @param onResponse Called with the request and response as soon as headers arrive.
 * @returns Status, body length and hash, or the failure.
 */
export function request(
  agent: http.Agent,
  opts: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders },
  body?: Uint8Array,
  onResponse?: (req: http.ClientRequest, res: http.IncomingMessage) => void,
): Promise<HttpResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: HttpResult) => {
      if (!done) resolve(r);
      done = true;
    };
    const req = http.request({ agent, host: "tou.invalid", ...opts }, (res) => {
      const h = createHash("sha256");
      let length = 0;
      let aborted = false;
      let text = "";
      onResponse?.(req, res);
      res.on("data", (d: Uint8Array) => {
        length += d.length;
        h.update(d);
        if (length <= 256) text += new TextDecoder().decode(d);
      });
      res.on("aborted", () => aborted = true);
      res.on("error", () => aborted = true);
      res.on("close", () =>
        finish({
          status: res.statusCode ?? 0,
          length,
          sha256: h.digest("hex").slice(0, 16),
          aborted: aborted || !res.complete,
          ...(length <= 256 ? { text } : {}),
        }));
    });
    req.on(
      "error",
      (e: Error & { code?: string }) =>
        finish({ status: e.code ?? e.name, length: 0, sha256: "", aborted: true }),
    );
    if (body !== undefined) req.setHeader("content-length", body.length);
    req.end(body);
  });
}

/**
 * Hash of `data` as {@linkcode HttpResult.sha256} has it.
 *
 * @param data Bytes.
 * @returns First 16 hex characters of the sha256.
 */
export function sha16(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex").slice(0, 16);
}
