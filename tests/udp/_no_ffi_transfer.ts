// Run by kernel_udp_socket_test.ts WITHOUT --allow-ffi: openEndpoint's
// "auto" backend must fall back to Deno.listenDatagram (and say why once),
// and a tou transfer must still complete byte-exact.

import { openEndpoint } from "../../src/net/endpoint.ts";
import { bulkDigest, bulkReceive, bulkSend } from "../net/_util.ts";
import { pickUdpBackend } from "../../src/udp/open_datagram_socket.ts";

const backend = pickUdpBackend("auto", (m) => console.log(m));
await using server = await openEndpoint({ hostname: "127.0.0.1", msl: 1000 });
await using client = await openEndpoint({ hostname: "127.0.0.1", msl: 1000 });
const listener = server.listen({ tcpPort: 9 });
const a = await client.connect({ hostname: "127.0.0.1", port: server.addr.port, tcpPort: 9 });
const b = await listener.accept();
const [sent, got] = await Promise.all([bulkSend(a, 2, 5), bulkReceive(b)]);
const okSum = got.sha256 === sent && sent === bulkDigest(2, 5);
console.log(`backend ${backend}; ${got.bytes} bytes; sha256 ${okSum ? "ok" : "MISMATCH"}`);
a.close();
b.close();
await Promise.all([a.closed, b.closed]);
