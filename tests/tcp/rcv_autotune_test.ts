import assert from "node:assert/strict";
import { AUTOTUNE_INITIAL_TARGET, RcvAutotune } from "../../src/tcp/rcv_autotune.ts";
import { DEFAULT_TCP_CONFIG } from "../../src/tcp/config.ts";
import { TcpPair } from "../_harness/tcp_script.ts";

const MSS = 1448;

/**
 * A sender in slow start (IW10, doubling per RTT) on a `rate` bytes/ms path
 * with `rtt`, limited by the window the receiver offers (target − nothing
 * buffered: the reader keeps up, or reads at `readRate`). Returns the per-RTT
 * delivery and targets.
 */
function longFatLink(
  at: RcvAutotune,
  opts: { rate: number; rtt: number; rtts: number; readRate?: number },
) {
  let cwnd = 10 * MSS;
  let buffered = 0;
  const perRtt: number[] = [];
  const targets: number[] = [];
  for (let r = 0; r < opts.rtts; r++) {
    const window = Math.max(0, at.target - buffered);
    const sent = Math.min(cwnd, window, opts.rate * opts.rtt);
    cwnd *= 2;
    buffered += sent;
    perRtt.push(sent);
    // the reader drains over the RTT in 1 ms steps
    for (let t = 0; t < opts.rtt; t++) {
      const n = Math.min(buffered, opts.readRate ?? Infinity);
      buffered -= n;
      at.onConsumed(r * opts.rtt + t, n, opts.rtt);
    }
    targets.push(at.target);
  }
  return { perRtt, targets };
}

Deno.test("RcvAutotune grows the window past the BDP of a long fat link when the reader keeps up", () => {
  // 200 Mbit/s, 100 ms: BDP 2.5 MB, far above the 64 KiB start
  const rate = 25_000;
  const rtt = 100;
  const at = new RcvAutotune({ max: 16 << 20, mss: MSS });
  assert.equal(at.target, AUTOTUNE_INITIAL_TARGET);
  const { perRtt, targets } = longFatLink(at, { rate, rtt, rtts: 12 });
  assert.ok(at.target >= 2 * rate * rtt, `target ${at.target}`);
  // the link, not the window, ends up the limit: full BDP per RTT
  assert.equal(perRtt.at(-1), rate * rtt);
  // the window kept ahead of slow start: no round was window-limited before the link filled
  let cwnd = 10 * MSS;
  for (const sent of perRtt) {
    if (sent < rate * rtt) assert.equal(sent, cwnd, `window-limited at ${sent}`);
    cwnd *= 2;
  }
  for (let i = 1; i < targets.length; i++) assert.ok(targets[i] >= targets[i - 1]); // never shrinks
});

Deno.test("RcvAutotune never exceeds the configured receive buffer", () => {
  const at = new RcvAutotune({ max: 1 << 20, mss: MSS });
  longFatLink(at, { rate: 25_000, rtt: 100, rtts: 12 });
  assert.equal(at.target, 1 << 20);
  assert.equal(new RcvAutotune({ max: 10_000, mss: MSS }).target, 10_000);
});

Deno.test("RcvAutotune offers a slow reader a few RTTs of what it absorbs, not the whole buffer", () => {
  // the reader takes 1 MB/s (1000 bytes/ms) on a path that could do 25 MB/s
  const at = new RcvAutotune({ max: 16 << 20, mss: MSS });
  longFatLink(at, { rate: 25_000, rtt: 100, rtts: 50, readRate: 1000 });
  // about 5 RTTs of its reading (the first measurement's growth term), not 16 MiB
  assert.ok(at.target < 6 * 1000 * 100, `target ${at.target}`);
});

Deno.test("RcvAutotune measures once per RTT and waits for an RTT estimate's fallback", () => {
  const at = new RcvAutotune({ max: 16 << 20, mss: 1000 });
  at.onConsumed(0, 0, 0);
  at.onConsumed(100, 100_000, 0); // no RTT yet: 200 ms fallback interval not over
  assert.equal(at.target, 64 * 1024);
  at.onConsumed(200, 0, 0);
  // copied 100 000 over 10 000 space: 2·100k + 16k, plus twice that times 9
  assert.equal(at.target, (2 * 100_000 + 16_000) * (1 + 2 * 9));
  assert.throws(() => new RcvAutotune({ max: 0, mss: 1000 }), RangeError);
});

Deno.test("TcpConnection auto-tunes its advertised window up on a long fat path when the reader keeps up", () => {
  const pair = new TcpPair({ delay: 50 }); // 100 ms RTT, no bandwidth limit: the window is the limit
  assert.ok(pair.run({ until: () => pair.server?.state === "ESTABLISHED" }));
  pair.keepTrace = false;
  const server = pair.conn("server");
  const total = 16 << 20;
  const chunk = new Uint8Array(256 * 1024);
  const into = new Uint8Array(256 * 1024);
  let written = 0;
  let read = 0;
  let maxWnd = 0;
  const firstWnd = server.rcvWnd;
  assert.ok(pair.run({
    until: () => read >= total,
    app: () => {
      while (written < total) {
        const n = pair.client.write(chunk.subarray(0, Math.min(chunk.length, total - written)));
        if (n === 0) break;
        written += n;
      }
      for (let n = server.read(into); n > 0; n = server.read(into)) read += n;
      maxWnd = Math.max(maxWnd, server.rcvWnd);
    },
    maxTime: 60_000,
  }));
  assert.ok(firstWnd <= AUTOTUNE_INITIAL_TARGET, `first window ${firstWnd}`);
  assert.ok(maxWnd > 1 << 20, `window grew only to ${maxWnd}`);
  assert.ok(maxWnd <= DEFAULT_TCP_CONFIG.recvBufferSize);
});

Deno.test("TcpConnection offers a reader that does not read only the auto-tuned start, not the whole buffer", () => {
  const pair = new TcpPair({ delay: 50 });
  assert.ok(pair.run({ until: () => pair.server?.state === "ESTABLISHED" }));
  const server = pair.conn("server");
  const data = new Uint8Array(1 << 20);
  let written = 0;
  pair.run({
    app: () => {
      if (written < data.length) written += pair.client.write(data.subarray(written));
    },
    maxTime: 5_000,
  });
  // (+ one segment: the scaled window field rounds the edge up)
  assert.ok(server.readable <= AUTOTUNE_INITIAL_TARGET + 1448, `buffered ${server.readable}`);
  assert.ok(server.readable > AUTOTUNE_INITIAL_TARGET / 2);
});
