import assert from "node:assert/strict";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { describeSegment, TracingSocket } from "../../src/tunnel/trace_socket.ts";
import { emitEnvelope, EnvelopeType } from "../../src/wire/envelope.ts";
import { emit, segment } from "../wire/_segments.ts";

function datagram(type: EnvelopeType, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  emitEnvelope(type, 0, out);
  out.set(body, 4);
  return out;
}

Deno.test("TracingSocket reports decodable TCP segments both ways and passes every datagram on", () => {
  const clock = new VirtualClock({ seed: 3 });
  const net = new SimNetwork(clock, { seed: 3 });
  const seen: string[] = [];
  const a = new TracingSocket(
    net.bind({ hostname: "10.0.0.1", port: 1 }),
    (dir, peer, seg) => seen.push(`a ${dir} ${peer.port} ${describeSegment(seg)}`),
  );
  const b = new TracingSocket(
    net.bind({ hostname: "10.0.0.2", port: 2 }),
    (dir, peer, seg) => seen.push(`b ${dir} ${peer.port} ${describeSegment(seg)}`),
  );
  const got: number[] = [];
  b.setHandler((data) => got.push(data.length));
  const to = { hostname: "10.0.0.2", port: 2 };
  const tcp = datagram(EnvelopeType.TCP_SEGMENT, emit(segment({ srcPort: 7, dstPort: 8 })));
  a.send(tcp, to);
  a.send(datagram(EnvelopeType.SEALED, new Uint8Array(10)), to); // not a segment: passed, not reported
  a.send(new Uint8Array([0xff, 0xff]), to); // malformed: passed, not reported, no throw
  a.send(datagram(EnvelopeType.TCP_SEGMENT, new Uint8Array(5)), to);
  clock.runUntilIdle();
  assert.deepEqual(got, [tcp.length, 14, 2, 9]);
  assert.equal(seen.length, 2);
  assert.match(seen[0], /^a out 2 7 > 8: Flags \[\.\]/);
  assert.match(seen[1], /^b in 1 7 > 8: Flags \[\.\]/);
  a.close();
  b.close();
});
