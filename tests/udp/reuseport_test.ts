/**
 * SO_REUSEPORT on UDP sockets (`openDatagramSocket({ reusePort: true })`),
 * what `tou server --workers` rests on: several sockets bind one port, the
 * kernel gives every datagram of one peer (one 4-tuple) to the same socket,
 * and spreads peers among the sockets. Deno's own backend cannot set it and
 * says so.
 */
import assert from "node:assert/strict";
import { kernelUdpAvailable } from "../../src/udp/kernel_udp_socket.ts";
import { openDatagramSocket } from "../../src/udp/open_datagram_socket.ts";
import type { DatagramSocket } from "../../src/udp/datagram_socket.ts";

const ok = kernelUdpAvailable().ok;

Deno.test({
  name: "reusePort: every datagram of a peer reaches one socket, and peers are spread",
  ignore: !ok,
  async fn() {
    const first = await openDatagramSocket({ hostname: "127.0.0.1", reusePort: true });
    const port = first.localAddr.port;
    const second = await openDatagramSocket({ hostname: "127.0.0.1", port, reusePort: true });
    const servers = [first, second];
    const PEERS = 16, EACH = 20;
    // peer port -> indexes of the sockets that got its datagrams
    const seen = new Map<number, Set<number>>();
    let got = 0;
    const { promise: all, resolve } = Promise.withResolvers<void>();
    servers.forEach((s, i) =>
      s.setHandler((_data, from) => {
        let set = seen.get(from.port);
        if (!set) seen.set(from.port, set = new Set());
        set.add(i);
        if (++got === PEERS * EACH) resolve();
      })
    );
    const peers: DatagramSocket[] = [];
    try {
      for (let p = 0; p < PEERS; p++) {
        peers.push(await openDatagramSocket({ hostname: "127.0.0.1", backend: "kernel" }));
      }
      for (let k = 0; k < EACH; k++) {
        for (const c of peers) c.send(new Uint8Array([k]), { hostname: "127.0.0.1", port });
        await new Promise((r) => setTimeout(r, 1));
      }
      const timer = setTimeout(() => resolve(), 5_000);
      await all;
      clearTimeout(timer);
      assert.equal(got, PEERS * EACH, "every datagram arrived (loopback)");
      assert.equal(seen.size, PEERS);
      for (const [peer, set] of seen) assert.equal(set.size, 1, `peer ${peer} split: ${[...set]}`);
      const perSocket = [0, 1].map((i) => [...seen.values()].filter((s) => s.has(i)).length);
      // 16 peers all hashed to one of two sockets: probability 2^-15.
      assert.ok(perSocket.every((n) => n > 0), `spread ${perSocket}`);
    } finally {
      for (const s of [...peers, ...servers]) s.close();
    }
  },
});

Deno.test({
  name: "reusePort: a second socket without it is refused; the Deno backend cannot set it",
  ignore: !ok,
  async fn() {
    const a = await openDatagramSocket({ hostname: "127.0.0.1", reusePort: true });
    try {
      await assert.rejects(
        openDatagramSocket({ hostname: "127.0.0.1", port: a.localAddr.port, backend: "kernel" }),
      );
      await assert.rejects(
        openDatagramSocket({ hostname: "127.0.0.1", reusePort: true, backend: "deno" }),
        (e: Error) => e instanceof Deno.errors.NotSupported && /kernel UDP backend/.test(e.message),
      );
    } finally {
      a.close();
    }
  },
});
