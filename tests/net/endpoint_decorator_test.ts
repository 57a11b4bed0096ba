import assert from "node:assert/strict";
import { openEndpoint } from "../../src/net/endpoint.ts";
import type { DatagramSocketDecorator } from "../../src/net/endpoint_options.ts";
import { InvalidOptionError } from "../../src/net/errors.ts";
import type { DatagramAddr, DatagramSocket } from "../../src/udp/datagram_socket.ts";
import { ForwardingSocket } from "../../src/udp/forwarding_socket.ts";
import { decodeDatagram } from "../../src/wire/datagram.ts";

/** Records the flags of every segment sent through it. */
class Recording extends ForwardingSocket {
  readonly flags: number[] = [];
  override send(data: Uint8Array, addr?: DatagramAddr): void {
    const d = decodeDatagram(data, { verifyChecksum: false });
    if (d.ok && d.value.kind === "segment") this.flags.push(d.value.segment.flags);
    this.inner.send(data, addr);
  }
}

Deno.test("openEndpoint sends through the decorator's socket and reads UDP stats below it when given decorate", async () => {
  let inner: DatagramSocket | undefined;
  let rec: Recording | undefined;
  const decorate: DatagramSocketDecorator = (udp) => {
    inner = udp;
    return rec = new Recording(udp);
  };
  const server = await openEndpoint({ hostname: "127.0.0.1" });
  const client = await openEndpoint({ hostname: "127.0.0.1", decorate });
  try {
    assert.ok(inner !== undefined && rec !== undefined, "called once at open");
    assert.equal(client.addr.port, inner.localAddr.port);
    const l = server.listen();
    const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const peer = await l.accept();
    await conn.write(new Uint8Array([1, 2, 3]));
    assert.equal(await peer.read(new Uint8Array(8)), 3);
    assert.ok(rec.flags.length >= 3, `SYN, ACK, data: ${rec.flags}`);
    assert.equal(rec.flags[0] & 0x02, 0x02, "the first segment is the SYN");
    // udpStats reads the UDP socket, not the decorator (which keeps no stats).
    assert.ok((client.udpStats()?.sent ?? 0) >= rec.flags.length);
    assert.equal("decorate" in client.options, false);
    conn.close();
    peer.close();
    l.close();
  } finally {
    await client.closeGracefully({ timeout: 500 });
    await server.closeGracefully({ timeout: 500 });
  }
});

Deno.test("openEndpoint closes the UDP socket when the decorator throws", async () => {
  let port = 0;
  await assert.rejects(
    openEndpoint({
      hostname: "127.0.0.1",
      decorate: (udp) => {
        port = udp.localAddr.port;
        throw new Error("no seal today");
      },
    }),
    { message: "no seal today" },
  );
  // The port is free again: binding it succeeds.
  const again = await openEndpoint({ hostname: "127.0.0.1", port });
  assert.equal(again.addr.port, port);
  again.close();
  await again.closed;
});

Deno.test("openEndpoint rejects a decorate that is not a function before binding", async () => {
  await assert.rejects(
    openEndpoint({ hostname: "127.0.0.1", decorate: 5 as never }),
    (e: Error) => {
      assert.ok(e instanceof InvalidOptionError);
      assert.equal(
        e.message,
        "Invalid option decorate: must be a function (udp) => DatagramSocket, got 5",
      );
      return true;
    },
  );
});
