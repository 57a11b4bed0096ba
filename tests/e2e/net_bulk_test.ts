import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { openEndpoint, type TouConn } from "../../mod.ts";
import { pattern } from "../net/_util.ts";

const MIB = 1024 * 1024;
const TOTAL = 100 * MIB;
const BLOCK = pattern(MIB, 42);
const TIMEOUT_MS = 50_000;

/** Sends TOTAL bytes: BLOCK repeated, each MiB stamped with its index; returns their sha256. */
async function send(conn: TouConn, stamp: number): Promise<string> {
  const h = createHash("sha256");
  const block = BLOCK.slice();
  for (let i = 0; i < TOTAL / MIB; i++) {
    block[0] = i & 0xff;
    block[1] = stamp;
    h.update(block);
    let off = 0;
    while (off < block.length) off += await conn.write(block.subarray(off));
  }
  await conn.closeWrite();
  return h.digest("hex");
}

/** Reads to EOF; returns the byte count and sha256. */
async function receive(conn: TouConn): Promise<[number, string]> {
  const h = createHash("sha256");
  const buf = new Uint8Array(256 * 1024);
  let total = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
    total += n;
  }
  return [total, h.digest("hex")];
}

Deno.test({
  name: "TouConn moves 100 MB each way with equal sha256 when both sides send at once",
  ignore: Deno.env.get("TOU_SKIP_HEAVY") === "1",
  async fn() {
    await using server = await openEndpoint({ hostname: "127.0.0.1" });
    await using client = await openEndpoint({ hostname: "127.0.0.1" });
    const listener = server.listen({ tcpPort: 9 });
    const a = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 9 });
    const b = await listener.accept();
    const start = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        a.abort();
        b.abort();
        reject(new Error(`100 MB each way did not finish within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
    });
    try {
      const [sentA, sentB, [gotB, hashB], [gotA, hashA]] = await Promise.race([
        Promise.all([send(a, 1), send(b, 2), receive(b), receive(a)]),
        deadline,
      ]);
      const secs = (performance.now() - start) / 1000;
      console.log(
        `100 MiB each way in ${secs.toFixed(1)} s (${
          (2 * TOTAL / MIB / secs).toFixed(1)
        } MiB/s total); ` +
          `retransmits ${a.info().retransmits}+${b.info().retransmits}`,
      );
      assert.equal(gotB, TOTAL);
      assert.equal(gotA, TOTAL);
      assert.equal(hashB, sentA);
      assert.equal(hashA, sentB);
    } finally {
      clearTimeout(timer);
    }
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  },
});
