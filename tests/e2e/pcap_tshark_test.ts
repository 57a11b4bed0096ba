/**
 * tou's pcap files as Wireshark sees them: tshark (Debian's `tshark`
 * package; `.ci/run` installs it) must recognise the handshake and the
 * close, find no malformed packet and no bad checksum with checksum
 * validation on, and its TCP analysis must count the same retransmissions,
 * duplicate ACKs and zero-window probes as tou. Skipped, saying why, when tshark is missing.
 */

import assert from "node:assert/strict";
import { LabWorld } from "../../src/lab/world.ts";
import { findScenario, runScenario } from "../../src/lab/mod.ts";
import { PcapWriter } from "../../src/udp/pcap_socket.ts";
import { runTou, TouProcess } from "../cli/_process.ts";

const TSHARK = "/usr/bin/tshark";
const haveTshark = (() => {
  try {
    return Deno.statSync(TSHARK).isFile;
  } catch {
    return false;
  }
})();
const KEY = "c0ffee00c0ffee01c0ffee02c0ffee03c0ffee04c0ffee05c0ffee06c0ffee07";

/**
 * For each display filter, how many frames of `file` match it (checksum
 * validation on), in one tshark pass (`-z io,stat`).
 */
async function counts<K extends string>(
  file: string,
  filters: Record<K, string>,
): Promise<Record<K, number>> {
  const keys = Object.keys(filters) as K[];
  const out = await new Deno.Command(TSHARK, {
    args: [
      "-n",
      "-q",
      "-r",
      file,
      "-o",
      "tcp.check_checksum:TRUE",
      "-z",
      `io,stat,0,${keys.map((k) => filters[k]).join(",")}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  // The data row: "| 0.000 <> 1.234 |  n1 | bytes1 |  n2 | bytes2 | ..."
  const row = text.split("\n").find((l) => /^\|\s*[\d.]+\s*<>/.test(l));
  assert.ok(row, text);
  const cells = row.split("|").map((c) => c.trim()).filter((c) => c !== "");
  const result = {} as Record<K, number>;
  keys.forEach((k, i) => result[k] = Number(cells[1 + 2 * i]));
  return result;
}

/** The checks every capture of a whole connection passes. */
async function assertCleanConversation(file: string): Promise<void> {
  const c = await counts(file, {
    tcp: "tcp",
    syn: "tcp.flags.syn==1 && tcp.flags.ack==0 && !tcp.analysis.retransmission",
    synAck: "tcp.flags.syn==1 && tcp.flags.ack==1",
    rst: "tcp.flags.reset==1",
    fin: "tcp.flags.fin==1 && !tcp.analysis.retransmission",
    malformed: "_ws.malformed",
    badChecksum: "tcp.checksum.status==0 || ip.checksum.status==0",
    goodChecksum: "tcp.checksum.status==1",
  });
  assert.ok(c.tcp > 0, "no TCP frames");
  assert.equal(c.syn, 1, "one SYN");
  assert.ok(c.synAck >= 1, "a SYN-ACK");
  assert.equal(c.rst, 0, "no RST");
  assert.ok(c.fin >= 2, `a FIN each way: ${c.fin}`);
  assert.equal(c.malformed, 0, "malformed packets");
  assert.equal(c.badChecksum, 0, "bad checksums");
  assert.equal(c.goodChecksum, c.tcp, "every TCP checksum verified");
}

function skipNote(): void {
  console.log("skipped: no tshark (apt-get install tshark; .ci/run does)");
}

/** A 300 kB transfer client → server on the simulator with loss, captured on the client. */
function lossyLabTransfer(seed: number, file: string) {
  const chunks: Uint8Array[] = [];
  const pcap = new PcapWriter((b) => chunks.push(b.slice()));
  const w = new LabWorld({ seed, loss: 0.05, delay: 20, pcap });
  try {
    const server = w.host("server", "10.0.0.1");
    const client = w.host("client", "10.0.0.2");
    const l = server.listen(80);
    const c = client.connect(server.localAddr, 80, { localPort: 40000 });
    let s = l.accept();
    for (let i = 0; i < 2000 && s === undefined; i++) {
      w.run(50);
      s = l.accept();
    }
    assert.ok(s, "handshake");
    const data = new Uint8Array(300_000);
    const buf = new Uint8Array(65_536);
    let off = 0, got = 0;
    for (let i = 0; i < 100_000 && got < data.length; i++) {
      if (off < data.length) off += c.write(data.subarray(off));
      w.run(10);
      for (let n = s.read(buf); n > 0; n = s.read(buf)) got += n;
    }
    assert.equal(got, data.length);
    c.close();
    s.close();
    w.run(200_000);
    assert.deepEqual([c.state, s.state], ["CLOSED", "CLOSED"]);
    pcap.close();
    const bytes = new Uint8Array(chunks.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of chunks) bytes.set(x, (o += x.length) - x.length);
    Deno.writeFileSync(file, bytes);
    // Duplicate ACKs the client received (RFC 5681 §2: no data, same ACK and window as the last).
    const acks = w.segments.filter((x) => x.from === "server" && x.arrived !== undefined)
      .sort((a, b) => a.arrived! - b.arrived!);
    let dupAcks = 0;
    for (let i = 1; i < acks.length; i++) {
      const x = acks[i], p = acks[i - 1];
      if (x.len === 0 && (x.flags & 0x07) === 0 && x.ack === p.ack && x.window === p.window) {
        dupAcks++;
      }
    }
    return { retransmits: c.info().retransmits, serverRetransmits: s.info().retransmits, dupAcks };
  } finally {
    w.close();
  }
}

Deno.test("tshark: a lossy simulator run is a clean TCP conversation and the analysis counts agree with tou", async () => {
  if (!haveTshark) return skipNote();
  const file = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    for (const seed of [4, 6]) {
      const tou = lossyLabTransfer(seed, file);
      await assertCleanConversation(file);
      assert.ok(tou.retransmits > 0, `seed ${seed}: the run should lose something`);
      // Wireshark calls a resent segment "out-of-order" instead of "retransmission" when it
      // follows the highest segment within one initial RTT: a capture cannot tell them apart.
      const c = await counts(file, {
        resent: "tcp.srcport==40000 && (tcp.analysis.retransmission || " +
          "tcp.analysis.out_of_order || tcp.analysis.spurious_retransmission)",
        dupAcks: "tcp.srcport==80 && tcp.analysis.duplicate_ack",
        fast: "tcp.analysis.fast_retransmission",
      });
      assert.equal(c.resent, tou.retransmits, `seed ${seed}: retransmissions`);
      assert.equal(c.dupAcks, tou.dupAcks, `seed ${seed}: duplicate ACKs`);
      assert.ok(c.fast > 0, "fast retransmits seen");
    }
  } finally {
    await Deno.remove(file);
  }
});

/** A UDP relay between one client and `server` that drops `loss` of the datagrams each way. */
function lossyProxy(server: number, loss: number, seed: number) {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  let x = seed >>> 0 || 1;
  const rand = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  let client: Deno.NetAddr | undefined;
  let dropped = 0;
  const done = (async () => {
    try {
      for (;;) {
        const [data, from] = await sock.receive();
        const a = from as Deno.NetAddr;
        const toServer = a.port !== server;
        if (toServer) client = a;
        if (rand() < loss) {
          dropped++;
          continue;
        }
        const to = toServer
          ? { transport: "udp" as const, hostname: "127.0.0.1", port: server }
          : client;
        if (to) await sock.send(data, to);
      }
    } catch { /* closed */ }
  })();
  return {
    port: (sock.addr as Deno.NetAddr).port,
    dropped: () => dropped,
    close: async () => {
      sock.close();
      await done;
    },
  };
}

Deno.test("tshark: tou cat over a lossy proxy, sealed, captured on both ends", async () => {
  if (!haveTshark) return skipNote();
  const dir = await Deno.makeTempDir();
  const listener = new TouProcess(
    ["cat", "--listen", "127.0.0.1:0", "--log-level", "info", "--pcap", `${dir}/server.pcap`],
    { TOU_KEY: KEY },
  );
  let proxy: ReturnType<typeof lossyProxy> | undefined;
  try {
    const port = await listener.port("cat listening", "udp");
    proxy = lossyProxy(port, 0.03, 11);
    // The tunnel port is the listener's UDP port, not the proxy's.
    const r = await runTou([
      "cat",
      `127.0.0.1:${proxy.port}`,
      String(port),
      "--pcap",
      `${dir}/client.pcap`,
    ], {
      env: { TOU_KEY: KEY },
      stdin: new Uint8Array(400_000).fill(0x61),
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const st = await listener.stop(30_000);
    assert.equal(st.code, 0);
    assert.ok(proxy.dropped() > 0, "the proxy dropped something");
    for (const side of ["client", "server"]) {
      await assertCleanConversation(`${dir}/${side}.pcap`);
      // Plaintext inside the seal: the payload bytes are the file's.
      const c = await counts(`${dir}/${side}.pcap`, {
        plain: "tcp.payload contains 61:61:61:61",
        resent: "tcp.analysis.retransmission || tcp.analysis.out_of_order",
      });
      assert.ok(c.plain > 0, `${side}: plaintext payload`);
      if (side === "client") assert.ok(c.resent > 0, "the sender's capture shows retransmissions");
    }
  } finally {
    await proxy?.close();
    await listener.stop(1_000);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tshark: the lab's zero-window run shows window full, zero window and tou's probes", async () => {
  if (!haveTshark) return skipNote();
  const chunks: Uint8Array[] = [];
  const pcap = new PcapWriter((b) => chunks.push(b.slice()));
  const report = runScenario(findScenario("zero-window")!, { pcap });
  pcap.close();
  const probes = Number(
    /window probes sent by the client while the window was closed: (\d+)/
      .exec(report.findings.join("\n"))?.[1],
  );
  assert.ok(probes > 0, report.findings.join("\n"));
  const file = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const bytes = new Uint8Array(chunks.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of chunks) bytes.set(x, (o += x.length) - x.length);
    await Deno.writeFile(file, bytes);
    const c = await counts(file, {
      zeroWindow: "tcp.analysis.zero_window",
      windowFull: "tcp.analysis.window_full",
      probes: "tcp.analysis.zero_window_probe",
      malformed: "_ws.malformed",
      bad: "tcp.checksum.status==0",
    });
    assert.ok(c.zeroWindow > 0, "zero window");
    assert.ok(c.windowFull > 0, "window full");
    assert.equal(c.probes, probes, "zero-window probes: tshark and the lab agree");
    assert.deepEqual([c.malformed, c.bad], [0, 0]);
  } finally {
    await Deno.remove(file);
  }
});
