import assert from "node:assert/strict";
import { openEndpoint } from "../../mod.ts";
import { bulkDigest, bulkReceive, bulkSend, deadline, MIB } from "../net/_util.ts";

const TOTAL_MIB = 100;

Deno.test({
  name: "TouConn moves 100 MB each way with equal sha256 when both sides send at once",
  ignore: Deno.env.get("TOU_SKIP_HEAVY") === "1",
  async fn() {
    // 1448-byte segments, as on a 1500-byte MTU path: ~72,000 datagrams each
    // way (the two-process test uses the loopback default, 16 KiB).
    await using server = await openEndpoint({ hostname: "127.0.0.1", segmentBudget: 1448 });
    await using client = await openEndpoint({ hostname: "127.0.0.1", segmentBudget: 1448 });
    const listener = server.listen({ tcpPort: 9 });
    const a = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 9 });
    const b = await listener.accept();
    const start = performance.now();
    const [sentA, sentB, gotB, gotA] = await deadline(
      Promise.all([
        bulkSend(a, TOTAL_MIB, 1),
        bulkSend(b, TOTAL_MIB, 2),
        bulkReceive(b),
        bulkReceive(a),
      ]),
      50_000,
      "100 MB each way",
      () => {
        a.abort();
        b.abort();
      },
    );
    const secs = (performance.now() - start) / 1000;
    console.log(
      `one process: ${TOTAL_MIB} MiB each way in ${secs.toFixed(1)} s ` +
        `(${(2 * TOTAL_MIB / secs).toFixed(1)} MiB/s total); ` +
        `retransmits ${a.info().retransmits}+${b.info().retransmits}`,
    );
    assert.equal(gotB.bytes, TOTAL_MIB * MIB);
    assert.equal(gotA.bytes, TOTAL_MIB * MIB);
    assert.equal(gotB.sha256, sentA);
    assert.equal(gotA.sha256, sentB);
    assert.equal(sentA, bulkDigest(TOTAL_MIB, 1));
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  },
});
