import assert from "node:assert/strict";
import { startControlServer, type StatSnapshot } from "../../src/tunnel/stat.ts";
import { dashboardUrl } from "../../src/tunnel/dashboard.ts";
import { connectLocal, startControlledPair, startPair, writeAll } from "./_harness.ts";

/** Reads `n` server-sent events of a stream. */
async function readEvents(res: Response, n: number): Promise<StatSnapshot[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const out: StatSnapshot[] = [];
  let buf = "";
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (block.startsWith("data: ")) out.push(JSON.parse(block.slice(6)));
    }
  }
  await reader.cancel();
  return out;
}

Deno.test("the control endpoint serves the dashboard page, uPlot from the npm package, and snapshots as server-sent events", async () => {
  const t = await startControlledPair();
  const { pair, control } = t;
  const app = await connectLocal(pair.localPort());
  try {
    const url = dashboardUrl(control.addr);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    const html = await page.text();
    // No CDN: every script and style comes from the endpoint itself.
    assert.doesNotMatch(html, /https?:\/\//);
    assert.match(html, /<script src="\/dashboard\/uPlot\.iife\.min\.js"><\/script>/);
    assert.match(html, /new EventSource\("\/events"/);
    const js = await fetch(new URL("/dashboard/uPlot.iife.min.js", url));
    assert.match(js.headers.get("content-type")!, /javascript/);
    assert.match(
      await js.text(),
      /^\/\*! https:\/\/github\.com\/leeoniya\/uPlot \(v1\.6\.32\) \*\/\s*var uPlot/,
    );
    const css = await fetch(new URL("/dashboard/uPlot.min.css", url));
    assert.match(await css.text(), /\.uplot/);

    await writeAll(app, new Uint8Array(5000));
    const buf = new Uint8Array(5000);
    for (let got = 0; got < 5000;) got += (await app.read(buf.subarray(got))) ?? 5000; // echoed
    const res = await fetch(new URL("/events?interval=50", url));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const snaps = await readEvents(res, 3);
    assert.equal(snaps.length, 3);
    assert.ok(snaps[2].time >= snaps[0].time + 50, "one snapshot per interval");
    assert.equal(snaps.at(-1)!.connections.length, 1);
    assert.equal(snaps.at(-1)!.connections[0].state, "ESTABLISHED");

    const bad = await fetch(new URL("/events?interval=5", url));
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const root = await fetch(new URL("/", url));
    assert.match(await root.text(), /GET \/dashboard/);
  } finally {
    app.close();
    await t.close();
  }
});

Deno.test("closing the control endpoint ends the open event streams", async () => {
  const pair = await startPair({ forwards: [], tunnelPorts: [] });
  const control = await startControlServer({ hostname: "127.0.0.1", port: 0 }, {
    role: "server",
    relay: pair.server.relay,
    endpoint: pair.server.endpoint,
  });
  try {
    const res = await fetch(`http://127.0.0.1:${control.addr.port}/events`);
    const reader = res.body!.getReader();
    await reader.read(); // the stream is open
    await control.close(); // returns although the client still listens
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true }));
      if (r.done) break;
    }
  } finally {
    await pair.close();
  }
});

Deno.test("a state change sends a snapshot at once, without waiting for the interval", async () => {
  const t = await startControlledPair();
  const { pair, control } = t;
  let app: Deno.TcpConn | undefined;
  try {
    const res = await fetch(`http://127.0.0.1:${control.addr.port}/events?interval=10000`);
    const first = readEvents(res, 2); // the one at once, then the one the new connection causes
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    app = await connectLocal(pair.localPort());
    await writeAll(app, new Uint8Array(10));
    const snaps = await first;
    assert.ok(Date.now() - t0 < 5000, "long before the 10 s interval");
    assert.equal(snaps[0].connections.length, 0);
    assert.equal(snaps[1].connections.length, 1);
  } finally {
    app?.close();
    await t.close();
  }
});
