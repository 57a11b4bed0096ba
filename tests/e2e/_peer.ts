/**
 * A tou echo server for two-process tests. Run as
 * `deno run -A tests/e2e/_peer.ts [udpPort] [tcpPort]`; it prints
 * `LISTENING <udpPort> <tcpPort>` on stdout once ready, then echoes every
 * connection (until the peer's FIN, then closes) until killed.
 *
 * @module
 */

import { listen } from "../../mod.ts";

const udpPort = Number(Deno.args[0] ?? 0);
const tcpPort = Deno.args[1] === undefined ? undefined : Number(Deno.args[1]);
const listener = await listen({ hostname: "127.0.0.1", port: udpPort, tcpPort });
console.log(`LISTENING ${listener.touAddr.port} ${listener.addr.port}`);
for await (const conn of listener) {
  conn.readable.pipeTo(conn.writable).then(
    () => conn.close(),
    (err) => {
      console.error(`echo failed: ${err}`);
      conn.abort();
    },
  );
}
