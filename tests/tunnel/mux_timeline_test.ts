/**
 * The request path of a multiplexed tunnel session (`tou client --mux`) on
 * virtual time: two stacks on a simulated 40 ms path, configured as the
 * tunnel configures them, with a client and a server `MuxSession` over one
 * established connection. A new stream costs no handshake: its OPEN and its
 * request leave in one datagram, the answer (with its FIN, and the ACK of
 * the request) comes back in one, so the first byte of a new stream's answer
 * arrives one round trip after the application wrote the request. The
 * session adds no timer and no datagram of its own.
 */
import assert from "node:assert/strict";
import { createTestbed, type Testbed } from "../../src/testing/mod.ts";
import type { Stack } from "../../src/stack/stack.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import { ACK, FIN, PSH, SYN } from "../../src/wire/tcp_flags.ts";
import { MuxSession } from "../../src/tunnel/mux_session.ts";
import type { MuxStream } from "../../src/tunnel/mux_stream.ts";
import type { TunnelConn } from "../../src/tunnel/transport.ts";

const D = 20; // one-way delay, ms: a 40 ms RTT
const SERVER = { hostname: "127.0.0.1", port: 7000 };
const MUX_TCP_PORT = 65535;
const REQUEST = new Uint8Array(120).fill(0x71);
const RESPONSE = new Uint8Array(300).fill(0x72);

interface Seen {
  t: number;
  from: "C" | "S";
  flags: number;
  len: number;
}

function flagText(f: number): string {
  return (f & SYN ? "S" : "") + (f & FIN ? "F" : "") + (f & PSH ? "P" : "") + (f & ACK ? "." : "");
}

/**
 * A stack connection as the `TunnelConn` a session needs: reads wait for
 * "readable"/"eof", writes take what fits (the testbed's buffers are large
 * enough for this test), `tryWrite` as `TouConn.tryWrite`.
 */
function asTunnelConn(sc: StackConnection): TunnelConn {
  let waiter: (() => void) | undefined;
  let eof = false;
  sc.onEvent = (ev) => {
    if (ev.type === "eof") eof = true;
    if (ev.type === "readable" || ev.type === "eof" || ev.type === "error") {
      const w = waiter;
      waiter = undefined;
      w?.();
    }
  };
  const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  const conn = {
    localAddr: addr,
    remoteAddr: addr,
    async read(p: Uint8Array): Promise<number | null> {
      for (;;) {
        const n = sc.read(p);
        if (n > 0) return n;
        if (n < 0 || eof) return null;
        await new Promise<void>((r) => waiter = r);
      }
    },
    write: (p: Uint8Array) => Promise.resolve(sc.write(p)),
    tryWrite: (p: Uint8Array) => sc.write(p),
    closeWrite: () => Promise.resolve(sc.closeWrite()),
    close: () => sc.close(),
    abort: () => sc.abort(),
  };
  return conn as unknown as TunnelConn;
}

/** Lets the sessions' promise chains run (no virtual time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Advances virtual time in 1 ms steps, letting promise chains run after each. */
async function advance(tb: Testbed, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    tb.advance(1);
    await settle();
  }
}

function setup(): { tb: Testbed; client: Stack; log: Seen[] } {
  const tcp = { noDelay: true, lazyAcks: true }; // as the tunnel's endpoints
  const tb = createTestbed({ tcp, link: { delay: D }, batch: true });
  const client = tb.addStack({ hostname: "127.0.0.2", tcp, batch: true });
  const log: Seen[] = [];
  client.tracer = {
    onSegment: (now, dir, _p, seg: TcpSegment) =>
      dir === "out" && log.push({ t: now, from: "C", flags: seg.flags, len: seg.payload.length }),
  };
  tb.tracer = {
    onSegment: (now, dir, _p, seg: TcpSegment) =>
      dir === "out" && log.push({ t: now, from: "S", flags: seg.flags, len: seg.payload.length }),
  };
  return { tb, client, log };
}

Deno.test("mux timeline: a new stream's request and answer take one datagram each way, the first byte one round trip after the write", async () => {
  const { tb, client, log } = setup();
  const l = tb.stack.listen(MUX_TCP_PORT);
  // the server relay: each stream's answer as soon as its request is in, then its FIN
  const served: MuxStream[] = [];
  l.onAcceptable = () => {
    const sc = l.accept()!;
    new MuxSession(asTunnelConn(sc), "server", (s) => {
      served.push(s);
      void (async () => {
        const buf = new Uint8Array(4096);
        let got = 0;
        while (got < REQUEST.length) got += (await s.read(buf)) ?? REQUEST.length;
        await s.write(RESPONSE);
        await s.closeWrite();
      })();
    });
  };
  const sc = client.connect(SERVER, MUX_TCP_PORT);
  const session = new MuxSession(asTunnelConn(sc), "client");
  await advance(tb, 10 * D); // handshake and the preface
  assert.equal(sc.state, "ESTABLISHED");

  for (let round = 0; round < 3; round++) {
    log.length = 0;
    const t0 = tb.now;
    const s = session.open(80);
    await s.write(REQUEST);
    let firstByteAt = -1;
    const got = (async () => {
      const buf = new Uint8Array(4096);
      let n = 0;
      for (;;) {
        const r = await s.read(buf);
        if (r === null) return n;
        if (firstByteAt < 0) firstByteAt = tb.now;
        n += r;
      }
    })();
    await advance(tb, 2 * D + 1);
    const story = log.map((e) => `+${e.t - t0}ms ${e.from} ${flagText(e.flags)} len ${e.len}`)
      .join("\n");
    assert.equal(await got, RESPONSE.length, story);
    assert.equal(firstByteAt - t0, 2 * D, story); // one round trip: no handshake
    // C: OPEN + DATA (8 + 2 + 8 + 120 bytes); S: DATA + FIN frames (8 + 300 + 8), carrying
    // the ACK of the request; nothing else within the round trip
    assert.deepEqual(
      log.map((e) => [e.t - t0, e.from, flagText(e.flags), e.len]),
      [
        [0, "C", "P.", 10 + 8 + REQUEST.length],
        [D, "S", "P.", 8 + RESPONSE.length + 8],
      ],
      story,
    );
    await s.closeWrite();
    s.close();
    await advance(tb, 2 * D + 50);
  }
  assert.equal(served.length, 3);
  session.abort();
  tb.close();
});
