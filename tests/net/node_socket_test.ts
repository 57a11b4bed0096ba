// toNodeSocket: the net.Socket members Node libraries call, over real tou connections on loopback.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect, listen, toNodeSocket, type TouConn, type TouListener } from "../../mod.ts";
import { within } from "../compat/_transports.ts";

async function pair(): Promise<{ l: TouListener; a: TouConn; b: TouConn }> {
  const l = await listen({ hostname: "127.0.0.1", port: 0 });
  const a = await connect({ hostname: "127.0.0.1", port: l.touAddr.port });
  const b = await l.accept();
  return { l, a, b };
}

/** A test that fails instead of hanging when something never happens. */
function bounded(name: string, fn: () => Promise<void>): void {
  Deno.test(name, () => within(fn(), 20_000, name));
}

function once<T>(emitter: { once(ev: string, fn: (v: T) => void): unknown }, ev: string) {
  return new Promise<T>((resolve) => emitter.once(ev, resolve));
}

bounded(
  "toNodeSocket reports addresses, address() and byte counts as net.Socket does",
  async () => {
    const { l, a, b } = await pair();
    const sock = toNodeSocket(a);
    assert.equal(sock.remoteAddress, "127.0.0.1");
    assert.equal(sock.remotePort, a.remoteAddr.port);
    assert.equal(sock.remoteFamily, "IPv4");
    assert.equal(sock.localAddress, a.localAddr.hostname);
    assert.equal(sock.localPort, a.localAddr.port);
    assert.deepEqual(sock.address(), {
      address: a.localAddr.hostname,
      family: "IPv4",
      port: a.localAddr.port,
    });
    assert.equal(sock.connecting, false);
    assert.equal(sock.readyState, "open");
    await new Promise<void>((r) => sock.write(Buffer.from("hello"), () => r()));
    const buf = new Uint8Array(5);
    assert.equal(await b.read(buf), 5);
    await b.write(new TextEncoder().encode("hi"));
    const data = await once<Buffer>(sock, "data");
    assert.equal(data.toString(), "hi");
    assert.deepEqual([sock.bytesWritten, sock.bytesRead], [5, 2]);
    sock.destroy();
    await once(sock, "close");
    b.close();
    l.close();
    await Promise.all([a.closed, b.closed]);
  },
);

bounded("toNodeSocket end() half-closes and keeps reading when allowHalfOpen", async () => {
  const { l, a, b } = await pair();
  const sock = toNodeSocket(a, { allowHalfOpen: true });
  sock.end(Buffer.from("request"));
  const got = new Uint8Array(100);
  assert.equal(await b.read(got), 7);
  assert.equal(await b.read(got), null); // our FIN
  await b.write(new TextEncoder().encode("response"));
  b.close();
  let text = "";
  for await (const chunk of sock) text += chunk;
  assert.equal(text, "response");
  assert.equal(sock.readyState, "closed");
  l.close();
  await Promise.all([a.closed, b.closed]);
});

bounded("toNodeSocket resetAndDestroy sends a RST: the peer reads ConnectionReset", async () => {
  const { l, a, b } = await pair();
  const sock = toNodeSocket(a);
  sock.resetAndDestroy();
  await assert.rejects(b.read(new Uint8Array(1)), Deno.errors.ConnectionReset);
  assert.equal((await a.closed).reason, "aborted");
  l.close();
});

bounded("toNodeSocket gives a peer's reset the ECONNRESET code", async () => {
  const { l, a, b } = await pair();
  const sock = toNodeSocket(a);
  const err = once<Error & { code?: string }>(sock, "error");
  sock.resume();
  b.abort();
  assert.equal((await within(err, 10_000, "error")).code, "ECONNRESET");
  l.close();
});

bounded("toNodeSocket setTimeout emits timeout after inactivity and closes nothing", async () => {
  const { l, a, b } = await pair();
  const sock = toNodeSocket(a);
  const t0 = performance.now();
  let fired = 0;
  sock.setTimeout(60, () => fired++);
  assert.equal(sock.timeout, 60);
  await within(once(sock, "timeout"), 5_000, "timeout");
  assert.ok(performance.now() - t0 >= 55);
  assert.equal(fired, 1);
  assert.equal(a.state, "ESTABLISHED");
  sock.setTimeout(0);
  assert.equal(sock.timeout, 0);
  sock.setNoDelay(true).setKeepAlive(true, 1000).unref().ref();
  sock.destroy();
  b.close();
  l.close();
  await Promise.all([a.closed, b.closed]);
});

bounded(
  "toNodeSocket of a pending connect is connecting, then emits connect; a failed connect emits error",
  async () => {
    const l = await listen({ hostname: "127.0.0.1", port: 0 });
    const sock = toNodeSocket(connect({ hostname: "127.0.0.1", port: l.touAddr.port }));
    assert.equal(sock.connecting, true);
    assert.equal(sock.readyState, "opening");
    assert.deepEqual(sock.address(), {});
    sock.write("early"); // buffered until connected
    await within(once(sock, "connect"), 10_000, "connect");
    assert.equal(sock.connecting, false);
    const b = await l.accept();
    const buf = new Uint8Array(5);
    assert.equal(await b.read(buf), 5);
    sock.destroy();
    b.close();

    const refused = toNodeSocket(
      connect({ hostname: "127.0.0.1", port: l.touAddr.port, tcpPort: 1 }),
    );
    const err = await within(once<Error & { code?: string }>(refused, "error"), 10_000, "error");
    assert.equal(err.code, "ECONNREFUSED");
    l.close();
  },
);

bounded(
  "toNodeSocket setKeepAlive(true, initialDelay) arms keepalive with that idle time (whole seconds, as Node); setKeepAlive(false) disarms it",
  async () => {
    const { l, a, b } = await pair();
    const sock = toNodeSocket(a);
    assert.equal(a.info().timers?.keepalive, undefined);
    sock.setKeepAlive(true, 3_700); // Node passes whole seconds: 3 s
    const left = a.info().timers?.keepalive;
    assert.ok(left !== undefined && left > 2_500 && left <= 3_000, String(left));
    sock.setKeepAlive(false);
    assert.equal(a.info().timers?.keepalive, undefined);
    sock.setKeepAlive(true, 500); // under 1 s: the idle time stays (3 s)
    const again = a.info().timers?.keepalive;
    assert.ok(again !== undefined && again > 2_500 && again <= 3_000, String(again));
    sock.setKeepAlive(true); // no delay: unchanged as well
    assert.ok(a.info().timers?.keepalive !== undefined);
    sock.destroy();
    b.close();
    l.close();
    await Promise.all([a.closed, b.closed]);
  },
);

bounded("toNodeSocket setNoDelay, setKeepAlive, ref and unref reach the connection", async () => {
  const { l, a, b } = await pair();
  const calls: string[] = [];
  const spy = new Proxy(a, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (["setNoDelay", "setKeepAlive", "ref", "unref"].includes(String(prop))) {
          calls.push(`${String(prop)}(${args.join(",")})`);
        }
        return v.apply(target, args);
      };
    },
  });
  const sock = toNodeSocket(spy);
  sock.setNoDelay(false).setNoDelay().setKeepAlive(true, 2_000).setKeepAlive(false).unref().ref();
  assert.deepEqual(calls, [
    "setNoDelay(false)",
    "setNoDelay(true)",
    "setKeepAlive(true,2000)",
    "setKeepAlive(false)",
    "unref()",
    "ref()",
  ]);
  sock.destroy();
  b.close();
  l.close();
  await Promise.all([a.closed, b.closed]);
});

Deno.test("toNodeSocket unref() lets the process exit while a Deno.TcpConn's read is pending; ref() keeps it", async () => {
  const script = (unref: boolean) => `
    import { toNodeSocket } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const c = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
    const peer = await l.accept();
    l.close();
    globalThis.peer = peer; // held, never read
    const sock = toNodeSocket(c);
    sock.resume(); // a read stays pending
    sock.setTimeout(60_000);
    ${unref ? "sock.unref();" : "sock.unref().ref();"}
    console.log("waiting");
  `;
  const spawn = (unref: boolean) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script(unref)],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  const unrefd = spawn(true);
  const refd = spawn(false);
  const reader = refd.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    // The unref'd one ends by itself once its script ran.
    const out = await within(unrefd.output(), 30_000, "unref'd process exits");
    assert.deepEqual([out.code, new TextDecoder().decode(out.stdout).trim()], [0, "waiting"]);
    // The ref'd one is still running 1 s after its script ran.
    let text = "";
    while (!text.includes("waiting")) {
      const r = await within(reader.read(), 30_000, "ref'd process runs its script");
      if (r.done) break;
      text += r.value;
    }
    assert.equal(text.trim(), "waiting");
    const exited = refd.status.then(() => "exited");
    const state = await Promise.race([exited, new Promise((r) => setTimeout(r, 1_000, "running"))]);
    assert.equal(state, "running");
  } finally {
    for (const child of [unrefd, refd]) {
      try {
        child.kill();
      } catch {
        // already exited
      }
      await child.status;
    }
    await reader.cancel();
  }
});
