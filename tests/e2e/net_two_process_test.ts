import assert from "node:assert/strict";
import { connect } from "../../mod.ts";
import { pattern, readAll, writeAll } from "../net/_util.ts";

const PEER = new URL("./_peer.ts", import.meta.url).pathname;

/** Reads the child's stdout up to the first newline. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0];
}

Deno.test("connect talks to a tou listener in another Deno process when it echoes", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", PEER, "0", "2222"],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  try {
    const line = await firstLine(child.stdout);
    const m = /^LISTENING (\d+) (\d+)$/.exec(line);
    assert.ok(m, `unexpected first line ${JSON.stringify(line)}`);
    const port = Number(m[1]);
    assert.equal(Number(m[2]), 2222);

    for (let i = 0; i < 3; i++) {
      const conn = await connect({ hostname: "127.0.0.1", port, tcpPort: 2222 });
      const data = pattern(1_000_000, 100 + i);
      const [, back] = await Promise.all([
        writeAll(conn, data).then(() => conn.closeWrite()),
        readAll(conn),
      ]);
      assert.deepEqual(back, data);
      conn.close();
      const closed = await conn.closed;
      assert.equal(closed.reason, "closed");
    }
  } finally {
    Deno.kill(child.pid, "SIGTERM");
    const status = await child.status;
    assert.equal(status.signal, "SIGTERM");
    await child.stdout.cancel().catch(() => {});
  }
});
