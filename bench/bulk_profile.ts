/**
 * One bulk transfer between two tou endpoints in one process, for
 * profiling the per-datagram path (issue 10):
 *
 *   deno run -A --cpu-prof --cpu-prof-dir=prof bench/bulk_profile.ts [--mb 200] [--sealed]
 *     [--backend kernel|deno] [--pacing on|off]
 *   deno run -A bench/prof_top.ts prof/<file>.cpuprofile
 *
 * Both ends run here (1448-byte segments, 1452-byte datagrams plaintext),
 * so the profile holds the sender's and the receiver's work together.
 * Prints MiB/s and the CPU seconds per GB of this process.
 *
 * @module
 */

import { openEndpoint } from "../mod.ts";
import { SealedSocket } from "../src/seal/sealed_socket.ts";
import type { DatagramSocket } from "../src/udp/datagram_socket.ts";
import { cpuSeconds } from "./_proc.ts";
import { arg } from "./_cli.ts";

const MIB = 1024 * 1024;
const MB = Number(arg("mb", "200"));
const SEALED = Deno.args.includes("--sealed");
const BACKEND = arg("backend", "kernel") === "deno" ? "deno" : "kernel";
const PACING = arg("pacing", "off") !== "off";
const PSK = new Uint8Array(32).fill(9);

function decorate(role: "initiator" | "responder") {
  return SEALED
    ? (udp: DatagramSocket): DatagramSocket => new SealedSocket(udp, { psk: PSK, role })
    : undefined;
}

const common = {
  hostname: "127.0.0.1",
  udpBackend: BACKEND,
  segmentBudget: SEALED ? 1448 - 48 : 1448,
  pacing: PACING,
} as const;
const server = await openEndpoint({ ...common, decorate: decorate("responder") });
const client = await openEndpoint({ ...common, decorate: decorate("initiator") });
const l = server.listen({ tcpPort: 9 });
const accepted = l.accept();
const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 9 });
const peer = await accepted;

const sink = (async () => {
  const buf = new Uint8Array(256 * 1024);
  let n = 0;
  for (;;) {
    const got = await peer.read(buf);
    if (got === null) return n;
    n += got;
  }
})();
const chunk = new Uint8Array(256 * 1024).fill(7);
const c0 = cpuSeconds(Deno.pid);
const t0 = performance.now();
for (let sent = 0; sent < MB * MIB;) sent += await conn.write(chunk);
await conn.closeWrite();
const received = await sink;
const seconds = (performance.now() - t0) / 1000;
const cpu = cpuSeconds(Deno.pid) - c0;
console.log(
  `${SEALED ? "sealed" : "plaintext"} ${BACKEND} pacing ${PACING ? "on" : "off"}: ` +
    `${(received / MIB).toFixed(0)} MiB in ${seconds.toFixed(2)} s = ` +
    `${(received / MIB / seconds).toFixed(1)} MiB/s, ` +
    `${(cpu / (received / 1e9)).toFixed(2)} CPU s/GB, load ${Deno.loadavg()[0].toFixed(1)}`,
);
peer.close();
conn.close();
await Promise.all([
  client.closeGracefully({ timeout: 1000 }),
  server.closeGracefully({ timeout: 1000 }),
]);
