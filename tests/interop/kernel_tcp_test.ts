/**
 * tou's segments and TCP behaviour against the real Linux TCP stack.
 *
 * `kernel_bridge.py` runs in a fresh network namespace (`unshare -n`) and
 * relays TCP segments between a raw socket and this test; the kernel's
 * sockets live in a second namespace behind a veth pair. A real
 * `TcpConnection` (default options: MSS, window scale, SACK-permitted,
 * timestamps) talks to kernel sockets there, on real time. Checksums cross
 * the boundary both ways: ours get the real IPv4 pseudo-header
 * (`rechecksumForIpv4`), the kernel's are verified against it and converted
 * to tou's zero-address form before `parseSegment` verifies them again.
 *
 * Skipped (with the reason printed) unless root with `unshare`, `python3`,
 * `ip` and `tc`, and a kernel with veth, clsact and cls_bpf.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TcpConnection } from "../../src/tcp/connection.ts";
import { tcpConfig } from "../../src/tcp/config.ts";
import { advertisedMss, TIMESTAMPS_OPTION_LEN, windowShiftFor } from "../../src/tcp/handshake.ts";
import { type Seq, seq, seqAdd, seqGt, seqLe, seqLt } from "../../src/wire/seq.ts";
import { ACK, CWR, ECE, FIN, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { segmentSeqLen } from "../../src/wire/tcp_segment.ts";
import {
  assertKernelRejectedNothing,
  assertWithinAdvertisedWindow,
  concat,
  countersSince,
  end,
  explainFailure,
  FULL_TRACE,
  random32,
  randomBytes,
  readAvailable,
  sha256,
  states,
} from "./_checks.ts";
import { Driver, type TraceEntry } from "./_driver.ts";
import { KernelBridge, kernelInteropSkipReason } from "./_kernel_bridge.ts";

/** The kernel's server port (namespace "kernel", 192.0.2.1). */
const SERVER_PORT = 20000;
/** Our port for the active open. */
const CLIENT_PORT = 20001;
/** Our listening port for the passive open. */
const LISTEN_PORT = 20002;
/** Linux struct tcp_info option bits (TCPI_OPT_TIMESTAMPS | _SACK | _WSCALE). */
const TCPI_OPT_TS_SACK_WSCALE = 1 | 2 | 4;
/** Linux struct tcp_info option bit TCPI_OPT_ECN. */
const TCPI_OPT_ECN = 8;
/** TCP option kinds of TCP Fast Open (RFC 7413) and MPTCP (RFC 8684). */
const TFO_OPTION = 34;
const MPTCP_OPTION = 30;
/** MSS the kernel offers on the veth (MTU 1500 − 40). */
const KERNEL_MSS = 1460;
/** Each test, bridge start included, fails after this, whatever happens. */
const TEST_BUDGET_MS = 20_000;

const SKIP = await kernelInteropSkipReason([CLIENT_PORT, LISTEN_PORT]);
if (SKIP !== undefined) console.warn(`kernel interop tests skipped: ${SKIP}`);

Deno.test({
  name:
    "TcpConnection interoperates with Linux TCP when it connects, sends 1 MiB, half-closes, gets 1 MiB back and loses segments",
  ignore: SKIP !== undefined,
  async fn() {
    const deadline = performance.now() + TEST_BUDGET_MS;
    const config = tcpConfig({ msl: 250 }); // TIME_WAIT 500 ms; every wire option at its default
    // 1 MiB + 7: the last segments are odd-sized (the checksum pads an odd last byte)
    const data = randomBytes((1 << 20) + 7);
    const bridge = await KernelBridge.start([CLIENT_PORT], deadline);

    // Faults: a corrupted copy of our SYN first (the kernel must drop it: checksums are
    // really checked), our 40th data segment lost, our 200th sent twice, the first
    // transmission of our FIN lost, and the kernel's 100th data segment lost.
    const DROP_OUT = 40;
    const DUPLICATE_OUT = 200;
    const DROP_IN = 100;
    let maxOutEnd: Seq | undefined;
    let outData = 0;
    let droppedOut: TraceEntry | undefined;
    let duplicated: { seq: Seq; len: number } | undefined;
    let droppedFin = false;
    let maxInEnd: Seq | undefined;
    let inData = 0;
    let droppedIn: { seq: Seq; len: number } | undefined;

    let wireOut = 0; // datagrams we put on the wire
    let written = 0;
    let closed = false;
    let eof = false;
    const received: Uint8Array[] = [];
    const d = new Driver(bridge, {
      outgoing(seg, bytes) {
        if (seg.flags & SYN) {
          const corrupt = bytes.slice();
          corrupt[16] ^= 0x5a;
          wireOut += 2;
          return [corrupt, bytes];
        }
        const segEnd = seqAdd(seg.seq, segmentSeqLen(seg));
        const fresh = maxOutEnd === undefined || seqGt(segEnd, maxOutEnd);
        if (fresh) maxOutEnd = segEnd;
        if (fresh && seg.payload.length > 0) {
          outData++;
          if (outData === DROP_OUT) {
            droppedOut = {
              t: d.elapsed(),
              dir: "out",
              seg: { ...seg, payload: new Uint8Array(0) },
              len: seg.payload.length,
              dropped: true,
              state: "ESTABLISHED",
            };
            return [];
          }
          if (outData === DUPLICATE_OUT) {
            duplicated = { seq: seg.seq, len: seg.payload.length };
            wireOut += 2;
            return [bytes, bytes];
          }
        }
        if (fresh && seg.flags & FIN && !droppedFin) {
          droppedFin = true;
          return [];
        }
        wireOut++;
        return [bytes];
      },
      incoming(seg) {
        const segEnd = seqAdd(seg.seq, segmentSeqLen(seg));
        const fresh = maxInEnd === undefined || seqGt(segEnd, maxInEnd);
        if (fresh) maxInEnd = segEnd;
        if (fresh && seg.payload.length > 0 && ++inData === DROP_IN) {
          droppedIn = { seq: seg.seq, len: seg.payload.length };
          return false;
        }
        return true;
      },
      app(conn, now) {
        if (conn.state === "ESTABLISHED") {
          while (written < data.length && conn.writable > 0) {
            written += conn.write(data.subarray(written));
          }
          if (written === data.length && !closed) {
            conn.closeWrite(now); // half-close: FIN after the data, reading goes on
            closed = true;
          }
        }
        if (!eof) eof = !readAvailable(conn, received);
      },
    });
    try {
      bridge.command({ op: "serve", port: SERVER_PORT });
      await d.waitReport("listening", deadline);
      bridge.command({ op: "stats" });
      const baseline = await d.waitReport("stats", deadline);
      // Our sequence numbers wrap 2^32 after 200 kB, our TSval clock 25 ms into the run
      // (a fast machine finishes the whole exchange in under 300 ms).
      const iss = seq(2 ** 32 - 200_000);
      const now = performance.now();
      d.conn = TcpConnection.connect(now, {
        localPort: CLIENT_PORT,
        remotePort: SERVER_PORT,
        iss,
        config,
        tsOffset: (2 ** 32 - Math.floor(now) - 25) >>> 0,
      });
      const conn = d.conn;
      await d.run(() => conn.state === "TIME_WAIT", deadline, "TIME_WAIT");
      const timeWaitAt = d.elapsed();
      await d.run(() => conn.state === "CLOSED", deadline, "CLOSED after TIME_WAIT");
      const closedAt = d.elapsed();
      const served = await d.waitReport("served", deadline);
      bridge.command({ op: "stats" });
      const stats = countersSince(baseline, await d.waitReport("stats", deadline, 1));
      const ours = d.trace.filter((e) => e.dir === "out");
      const theirs = d.trace.filter((e) => e.dir === "in");

      // -- Handshake: the kernel took our SYN and its options, we took its SYN-ACK.
      const syn = ours[0].seg;
      const synAck = theirs[0].seg;
      assert.equal(syn.flags, SYN);
      assert.equal(synAck.flags, SYN | ACK);
      assert.equal(synAck.ack, seqAdd(iss, 1), "SYN-ACK acknowledges ISS + 1");
      assert.equal(
        synAck.options.timestamps?.tsEcr,
        syn.options.timestamps?.tsVal,
        "TSecr = our TSval",
      );
      assert.equal(synAck.options.mss, KERNEL_MSS);
      assert.equal(synAck.options.sackPermitted, true);
      const kernelWscale = synAck.options.windowScale;
      assert.ok(kernelWscale !== undefined && kernelWscale > 0, "kernel window scale");
      assert.equal(
        theirs.filter((e) => e.seg.flags & SYN).length,
        1,
        "one SYN-ACK: the corrupted SYN got none",
      );
      const ourMss = advertisedMss(config);
      const ourWscale = windowShiftFor(config.recvBufferSize);
      assert.deepEqual(
        { mss: syn.options.mss, ws: syn.options.windowScale, sack: syn.options.sackPermitted },
        { mss: ourMss, ws: ourWscale, sack: true },
      );
      const k0 = served.established;
      assert.equal(
        k0.options & TCPI_OPT_TS_SACK_WSCALE,
        TCPI_OPT_TS_SACK_WSCALE,
        "kernel uses TS, SACK, WS",
      );
      assert.equal(k0.sndWscale, ourWscale, "kernel scales our windows by our shift");
      assert.equal(
        k0.sndMss,
        ourMss - TIMESTAMPS_OPTION_LEN,
        "kernel's send MSS from our MSS option",
      );
      const info = conn.info();
      assert.equal(info.sndWscale, kernelWscale);
      assert.ok(info.timestamps && info.sack);
      assert.equal(info.mss, Math.min(KERNEL_MSS, ourMss) - TIMESTAMPS_OPTION_LEN);

      // Plain number comparisons on purpose: the raw values wrapped past 2^32.
      assert.ok(ours.some((e) => e.seg.seq < iss), "our sequence numbers wrapped");
      const synTsVal = syn.options.timestamps!.tsVal;
      assert.ok(
        ours.some((e) => (e.seg.options.timestamps?.tsVal ?? Infinity) < synTsVal),
        "our TSval clock wrapped",
      );

      // -- Data: 1 MiB each way, byte for byte, inside MSS and windows.
      assert.equal(served.received, data.length);
      assert.equal(served.sha256, sha256(data), "kernel received our bytes");
      const echo = concat(received);
      assert.equal(echo.length, data.length);
      assert.ok(echo.every((b, i) => b === data[i]), "echo equals what we sent");
      const maxIn = Math.max(...theirs.map((e) => e.len));
      assert.equal(maxIn, ourMss - TIMESTAMPS_OPTION_LEN, "kernel fills but never exceeds our MSS");
      assert.ok(assertWithinAdvertisedWindow(d.trace, "in", ourWscale) > 700);
      assert.ok(assertWithinAdvertisedWindow(d.trace, "out", kernelWscale) > 700);
      assert.equal(bridge.badChecksums, 0, "every kernel segment had a correct IPv4 checksum");
      assert.equal(bridge.goodChecksums, theirs.length);
      assert.ok(!d.trace.some((e) => e.seg.flags & RST), "no RST either way");

      // -- Half-close: our FIN first; the kernel read EOF, then echoed, then sent its FIN.
      assert.deepEqual(states(d), [
        "CLOSED",
        "SYN_SENT",
        "ESTABLISHED",
        "FIN_WAIT_1",
        "FIN_WAIT_2",
        "TIME_WAIT",
        "CLOSED",
      ]);
      const ourFinSeq = seqAdd(iss, 1 + data.length);
      const firstEcho = theirs.find((e) => e.len > 0)!;
      assert.equal(
        firstEcho.seg.ack,
        seqAdd(ourFinSeq, 1),
        "the echo starts after our FIN was taken",
      );
      const kernelFin = theirs.find((e) => e.seg.flags & FIN)!;
      assert.equal(end(kernelFin), seqAdd(synAck.seq, 1 + data.length + 1));
      assert.equal(served.end.state, "CLOSE", "kernel took our last ACK (LAST_ACK -> CLOSED)");
      assert.ok(closedAt - timeWaitAt >= 2 * config.msl - 5, "TIME_WAIT lasted 2 MSL");

      // -- Our loss: the kernel's dup ACKs (with SACK) brought a fast retransmission.
      assert.ok(droppedOut !== undefined);
      const hole = droppedOut.seg.seq;
      const holeEnd = seqAdd(hole, droppedOut.len);
      const resent = ours.findIndex((e) => e.seg.seq === hole && e.len > 0 && !e.dropped);
      assert.ok(resent > 0, "the dropped segment was sent again");
      const resentAt = ours[resent].t;
      // (the first ACK of `hole` may be the plain cumulative one; the duplicates SACK)
      const dupAcks = theirs.filter((e) =>
        e.t < resentAt && e.len === 0 && e.seg.ack === hole && !(e.seg.flags & (SYN | FIN)) &&
        e.seg.options.sackBlocks?.some((b) => b.left === holeEnd)
      );
      // RACK (RFC 8985): one SACK of a later segment marks the hole lost once the
      // reordering window (min_RTT / 4, tiny on loopback) has passed
      assert.ok(
        dupAcks.length >= 1,
        `${dupAcks.length} SACKing dup ACKs before the retransmission`,
      );
      assert.ok(stats.TcpExt.TCPOFOQueue >= 1, "kernel queued our out-of-order data");
      // ... and the FIN lost at the tail came back after a retransmission timeout.
      assert.ok(droppedFin);
      const fins = ours.filter((e) => e.seg.flags & FIN);
      assert.ok(fins.length >= 2 && fins.every((e) => e.seg.seq === fins[0].seg.seq));

      // ... and our duplicate drew a D-SACK (RFC 2883), which we parsed and lived with.
      assert.ok(duplicated !== undefined);
      const dupEnd = seqAdd(duplicated.seq, duplicated.len);
      const sent = new Set<number>(); // for the failure message: which data went out again
      // Starts of the data we sent more than once: the injected duplicate, and any
      // retransmission. Under load a retransmission can arrive as a duplicate too, and the
      // kernel then reports both in one D-SACK block that starts at either of them.
      const twice = new Map<number, number>();
      for (const e of ours) if (e.len > 0) twice.set(e.seg.seq, (twice.get(e.seg.seq) ?? 0) + 1);
      const dupStarts = new Set([
        duplicated.seq,
        ...[...twice].filter(([, n]) => n > 1).map(([q]) => q),
      ]);
      const dsack = theirs.find((e) => {
        const blocks = e.seg.options.sackBlocks;
        const first = blocks?.[0];
        if (first === undefined || !dupStarts.has(first.left)) return false;
        // RFC 2883 §4: a D-SACK block lies below the cumulative ACK or inside a later block.
        return seqLe(first.right, e.seg.ack) ||
          blocks!.slice(1).some((b) => seqLe(b.left, first.left) && seqLe(first.right, b.right));
      });
      assert.ok(
        dsack !== undefined,
        `the kernel reported our duplicate ${duplicated.seq}:${dupEnd} in a D-SACK block; ` +
          `DSACKOldSent ${stats.TcpExt.TCPDSACKOldSent}, DSACKOfoSent ${stats.TcpExt.TCPDSACKOfoSent}; ` +
          // what to look at when it fails: a pending D-SACK for another duplicate absorbs this one
          `kernel SACK blocks (t, ack, blocks): ${
            JSON.stringify(
              theirs.filter((e) => e.seg.options.sackBlocks?.length)
                .map((e) => [e.t, e.seg.ack, e.seg.options.sackBlocks]),
            )
          }; our retransmissions (t, seq, len): ${
            JSON.stringify(
              ours.filter((e) => e.len > 0 && (sent.has(e.seg.seq) || !sent.add(e.seg.seq)))
                .map((e) => [e.t, e.seg.seq, e.len]),
            )
          }`,
      );
      assert.ok(stats.TcpExt.TCPDSACKOldSent + stats.TcpExt.TCPDSACKOfoSent >= 1);

      // -- The kernel's loss: our SACK blocks led it to a SACK recovery.
      assert.ok(droppedIn !== undefined);
      const inHoleEnd = seqAdd(droppedIn.seq, droppedIn.len);
      const ourSacks = ours.filter((e) =>
        e.seg.ack === droppedIn!.seq && e.seg.options.sackBlocks?.[0]?.left === inHoleEnd
      );
      assert.ok(ourSacks.length >= 1, "we SACKed the kernel's data above the hole");
      assert.ok(
        theirs.some((e) => e.seg.seq === droppedIn!.seq && e.len > 0 && !e.dropped),
        "the kernel retransmitted the segment we dropped",
      );
      assert.ok(stats.TcpExt.TCPSackRecovery >= 1, "kernel recovered with SACK");
      assert.equal(stats.TcpExt.TCPRenoRecovery ?? 0, 0, "not Reno: our SACK blocks were used");
      assert.ok(served.end.totalRetrans >= 1);

      // -- The kernel found nothing to reject (the one checksum error is the corrupted SYN).
      assertKernelRejectedNothing(stats, 1);
      assert.equal(stats.Tcp.InSegs, wireOut, "every datagram we sent reached the kernel's TCP");
      console.log(
        `kernel interop (active): ${ours.length} segments out, ${theirs.length} in, ` +
          `TIME_WAIT at ${timeWaitAt.toFixed(0)} ms, CLOSED at ${closedAt.toFixed(0)} ms, ` +
          `fast retransmit ${(resentAt - droppedOut.t).toFixed(1)} ms after the drop, ` +
          `FIN resent after ${(fins[1].t - fins[0].t).toFixed(0)} ms (RTO), kernel: ` +
          `TCPSackRecovery ${stats.TcpExt.TCPSackRecovery}, TCPOFOQueue ${stats.TcpExt.TCPOFOQueue}`,
      );
    } catch (e) {
      await explainFailure(d, bridge);
      throw e;
    } finally {
      if (FULL_TRACE) console.error(d.dump(Infinity));
      const stderr = await bridge.close();
      if (stderr.trim() !== "") console.error(`bridge stderr:\n${stderr}`);
    }
  },
});

Deno.test({
  name:
    "TcpConnection interoperates with Linux TCP when the kernel connects to it offering ECN, Fast Open and MPTCP, gets 256 KiB echoed through a closing window and closes first",
  ignore: SKIP !== undefined,
  async fn() {
    const deadline = performance.now() + TEST_BUDGET_MS;
    // A 64 KiB receive buffer (window scale 1) that the application stops reading once
    // 64 KiB came in, until the kernel has probed the closed window and PAUSE_MS passed.
    const config = tcpConfig({ recvBufferSize: 64 * 1024 });
    const size = 256 * 1024 + 3;
    const PAUSE_MS = 300;
    const PAUSE_MAX_MS = 5_000;
    const bridge = await KernelBridge.start([LISTEN_PORT], deadline);
    const iss = seq(random32());
    const pending: Uint8Array[] = [];
    let readBytes = 0;
    let pauseStart: number | undefined;
    let resumed = false;
    let zeroWindowSent = false;
    let probed = false;
    const paused = () => pauseStart !== undefined && !resumed;
    let eof = false;
    let closed = false;
    let echoed = 0;
    const d = new Driver(bridge, {
      accept: (now, syn) =>
        TcpConnection.accept(now, {
          localPort: LISTEN_PORT,
          remotePort: syn.srcPort,
          iss,
          config,
          tsOffset: random32(),
        }, syn),
      outgoing(seg, bytes) {
        if (seg.window === 0 && !(seg.flags & SYN)) zeroWindowSent = true;
        return [bytes];
      },
      incoming(seg) {
        // A zero-window probe: no data, one below RCV.NXT (Linux tcp_xmit_probe_skb)
        const probe = d.conn !== undefined && seg.payload.length === 0 &&
          seqLt(seg.seq, d.conn.rcvNxt);
        if (zeroWindowSent && paused() && probe) probed = true;
        return true;
      },
      wakeAt: () => paused() ? pauseStart! + (probed ? PAUSE_MS : PAUSE_MAX_MS) : Infinity,
      app(conn, tcpNow) {
        // Echo as it comes; after the kernel's FIN, finish the echo and close our side.
        const now = performance.now();
        if (pauseStart === undefined && readBytes >= config.recvBufferSize) pauseStart = now;
        if (paused()) {
          if (now < pauseStart! + (probed ? PAUSE_MS : PAUSE_MAX_MS)) return;
          resumed = true;
        }
        if (!eof) {
          const before = pending.length;
          eof = !readAvailable(conn, pending);
          for (const p of pending.slice(before)) readBytes += p.length;
        }
        while (pending.length > 0 && conn.writable > 0) {
          const n = conn.write(pending[0]);
          echoed += n;
          if (n === pending[0].length) pending.shift();
          else pending[0] = pending[0].subarray(n);
        }
        if (eof && pending.length === 0 && !closed) {
          conn.closeWrite(tcpNow);
          closed = true;
        }
      },
    });
    try {
      bridge.command({ op: "stats" });
      const baseline = await d.waitReport("stats", deadline);
      bridge.command({
        op: "connect",
        port: LISTEN_PORT,
        bytes: size,
        offer: { ecn: true, fastopen: true, mptcp: true },
      });
      await d.run(() => d.conn?.state === "CLOSED", deadline, "CLOSED");
      const conn = d.conn!;
      const report = await d.waitReport("echoed", deadline);
      bridge.command({ op: "stats" });
      const stats = countersSince(baseline, await d.waitReport("stats", deadline, 1));
      const ours = d.trace.filter((e) => e.dir === "out");
      const theirs = d.trace.filter((e) => e.dir === "in");

      // -- Handshake: we parsed the kernel's SYN, it took our SYN-ACK and our options.
      // Its SYN also offers what tou does not speak; our SYN-ACK declines by leaving it out
      // and the kernel falls back to plain TCP (RFC 3168 §6.1.1, RFC 7413 §4.2, RFC 8684 §3.1).
      const syn = theirs[0].seg;
      const synAck = ours[0].seg;
      assert.equal(syn.flags, SYN | ECE | CWR, "ECN-setup SYN");
      // The Fast Open cookie request is decoded (RFC 7413 §4.1.1); MP_CAPABLE stays unknown.
      assert.deepEqual(syn.options.fastOpen, new Uint8Array(0), "Fast Open cookie request");
      assert.equal(TFO_OPTION, 34);
      assert.deepEqual(
        syn.options.unknown?.map((o) => o.kind),
        report.offered.mptcp ? [MPTCP_OPTION] : undefined,
        "MP_CAPABLE parsed as an unknown option",
      );
      assert.equal(synAck.options.fastOpen, undefined, "no Fast Open on this stack: no cookie");
      assert.equal(synAck.options.unknown, undefined);
      assert.equal(report.established.options & TCPI_OPT_ECN, 0, "kernel: no ECN");
      assert.equal(syn.srcPort, report.localPort);
      assert.equal(syn.options.mss, KERNEL_MSS);
      assert.equal(syn.options.sackPermitted, true);
      assert.ok(syn.options.timestamps !== undefined && syn.options.windowScale !== undefined);
      assert.equal(synAck.flags, SYN | ACK, "no ECE: we decline ECN");
      assert.equal(synAck.seq, iss);
      assert.equal(synAck.ack, seqAdd(syn.seq, 1));
      assert.equal(synAck.options.timestamps?.tsEcr, syn.options.timestamps.tsVal);
      const ourMss = advertisedMss(config);
      const ourWscale = windowShiftFor(config.recvBufferSize);
      assert.equal(synAck.options.mss, ourMss);
      assert.equal(synAck.options.windowScale, ourWscale);
      const k0 = report.established;
      assert.equal(k0.state, "ESTABLISHED");
      assert.equal(k0.options & TCPI_OPT_TS_SACK_WSCALE, TCPI_OPT_TS_SACK_WSCALE);
      assert.equal(k0.sndWscale, ourWscale);
      assert.equal(k0.sndMss, ourMss - TIMESTAMPS_OPTION_LEN);
      assert.equal(conn.info().sndWscale, syn.options.windowScale);
      assert.equal(conn.info().mss, Math.min(KERNEL_MSS, ourMss) - TIMESTAMPS_OPTION_LEN);

      // -- Echo: everything came back to the kernel, byte for byte.
      assert.equal(report.sent, size);
      assert.equal(report.echoed, size);
      assert.equal(report.echoSha256, report.sha256);
      assert.equal(echoed, size);
      assert.equal(bridge.badChecksums, 0);
      assert.equal(Math.max(...theirs.map((e) => e.len)), ourMss - TIMESTAMPS_OPTION_LEN);
      assert.ok(assertWithinAdvertisedWindow(d.trace, "in", ourWscale) > 150);
      assert.ok(assertWithinAdvertisedWindow(d.trace, "out", syn.options.windowScale) > 150);
      assert.ok(!d.trace.some((e) => e.seg.flags & RST), "no RST either way");

      // -- Close: the kernel's FIN first (CLOSE_WAIT), then ours (LAST_ACK -> CLOSED);
      // the kernel holds the TIME_WAIT.
      assert.deepEqual(states(d), [
        "LISTEN",
        "SYN_RCVD",
        "ESTABLISHED",
        "CLOSE_WAIT",
        "LAST_ACK",
        "CLOSED",
      ]);
      const kernelFin = theirs.find((e) => e.seg.flags & FIN)!;
      assert.equal(end(kernelFin), seqAdd(syn.seq, 1 + size + 1));
      assert.deepEqual(report.timeWait, [[report.localPort, LISTEN_PORT]], "kernel in TIME_WAIT");
      assert.equal(report.end.state, "CLOSE");

      // -- Flow control: our window closed and reopened; the kernel probed and waited.
      const synced = ours.slice(1);
      const zeroAt = synced.findIndex((e) => e.seg.window === 0);
      assert.ok(zeroAt >= 0, "we advertised a zero window");
      const reopened = synced.slice(zeroAt).find((e) => e.seg.window > 0)!;

      const probes = theirs.filter((e) =>
        e.t > synced[zeroAt].t && e.t < reopened.t && e.len === 0 &&
        e.seg.seq === seqAdd(synced[zeroAt].seg.ack, -1)
      );
      assert.ok(probes.length >= 1 && stats.TcpExt.TCPWinProbe >= 1, "kernel probed the window");
      assert.ok(
        theirs.every((e) => !(e.t > synced[zeroAt].t && e.t < reopened.t && e.len > 0)),
        "no data into the closed window",
      );

      assertKernelRejectedNothing(stats, 0);
      console.log(
        `kernel interop (passive): ${ours.length} segments out, ${theirs.length} in, ` +
          `window 0 for ${(reopened.t - synced[zeroAt].t).toFixed(0)} ms, ` +
          `${probes.length} probes, CLOSED at ${d.elapsed().toFixed(0)} ms`,
      );
    } catch (e) {
      await explainFailure(d, bridge);
      throw e;
    } finally {
      if (FULL_TRACE) console.error(d.dump(Infinity));
      const stderr = await bridge.close();
      if (stderr.trim() !== "") console.error(`bridge stderr:\n${stderr}`);
    }
  },
});
