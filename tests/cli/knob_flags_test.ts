/**
 * The Linux knob flags of `tou server` and `tou client` (generated from the
 * option table by src/tunnel/knob_flags.ts): each is in `--help`, takes
 * Linux's unit, is validated with a message naming it, overrides the config
 * file's `tcp` key, and reaches the endpoint (`tou stat --json` shows the
 * options in effect); `--syn-retries` is also shown by its behaviour.
 * `--congestion`, the one TCP flag with a name of its own, is checked the
 * same way.
 */
import assert from "node:assert/strict";
import { main } from "../../cli/main.ts";
import { capture } from "./_io.ts";
import { helpText } from "../../cli/gen_docs.ts";
import { KNOB_FLAGS, takeKnobFlags } from "../../src/tunnel/knob_flags.ts";
import { type OptionSpec, TOU_OPTION_SPECS } from "../../src/net/option_specs.ts";
import { fetchStat } from "../../src/tunnel/stat.ts";

/** A value for every flag (a new knob must add one) and the option value it becomes. */
const VALUES: Readonly<Record<string, readonly [string, unknown]>> = {
  "--fin-timeout": ["30", 30_000],
  "--syn-retries": ["2", 2],
  "--synack-retries": ["3", 3],
  "--retries2": ["7", 7],
  "--orphan-retries": ["4", 4],
  "--keepalive-time": ["30", 30_000],
  "--keepalive-intvl": ["7.5", 7_500],
  "--keepalive-probes": ["5", 5],
  "--window-scaling": ["0", false],
  "--timestamps": ["0", false],
  "--sack": ["0", false],
  "--challenge-ack-limit": ["50", 50],
  "--max-syn-backlog": ["64", 64],
  "--abort-on-overflow": ["1", true],
  "--tw-reuse": ["0", 0],
  "--max-tw-buckets": ["100", 100],
  "--somaxconn": ["16", 16],
  "--fastopen": ["0", false],
  "--syncookies": ["2", 2],
  "--ip-local-port-range": ["40000-40100", [40000, 40100]],
};

Deno.test("knob flags: one per Linux sysctl of the option table, named after it, in server and client --help", () => {
  const specs = TOU_OPTION_SPECS as unknown as Record<string, OptionSpec>;
  const names = KNOB_FLAGS.map((k) => k.flag);
  for (
    const f of [
      "--syn-retries",
      "--synack-retries",
      "--orphan-retries",
      "--fin-timeout",
      "--keepalive-time",
      "--keepalive-intvl",
      "--keepalive-probes",
      "--syncookies",
      "--tw-reuse",
      "--max-tw-buckets",
      "--somaxconn",
      "--abort-on-overflow",
      "--max-syn-backlog",
      "--fastopen",
    ]
  ) assert.ok(names.includes(f), f);
  assert.deepEqual(new Set(names), new Set(Object.keys(VALUES)), "VALUES covers every flag");
  for (const k of KNOB_FLAGS) {
    assert.ok(specs[k.option].linux?.includes(k.linux), `${k.option} lists ${k.linux}`);
    assert.equal(k.flag, "--" + k.linux.replace(/^tcp_/, "").replaceAll("_", "-"));
    for (const cmd of ["server", "client"]) {
      assert.ok(helpText([cmd]).includes(`  ${k.flag} ${k.arg}`), `${cmd} --help: ${k.flag}`);
    }
  }
  // --congestion keeps its own flag; TCP_USER_TIMEOUT is --user-timeout.
  assert.ok(!names.includes("--congestion-control"));
});

Deno.test("knob flags are validated in Linux's unit, and a bad one exits 2 naming the flag", async () => {
  const base = ["server", "--forward", "80=127.0.0.1:9", "--plaintext"];
  const cases: [string[], string][] = [
    [["--syn-retries", "300"], "--syn-retries: must be a whole number between 0 and 127, got 300"],
    [["--syn-retries", "1.5"], "--syn-retries: must be a whole number between 0 and 127, got 1.5"],
    [
      ["--fin-timeout", "0"],
      "--fin-timeout: must be a number of seconds between 0.001 and 3600, got 0",
    ],
    [
      ["--keepalive-time", "soon"],
      '--keepalive-time: must be a number of seconds between 0.001 and 32767, got "soon"',
    ],
    [["--sack", "2"], "--sack: must be 0 or 1, got 2"],
    [["--tw-reuse", "3"], "--tw-reuse: must be a whole number between 0 and 2, got 3"],
    [
      ["--ip-local-port-range", "9000-8000"],
      '--ip-local-port-range: must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535, e.g. 32768-60999, got "9000-8000"',
    ],
  ];
  for (const [flags, message] of cases) {
    const c = capture();
    const code = await main([...base, ...flags], { io: c.io });
    assert.equal(code, 2, c.err());
    assert.equal(c.err(), `tou: ${message}\n`);
  }
  assert.deepEqual(takeKnobFlags({ fastopen: "true", synRetries: undefined }).tcp, {
    fastOpen: true,
  });
});

Deno.test("every knob flag reaches the endpoint (tou stat --json options), over the config file's tcp", async () => {
  const dir = await Deno.makeTempDir();
  const { promise: stop, resolve: stopNow } = Promise.withResolvers<string>();
  const c = capture();
  let running: Promise<number> | undefined;
  try {
    const config = `${dir}/tou.json`;
    await Deno.writeTextFile(config, JSON.stringify({ tcp: { msl: 1234, synRetries: 5 } }));
    const flags = Object.entries(VALUES).flatMap(([f, [v]]) => [f, v]);
    running = main([
      "server",
      "--listen",
      "127.0.0.1:0",
      "--forward",
      "80=127.0.0.1:9",
      "--plaintext",
      "--control",
      "127.0.0.1:0",
      "--config",
      config,
      ...flags,
    ], { io: c.io, shutdownTrigger: stop });
    const m = await c.waitErr(/control endpoint listening .*http=127\.0\.0\.1:(\d+)/);
    const snap = await fetchStat({ hostname: "127.0.0.1", port: Number(m[1]) }, "connections");
    const options = snap.options as Record<string, unknown>;
    assert.ok(options, "the snapshot has the options in effect");
    for (const k of KNOB_FLAGS) {
      assert.deepEqual(options[k.option], VALUES[k.flag][1], `${k.flag} -> ${k.option}`);
    }
    assert.equal(options.msl, 1234, "the config file's other tcp keys stay");
    assert.equal(options.synRetries, 2, "the flag wins over the file's tcp.synRetries");
  } finally {
    stopNow("SIGTERM");
    if (running) assert.equal(await running, 0, c.err());
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--syn-retries 0: a client whose server is silent resets the app after one SYN timeout, not the 8 s connect timeout", async () => {
  const silent = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const { promise: stop, resolve: stopNow } = Promise.withResolvers<string>();
  const c = capture();
  let running: Promise<number> | undefined;
  try {
    running = main([
      "client",
      "--server",
      `127.0.0.1:${(silent.addr as Deno.NetAddr).port}`,
      "--local",
      "127.0.0.1:0=80",
      "--plaintext",
      "--syn-retries",
      "0",
    ], { io: c.io, shutdownTrigger: stop });
    const m = await c.waitErr(/client listening .*tcp=127\.0\.0\.1:(\d+)/);
    const app = await Deno.connect({ hostname: "127.0.0.1", port: Number(m[1]) });
    const t0 = performance.now();
    let outcome: string;
    try {
      outcome = (await app.read(new Uint8Array(16))) === null ? "eof" : "data";
    } catch (e) {
      outcome = (e as Error).name;
    }
    const took = performance.now() - t0;
    app.close();
    assert.ok(outcome === "ConnectionReset" || outcome === "eof", outcome);
    // One SYN, its 1 s timeout (RFC 6298 initial RTO), no retransmission.
    assert.ok(took >= 900 && took < 4_000, `${took} ms`);
  } finally {
    stopNow("SIGTERM");
    if (running) await running;
    silent.close();
  }
});

/** The congestion options in effect of `tou server` run with `flags` (tou stat --json). */
async function serverCongestion(flags: string[]): Promise<Record<string, unknown>> {
  const { promise: stop, resolve: stopNow } = Promise.withResolvers<string>();
  const c = capture();
  let running: Promise<number> | undefined;
  try {
    running = main([
      "server",
      "--listen",
      "127.0.0.1:0",
      "--forward",
      "80=127.0.0.1:9",
      "--plaintext",
      "--control",
      "127.0.0.1:0",
      ...flags,
    ], { io: c.io, shutdownTrigger: stop });
    const m = await c.waitErr(/control endpoint listening .*http=127\.0\.0\.1:(\d+)/);
    const snap = await fetchStat({ hostname: "127.0.0.1", port: Number(m[1]) }, "connections");
    const o = snap.options as Record<string, unknown>;
    return { congestionControl: o.congestionControl, lossTolerance: o.lossTolerance };
  } finally {
    stopNow("SIGTERM");
    if (running) assert.equal(await running, 0, c.err());
  }
}

Deno.test("--congestion reaches the endpoint (tou stat --json options); without it the tunnel runs BBR (issue 9)", async () => {
  assert.match(helpText(["server"]), /--congestion <name>/);
  assert.match(helpText(["client"]), /--congestion <name>/);
  assert.deepEqual(await serverCongestion([]), { congestionControl: "bbr", lossTolerance: 10 });
  assert.deepEqual(await serverCongestion(["--congestion", "cubic"]), {
    congestionControl: "cubic",
    lossTolerance: 10,
  });
});
