/**
 * End to end: a `tou server` process that receives SYNs while it starts
 * answers every one with a SYN-ACK once it reads them, never a RST for a
 * service port whose listener did not exist yet (found by bench/soak.ts:
 * "connection refused" for the first streams).
 */

import assert from "node:assert/strict";
import { TouProcess } from "../cli/_process.ts";
import { freeUdpPort } from "../net/_util.ts";
import { forgedSyn } from "../../bench/synflood.ts";
import { openUdpSocket } from "../../src/udp/deno_udp_socket.ts";
import { ENVELOPE_HEADER_LEN } from "../../src/wire/envelope.ts";
import { RST, SYN } from "../../src/wire/tcp_flags.ts";

Deno.test("tou server answers SYNs that arrive while it starts with SYN-ACKs, not RSTs", async () => {
  const port = freeUdpPort();
  const peer = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const flags: number[] = [];
  // The TCP flags byte: envelope, then 13 bytes into the TCP header.
  peer.setHandler((d) => void flags.push(d[ENVELOPE_HEADER_LEN + 13]));
  const server = new TouProcess([
    "server",
    "--listen",
    `127.0.0.1:${port}`,
    "--forward",
    "80=127.0.0.1:9",
    "--plaintext",
  ]);
  try {
    // SYNs from the moment the process starts (the first ones reach no socket and are lost).
    const buf = new Uint8Array(64);
    const t0 = performance.now();
    for (let i = 0; flags.length < 30 && performance.now() - t0 < 20_000; i++) {
      peer.send(buf.subarray(0, forgedSyn(buf, 80, 1024 + i, i)), { hostname: "127.0.0.1", port });
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.ok(flags.length >= 30, `${flags.length} answers in 20 s`);
    assert.equal(flags.filter((f) => (f & RST) !== 0).length, 0, "no RST");
    assert.ok(flags.every((f) => (f & SYN) !== 0));
  } finally {
    peer.close();
    server.signal("SIGTERM");
    await server.stop();
  }
});
