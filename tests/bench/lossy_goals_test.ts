import assert from "node:assert/strict";
import {
  congestionChoicesFromHelp,
  evaluateGoals,
  formatMarkdown,
  formatTable,
  type LossyRow,
} from "../../bench/lossy.ts";

function row(profile: string, name: string, mbps: number, extra: Partial<LossyRow> = {}): LossyRow {
  return {
    profile,
    row: name,
    mbps,
    bytes: 0,
    seconds: 8,
    cpu: { client: 1, server: 1, impair: 1 },
    ...extra,
  };
}

Deno.test("evaluateGoals judges the BBR goals on BBR rows against kcptun in the same run", () => {
  const goals = evaluateGoals([
    row("loss1", "tou-bbr", 90),
    row("loss1", "tou-cubic", 30),
    row("loss1", "tou-newreno", 3),
    row("loss1", "kcptun", 60),
    row("loss5", "tou-bbr", 40),
    row("loss5", "kcptun-fec", 50),
  ]);
  assert.deepEqual(goals.map((g) => g.met), [true, true, false, undefined, undefined, undefined]);
  assert.match(goals[0].detail, /tou-bbr 90\.0 Mbit\/s, kcptun 60\.0, ratio 1\.50/);
});

Deno.test("evaluateGoals reports but does not judge a BBR goal measured on the default controller", () => {
  const goals = evaluateGoals([row("loss1", "tou", 2.8), row("loss1", "kcptun", 40)]);
  assert.equal(goals[0].met, undefined);
  assert.match(goals[0].detail, /default controller, which would not meet it/);
});

Deno.test("evaluateGoals judges queueing on the clean path and the split of the fairness rows", () => {
  const impair = {
    seconds: 8,
    clients: 1,
    sendDropped: 0,
    pendingAtEnd: 0,
    up: {
      received: 1,
      receivedBytes: 1,
      forwarded: 1,
      forwardedBytes: 1040,
      drops: { partition: 0, mtu: 0, queue: 0, burst: 0, loss: 0 },
      duplicated: 0,
      reordered: 0,
      corrupted: 0,
      queueDelaySum: 100,
      queueDelayMax: 30,
      queueDelayCount: 10,
    },
  } as unknown as LossyRow["impair"];
  const goals = evaluateGoals([
    // 92 Mbit/s of iperf3 data carried 1.04 bytes through the bottleneck per byte: 95.7 Mbit/s
    row("clean", "tou-bbr", 92, { impair, bytes: 1000 }),
    row("fair", "tou-bbr+bbr", 90, {
      flows: [{ congestion: "bbr", mbps: 50 }, { congestion: "bbr", mbps: 40 }],
    }),
    row("fair", "tou-cubic+bbr", 90, {
      flows: [{ congestion: "cubic", mbps: 10 }, { congestion: "bbr", mbps: 80 }],
    }),
  ]);
  assert.deepEqual(goals.slice(3).map((g) => g.met), [true, true, false]);
  assert.match(goals[3].detail, /carried 95\.7 Mbit\/s through the bottleneck \(92\.0 Mbit\/s/);
  assert.match(goals[3].detail, /mean queueing 10\.0 ms/);
  const short = evaluateGoals([row("clean", "tou-bbr", 90, { impair, bytes: 1000 })]);
  assert.equal(short[3].met, false, "93.6 Mbit/s through the bottleneck is below 95%");
  assert.match(goals[5].detail, /11\.1% for the smaller/);
});

Deno.test("formatTable shows ratios to kcptun of the same profile only", () => {
  const t = formatTable([
    row("loss1", "tou", 20),
    row("loss1", "kcptun", 40),
    row("loss1", "kcptun-fec", 10),
    row("clean", "tou", 90),
  ]).split("\n");
  assert.match(t[1], /^loss1\s+tou\s+20\.0\s+0\.50\s+2\.00/);
  assert.match(t[4], /^clean\s+tou\s+90\.0\s+n\/a/);
});

Deno.test("congestionChoicesFromHelp reads the controllers from the --congestion option's help only", () => {
  const without = `Options:
  --listen <addr>            UDP address to listen on
  --forward <spec>           service TUNNELPORT=HOST:PORT
  -h, --help                 display help for command`;
  assert.deepEqual(congestionChoicesFromHelp(without), []);
  const commander = `Options:
  --listen <addr>            UDP address to listen on
  --congestion <name>        congestion control of the connections (choices: "bbr",
                             "cubic", "newreno", default: "bbr")
  --key-file <path>          read the key (cubic bbr newreno mentioned here do not count)`;
  assert.deepEqual(congestionChoicesFromHelp(commander), ["bbr", "cubic", "newreno"]);
  const prose = `  --congestion <cc>  new_reno or cubic (default cubic)
  --log-level <level>  least severe log level`;
  assert.deepEqual(congestionChoicesFromHelp(prose), ["cubic", "new_reno"]);
  const bare = `  --congestion <cc>  the congestion controller
  --control <addr>  control`;
  assert.deepEqual(congestionChoicesFromHelp(bare), ["bbr", "cubic", "newreno"]);
});

Deno.test("evaluateGoals finds a NewReno row whatever the flag spells it", () => {
  const goals = evaluateGoals([row("loss1", "tou-cubic", 9), row("loss1", "tou-new_reno", 3)]);
  assert.equal(goals[1].met, true);
});

Deno.test("formatMarkdown gives one table row per result with the fairness split", () => {
  const md = formatMarkdown([
    row("loss1", "tou", 20),
    row("loss1", "kcptun", 40),
    row("fair", "tou+tou", 80, {
      flows: [{ congestion: "default", mbps: 41 }, { congestion: "default", mbps: 39 }],
    }),
  ]).split("\n");
  assert.equal(md.length, 5);
  assert.match(md[2], /^\| loss1 \| tou \| 20\.0 \| 0\.50 \| {2}\| n\/a \|/);
  assert.match(md[4], /\| tou\+tou \(default 41\.0 \/ default 39\.0\) \| 80\.0 \|/);
});
