/**
 * The other Deno process of the two-process tests: one tou endpoint on
 * 127.0.0.1 with a few services on TCP ports inside it. Run as
 * `deno run -A tests/e2e/_peer.ts [udpPort]`. It prints
 * `LISTENING <udpPort>` once ready, then serves until killed:
 *
 * - tcp 7, echo: pipes each connection's `readable` into its `writable`.
 * - tcp 9, bulk: reads to EOF while sending `BULK_MIB` MiB of bulk stream 2
 *   (tests/net/_util.ts), then prints `BULK <bytesReceived> <sha256>`.
 * - tcp 13, half-close: reads the request to EOF, only then writes
 *   `HALF_CLOSE_BYTES` bytes of `pattern(…, 13)` and closes.
 * - tcp 79, active close: writes "bye", closes first and prints
 *   `CLOSED79 <state>` once that connection finished (TIME_WAIT expected).
 * - nothing on tcp 22 (connections there are refused).
 *
 * @module
 */

import { openEndpoint, type TouConn } from "../../mod.ts";
import { bulkReceive, bulkSend, pattern, readAll, writeAll } from "../net/_util.ts";

/** MiB the bulk service sends per connection. */
export const BULK_MIB = 100;
/** Bytes the half-close service answers with. */
export const HALF_CLOSE_BYTES = 2_000_000;

function serve(l: AsyncIterable<TouConn>, handle: (c: TouConn) => Promise<void>): void {
  (async () => {
    for await (const conn of l) {
      handle(conn).catch((err) => {
        console.error(`peer: ${err}`);
        conn.abort();
      });
    }
  })();
}

if (import.meta.main) {
  const ep = await openEndpoint({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
  serve(ep.listen({ tcpPort: 7, backlog: 1024 }), async (c) => {
    await c.readable.pipeTo(c.writable);
    c.close();
  });
  serve(ep.listen({ tcpPort: 9 }), async (c) => {
    const [, got] = await Promise.all([bulkSend(c, BULK_MIB, 2), bulkReceive(c)]);
    c.close();
    console.log(`BULK ${got.bytes} ${got.sha256}`);
  });
  serve(ep.listen({ tcpPort: 13 }), async (c) => {
    await readAll(c);
    await writeAll(c, pattern(HALF_CLOSE_BYTES, 13));
    c.close();
  });
  serve(ep.listen({ tcpPort: 79 }), async (c) => {
    await writeAll(c, new TextEncoder().encode("bye"));
    c.close();
    const info = await c.closed;
    console.log(`CLOSED79 ${info.state}`);
  });
  console.log(`LISTENING ${ep.addr.port}`);
}
