import assert from "node:assert/strict";
import fc from "fast-check";
import {
  cookieConnection,
  cookieMssIndex,
  cookieSynAck,
  decodeCookieTs,
  encodeCookieTs,
  SYN_COOKIE_MSS_TABLE,
  SYN_COOKIE_PERIOD_MS,
  SynCookieJar,
} from "../../src/tcp/syn_cookie.ts";
import { tcpConfig } from "../../src/tcp/config.ts";
import { TcpConnection } from "../../src/tcp/connection.ts";
import { seq } from "../../src/wire/seq.ts";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";

function jar(seed = 1, lifetime?: number): SynCookieJar {
  let n = seed;
  return new SynCookieJar({
    random: (b) => {
      for (let i = 0; i < b.length; i++) b[i] = (n = (n * 1103515245 + 12345) >>> 0) >>> 24;
    },
    ...(lifetime !== undefined ? { secretLifetimeMs: lifetime } : {}),
  });
}
const T = { localAddr: "10.0.0.1", localPort: 80, remoteAddr: "10.0.0.2|5000", remotePort: 4000 };

Deno.test("SYN cookie: every MSS index round-trips; other tuples, ISNs and secrets fail", () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 2 ** 40 }),
    (irs, idx, now) => {
      const j = jar();
      const c = j.issue(now, T, seq(irs), idx);
      assert.equal(j.check(now + 1000, T, c, seq(irs)), idx);
      assert.equal(j.check(now, { ...T, remotePort: 4001 }, c, seq(irs)), -1);
      assert.equal(j.check(now, T, c, seq(irs + 1)), -1);
      assert.equal(jar(2).check(now, T, c, seq(irs)), -1);
    },
  ));
});

Deno.test("SYN cookie: valid for 2 periods (Linux MAX_SYNCOOKIE_AGE), then refused", () => {
  const j = jar();
  const c = j.issue(0, T, seq(7), 1);
  assert.equal(j.check(2 * SYN_COOKIE_PERIOD_MS - 1, T, c, seq(7)), 1);
  assert.equal(j.check(2 * SYN_COOKIE_PERIOD_MS, T, c, seq(7)), -1);
  assert.deepEqual(j.counters, { sent: 1, recv: 1, failed: 1, rotations: 0 });
});

Deno.test("SYN cookie: random guesses almost never pass (2^-22 each, as Linux)", () => {
  const j = jar();
  let pass = 0;
  for (let i = 0; i < 20_000; i++) {
    if (j.check(5000, T, seq((i * 2654435761) >>> 0), seq(i)) >= 0) pass++;
  }
  assert.ok(pass <= 1, `${pass} forged cookies passed`);
});

Deno.test("SYN cookie: the secret rotates; the previous one stays valid for the cookie lifetime", () => {
  const j = jar(3, 10_000);
  j.issue(0, T, seq(1), 0); // starts the lifetime clock
  const before = j.issue(9_000, T, seq(1), 2);
  const after = j.issue(10_000, T, seq(1), 2); // rotated here
  assert.equal(j.counters.rotations, 1);
  assert.notEqual(before, after);
  assert.equal(j.check(10_001, T, before, seq(1)), 2); // old secret still accepted
  assert.equal(j.check(10_001, T, after, seq(1)), 2);
  j.rotate(20_000);
  j.rotate(20_000); // two rotations later the first secret is gone
  assert.equal(j.check(20_001, T, before, seq(1)), -1);
});

Deno.test("SYN cookie: TSval low bits carry window scale and SACK, never ahead of the clock", () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.option(fc.integer({ min: 0, max: 14 }), { nil: undefined }),
    fc.boolean(),
    (clock, ws, sack) => {
      const ts = encodeCookieTs(clock, ws, sack);
      const behind = (clock - ts) >>> 0;
      assert.ok(behind < 64, `${behind}`);
      assert.deepEqual(decodeCookieTs(ts), { windowScale: ws, sackPermitted: sack });
    },
  ));
  assert.equal(decodeCookieTs(0x20), undefined); // bit 5 never sent
  assert.equal(cookieMssIndex(1427), 2);
  assert.equal(SYN_COOKIE_MSS_TABLE[cookieMssIndex(1460)], 1428);
});

Deno.test("SYN cookie: a client TCB completes the handshake with a stateless SYN-ACK, options kept", () => {
  const config = tcpConfig();
  const j = jar();
  const client = TcpConnection.connect(0, { localPort: 4000, remotePort: 80, iss: seq(9), config });
  const syn = client.pollTransmit(0)!;
  const synAck = cookieSynAck(j, config, 1, T, syn);
  assert.equal(synAck.flags, SYN | ACK);
  assert.ok(synAck.options.timestamps && synAck.options.windowScale !== undefined);
  client.handleSegment(2, synAck);
  assert.equal(client.state, "ESTABLISHED");
  client.write(new TextEncoder().encode("hello"));
  const ack = client.pollTransmit(2)!; // the final ACK (carrying data)
  const server = cookieConnection(j, config, 3, T, ack)!;
  assert.equal(server.state, "ESTABLISHED");
  const buf = new Uint8Array(16);
  assert.equal(new TextDecoder().decode(buf.subarray(0, server.read(buf))), "hello");
  const info = server.info();
  assert.equal(info.sack, true);
  assert.equal(info.timestamps, true);
  assert.equal(info.sndWscale, client.info().rcvWscale);
  // a forged ACK (ACK number off by one) creates nothing
  assert.equal(cookieConnection(j, config, 3, T, { ...ack, ack: seq(ack.ack + 1) }), undefined);
});

Deno.test("SYN cookie: without timestamps, the cookie connection has neither window scale nor SACK", () => {
  const config = tcpConfig();
  const cconf = tcpConfig({ timestamps: false });
  const j = jar();
  const client = TcpConnection.connect(0, {
    localPort: 4000,
    remotePort: 80,
    iss: seq(9),
    config: cconf,
  });
  const synAck = cookieSynAck(j, config, 1, T, client.pollTransmit(0)!);
  assert.equal(synAck.options.windowScale, undefined);
  assert.equal(synAck.options.sackPermitted, undefined);
  client.handleSegment(2, synAck);
  const server = cookieConnection(j, config, 3, T, client.pollTransmit(2)!)!;
  assert.equal(server.state, "ESTABLISHED");
  assert.equal(server.info().sack, false);
});

Deno.test("SYN cookie: the connection keeps the SYN-ACK's timestamp offset when the secret rotated in between", () => {
  const j = jar(5, 10_000);
  j.issue(0, T, seq(1), 0); // starts the lifetime clock
  const c = j.issue(9_000, T, seq(77), 1);
  const offset = j.lastTsOffset();
  const other = jar(6);
  other.issue(9_000, T, seq(77), 1);
  assert.notEqual(other.lastTsOffset(), offset, "the offset is keyed by the secret");
  j.issue(10_000, { ...T, remotePort: 4001 }, seq(5), 0); // rotates, another tuple
  assert.notEqual(j.lastTsOffset(), offset);
  assert.equal(j.check(10_500, T, c, seq(77)), 1); // validated by the previous secret
  assert.equal(j.lastTsOffset(), offset);
  assert.equal(j.check(10_500, T, seq(c + 4096), seq(77)), -1);
  assert.equal(j.lastTsOffset(), offset, "a failed check leaves it");
});
