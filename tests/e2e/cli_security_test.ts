/**
 * End to end: what a real `tou server` with a pre-shared key answers, seen
 * from a raw UDP socket. Garbage, plaintext segments, datagrams sealed with
 * another key and replays are dropped, counted and never answered (no RST,
 * no oracle), while a correctly sealed SYN to an unconfigured tunnel port
 * gets a sealed RST (so the probe would see an answer if there were one).
 * Also: a client with the wrong key gets no connection; the plaintext and
 * key-file warnings are logged once.
 */

import assert from "node:assert/strict";
import { runTou, TouProcess } from "../cli/_process.ts";
import { KEY_A, KEY_B, startTunnel } from "../cli/_tunnel.ts";
import { connectLocal, echoService, readOutcome, within, writeAll } from "../tunnel/_harness.ts";
import type {
  Datagram,
  DatagramAddr,
  DatagramHandler,
  DatagramSocket,
} from "../../src/udp/datagram_socket.ts";
import { parsePsk } from "../../src/seal/psk.ts";
import { SealedSocket } from "../../src/seal/sealed_socket.ts";
import { emitEnvelope, EnvelopeType, parseEnvelope } from "../../src/wire/envelope.ts";
import { emitSegment, parseSegment } from "../../src/wire/tcp_codec.ts";
import { ACK, RST, SYN } from "../../src/wire/tcp_flags.ts";
import { seq } from "../../src/wire/seq.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";

/** A DatagramSocket that only records what is sent and lets the test feed received bytes. */
class Capture implements DatagramSocket {
  readonly sent: Uint8Array[] = [];
  readonly localAddr: DatagramAddr = { hostname: "127.0.0.1", port: 1 };
  readonly remoteAddr: DatagramAddr | undefined = undefined;
  #handler: DatagramHandler | undefined;
  send(data: Uint8Array): void {
    this.sent.push(data.slice());
  }
  receive(): Promise<Datagram> {
    return Promise.reject(new Error("push mode only"));
  }
  setHandler(onDatagram: DatagramHandler): void {
    this.#handler = onDatagram;
  }
  /** Hands `data` to the sealed socket above, as if it had arrived. */
  feed(data: Uint8Array): void {
    this.#handler?.(data, this.localAddr);
  }
  connect(): void {}
  disconnect(): void {}
  close(): void {}
}

/** A SYN to `dstPort` inside a plaintext tou envelope. */
function synDatagram(dstPort: number): Uint8Array {
  const seg: TcpSegment = {
    srcPort: 40_000,
    dstPort,
    seq: seq(123_456),
    ack: seq(0),
    flags: SYN,
    window: 65_535,
    urgentPointer: 0,
    options: {},
    payload: new Uint8Array(0),
  };
  const buf = new Uint8Array(64);
  const n = emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf, 0);
  return buf.slice(0, n + emitSegment(seg, buf, n));
}

/** Seals `inner` as a client ("initiator") holding `keyHex` would; `open` reads replies. */
function sealer(keyHex: string) {
  const wire = new Capture();
  const sock = new SealedSocket(wire, { psk: parsePsk(keyHex), role: "initiator" });
  const opened: Uint8Array[] = [];
  sock.setHandler((data) => opened.push(data.slice()));
  return {
    seal(inner: Uint8Array): Uint8Array {
      sock.send(inner, { hostname: "127.0.0.1", port: 1 });
      return wire.sent.at(-1)!;
    },
    open(datagram: Uint8Array): Uint8Array | undefined {
      const before = opened.length;
      wire.feed(datagram);
      return opened.length > before ? opened.at(-1) : undefined;
    },
  };
}

/** Every datagram arriving on `probe` within `ms`. */
async function repliesWithin(probe: Deno.DatagramConn, ms: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
  for (;;) {
    const next = probe.receive().then(([data]) => data);
    const r = await Promise.race([next, timeout]);
    if (r === "timeout") {
      next.catch(() => {}); // settled when the probe closes
      break;
    }
    got.push(r);
  }
  clearTimeout(timer);
  return got;
}

function metric(text: string, name: string): number {
  const m = text.match(new RegExp(`^tou_${name}\\{role="server"\\} (\\d+)$`, "m"));
  assert.ok(m, `no ${name} in:\n${text}`);
  return Number(m[1]);
}

Deno.test("tou server never answers datagrams that fail authentication, and counts them", async () => {
  const echo = echoService();
  const server = new TouProcess([
    "server",
    "--listen",
    "127.0.0.1:0",
    "--forward",
    `22=127.0.0.1:${echo.port}`,
    "--control",
    "127.0.0.1:0",
  ], { TOU_KEY: KEY_A });
  const probe = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const udp = await server.port("server listening", "udp");
    const control = await server.port("control endpoint listening", "http");
    const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: udp };
    const right = sealer(KEY_A);
    const rightSyn = right.seal(synDatagram(23));
    const hostile: [string, Uint8Array][] = [
      ["garbage", crypto.getRandomValues(new Uint8Array(100))],
      ["a plaintext SYN to a forwarded port", synDatagram(22)],
      ["a SYN sealed with another key", sealer(KEY_B).seal(synDatagram(22))],
      ["a sealed SYN with one bit flipped", rightSyn.map((b, i) => i === 40 ? b ^ 1 : b)],
    ];
    for (const [, d] of hostile) await probe.send(d, to);
    assert.deepEqual(await repliesWithin(probe, 1_500), [], "a hostile datagram was answered");
    let metrics = await runTou(["stat", "--control", String(control), "--metrics"]);
    assert.equal(metrics.code, 0, metrics.stderr);
    assert.equal(metric(metrics.stdout, "seal_malformed_total"), 2, "garbage and plaintext");
    assert.equal(metric(metrics.stdout, "seal_auth_failures_total"), 2, "wrong key and flipped");
    assert.equal(metric(metrics.stdout, "seal_opened_total"), 0);
    assert.equal(metric(metrics.stdout, "stack_segments_in_total"), 0, "the stack saw nothing");

    // The positive control: a correctly sealed SYN to tunnel port 23 (not forwarded) is
    // answered with a sealed RST: no open relay, and the probe does see answers.
    await probe.send(rightSyn, to);
    const answers = await repliesWithin(probe, 1_500);
    assert.equal(answers.length, 1);
    const env = parseEnvelope(answers[0]);
    assert.ok(env.ok && env.value.type === EnvelopeType.SEALED, "the answer is sealed");
    const inner = right.open(answers[0]);
    assert.ok(inner, "the answer opens with the key");
    const innerEnv = parseEnvelope(inner);
    assert.ok(innerEnv.ok);
    // Sealed, the stack sends no TCP checksum (docs/wire-format.md): the field is 0.
    const rst = parseSegment(innerEnv.value.body, { verifyChecksum: false });
    assert.ok(rst.ok);
    assert.equal(innerEnv.value.body[16] << 8 | innerEnv.value.body[17], 0);
    assert.equal(rst.value.flags, RST | ACK);
    assert.equal(rst.value.srcPort, 23);
    assert.equal(rst.value.ack, 123_457);

    // The same sealed datagram again is a replay: dropped, counted, not answered.
    await probe.send(rightSyn, to);
    assert.deepEqual(await repliesWithin(probe, 1_000), [], "a replay was answered");
    metrics = await runTou(["stat", "--control", String(control), "--metrics"]);
    assert.equal(metric(metrics.stdout, "seal_replays_total"), 1);
    assert.equal(metric(metrics.stdout, "seal_opened_total"), 1);
    assert.equal(metric(metrics.stdout, "sessions_opened_total"), 0);
    assert.equal(echo.conns.length, 0);
  } finally {
    probe.close();
    server.signal("SIGKILL");
    await server.stop();
    await echo.close();
  }
});

Deno.test("tou server drops a client with the wrong key and counts it in tou stat", async () => {
  const echo = echoService();
  const dir = await Deno.makeTempDir();
  try {
    // The client's config file makes it give up after one SYN retransmission.
    await Deno.writeTextFile(
      `${dir}/client.json`,
      JSON.stringify({ tcp: { synRetries: 1, rtoInitial: 300 } }),
    );
    const t = await startTunnel({
      targetPort: echo.port,
      clientArgs: ["--config", `${dir}/client.json`],
      clientEnv: { TOU_KEY: KEY_B },
    });
    try {
      const app = await connectLocal(t.localPort());
      assert.equal(await within(20_000, "app outcome", readOutcome(app)), "ConnectionReset");
      app.close();
      const failed = await t.client.waitFor((r) => /cannot open tunnel/.test(r.msg), "client log");
      assert.match(failed.msg, /timed out \(server down, UDP blocked, or a different key\)$/);
      const metrics = await runTou(["stat", "--control", String(t.serverControl), "--metrics"]);
      assert.equal(metrics.code, 0, metrics.stderr);
      assert.ok(metric(metrics.stdout, "seal_auth_failures_total") >= 2, metrics.stdout);
      assert.equal(metric(metrics.stdout, "sessions_opened_total"), 0);
      assert.equal(metric(metrics.stdout, "stack_segments_in_total"), 0);
      const table = await runTou(["stat", "--control", `127.0.0.1:${t.serverControl}`]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^tou server udp 127\.0\.0\.1:\d+ \(encrypted\), 0 connections$/m);
      assert.equal(echo.conns.length, 0);
    } finally {
      await t.stop();
    }
  } finally {
    await echo.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tou server and client warn once that traffic is plaintext when run without a key", async () => {
  const echo = echoService();
  const t = await startTunnel({
    targetPort: echo.port,
    serverEnv: {},
    clientEnv: {},
    serverArgs: ["--plaintext"],
    clientArgs: ["--plaintext"],
  });
  try {
    for (let i = 0; i < 3; i++) {
      const app = await connectLocal(t.localPort());
      await writeAll(app, new Uint8Array([i]));
      assert.equal(await within(10_000, "echo", readOutcome(app)), "data 1");
      app.close();
    }
    for (const p of [t.server, t.client]) {
      const warnings = p.records.filter((r) => /PLAINTEXT/.test(r.msg));
      assert.equal(warnings.length, 1, p.stderrLines.join("\n"));
      assert.equal(warnings[0].level, "warn");
      assert.equal(
        p.records.find((r) => /^(server|client) listening$/.test(r.msg))?.encrypted,
        false,
      );
    }
  } finally {
    await t.stop();
    await echo.close();
  }
});

Deno.test("tou server refuses a key file other users can read, and warns once when allowed to use it", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/tou.key`, KEY_A + "\n");
  await Deno.chmod(`${dir}/tou.key`, 0o644);
  const args = [
    "server",
    "--listen",
    "127.0.0.1:0",
    "--forward",
    "22=127.0.0.1:22",
    "--key-file",
    `${dir}/tou.key`,
  ];
  const refused = await runTou(args, { timeoutMs: 20_000 });
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr,
    `tou: key file ${dir}/tou.key is accessible by other users (mode 644): restrict it with ` +
      `\`chmod 600 ${dir}/tou.key\`, or pass --allow-readable-key-file\n`,
  );
  const server = new TouProcess([...args, "--allow-readable-key-file"]);
  try {
    const rec = await server.waitFor((r) => /accessible by other users/.test(r.msg), "warning");
    assert.equal(
      rec.msg,
      `key file ${dir}/tou.key is accessible by other users (mode 644); restrict it with: ` +
        `chmod 600 ${dir}/tou.key`,
    );
    assert.equal(rec.level, "warn");
    await server.waitFor((r) => r.msg === "server listening", "listening");
    assert.equal(server.records.filter((r) => /accessible by other users/.test(r.msg)).length, 1);
    assert.equal(server.records.filter((r) => /PLAINTEXT/.test(r.msg)).length, 0);
  } finally {
    server.signal("SIGKILL");
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
