/**
 * A connection handle that settled in TIME_WAIT is not kept alive for the
 * 2·MSL its TCB waits: the stack connection hands its late events to the
 * endpoint instead (a busy tunnel server holds tens of thousands in
 * TIME_WAIT; each handle with its promises was ≈ 1 KiB of heap). Needs a
 * forced GC, so it runs in a child `deno eval --v8-flags=--expose-gc`.
 */
import assert from "node:assert/strict";

Deno.test("a TouConn settled in TIME_WAIT is garbage once the application drops it, while its TCB waits 2·MSL", async () => {
  const endpoint = new URL("../../src/net/endpoint.ts", import.meta.url).href;
  const code = `
    import { openEndpoint } from ${JSON.stringify(endpoint)};
    const ep = await openEndpoint({ hostname: "127.0.0.1" });
    const l = ep.listen();
    const refs = [];
    for (let i = 0; i < 40; i++) {
      const c = await ep.connect({ hostname: "127.0.0.1", port: ep.addr.port });
      const p = await l.accept();
      c.close(); // the active closer: TIME_WAIT
      await p.read(new Uint8Array(1));
      p.close();
      const info = await c.closed;
      if (info.state !== "TIME_WAIT") throw new Error("ended in " + info.state);
      refs.push(new WeakRef(c));
    }
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      globalThis.gc();
    }
    const timeWait = ep.connections().filter((c) => c.state === "TIME_WAIT").length;
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    console.log(JSON.stringify({ alive, timeWait }));
    ep.abort();
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(text.split("\n").at(-1)!);
  assert.equal(r.timeWait, 40, text);
  assert.ok(r.alive <= 1, `${r.alive} of 40 handles still alive`);
});
