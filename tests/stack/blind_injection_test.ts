/**
 * RFC 5961 in the simulator: an off-path attacker who knows the 4-tuple
 * (addresses and ports) but not the sequence numbers injects RST, SYN and
 * data guesses, in and out of the window, into both ends of a transfer.
 * The stream's bytes stay intact (sha256), nothing is reset, and the
 * challenge ACKs stay within `challengeAckLimit` per second.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Stack } from "../../src/stack/stack.ts";
import type { StackConnection } from "../../src/stack/stack_connection.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import type { SimUdpSocket } from "../../src/sim/sim_udp_socket.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { Prng } from "../../src/sim/prng.ts";
import { emitEnvelope, EnvelopeType } from "../../src/wire/envelope.ts";
import { emitSegment } from "../../src/wire/tcp_codec.ts";
import { seq } from "../../src/wire/seq.ts";
import { ACK, PSH, RST, SYN } from "../../src/wire/tcp_flags.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";

const CLASSES = [
  "rstBlind",
  "rstInWindow",
  "synBlind",
  "synInWindow",
  "dataBlind",
  "dataInWindowOldAck",
  "dataInWindowUnsentAck",
] as const;
type GuessClass = typeof CLASSES[number];

interface InjectionFigures {
  bytes: number;
  intact: boolean;
  errors: number;
  guesses: Record<GuessClass, number>;
  /** Pure ACKs the two ends sent, with and without the attack. */
  acksUnderAttack: number;
  acksBaseline: number;
  attackMs: number;
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function transfer(attack: boolean, seed: number, limit: number): InjectionFigures {
  const clock = new VirtualClock({ seed });
  const net = new SimNetwork(clock);
  net.setPath("10.0.0.1", "10.0.0.2", { delay: 10, bandwidth: 500_000, queueLimit: 64_000 });
  const tcp = { challengeAckLimit: limit };
  const ss = net.bind({ hostname: "10.0.0.1", port: 7000 });
  const cs = net.bind({ hostname: "10.0.0.2", port: 7000 });
  const server = new Stack(ss, clock, { tcp });
  const client = new Stack(cs, clock, { tcp });
  let acks = 0;
  const countAcks = {
    onSegment: (_t: number, dir: "in" | "out", _p: unknown, seg: TcpSegment) => {
      if (dir === "out" && seg.flags === ACK && seg.payload.length === 0) acks++;
    },
  };
  server.tracer = countAcks;
  client.tracer = countAcks;
  const prng = new Prng(seed);
  const data = new Uint8Array(1 << 20);
  for (let i = 0; i < data.length; i += 4) {
    new DataView(data.buffer).setUint32(i, prng.nextU32());
  }
  const l = server.listen(80);
  const got = new Uint8Array(data.length + 65536);
  let gotLen = 0;
  let eof = false;
  let errors = 0;
  let sc: StackConnection | undefined;
  l.onAcceptable = () => {
    sc = l.accept()!;
    const conn = sc;
    conn.onEvent = (ev) => {
      if (ev.type === "error") errors++;
      for (;;) {
        const n = conn.read(got.subarray(gotLen, Math.min(got.length, gotLen + 65536)));
        if (n <= 0) {
          if (n < 0) eof = true;
          break;
        }
        gotLen += n;
      }
    };
  };
  const cc = client.connect(ss.localAddr, 80);
  let sent = 0;
  const pump = () => {
    while (sent < data.length) {
      const n = cc.write(data.subarray(sent, Math.min(data.length, sent + 65536)));
      if (n <= 0) break;
      sent += n;
    }
    if (sent === data.length && cc.state === "ESTABLISHED") cc.closeWrite();
  };
  cc.onEvent = (ev) => {
    if (ev.type === "error") errors++;
    if (ev.type === "connected" || ev.type === "writable") pump();
  };

  const guesses = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<GuessClass, number>;
  const buf = new Uint8Array(256);
  const evil = new TextEncoder().encode("EVIL".repeat(25));
  const inject = (
    into: SimUdpSocket,
    from: SimUdpSocket,
    victim: StackConnection,
    cls: GuessClass,
  ) => {
    const t = victim.tcp;
    const rcvNxt = t.rcvNxt;
    const inWin = () => seq(rcvNxt + 1 + prng.nextInt(60_000));
    let s: number = prng.nextU32();
    let a: number = prng.nextU32();
    let flags = ACK;
    let payload = new Uint8Array(0);
    switch (cls) {
      case "rstBlind":
        flags = RST;
        break;
      case "rstInWindow":
        flags = RST;
        s = inWin();
        break;
      case "synBlind":
        flags = SYN;
        break;
      case "synInWindow":
        flags = SYN;
        s = inWin();
        break;
      case "dataBlind":
        flags = ACK | PSH;
        payload = evil;
        break;
      case "dataInWindowOldAck": // RFC 5961 §5.2: SEG.ACK < SND.UNA - MAX.SND.WND
        flags = ACK | PSH;
        payload = evil;
        s = inWin();
        a = seq(t.sndUna - 2 ** 30 - 1 - prng.nextInt(2 ** 29));
        break;
      case "dataInWindowUnsentAck": // RFC 5961 §5.2: SEG.ACK > SND.NXT
        flags = ACK | PSH;
        payload = evil;
        s = inWin();
        a = seq(t.sndNxt + 1 + prng.nextInt(2 ** 30));
        break;
    }
    guesses[cls]++;
    const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 0);
    const len = n + emitSegment(
      {
        srcPort: t.remotePort,
        dstPort: t.localPort,
        seq: seq(s),
        ack: seq(a),
        flags,
        window: 65535,
        urgentPointer: 0,
        options: {},
        payload,
      },
      buf,
      n,
    );
    into.deliver(buf.slice(0, len), from.localAddr); // spoofed source address
  };
  let attackMs = 0;
  if (attack) {
    const tick = () => {
      if (eof || errors > 0 || clock.now() > 30_000) return;
      attackMs++;
      if (sc !== undefined) {
        for (let i = 0; i < 4; i++) {
          const cls = CLASSES[prng.nextInt(CLASSES.length)];
          if (prng.chance(0.5)) inject(ss, cs, sc, cls);
          else inject(cs, ss, cc, cls);
        }
      }
      clock.schedule(clock.now() + 1, tick);
    };
    clock.schedule(1, tick);
  }
  clock.runUntilIdle({ until: 60_000 });
  const figures: InjectionFigures = {
    bytes: gotLen,
    intact: eof && gotLen === data.length && sha256(got.subarray(0, gotLen)) === sha256(data),
    errors,
    guesses,
    acksUnderAttack: attack ? acks : 0,
    acksBaseline: attack ? 0 : acks,
    attackMs,
  };
  server.close();
  client.close();
  return figures;
}

Deno.test("RFC 5961 blind injection: RST, SYN and data guesses in and out of the window leave a 1 MiB stream intact (sha256) and challenge ACKs rate-limited", () => {
  const limit = 100;
  const base = transfer(false, 3, limit);
  const r = transfer(true, 3, limit);
  const total = Object.values(r.guesses).reduce((a, b) => a + b, 0);
  console.log(
    `blind injection: ${total} guesses over ${r.attackMs} ms (virtual) ${
      JSON.stringify(r.guesses)
    }; ` +
      `stream intact: ${r.intact}; errors: ${r.errors}; pure ACKs sent: ${r.acksUnderAttack} ` +
      `under attack vs ${base.acksBaseline} without`,
  );
  assert.ok(base.intact);
  assert.ok(total > 5_000, `${total}`);
  assert.equal(r.errors, 0);
  assert.ok(r.intact, JSON.stringify(r));
  // Extra ACKs: challenge ACKs (≤ limit per second per end) plus one duplicate ACK per
  // out-of-window data guess (RFC 9293 §3.10.7.4; not a challenge)
  const seconds = Math.ceil(r.attackMs / 1000) + 1;
  const extra = r.acksUnderAttack - base.acksBaseline;
  assert.ok(
    extra <= 2 * limit * seconds + r.guesses.dataBlind,
    `${extra} extra ACKs > ${2 * limit * seconds} + ${r.guesses.dataBlind}`,
  );
});
