import assert from "node:assert/strict";
import { findScenario, runScenario } from "../../src/lab/mod.ts";
import { PcapWriter } from "../../src/udp/pcap_socket.ts";
import { ladderFromPcap } from "../../src/viz/from_pcap.ts";
import { pcapFileHeader } from "../../src/wire/pcap.ts";
import { diagramOf } from "../../cli/diagram.ts";
import { parseSvg } from "./_svg.ts";

/** Runs a lab scenario with a capture on the client host and returns the pcap bytes. */
function capture(name: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  const pcap = new PcapWriter((b) => chunks.push(b.slice()));
  runScenario(findScenario(name)!, { pcap });
  pcap.close();
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) all.set(c, (o += c.length) - c.length);
  return all;
}

Deno.test("the states inferred from a capture of the four-way close are the lab's own", () => {
  const { ladder, paths } = ladderFromPcap(capture("close"));
  assert.deepEqual(ladder.hosts, ["127.0.0.2:40000", "127.0.0.1:80"]);
  const path = (i: number) => paths[i].transitions.map(([a, b]) => `${a}>${b}`).join(" ");
  assert.equal(
    path(0),
    "CLOSED>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT_1 FIN_WAIT_1>FIN_WAIT_2 FIN_WAIT_2>TIME_WAIT",
  );
  assert.equal(
    path(1),
    "CLOSED>LISTEN LISTEN>SYN_RCVD SYN_RCVD>ESTABLISHED ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSED",
  );
  // Relative sequence numbers, as Wireshark shows them.
  assert.deepEqual(ladder.segments.slice(0, 3).map((s) => [s.seq, s.ack]), [[0, 0], [0, 1], [
    1,
    1,
  ]]);
});

Deno.test("simultaneous open and close are inferred through SYN_RCVD and CLOSING", () => {
  const { paths } = ladderFromPcap(capture("simultaneous-open"));
  assert.ok(paths[0].transitions.some(([a, b]) => a === "SYN_SENT" && b === "SYN_RCVD"));
  const close = ladderFromPcap(capture("simultaneous-close")).paths;
  assert.ok(
    close.some((p) => p.transitions.some(([a, b]) => a === "FIN_WAIT_1" && b === "CLOSING")),
  );
});

Deno.test("tou diagram draws a pcap and a lab report, and refuses anything else", () => {
  const fromPcap = parseSvg(diagramOf(capture("handshake"), "x.pcap"));
  assert.equal(fromPcap.getElementsByTagName("svg").length, 2);
  const report = new TextEncoder().encode(JSON.stringify(runScenario(findScenario("handshake")!)));
  assert.equal(parseSvg(diagramOf(report, "r.json")).getElementsByTagName("svg").length, 2);
  assert.throws(() => diagramOf(new TextEncoder().encode("hello"), "h.txt"), /neither a pcap/);
  assert.throws(() => diagramOf(pcapFileHeader(), "empty.pcap"), /no TCP segment/);
});
