/**
 * `tou lab` scenarios: each shows the seeds' behaviour it promises, read off
 * the timeline and findings of a real run of tou's stack on the simulator.
 */
import assert from "node:assert/strict";
import { findScenario, type LabReport, runScenario, SCENARIOS } from "../../src/lab/mod.ts";

function run(name: string): LabReport & { text: string } {
  const s = findScenario(name);
  assert.ok(s, name);
  const r = runScenario(s);
  return { ...r, text: [...r.timeline, ...r.findings].join("\n") };
}

/** The states host `who` went through, in order, on the timeline. */
function states(r: LabReport, who: string, port: string): string[] {
  const out: string[] = [];
  for (const l of r.timeline) {
    const m = new RegExp(`  ${who} +:${port}\\S* (\\w+) → (\\w+)`).exec(l);
    if (m) {
      if (out.length === 0) out.push(m[1]);
      out.push(m[2]);
    }
  }
  return out;
}

Deno.test("lab handshake shows SYN, SYN-ACK, ACK and both sides ESTABLISHED", () => {
  const r = run("handshake");
  assert.deepEqual(states(r, "client", "40000"), ["CLOSED", "SYN_SENT", "ESTABLISHED"]);
  assert.deepEqual(states(r, "server", "80"), ["LISTEN", "SYN_RCVD", "ESTABLISHED"]);
  assert.match(r.text, /Flags \[S\], seq 1000,/);
  assert.match(r.text, /Flags \[S\.\], seq 5000, ack 1001,/);
  assert.match(r.text, /Flags \[\.\], seq 1001, ack 5001,/);
  assert.match(r.text, /client ESTABLISHED at 20 ms \(RTT 20 ms\), server at 30 ms/);
});

Deno.test("lab simultaneous-open takes both sides through SYN_RCVD without a listener", () => {
  const r = run("simultaneous-open");
  assert.deepEqual(states(r, "a", "5000"), ["CLOSED", "SYN_SENT", "SYN_RCVD", "ESTABLISHED"]);
  assert.deepEqual(states(r, "b", "6000"), ["CLOSED", "SYN_SENT", "SYN_RCVD", "ESTABLISHED"]);
});

Deno.test("lab syn-retries doubles the SYN timeout and gives up after 6 retransmissions", () => {
  const r = run("syn-retries");
  assert.ok(r.findings.includes("SYNs sent at 0 s, 1 s, 3 s, 7 s, 15 s, 31 s, 63 s"), r.text);
  assert.match(r.text, /timed_out: timed out after 6 SYN retransmissions/);
});

Deno.test("lab refused answers a SYN to a closed port with RST and the client sees refused", () => {
  const r = run("refused");
  assert.match(r.text, /Flags \[R\.\], seq 0, ack 1001/);
  assert.match(r.text, /client error: refused/);
});

Deno.test("lab close walks the four-way close and holds TIME_WAIT for 2·MSL", () => {
  const r = run("close");
  assert.deepEqual(states(r, "client", "40000"), [
    "CLOSED",
    "SYN_SENT",
    "ESTABLISHED",
    "FIN_WAIT_1",
    "FIN_WAIT_2",
    "TIME_WAIT",
    "CLOSED",
  ]);
  assert.deepEqual(states(r, "server", "80"), [
    "LISTEN",
    "SYN_RCVD",
    "ESTABLISHED",
    "CLOSE_WAIT",
    "LAST_ACK",
    "CLOSED",
  ]);
  assert.match(r.text, /the server read "bye" and then EOF/);
  assert.match(r.text, /TIME_WAIT from 0\.560 s to 60\.560 s: 60 s = 2·MSL/);
});

Deno.test("lab simultaneous-close takes both sides through CLOSING to TIME_WAIT", () => {
  const r = run("simultaneous-close");
  for (const [who, port] of [["client", "40000"], ["server", "80"]]) {
    assert.deepEqual(states(r, who, port).slice(-4), [
      "ESTABLISHED",
      "FIN_WAIT_1",
      "CLOSING",
      "TIME_WAIT",
    ]);
  }
});

Deno.test("lab half-close keeps data flowing to the side that sent FIN", () => {
  const r = run("half-close");
  assert.match(r.text, /the server got "request" \+ EOF and still sent "reply-1 reply-2 reply-3"/);
  assert.match(r.text, /stayed in FIN_WAIT_2 .* while the server sent 3 data segments/);
});

Deno.test("lab time-wait re-ACKs the retransmitted FIN and restarts 2·MSL", () => {
  const r = run("time-wait");
  assert.match(r.text, /✗ lost on the way \(the client's last ACK\)/);
  assert.match(r.text, /the server sent its FIN 2 times; the server ended CLOSED with no error/);
  assert.match(r.text, /left at 60\.360 s: 2·MSL after the retransmitted FIN arrived \(0\.360 s\)/);
});

Deno.test("lab reuseaddr refuses the TIME_WAIT port unless reuseAddress, and the 4-tuple always", () => {
  const r = run("reuseaddr");
  assert.equal(r.findings[0], "server connection state: TIME_WAIT");
  assert.match(r.findings[1], /^listen\(80\): .*address in use.*TIME_WAIT/);
  assert.equal(r.findings[2], "listen(80, { reuseAddress: true }): ok");
  assert.match(r.findings[3], /4-tuple is in use \(TIME_WAIT\)/);
});

Deno.test("lab backlog drops the final ACK and the SYN when the accept queue is full", () => {
  const r = run("backlog");
  assert.match(
    r.text,
    /clients ESTABLISHED, ESTABLISHED, ESTABLISHED, SYN_SENT; server side ESTABLISHED, ESTABLISHED, SYN_RCVD, none/,
  );
  assert.match(r.text, /2 connections wait in the accept queue/);
  assert.match(r.text, /listenOverflows\): [1-9]/);
  assert.match(r.text, /listenDrops\): [1-9]/);
  assert.doesNotMatch(r.text, /client[34] ESTABLISHED on the server at never/);
  assert.doesNotMatch(r.text, /client4 at never/);
});

Deno.test("lab syn-flood fills the SYN queue and the client gets in once it drains", () => {
  const r = run("syn-flood");
  assert.match(r.text, /SYN queue after the flood: 256 half-open connections; 44 .* dropped/);
  assert.match(r.text, /the client's SYNs dropped for a full SYN queue: 6/);
  assert.match(r.text, /the client reached ESTABLISHED at 63\.\d+ s/);
});

Deno.test("lab retransmission shows duplicate ACKs, a fast retransmit and an RTO", () => {
  const r = run("retransmission");
  assert.match(r.text, /sack \{/);
  // the RTO printed is the one after the episode: Karn keeps its backoff (RFC 6298 §5)
  assert.match(r.text, /retransmitted at 0\.550 s \(RTO 400 ms/);
  assert.match(r.text, /retransmissions in all: 2; the server received 11524 bytes/);
});

Deno.test("lab zero-window advertises win 0, probes with backoff and resumes", () => {
  const r = run("zero-window");
  assert.match(r.text, /win 0,/);
  assert.match(r.text, /window probes sent by the client while the window was closed: [2-9]/);
  assert.match(r.text, /the server got 20000 of 20000 bytes/);
});

Deno.test("lab keepalive probes an idle peer and times out a dead one", () => {
  const r = run("keepalive");
  assert.match(r.text, /keepalive probes answered while the server was alive: 1/);
  assert.match(r.text, /timed_out: keepalive: peer dead after 3 probes/);
});

Deno.test("lab resets sends RST for close() with unread data and for abort()", () => {
  const r = run("resets");
  assert.match(r.findings[0], /client: CLOSED, error reset/);
  assert.match(r.findings[1], /server error reset/);
  assert.doesNotMatch(r.text, /TIME_WAIT/);
});

Deno.test("lab udp-connect shows filtering, ICMP errors only when connected, and AF_UNSPEC", () => {
  const r = run("udp-connect");
  assert.match(r.text, /datagrams sent by connect\(\): 0/);
  assert.match(r.text, /the port-unreachable notice is ignored: the socket is not connected/);
  assert.match(r.text, /drops a datagram from server2: not the connected peer/);
  assert.match(r.text, /errors the client saw: ConnectionRefused, DestinationAddressRequired/);
  assert.match(r.text, /receives "unsolicited" from server2/);
});

Deno.test("lab scenarios are deterministic and each prints findings", () => {
  for (const s of SCENARIOS) {
    const a = runScenario(s), b = runScenario(s);
    assert.deepEqual(a.timeline, b.timeline, s.name);
    assert.ok(a.findings.length > 0, s.name);
    assert.ok(!a.findings.some((f) => f.includes("undefined")), `${s.name}: ${a.findings}`);
  }
});
