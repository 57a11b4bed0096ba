import assert from "node:assert/strict";
import { setListenerNoDelay } from "../../src/tunnel/listener_nodelay.ts";
import { findTcpFd } from "../../src/tunnel/kernel_reset.ts";

function noDelayOf(fd: number): number {
  const lib = Deno.dlopen("libc.so.6", {
    getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  });
  try {
    const v = new Uint8Array(4);
    const len = new Uint32Array([4]);
    assert.equal(lib.symbols.getsockopt(fd, 6, 1, v, new Uint8Array(len.buffer)), 0);
    return v[0];
  } finally {
    lib.close();
  }
}

async function acceptedNoDelay(setOnListener: boolean): Promise<number> {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    if (setOnListener) assert.equal(setListenerNoDelay(ln), true);
    const c = await Deno.connect({ hostname: "127.0.0.1", port: ln.addr.port });
    const a = await ln.accept();
    const fd = findTcpFd(a);
    assert.ok(fd !== undefined, "the accepted connection's descriptor");
    const v = noDelayOf(fd);
    c.close();
    a.close();
    return v;
  } finally {
    ln.close();
  }
}

Deno.test({
  name:
    "setListenerNoDelay: connections the listener accepts start with TCP_NODELAY (Linux inherits it)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    assert.equal(await acceptedNoDelay(false), 0, "off by default");
    assert.equal(await acceptedNoDelay(true), 1, "inherited from the listener");
  },
});
