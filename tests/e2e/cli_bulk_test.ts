/**
 * End to end, heavy: 100 MB each way through real `tou server` and
 * `tou client` processes and a TCP echo service, compared by SHA-256.
 * Skipped when TOU_SKIP_HEAVY=1.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { TouProcess } from "../cli/_process.ts";
import { connectLocal, echoService, within } from "../tunnel/_harness.ts";

const TOTAL = 100 * 1024 * 1024;
const CHUNK = 256 * 1024;
const KEY = "a3f1c2d4e5b6978812345678909abcdeffedcba0987654321fedcba987654321";

/** Deterministic chunk `i` of the stream (xorshift32 seeded by the index). */
function chunkOf(i: number, out: Uint8Array): Uint8Array {
  let x = (i + 1) * 2654435761 >>> 0 || 1;
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
  for (let k = 0; k < words.length; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[k] = x >>> 0;
  }
  return out;
}

Deno.test({
  name: "tou server and tou client echo 100 MB each way with equal SHA-256",
  ignore: Deno.env.get("TOU_SKIP_HEAVY") === "1",
  async fn() {
    const echo = echoService();
    const server = new TouProcess([
      "server",
      "--listen",
      "127.0.0.1:0",
      "--forward",
      `7=127.0.0.1:${echo.port}`,
    ], { TOU_KEY: KEY });
    let client: TouProcess | undefined;
    try {
      const udp = await server.port("server listening", "udp");
      client = new TouProcess([
        "client",
        "--server",
        `127.0.0.1:${udp}`,
        "--local",
        "127.0.0.1:0=7",
      ], { TOU_KEY: KEY });
      const local = await client.port("client listening", "tcp");
      const app = await connectLocal(local);
      const sentHash = createHash("sha256");
      const recvHash = createHash("sha256");
      const start = performance.now();
      const sending = (async () => {
        const buf = new Uint8Array(CHUNK);
        for (let i = 0; i * CHUNK < TOTAL; i++) {
          const c = chunkOf(i, buf);
          sentHash.update(c);
          let off = 0;
          while (off < c.length) off += await app.write(c.subarray(off));
        }
        await app.closeWrite();
      })();
      let received = 0;
      const receiving = (async () => {
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await app.read(buf);
          if (n === null) return;
          recvHash.update(buf.subarray(0, n));
          received += n;
        }
      })();
      await within(180_000, "100 MB echo", Promise.all([sending, receiving]));
      const secs = (performance.now() - start) / 1000;
      app.close();
      assert.equal(received, TOTAL);
      assert.equal(recvHash.digest("hex"), sentHash.digest("hex"));
      console.log(
        `100 MiB each way in ${secs.toFixed(1)} s: ${(100 / secs).toFixed(1)} MiB/s each way`,
      );
    } finally {
      client?.signal("SIGKILL");
      server.signal("SIGKILL");
      await Promise.all([client?.stop(), server.stop()]);
      await echo.close();
    }
  },
});
