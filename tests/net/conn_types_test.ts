import assert from "node:assert/strict";
import { connect, listen, type TouConn, type TouListener } from "../../mod.ts";

// Type-level proofs: these assignments only compile when the classes
// satisfy Deno's interfaces.
function asDenoConn(conn: TouConn): Deno.Conn {
  const c: Deno.Conn = conn;
  return c;
}
function asTcpConn(conn: TouConn): Deno.TcpConn {
  const c: Deno.TcpConn = conn;
  return c;
}
function asListener(l: TouListener): Deno.Listener {
  const x: Deno.Listener = l;
  return x;
}
function asTcpListener(l: TouListener): Deno.TcpListener {
  const x: Deno.TcpListener = l;
  return x;
}

Deno.test("TouConn satisfies Deno.Conn and Deno.TcpConn when type-checked", () => {
  const _c: Deno.Conn = null as unknown as TouConn;
  assert.equal(typeof asDenoConn, "function");
  assert.equal(typeof asTcpConn, "function");
  assert.equal(_c, null);
});

Deno.test("TouListener satisfies Deno.Listener and Deno.TcpListener when type-checked", () => {
  assert.equal(typeof asListener, "function");
  assert.equal(typeof asTcpListener, "function");
});

/** Code written for Deno only: echoes one connection of a listener. */
async function serveOnce(listener: Deno.Listener): Promise<void> {
  for await (const conn of listener) {
    // Ends with closeWrite (FIN). Deno's own conns close themselves when
    // their readable ends; a TouConn finishes with the FIN exchange.
    await conn.readable.pipeTo(conn.writable);
    return;
  }
}

/** Code written for Deno only: one request, half-close, read the reply with read(). */
async function request(conn: Deno.Conn, text: string): Promise<string> {
  await conn.write(new TextEncoder().encode(text));
  await conn.closeWrite();
  const buf = new Uint8Array(1024);
  let reply = "";
  for (let n; (n = await conn.read(buf)) !== null;) {
    reply += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return reply;
}

Deno.test("TouConn and TouListener run code written for Deno.Conn when passed where kernel TCP goes", async () => {
  // Kernel TCP first, to show the helpers are ordinary Deno code.
  const kl = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const kServing = serveOnce(kl);
  const kReply = await request(
    await Deno.connect({ hostname: "127.0.0.1", port: kl.addr.port }),
    "kernel",
  );
  await kServing;
  assert.equal(kReply, "kernel");
  assert.throws(() => kl.close(), Deno.errors.BadResource); // leaving the loop closed it

  // The same helpers over tou.
  const tl = await listen({ hostname: "127.0.0.1", port: 0 });
  const tServing = serveOnce(tl);
  const conn = await connect({ hostname: "127.0.0.1", port: tl.touAddr.port });
  assert.equal(await request(conn, "tou"), "tou");
  await tServing;
  assert.equal(tl.closed, true); // likewise
  assert.equal((await conn.closed).reason, "closed");
});
