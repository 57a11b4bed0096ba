import assert from "node:assert/strict";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { PcapSocket, PcapWriter } from "../../src/udp/pcap_socket.ts";
import { emitEnvelope, EnvelopeType } from "../../src/wire/envelope.ts";
import { parseIpTcpPacket, parsePcap } from "../../src/wire/pcap.ts";
import { emit, segment } from "../wire/_segments.ts";

/** A tou datagram: envelope + the segment. */
function datagram(srcPort: number): Uint8Array {
  const seg = emit(segment({ srcPort }));
  const d = new Uint8Array(4 + seg.length);
  emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, d);
  d.set(seg, 4);
  return d;
}

function setup(capture: "both" | "out") {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock, { seed: 1 });
  net.setLink("*", "*", { delay: 5 });
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((b) => chunks.push(b.slice()));
  const a = new PcapSocket(net.bind({ hostname: "10.0.0.1", port: 1000 }), writer, {
    now: () => clock.now(),
    capture,
  });
  const b = net.bind({ hostname: "2001:db8::2", port: 2000 });
  const b4 = net.bind({ hostname: "10.0.0.2", port: 2000 });
  const got: number[] = [];
  a.setHandler((data) => got.push(data.length));
  b.setHandler(() => {});
  b4.setHandler(() => {});
  const records = () => {
    writer.flush();
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) all.set(c, (o += c.length) - c.length);
    const r = parsePcap(all);
    assert.ok(r.ok);
    return r.value.records.map((x) => ({ t: x.timeMs, ...parseIpTcpPacket(x.data)! }));
  };
  return { clock, a, b4, writer, got, records };
}

Deno.test("PcapSocket records segments both ways with the UDP hosts as IP addresses", () => {
  const { clock, a, b4, got, records, writer } = setup("both");
  a.send(datagram(1), { hostname: "10.0.0.2", port: 2000 });
  clock.advance(10);
  b4.send(datagram(2), { hostname: "10.0.0.1", port: 1000 });
  b4.send(new Uint8Array([0x00, 0x80, 0, 0, 1, 2, 3]), { hostname: "10.0.0.1", port: 1000 }); // sealed: skipped
  clock.advance(10);
  assert.deepEqual(got.length, 2, "datagrams pass through");
  const r = records();
  assert.deepEqual(r.map((x) => [x.t, x.src, x.dst, x.segment[1]]), [
    [0, "10.0.0.1", "10.0.0.2", 1],
    [15, "10.0.0.2", "10.0.0.1", 2],
  ]);
  assert.equal(writer.packets, 2);
  a.close();
  writer.segment(
    0,
    { hostname: "10.0.0.1", port: 1 },
    { hostname: "10.0.0.2", port: 2 },
    emit(segment()),
  );
  assert.equal(writer.packets, 2, "closing the socket closed the writer it owns");
});

Deno.test('PcapSocket capture "out" records only what it sends', () => {
  const { clock, a, b4, records } = setup("out");
  a.send(datagram(1), { hostname: "10.0.0.2", port: 2000 });
  b4.send(datagram(2), { hostname: "10.0.0.1", port: 1000 });
  clock.advance(10);
  assert.deepEqual(records().map((x) => x.segment[1]), [1]);
});

Deno.test("PcapSocket above a seal writes valid checksums for segments sent without one", async () => {
  const { SealedSocket } = await import("../../src/seal/sealed_socket.ts");
  const { Stack } = await import("../../src/stack/stack.ts");
  const { onesComplementSum } = await import("../../src/wire/checksum.ts");
  const clock = new VirtualClock({ seed: 2, start: 1_700_000_000_000 });
  const net = new SimNetwork(clock, { seed: 2 });
  net.setLink("*", "*", { delay: 5 });
  const opts = {
    psk: new Uint8Array(32).fill(1),
    now: () => clock.now(),
    randomBytes: (b: Uint8Array) => clock.randomBytes(b),
  };
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((b) => chunks.push(b.slice()));
  const captured = new PcapSocket(
    new SealedSocket(net.bind({ hostname: "10.0.0.1", port: 1000 }), {
      ...opts,
      role: "responder",
    }),
    writer,
    { now: () => clock.now() },
  );
  assert.equal(captured.authenticated, true);
  const server = new Stack(captured, clock);
  const client = new Stack(
    new SealedSocket(net.bind({ hostname: "10.0.0.2", port: 2000 }), {
      ...opts,
      role: "initiator",
    }),
    clock,
  );
  const l = server.listen(80);
  const c = client.connect({ hostname: "10.0.0.1", port: 1000 }, 80);
  clock.advance(100);
  c.write(new TextEncoder().encode("hello"));
  clock.advance(100);
  assert.equal(l.accept()?.readable, 5);
  writer.flush();
  const all = new Uint8Array(chunks.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of chunks) all.set(x, (o += x.length) - x.length);
  const r = parsePcap(all);
  assert.ok(r.ok);
  assert.ok(r.value.records.length >= 4, `${r.value.records.length} records`);
  for (const rec of r.value.records) {
    const ip = rec.data;
    const tcp = ip.subarray(20);
    const pseudo = new Uint8Array(12);
    pseudo.set(ip.subarray(12, 20));
    pseudo[9] = 6;
    pseudo[10] = tcp.length >> 8;
    pseudo[11] = tcp.length & 0xff;
    assert.equal(onesComplementSum(tcp, onesComplementSum(pseudo)), 0xffff, "valid for tshark");
  }
  server.close();
  client.close();
});
