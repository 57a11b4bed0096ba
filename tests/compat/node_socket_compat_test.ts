// toNodeSocket's net.Socket members over kernel TCP (a Deno.TcpConn) and over tou: destroy() after
// a write, destroy() with unread received bytes, destroy(err), end() answered by the peer's EOF,
// writes after destroy, and the option setters (setNoDelay, setKeepAlive, setTimeout, ref/unref)
// before and after the connection is gone must give the same results on both, with no unhandled
// rejection. The expected events are what node:net's own net.Socket shows for the same steps on
// Deno 2.9 ("close" carries hadError; "error" comes first).

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type NodeSocket, toNodeSocket } from "../../mod.ts";
import { sameOnKernelAndTou, type Transport, within } from "./_transports.ts";

function name(e: unknown): string {
  return e instanceof Error ? e.name : String(e);
}

/** Reads `conn` to its end with read(): "<n> then EOF" or "<n> then <Error>". */
async function drainRead(conn: Deno.Conn): Promise<string> {
  let n = 0;
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const r = await conn.read(buf);
      if (r === null) return `${n} then EOF`;
      n += r;
    }
  } catch (e) {
    return `${n} then ${name(e)}`;
  }
}

/** The socket's events in order, "close" with its hadError flag. */
function events(sock: NodeSocket): string[] {
  const seen: string[] = [];
  sock.on("error", (e: Error & { code?: string }) => seen.push(`error ${e.code ?? e.message}`));
  sock.on("end", () => seen.push("end"));
  sock.on("finish", () => seen.push("finish"));
  sock.on("close", (hadError: boolean) => seen.push(`close ${hadError}`));
  return seen;
}

const closed = (sock: NodeSocket) => new Promise<void>((r) => sock.once("close", () => r()));

async function scenarios(t: Transport) {
  const out: Record<string, unknown> = {};

  // 1. destroy() once a write was handed over: the peer still gets every byte, then EOF (FIN).
  {
    const [c, s] = await t.pair();
    const sock = toNodeSocket(c);
    const seen = events(sock);
    await new Promise<void>((r) => sock.write(Buffer.alloc(100_000, 7), () => r()));
    sock.destroy();
    await closed(sock);
    out.destroyAfterWrite = { peer: await drainRead(s), seen, destroyed: sock.destroyed };
    s.close();
  }

  // 2. destroy() with received bytes never read: a RST (RFC 1122 §4.2.2.13); the peer's next
  // writable write fails with BrokenPipe, which a FIN would not cause.
  {
    const [c, s] = await t.pair();
    const sock = toNodeSocket(c); // never read: no "data" listener, no resume()
    await s.write(new Uint8Array(10));
    await new Promise((r) => setTimeout(r, 200));
    sock.destroy();
    await closed(sock);
    await new Promise((r) => setTimeout(r, 200));
    const w = s.writable.getWriter();
    out.destroyUnread = {
      "peer write": await w.write(new Uint8Array(1)).then(() => "ok", name),
    };
    try {
      s.close();
    } catch {
      // the failed writable closed it already
    }
  }

  // 3. destroy(err): "error" with that error, then "close" with hadError; later writes fail with
  // ERR_STREAM_DESTROYED and the setters still return the socket without throwing.
  {
    const [c, s] = await t.pair();
    const sock = toNodeSocket(c);
    const seen = events(sock);
    sock.destroy(new Error("mine"));
    await closed(sock);
    const late = await new Promise<string>((resolve) =>
      sock.write("x", (e?: Error | null) => resolve((e as { code?: string })?.code ?? "ok"))
    );
    const chained = sock.setNoDelay(true).setKeepAlive(true, 2_000).setTimeout(0).unref().ref();
    out.destroyWithError = {
      seen,
      late,
      chained: chained === sock,
      readyState: sock.readyState,
      peer: await drainRead(s),
    };
    s.close();
  }

  // 4. end() sends a FIN; the peer answers and closes; allowHalfOpen false ends the socket.
  {
    const [c, s] = await t.pair();
    const sock = toNodeSocket(c);
    const seen = events(sock);
    sock.setNoDelay(true).setKeepAlive(true, 5_000).setTimeout(60_000).unref().ref();
    let text = "";
    sock.on("data", (d: Buffer) => text += d.toString());
    sock.end("question");
    const got = new Uint8Array(100);
    const n = await s.read(got);
    const eof = await s.read(got);
    await s.write(new TextEncoder().encode("answer"));
    s.close();
    await within(closed(sock), 10_000, "socket closes");
    out.endThenPeerEof = {
      peer: `${n} then ${eof}`,
      text,
      seen,
      readyState: sock.readyState,
      bytes: [sock.bytesWritten, sock.bytesRead],
    };
  }
  return out;
}

Deno.test("toNodeSocket destroy(), destroy(err), end() and the setters behave alike on kernel TCP and tou", async () => {
  const kernel = await sameOnKernelAndTou(scenarios, 30_000);
  assert.deepEqual(kernel, {
    destroyAfterWrite: { peer: "100000 then EOF", seen: ["close false"], destroyed: true },
    destroyUnread: { "peer write": "BrokenPipe" },
    destroyWithError: {
      seen: ["error mine", "close true"],
      late: "ERR_STREAM_DESTROYED",
      chained: true,
      readyState: "closed",
      peer: "0 then EOF",
    },
    endThenPeerEof: {
      peer: "8 then null",
      text: "answer",
      seen: ["finish", "end", "close false"],
      readyState: "closed",
      bytes: [8, 6],
    },
  });
});
