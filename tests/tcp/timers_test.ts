import assert from "node:assert/strict";
import { NEVER } from "../../src/time.ts";
import { tcpConfig } from "../../src/tcp/config.ts";
import { Keepalive, TIMER_KINDS, TimerTable } from "../../src/tcp/timers.ts";

Deno.test("TimerTable starts with every timer disarmed", () => {
  const t = new TimerTable();
  for (const k of TIMER_KINDS) {
    assert.equal(t.isArmed(k), false);
    assert.equal(t.get(k), NEVER);
  }
  assert.equal(t.earliest(), NEVER);
  assert.equal(t.expired(1e12), undefined);
});

Deno.test("TimerTable keeps one deadline per kind and a later set replaces an earlier one", () => {
  const t = new TimerTable();
  t.set("retransmit", 100);
  t.set("retransmit", 300); // moved later
  t.set("keepalive", 200);
  assert.equal(t.get("retransmit"), 300);
  assert.equal(t.earliest(), 200);
  t.clear("keepalive");
  assert.equal(t.earliest(), 300);
  t.clearAll();
  assert.equal(t.earliest(), NEVER);
});

Deno.test("TimerTable.expired returns due kinds in TIMER_KINDS order, at the deadline and not before", () => {
  const t = new TimerTable();
  t.set("pacing", 10);
  t.set("delayedAck", 10);
  t.set("retransmit", 20);
  assert.equal(t.expired(9), undefined); // early: nothing
  assert.equal(t.expired(10), "delayedAck"); // before pacing in TIMER_KINDS
  t.clear("delayedAck");
  assert.equal(t.expired(10), "pacing");
  t.clear("pacing");
  assert.equal(t.expired(19), undefined);
  assert.equal(t.expired(25), "retransmit"); // late is due too
  assert.deepEqual(TIMER_KINDS, [
    "retransmit",
    "persist",
    "delayedAck",
    "keepalive",
    "timeWait",
    "finWait2",
    "pacing",
    "lossProbe",
    "reorder",
    "idle",
  ]);
});

const KA = tcpConfig({ keepAlive: false, keepAliveIdle: 1000, keepAliveInterval: 100 });

Deno.test("Keepalive arms its first check a full idle time after it is enabled (RFC 1122 4.2.3.6, as Linux)", () => {
  const timers = new TimerTable();
  const ka = new Keepalive(KA, timers, 0);
  assert.equal(timers.isArmed("keepalive"), false); // off in the config
  ka.configure(true, {}, 5000, true);
  assert.equal(timers.get("keepalive"), 6000);
  ka.configure(true, {}, 5000, false); // a state that does not probe
  assert.equal(timers.isArmed("keepalive"), false);
  ka.configure(false, {}, 5000, true);
  assert.equal(timers.isArmed("keepalive"), false);
});

Deno.test("Keepalive restarts the idle time when the peer is heard from", () => {
  const timers = new TimerTable();
  const ka = new Keepalive(KA, timers, 0);
  ka.configure(true, { count: 2 }, 0, true);
  assert.equal(ka.onTimeout(1000, true, true), undefined);
  assert.equal(ka.takeProbe(), true);
  assert.equal(ka.takeProbe(), false); // taken once
  assert.equal(timers.get("keepalive"), 1100);
  ka.touch(1050, true); // an answer: probes reset, idle again
  assert.equal(timers.get("keepalive"), 2050);
  assert.equal(ka.onTimeout(2050, true, true), undefined);
  assert.equal(ka.onTimeout(2150, true, true), undefined);
  assert.equal(ka.onTimeout(2250, true, true), "keepalive: peer dead after 2 probes");
});

Deno.test("Keepalive does not probe while data is outstanding and re-checks an idle time later", () => {
  const timers = new TimerTable();
  const ka = new Keepalive(KA, timers, 0);
  ka.configure(true, {}, 0, true);
  assert.equal(ka.onTimeout(1000, true, false), undefined); // not idle: the RTO watches the peer
  assert.equal(ka.takeProbe(), false);
  assert.equal(timers.get("keepalive"), 2000);
  assert.equal(ka.onTimeout(2000, false, true), undefined); // state no longer probes
  assert.equal(ka.takeProbe(), false);
});

Deno.test("Keepalive arms at least 1 ms ahead when idle or interval is 0", () => {
  const timers = new TimerTable();
  const ka = new Keepalive(KA, timers, 0);
  ka.configure(true, { idle: 0, interval: 0, count: 1 }, 7, true);
  assert.equal(timers.get("keepalive"), 8);
  ka.onTimeout(8, true, true);
  assert.equal(timers.get("keepalive"), 9);
});
