import assert from "node:assert/strict";
import { openTouEndpoint } from "../../src/tunnel/tou_endpoint.ts";
import { openUdpSocket } from "../../src/udp/deno_udp_socket.ts";
import { SealedSocket } from "../../src/seal/sealed_socket.ts";
import { captureLog, within } from "./_harness.ts";
import { emitEnvelope, EnvelopeType } from "../../src/wire/envelope.ts";
import { decodeSegment, emitSegment } from "../../src/wire/tcp_codec.ts";
import { ACK, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { seq } from "../../src/wire/seq.ts";
import {
  LIBRARY_DEFAULT_CONGESTION,
  TUNNEL_DEFAULT_CONGESTION,
  TUNNEL_DEFAULT_LOSS_TOLERANCE,
} from "../../src/tcp/congestion/defaults.ts";

Deno.test("openTouEndpoint logs the first stale datagram at once and sums the rest per window when a peer's clock is too far off", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const cap = captureLog();
  const ep = await openTouEndpoint({
    hostname: "127.0.0.1",
    port: 0,
    key,
    role: "responder",
    logger: cap.logger,
  });
  // A client whose clock is 300 s behind.
  const late = new SealedSocket(await openUdpSocket({ hostname: "127.0.0.1", port: 0 }), {
    psk: key,
    role: "initiator",
    now: () => Date.now() - 300_000,
  });
  try {
    for (let i = 0; i < 3; i++) late.send(new Uint8Array([0, 6, 0, 0]), ep.addr);
    await within(
      5_000,
      "stale drops",
      (async () => {
        while (ep.metrics().seal_stale < 3) await new Promise((r) => setTimeout(r, 10));
      })(),
    );
    const lines = cap.lines.filter((l) => /clock/.test(l));
    assert.equal(lines.length, 1, cap.lines.join(""));
    assert.match(
      lines[0],
      /WARN {2}1 stale datagram dropped from 127\.0\.0\.1:\d+ in the last 10 s: they carry the right key but were sent (299|300|301) s behind our clock .*synchronize the clocks with NTP\)/,
    );
    assert.equal(ep.metrics().seal_opened, 0);
  } finally {
    late.close();
    await ep.close();
  }
});

Deno.test("openTouEndpoint names the address when the UDP port is taken", async () => {
  const taken = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    await assert.rejects(openTouEndpoint({ hostname: "127.0.0.1", port }), (e: Error) => {
      assert.ok(e instanceof Deno.errors.AddrInUse);
      assert.equal(e.message, `cannot listen on udp 127.0.0.1:${port}: address already in use`);
      return true;
    });
  } finally {
    taken.close();
  }
});

Deno.test("openTouEndpoint reports a key the seal refuses without the address context", async () => {
  await assert.rejects(
    openTouEndpoint({ hostname: "127.0.0.1", port: 0, key: new Uint8Array(8) }),
    (e: Error) => {
      assert.doesNotMatch(e.message, /cannot listen on udp/);
      return true;
    },
  );
});

Deno.test("openTouEndpoint sees plaintext segments through its observer when sealed", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const seen: string[] = [];
  const server = await openTouEndpoint({
    hostname: "127.0.0.1",
    port: 0,
    key,
    role: "responder",
    observe: (dir, _peer, seg) => seen.push(`${dir} ${seg.flags}`),
  });
  const client = await openTouEndpoint({ hostname: "127.0.0.1", port: 0, key, role: "initiator" });
  try {
    assert.equal(server.encrypted, true);
    const l = server.listen({ tcpPort: 80 });
    const conn = await client.connect({ ...server.addr, tcpPort: 80 });
    const it = l[Symbol.asyncIterator]();
    const peer = (await it.next()).value!;
    assert.equal(seen[0], "in 2", "the SYN, decrypted"); // SYN = 0x02
    assert.ok(seen.includes("out 18"), "the SYN-ACK"); // SYN|ACK = 0x12
    const m = server.metrics();
    assert.ok(m.seal_opened >= 2 && m.udp_received >= 2 && m.stack_passive_opens === 1);
    // every listener drop counter is exported (tou stat --metrics: tou_listen_*_total)
    for (
      const k of [
        "listen_syn_queue_drops",
        "listen_listen_drops",
        "listen_listen_overflows",
        "listen_syn_cookies_sent",
        "listen_syn_cookies_recv",
        "listen_syn_cookies_failed",
        "listen_fast_open_listen_overflow",
      ]
    ) assert.equal(m[k], 0, k);
    // Sealed: the segment budget is 1448 - 48 bytes (not the loopback size), so the MSS is below it.
    assert.equal(server.connections()[0].info.mss <= 1400 - 20, true);
    conn.close();
    peer.close();
    l.close();
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("openTouEndpoint with hold reads nothing until serve(): a SYN that came before the listener gets a SYN-ACK, not the RST it gets without hold (tou server startup race)", async () => {
  const syn = new Uint8Array(64);
  const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, syn, 0);
  const len = n + emitSegment(
    {
      srcPort: 40000,
      dstPort: 80,
      seq: seq(1000),
      ack: seq(0),
      flags: SYN,
      window: 65535,
      urgentPointer: 0,
      options: { mss: 1400 },
      payload: new Uint8Array(0),
    },
    syn,
    n,
  );
  /** The flags of the first answer to a SYN sent before `listen(80)`, which comes 50 ms later. */
  const answer = async (hold: boolean): Promise<number> => {
    const ep = await openTouEndpoint({ hostname: "127.0.0.1", port: 0, hold });
    const peer = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const reply = peer.receive();
      peer.send(syn.subarray(0, len), ep.addr);
      await new Promise((r) => setTimeout(r, 50)); // several event-loop turns: held or answered
      const l = ep.listen({ tcpPort: 80 });
      ep.serve?.();
      const d = await within(5_000, "an answer to the SYN", reply);
      l.close();
      const seg = decodeSegment(d.data.subarray(n), true);
      if (seg instanceof Error) throw seg;
      return seg.flags;
    } finally {
      peer.close();
      await ep.close({ graceMs: 0 });
    }
  };
  assert.equal(await answer(false), RST | ACK, "without hold: no listener yet, a RST");
  assert.equal(await answer(true), SYN | ACK, "held: the listener answers");
});

Deno.test("openTouEndpoint runs BBR with the tunnel's loss tolerance unless the TCP options name others (issue 9: the tunnel's default differs from the library's)", async () => {
  assert.equal(TUNNEL_DEFAULT_CONGESTION, "bbr");
  assert.notEqual(LIBRARY_DEFAULT_CONGESTION, TUNNEL_DEFAULT_CONGESTION);
  const plain = await openTouEndpoint({ hostname: "127.0.0.1", port: 0 });
  const chosen = await openTouEndpoint({
    hostname: "127.0.0.1",
    port: 0,
    tcp: { congestionControl: "newreno", lossTolerance: 3 },
  });
  try {
    assert.equal(plain.options.congestionControl, TUNNEL_DEFAULT_CONGESTION);
    assert.equal(plain.options.lossTolerance, TUNNEL_DEFAULT_LOSS_TOLERANCE);
    assert.equal(chosen.options.congestionControl, "newreno");
    assert.equal(chosen.options.lossTolerance, 3);
  } finally {
    await plain.close();
    await chosen.close();
  }
});
