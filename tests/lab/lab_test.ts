/**
 * `tou lab` scenarios: each shows the seeds' behaviour it promises, read off
 * the timeline and findings of a real run of tou's stack on the simulator.
 */
import assert from "node:assert/strict";
import { findScenario, type LabReport, runScenario, SCENARIOS } from "../../src/lab/mod.ts";
import { formatFlags } from "../../src/wire/tcp_flags.ts";

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

/** Every segment of a report, compactly: "time from>to [flags] seq ack len", lost/arrival marked. */
function segmentLog(r: LabReport): string[] {
  return r.segments.map((s) =>
    `${s.time} ${s.from}>${s.to} [${formatFlags(s.flags)}] ${s.seq} ${s.ack} ${s.len}` +
    (s.lost ? " lost" : "") + (s.arrived === undefined ? "" : ` @${s.arrived}`)
  );
}

/** Every state change of a report: "time who from>to". */
function stateLog(r: LabReport): string[] {
  return r.states.map((s) => `${s.time} ${s.who} ${s.from}>${s.to}`);
}

Deno.test("lab self-connect: a port connecting to itself completes as a simultaneous open", () => {
  const r = run("self-connect");
  assert.deepEqual(segmentLog(r), [
    "0 host>host [S] 1000 0 0 @10",
    "10 host>host [S.] 1000 1001 0 @20",
    "20 host>host [.] 1001 1001 0 @30",
    "100 host>host [P.] 1001 1001 9 @110",
    "150 host>host [.] 1010 1010 0 @160",
    "200 host>host [F.] 1010 1010 0 @210",
    "210 host>host [.] 1011 1011 0 @220",
  ]);
  assert.deepEqual(stateLog(r), [
    "0 host CLOSED>SYN_SENT",
    "10 host SYN_SENT>SYN_RCVD",
    "20 host SYN_RCVD>ESTABLISHED",
    "200 host ESTABLISHED>FIN_WAIT_1",
    "210 host FIN_WAIT_1>CLOSING",
    "220 host CLOSING>TIME_WAIT",
  ]);
  assert.match(r.text, /SYN_SENT → SYN_RCVD {2}\(SYN received \(simultaneous open\)\)/);
  assert.match(r.text, /it read back "hello, me"/);
});

Deno.test("lab short-time-wait: with TIME_WAIT cut to 20 ms the retransmitted FIN meets a RST", () => {
  const r = run("short-time-wait");
  assert.deepEqual(segmentLog(r), [
    "0 client>server [S] 1000 0 0 @10",
    "10 server>client [S.] 5000 1001 0 @20",
    "20 client>server [.] 1001 5001 0 @30",
    "30 client>server [F.] 1001 5001 0 @40",
    "40 server>client [.] 5001 1002 0 @50",
    "130 server>client [F.] 5001 1002 0 @140",
    "140 client>server [.] 1002 5002 0 lost",
    "330 server>client [F.] 5001 1002 0 @340",
    "340 client>server [R] 1002 0 0 @350",
  ]);
  assert.deepEqual(stateLog(r), [
    "0 client CLOSED>SYN_SENT",
    "10 server LISTEN>SYN_RCVD",
    "20 client SYN_SENT>ESTABLISHED",
    "30 server SYN_RCVD>ESTABLISHED",
    "30 client ESTABLISHED>FIN_WAIT_1",
    "40 server ESTABLISHED>CLOSE_WAIT",
    "50 client FIN_WAIT_1>FIN_WAIT_2",
    "130 server CLOSE_WAIT>LAST_ACK",
    "140 client FIN_WAIT_2>TIME_WAIT",
    "160 client TIME_WAIT>CLOSED",
    "350 server LAST_ACK>CLOSED",
  ]);
  assert.equal(r.states.at(-1)?.cause, "RST received");
});

Deno.test("lab isn: RFC 6528 ISNs differ per 4-tuple and advance 250 per ms on the same one", () => {
  const r = run("isn");
  const syns = r.segments.filter((s) => s.flags === 0x02);
  assert.deepEqual(syns.map((s) => `${s.time} ${s.srcPort} ${s.seq}`), [
    "0 40000 2585279775",
    "0 40001 3585302708",
    "1000 40000 2585529775",
  ]);
  assert.equal((syns[2].seq - syns[0].seq) >>> 0, 250_000);
  const synAcks = r.segments.filter((s) => s.flags === 0x12).map((s) => s.seq);
  assert.deepEqual(synAcks, [2330904324, 2603233681, 2331154324]);
  assert.deepEqual(
    stateLog(r).filter((l) => l.includes(" client ")).map((l) => l.split(" ").slice(2).join(" ")),
    [
      "CLOSED>SYN_SENT",
      "CLOSED>SYN_SENT",
      "SYN_SENT>ESTABLISHED",
      "SYN_SENT>ESTABLISHED",
      "ESTABLISHED>FIN_WAIT_1",
      "ESTABLISHED>FIN_WAIT_1",
      "FIN_WAIT_1>FIN_WAIT_2",
      "FIN_WAIT_1>FIN_WAIT_2",
      "FIN_WAIT_2>TIME_WAIT",
      "FIN_WAIT_2>TIME_WAIT",
      "TIME_WAIT>CLOSED",
      "TIME_WAIT>CLOSED",
      "CLOSED>SYN_SENT",
      "SYN_SENT>ESTABLISHED",
      "ESTABLISHED>FIN_WAIT_1",
      "FIN_WAIT_1>FIN_WAIT_2",
      "FIN_WAIT_2>TIME_WAIT",
      "TIME_WAIT>CLOSED",
    ],
  );
  assert.match(r.text, /250000 = 250 × 1000 ms later/);
});

Deno.test("lab old-duplicate: a held-back segment of the old connection corrupts the new one", () => {
  const r = run("old-duplicate");
  // The control segments and the held-back one, exactly; the data in between by count.
  const control = segmentLog(r).filter((l) => /\[(S|S\.|F\.|R)\]/.test(l));
  assert.deepEqual(control, [
    "0 client>server [S] 2585279775 0 0 @10",
    "10 server>client [S.] 2330904324 2585279776 0 @20",
    "110 client>server [F.] 2585348320 2330904325 0 @120",
    "140 server>client [F.] 2330904325 2585348321 0 @150",
    "170 client>server [S] 2585322275 0 0 @180",
    "180 server>client [S.] 2330946824 2585322276 0 @190",
    "570 client>server [F.] 2585390820 2330946825 0 @580",
    "670 server>client [F.] 2330946825 2585390821 0 @680",
  ]);
  const held = r.segments.filter((s) => s.seq === 2585335468 && s.len === 1428);
  assert.deepEqual(held.map((s) => `${s.time}@${s.arrived}`), ["70@430", "90@100"]);
  assert.equal(r.segments.filter((s) => s.from === "client" && s.len > 0).length, 48 + 1 + 48);
  assert.deepEqual(
    stateLog(r).filter((l) => l.includes(" client ")).map((l) => l.split(" ").slice(2).join(" ")),
    [
      "CLOSED>SYN_SENT",
      "SYN_SENT>ESTABLISHED",
      "ESTABLISHED>FIN_WAIT_1",
      "FIN_WAIT_1>FIN_WAIT_2",
      "FIN_WAIT_2>TIME_WAIT",
      "TIME_WAIT>CLOSED",
      "CLOSED>SYN_SENT",
      "SYN_SENT>ESTABLISHED",
      "ESTABLISHED>FIN_WAIT_1",
      "FIN_WAIT_1>FIN_WAIT_2",
      "FIN_WAIT_2>TIME_WAIT",
      "TIME_WAIT>CLOSED",
    ],
  );
  assert.match(r.text, /the old seq 2585335468 is inside the new receive window/);
  assert.match(r.text, /read 68544 bytes of the new connection, 340 of them "O" from the old one/);
});

Deno.test("every lab scenario runs under --loss/--delay/--reorder/--seed and reports the change", () => {
  for (const s of SCENARIOS) {
    const r = runScenario(s, { loss: 0.05, delay: 25, reorder: 0.1, seed: 3 });
    assert.ok(r.findings.length > 0, s.name);
  }
  const slow = runScenario(findScenario("handshake")!, { delay: 50 });
  assert.match(slow.findings.join("\n"), /client ESTABLISHED at 100 ms \(RTT 100 ms\)/);
  const lossy = runScenario(findScenario("close")!, { loss: 0.2, seed: 3 });
  assert.ok(lossy.timeline.some((l) => l.includes("✗ lost on the way (network loss)")));
});
