/**
 * The dashboard in a browser: headless Chromium (Debian's `chromium`
 * package) opens the control endpoint's page, the page draws its five uPlot
 * charts and lists the connection, and a transfer through the tunnel makes
 * the throughput chart move. The page is read over the Chrome DevTools
 * protocol (Runtime.evaluate of `touDashboard.summary()`). Skipped, saying
 * why, where /usr/bin/chromium is missing.
 */

import assert from "node:assert/strict";
import { dashboardUrl } from "../../src/tunnel/dashboard.ts";
import { connectLocal, startControlledPair, within, writeAll } from "./_harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

interface Summary {
  updates: number;
  points: number;
  connections: number;
  charts: number;
  canvases: number;
  throughputPoints: number;
  maxThroughput: number;
  rows: string[];
}

/** A minimal Chrome DevTools protocol client for one page. */
class Page {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, (r: { result?: { result?: { value?: unknown } } }) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.id !== undefined) this.#pending.get(msg.id)?.(msg);
    };
  }

  static async open(port: number, url: string): Promise<Page> {
    for (let i = 0;; i++) {
      const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
        type: string;
        url: string;
        webSocketDebuggerUrl: string;
      }[];
      const t = list.find((t) => t.type === "page" && t.url.startsWith(url));
      if (t !== undefined) {
        const ws = new WebSocket(t.webSocketDebuggerUrl);
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        });
        return new Page(ws);
      }
      if (i > 100) throw new Error(`no page for ${url}: ${JSON.stringify(list)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async eval<T>(expression: string): Promise<T> {
    const id = ++this.#id;
    const reply = new Promise<{ result?: { result?: { value?: unknown } } }>((r) =>
      this.#pending.set(id, r)
    );
    this.#ws.send(JSON.stringify({
      id,
      method: "Runtime.evaluate",
      params: { expression, returnByValue: true },
    }));
    const r = await reply;
    this.#pending.delete(id);
    return r.result?.result?.value as T;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((r) => (this.#ws.onclose = () => r()));
    this.#ws.close();
    return closed;
  }
}

const SUMMARY =
  `typeof touDashboard === "undefined" ? null : Object.assign(touDashboard.summary(), {
  canvases: document.querySelectorAll(".uplot canvas").length,
  rows: [...document.querySelectorAll("#conns tbody tr")].map((tr) => tr.textContent),
})`;

async function waitFor(
  page: Page,
  what: string,
  ok: (s: Summary) => boolean,
  ms = 30_000,
): Promise<Summary> {
  const end = Date.now() + ms;
  let s: Summary | null = null;
  while (Date.now() < end) {
    s = await page.eval<Summary | null>(SUMMARY);
    if (s !== null && ok(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dashboard: ${what} not seen within ${ms} ms: ${JSON.stringify(s)}`);
}

Deno.test("headless Chromium shows the dashboard: the connection, five charts, and the throughput chart moves during a transfer", async () => {
  if (!haveChromium) {
    console.log("skipped: no chromium");
    return;
  }
  const t = await startControlledPair();
  const { pair, control } = t;
  const dir = await Deno.makeTempDir();
  const app = await connectLocal(pair.localPort());
  const url = `${dashboardUrl(control.addr)}?interval=100`;
  const browser = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      `--user-data-dir=${dir}/profile`,
      "--remote-debugging-port=0",
      "--window-size=1200,1600",
      url,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let page: Page | undefined;
  const stderr: string[] = [];
  try {
    // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/..."
    const port = await within(
      60_000,
      "chromium's DevTools port",
      (async () => {
        const lines = browser.stderr.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        for (;;) {
          const { value, done } = await lines.read();
          if (done) throw new Error(`chromium ended: ${text}`);
          text += value;
          stderr.push(value);
          const m = text.match(/DevTools listening on ws:\/\/[^:]+:(\d+)\//);
          if (m) {
            // keep draining stderr so that chromium never blocks on it
            (async () => {
              for (;;) if ((await lines.read()).done) return;
            })().catch(() => {});
            return Number(m[1]);
          }
        }
      })(),
    );
    page = await Page.open(port, dashboardUrl(control.addr));

    // The echo connection opens the tunnel connection; the page lists it and draws the charts.
    await writeAll(app, new Uint8Array(1000));
    const buf = new Uint8Array(64 * 1024);
    for (let got = 0; got < 1000;) got += (await app.read(buf)) ?? 1000;
    const before = await waitFor(
      page,
      "the connection and five charts",
      (s) => s.connections === 1 && s.charts === 5 && s.canvases >= 5 && s.updates >= 3,
    );
    assert.match(before.rows[0], /^ESTABLISHED127\.0\.0\.1:\d+\/7/);

    // A transfer through the tunnel: 4 MB out and echoed back.
    const size = 4 * 1024 * 1024;
    const reading = (async () => {
      for (let got = 0; got < size;) got += (await app.read(buf)) ?? size;
    })();
    await writeAll(app, new Uint8Array(size));
    await within(60_000, "echo", reading);
    const after = await waitFor(
      page,
      "throughput above 1 Mbit/s and new points",
      (s) => s.maxThroughput > 1 && s.points > before.points + 3,
    );
    assert.ok(after.throughputPoints > before.throughputPoints);
    assert.ok(after.updates > before.updates);
  } finally {
    app.close();
    await page?.close();
    try {
      browser.kill("SIGTERM");
    } catch { /* already ended */ }
    await browser.status;
    await t.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
