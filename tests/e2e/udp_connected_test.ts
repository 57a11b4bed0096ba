// Connected UDP over real loopback sockets, through the public API (mod.ts)
// only: connect records the peer and filters other senders, connect again
// re-targets, disconnect (AF_UNSPEC) dissolves the association, and a
// connected socket's send without an address goes to its peer.

import assert from "node:assert/strict";
import {
  type Datagram,
  type DatagramSocket,
  DestinationAddressRequiredError,
  openUdpSocket,
  SocketClosedError,
} from "../../mod.ts";

const LO = "127.0.0.1";
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Lets sends already made reach the kernel (sends from different sockets may race). */
const settle = () => new Promise((r) => setTimeout(r, 50));

/** The next datagram, or undefined when none came within `ms`. */
async function within(s: DatagramSocket, ms: number): Promise<Datagram | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms));
  try {
    return await Promise.race([s.receive(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("connected UDP over loopback: connect filters other senders, re-connect re-targets, disconnect forgets the peer", async () => {
  const client = await openUdpSocket({ hostname: LO });
  const one = await openUdpSocket({ hostname: LO });
  const two = await openUdpSocket({ hostname: LO });
  try {
    client.connect(one.localAddr);
    assert.deepEqual(client.remoteAddr, one.localAddr);
    // a datagram from a stranger (two) is filtered while connected to one
    two.send(enc("stranger"), client.localAddr);
    await settle(); // the stranger's datagram is queued first
    one.send(enc("peer"), client.localAddr);
    const got = await client.receive();
    assert.equal(dec(got.data), "peer");
    assert.equal(got.from.port, one.localAddr.port);
    client.send(enc("hello one"));
    assert.equal(dec((await one.receive()).data), "hello one");

    // re-connect: two is the peer now, and one is the stranger
    client.connect(two.localAddr);
    one.send(enc("late from one"), client.localAddr);
    await settle();
    two.send(enc("from two"), client.localAddr);
    assert.equal(dec((await client.receive()).data), "from two");
    assert.equal(client.stats().filtered, 2); // "stranger" and "late from one"
    client.send(enc("hello two"));
    assert.equal(dec((await two.receive()).data), "hello two");

    // disconnect (AF_UNSPEC): no default peer, every sender gets through
    client.disconnect();
    assert.equal(client.remoteAddr, undefined);
    assert.throws(() => client.send(enc("where?")), DestinationAddressRequiredError);
    one.send(enc("anyone may send"), client.localAddr);
    const open = await within(client, 2_000);
    assert.equal(open && dec(open.data), "anyone may send");
    client.send(enc("explicit"), one.localAddr);
    assert.equal(dec((await one.receive()).data), "explicit");
  } finally {
    for (const s of [client, one, two]) s.close();
    await Promise.all([client.closed, one.closed, two.closed]);
  }
  await assert.rejects(() => client.receive(), SocketClosedError);
});
