/**
 * The request/response path of the tunnel on virtual time, two stacks
 * configured as the tunnel configures them (noDelay, Fast Open): a small
 * request and its answer cost one datagram each way, the answer carries the
 * ACK of the request (no Nagle or delayed-ACK wait on the way), and a new
 * connection's answer arrives one round trip after the request was written.
 * The server "application" answers as soon as the request is readable, as
 * the server relay does once the target answered.
 */
import assert from "node:assert/strict";
import { createTestbed, type Testbed } from "../../src/testing/mod.ts";
import { FastOpenCache } from "../../src/stack/fast_open_cookies.ts";
import type { Stack } from "../../src/stack/stack.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import { ACK, FIN, PSH, SYN } from "../../src/wire/tcp_flags.ts";

const D = 20; // one-way delay, ms: a 40 ms RTT
const SERVER = { hostname: "127.0.0.1", port: 7000 };
const REQUEST = new Uint8Array(120).fill(0x71);
const RESPONSE = new Uint8Array(300).fill(0x72);

interface Seen {
  t: number;
  from: "C" | "S";
  seg: TcpSegment;
}

/** A copy to keep: a segment's payload is a view valid only during the tracer call (`StackTracer.onSegment`). */
function kept(seg: TcpSegment): TcpSegment {
  return { ...seg, payload: seg.payload.slice() };
}

function flagText(f: number): string {
  return (f & SYN ? "S" : "") + (f & FIN ? "F" : "") + (f & PSH ? "P" : "") + (f & ACK ? "." : "");
}

/** The timeline, one line per segment, for the failure message. */
function timeline(log: Seen[], t0: number): string {
  return log.map((e) =>
    `+${e.t - t0}ms ${e.from} ${flagText(e.seg.flags)} len ${e.seg.payload.length}`
  )
    .join("\n");
}

function setup(
  opts: { lazyAcks?: boolean; batch?: boolean } = {},
): { tb: Testbed; client: Stack; log: Seen[] } {
  const tcp = { noDelay: true, lazyAcks: opts.lazyAcks ?? false }; // as the tunnel's endpoints
  const batch = opts.batch ?? false; // receive batches and deferred drains, as on real sockets
  const tb = createTestbed({ tcp, stack: { fastOpen: true }, link: { delay: D }, batch });
  const client = tb.addStack({
    hostname: "127.0.0.2",
    tcp,
    fastOpenCache: new FastOpenCache(),
    batch,
  });
  const log: Seen[] = [];
  client.tracer = {
    onSegment: (now, dir, _p, seg) =>
      dir === "out" && log.push({ t: now, from: "C", seg: kept(seg) }),
  };
  tb.tracer = {
    onSegment: (now, dir, _p, seg) =>
      dir === "out" && log.push({ t: now, from: "S", seg: kept(seg) }),
  };
  return { tb, client, log };
}

/** The server application: answers each request as soon as it is readable. */
function answerRequests(sc: StackConnection): void {
  const buf = new Uint8Array(4096);
  const answer = () => {
    let got = 0;
    for (let n = sc.read(buf); n > 0; n = sc.read(buf)) got += n;
    if (got > 0) sc.write(RESPONSE);
  };
  sc.onEvent = (ev) => {
    if (ev.type === "readable") answer();
  };
  answer();
}

function readAll(sc: StackConnection): number {
  const buf = new Uint8Array(4096);
  let got = 0;
  for (let n = sc.read(buf); n > 0; n = sc.read(buf)) got += n;
  return got;
}

Deno.test("request timeline: on a kept-alive connection a request and its answer take one datagram each way, the answer carrying the ACK", () => {
  const { tb, client, log } = setup();
  const l = tb.stack.listen(80);
  l.onAcceptable = () => answerRequests(l.accept()!);
  const c = client.connect(SERVER, 80);
  tb.advance(10 * D);
  assert.equal(c.state, "ESTABLISHED");
  log.length = 0;
  const t0 = tb.now;
  for (let i = 0; i < 3; i++) {
    // the next request is written as soon as the answer arrived (keep-alive)
    c.write(REQUEST);
    tb.advance(2 * D);
    assert.equal(readAll(c), RESPONSE.length, timeline(log, t0));
  }
  const story = timeline(log, t0);
  // 3 requests, 3 answers, nothing else: every ACK rode on data
  assert.equal(log.length, 6, story);
  for (let i = 0; i < 3; i++) {
    const req = log[2 * i], resp = log[2 * i + 1];
    assert.equal(req.from, "C", story);
    assert.equal(req.t, t0 + 2 * D * i, story); // sent when written: no Nagle wait
    assert.equal(req.seg.payload.length, REQUEST.length, story);
    assert.equal(resp.from, "S", story);
    assert.equal(resp.t, req.t + D, story); // answered on arrival: no delayed-ACK wait
    assert.equal(resp.seg.payload.length, RESPONSE.length, story);
    assert.equal(resp.seg.ack, (req.seg.seq + REQUEST.length) >>> 0, story); // piggybacked ACK
  }
  // the last answer is acknowledged by the client's delayed ACK (40 ms), alone
  tb.advance(50);
  assert.equal(log.length, 7, timeline(log, t0));
  assert.equal(log[6].seg.payload.length, 0);
  tb.close();
});

Deno.test("request timeline: with Fast Open a new connection's answer arrives one round trip after the request was written", () => {
  const { tb, client, log } = setup();
  const l = tb.stack.listen(80);
  l.onAcceptable = () => answerRequests(l.accept()!);
  // a first connection fetches the cookie
  const first = client.connect(SERVER, 80, { fastOpen: {} });
  tb.advance(4 * D);
  first.close();
  tb.advance(200);
  log.length = 0;
  const t0 = tb.now;
  const c = client.connect(SERVER, 80, { fastOpen: { holdSyn: true } });
  c.write(REQUEST);
  tb.advance(2 * D);
  const story = timeline(log, t0);
  assert.equal(readAll(c), RESPONSE.length, story);
  // C: SYN+request; S: SYN-ACK (acknowledging the request) and the answer, at once, with
  // no window-update ACK between them; C: one ACK for both, one round trip after the
  // request was written
  assert.deepEqual(
    log.map((e) => [e.t - t0, e.from, flagText(e.seg.flags), e.seg.payload.length]),
    [
      [0, "C", "SP", REQUEST.length],
      [D, "S", "S.", 0],
      [D, "S", "P.", RESPONSE.length],
      [2 * D, "C", ".", 0],
    ],
    story,
  );
  tb.close();
});

Deno.test("request timeline: a short tunnelled connection (Fast Open, answer then close) takes five datagrams: the FIN rides on the answer and the client's FIN carries every ACK", () => {
  const { tb, client, log } = setup({ lazyAcks: true, batch: true });
  const l = tb.stack.listen(80);
  // the server relay: answers the request, then the target's EOF half-closes in the same task
  l.onAcceptable = () => {
    const sc = l.accept()!;
    const buf = new Uint8Array(4096);
    const answer = () => {
      let got = 0;
      for (let n = sc.read(buf); n > 0; n = sc.read(buf)) got += n;
      if (got === 0) return;
      sc.write(RESPONSE);
      sc.closeWrite();
    };
    sc.onEvent = (ev) => {
      if (ev.type === "readable") answer();
      if (ev.type === "eof") sc.close();
    };
    answer();
  };
  const first = client.connect(SERVER, 80, { fastOpen: {} }); // fetches the cookie
  tb.advance(4 * D);
  first.close();
  tb.advance(2000);
  log.length = 0;
  const t0 = tb.now;
  const c = client.connect(SERVER, 80, { fastOpen: { holdSyn: true } });
  // the client relay: closes its side once the server's FIN (EOF) came
  c.onEvent = (ev) => {
    if (ev.type === "eof") {
      readAll(c);
      c.close();
    }
  };
  c.write(REQUEST);
  tb.advance(4 * D);
  const story = timeline(log, t0);
  assert.deepEqual(
    log.map((e) => [e.t - t0, e.from, flagText(e.seg.flags), e.seg.payload.length]),
    [
      [0, "C", "SP", REQUEST.length],
      [D, "S", "S.", 0],
      [D, "S", "FP.", RESPONSE.length], // the answer and the FIN: one segment
      // the client's FIN acknowledges the SYN-ACK, the answer and the server's FIN
      [2 * D, "C", "F.", 0],
      [3 * D, "S", ".", 0],
    ],
    story,
  );
  assert.equal(c.state, "CLOSED");
  tb.close();
});

Deno.test("request timeline: with lazyAcks a FIN the application does not answer with its own is ACKed when the delayed-ACK timer expires", () => {
  const { tb, client, log } = setup({ lazyAcks: true });
  const l = tb.stack.listen(80);
  const c = client.connect(SERVER, 80);
  tb.advance(4 * D);
  const s = l.accept()!;
  log.length = 0;
  const t0 = tb.now;
  s.closeWrite();
  tb.advance(D + 100);
  assert.equal(c.state, "CLOSE_WAIT");
  assert.deepEqual(
    log.map((e) => [e.t - t0, e.from, flagText(e.seg.flags)]),
    [[0, "S", "F."], [D + 40, "C", "."]], // 40 ms: the default delayedAck
    timeline(log, t0),
  );
  tb.close();
});

Deno.test("request timeline: with lazyAcks the ACK of a Fast Open SYN-ACK waits for the next segment, at most the delayed-ACK timeout", () => {
  const { tb, client, log } = setup({ lazyAcks: true });
  const l = tb.stack.listen(80);
  const first = client.connect(SERVER, 80, { fastOpen: {} }); // fetches the cookie
  tb.advance(4 * D);
  first.close();
  tb.advance(2000);
  log.length = 0;
  const t0 = tb.now;
  const c = client.connect(SERVER, 80, { fastOpen: { holdSyn: true } });
  c.write(REQUEST);
  tb.advance(2 * D + 60); // the server application never answers
  assert.ok(l.accept() !== undefined);
  assert.deepEqual(
    log.map((e) => [e.t - t0, e.from, flagText(e.seg.flags), e.seg.payload.length]),
    [
      [0, "C", "SP", REQUEST.length],
      [D, "S", "S.", 0],
      [2 * D + 40, "C", ".", 0], // the SYN-ACK's ACK, by the delayed-ACK timer (40 ms)
    ],
    timeline(log, t0),
  );
  // without lazyAcks it goes at once (the first Fast Open timeline above)
  assert.equal(c.state, "ESTABLISHED");
  tb.close();
});
