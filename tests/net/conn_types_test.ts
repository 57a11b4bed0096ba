import assert from "node:assert/strict";
import type { TouConn, TouListener } from "../../mod.ts";

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
