import assert from "node:assert/strict";
import { connect, listen, type TouConn, type TouListener } from "../../mod.ts";

// Compile-time proofs, checked whenever this file is type-checked (`deno test`, `deno check`):
// each `satisfies` line stops compiling when the class no longer fits Deno's interface. The
// function is never called; there is nothing to assert at run time.
function _typeChecks(conn: TouConn, listener: TouListener): void {
  conn satisfies Deno.Conn;
  conn satisfies Deno.TcpConn;
  listener satisfies Deno.Listener;
  listener satisfies Deno.TcpListener;
  listener satisfies AsyncIterable<Deno.Conn>;
  // The check can fail: a TouConn's remoteAddr is a NetAddr, not a UnixAddr.
  // @ts-expect-error TouConn is not a Deno.UnixConn
  conn satisfies Deno.UnixConn;
}

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
