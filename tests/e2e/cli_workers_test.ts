/**
 * End to end: `tou server --workers 2`, real processes sharing one UDP port
 * through SO_REUSEPORT. Several tunnel clients (each its own UDP port)
 * move data byte-exact; every connection of one client sits on one worker;
 * both workers get sessions, as `tou stat` against the parent's control
 * endpoint shows (merged rows, counters and per-worker figures); SIGTERM to
 * the parent drains and ends every process, and killing the parent ends
 * them too. A worker that dies stops the server with exit 1; without the
 * kernel UDP backend (no --allow-ffi) `--workers` refuses to start and
 * says why.
 */

import assert from "node:assert/strict";
import { runTou, TouProcess } from "../cli/_process.ts";
import { KEY_A } from "../cli/_tunnel.ts";
import {
  connectLocal,
  echoService,
  pattern,
  readAll,
  within,
  writeAll,
} from "../tunnel/_harness.ts";
import { TunnelClient } from "../../src/tunnel/client.ts";
import { Logger } from "../../src/tunnel/log.ts";
import type { StatSnapshot } from "../../src/tunnel/stat.ts";
import { kernelUdpAvailable } from "../../src/udp/kernel_udp_socket.ts";

const ok = kernelUdpAvailable().ok;
const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

function hexKey(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat); // a zombie has exited
  } catch {
    return false;
  }
}

function portOf(hostPort: unknown): number {
  const v = String(hostPort);
  return Number(v.slice(v.lastIndexOf(":") + 1));
}

async function startWorkers(targetPort: number): Promise<{
  server: TouProcess;
  udp: number;
  control: number;
  pids: number[];
}> {
  const server = new TouProcess([
    "server",
    "--listen",
    "127.0.0.1:0",
    "--forward",
    `80=127.0.0.1:${targetPort}`,
    "--control",
    "127.0.0.1:0",
    "--workers",
    "2",
  ], { TOU_KEY: KEY_A });
  try {
    const running = await server.waitFor((r) => r.msg === "server workers running", "running");
    const ctl = await server.waitFor(
      (r) => r.msg === "control endpoint listening" && r.worker === undefined,
      "parent control",
    );
    return {
      server,
      udp: portOf(running.udp),
      control: portOf(ctl.http),
      pids: String(running.pids).split(",").map(Number),
    };
  } catch (e) {
    server.signal("SIGKILL");
    await server.stop();
    throw e;
  }
}

async function stat(control: number): Promise<StatSnapshot> {
  const r = await runTou(["stat", "--control", String(control), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatSnapshot;
}

Deno.test({
  name:
    "tou server --workers 2: clients spread over both workers, byte-exact, stat merged, SIGTERM ends all",
  ignore: !ok,
  async fn() {
    const svc = echoService();
    const { server, udp, control, pids } = await startWorkers(svc.port);
    const clients: TunnelClient[] = [];
    const quiet = new Logger({ level: "error", sink: () => {} });
    try {
      assert.equal(pids.length, 2);
      assert.ok(pids.every(alive));
      const STREAMS = 2, SIZE = 256 * 1024;
      const addClient = async (n: number) => {
        const c = await TunnelClient.start({
          server: { hostname: "127.0.0.1", port: udp },
          locals: [{ listen: { hostname: "127.0.0.1", port: 0 }, tunnelPort: 80 }],
          key: hexKey(KEY_A),
          logger: quiet,
        });
        clients.push(c);
        const port = c.listeners[0].addr.port;
        await Promise.all(Array.from({ length: STREAMS }, async (_, s) => {
          const data = pattern(SIZE, n * 100 + s);
          const app = await connectLocal(port);
          const [, back] = await Promise.all([
            writeAll(app, data).then(() => app.closeWrite()),
            readAll(app),
          ]);
          app.close();
          assert.deepEqual(back, data, `client ${n} stream ${s}`);
        }));
      };
      // Four clients at once; more, one by one, until both workers have had sessions (the
      // kernel hashes each client's 4-tuple: 20 clients all on one worker has odds 2^-19).
      await within(60_000, "first clients", Promise.all([0, 1, 2, 3].map(addClient)));
      let snap = await stat(control);
      const opened = (s: StatSnapshot, w: number) =>
        s.workers?.find((x) => x.worker === w)?.counters.sessions_opened_total ?? 0;
      while ((opened(snap, 0) === 0 || opened(snap, 1) === 0) && clients.length < 20) {
        await within(30_000, "one more client", addClient(clients.length));
        snap = await stat(control);
      }
      assert.equal(snap.role, "server");
      assert.equal(snap.udp, `127.0.0.1:${udp}`);
      assert.equal(snap.encrypted, true);
      assert.deepEqual(snap.workers?.map((w) => w.pid), pids);
      assert.ok(opened(snap, 0) > 0 && opened(snap, 1) > 0, JSON.stringify(snap.workers));
      assert.equal(snap.counters.sessions_opened_total, clients.length * STREAMS);
      assert.equal(opened(snap, 0) + opened(snap, 1), clients.length * STREAMS);
      // Every connection of one client (one UDP address and port) is on one worker.
      const byPeer = new Map<string, Set<number>>();
      for (const r of snap.connections) {
        const peer = r.peer.slice(0, r.peer.lastIndexOf("/"));
        if (!byPeer.has(peer)) byPeer.set(peer, new Set());
        byPeer.get(peer)!.add(r.worker!);
      }
      for (const [peer, ws] of byPeer) assert.equal(ws.size, 1, `${peer} on workers ${[...ws]}`);

      const table = await runTou(["stat", "--control", String(control)]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /, 2 workers \(#0 pid \d+: \d+, #1 pid \d+: \d+\), /);
      assert.match(table.stdout.split("\n")[1], /^Worker State/);
      const metrics = await runTou(["stat", "--control", String(control), "--metrics"]);
      assert.match(metrics.stdout, /^tou_workers\{role="server"\} 2$/m);
      assert.match(
        metrics.stdout,
        new RegExp(
          `^tou_sessions_opened_total\\{role="server"\\} ${clients.length * STREAMS}$`,
          "m",
        ),
      );
      assert.match(
        metrics.stdout,
        /^tou_worker_sessions_opened_total\{role="server",worker="1"\} [1-9]/m,
      );

      // A stream open at SIGTERM finishes during its worker's drain.
      const app = await connectLocal(clients[0].listeners[0].addr.port);
      const data = pattern(SIZE, 7);
      await writeAll(app, data.subarray(0, SIZE / 2));
      const reading = readAll(app);
      await server.waitFor(
        () =>
          server.records.filter((x) => x.msg === "session opened").length > opened(snap, 0) +
              opened(snap, 1),
        "the session of the stream",
      );
      server.signal("SIGTERM");
      await server.waitFor(
        (r) => /^SIGTERM: draining 1 open session/.test(r.msg) && typeof r.worker === "number",
        "a worker drains the open session",
      );
      await writeAll(app, data.subarray(SIZE / 2));
      await app.closeWrite();
      assert.deepEqual(await reading, data, "the stream open at SIGTERM finished byte-exact");
      app.close();
      const st = await server.stop(30_000);
      assert.equal(st.code, 0, server.stderrLines.join("\n"));
      for (const w of [0, 1]) {
        assert.ok(
          server.records.some((r) => r.msg === "stopped" && r.worker === w),
          `worker ${w} drained and stopped`,
        );
      }
      assert.ok(pids.every((p) => !alive(p)), "every worker process has ended");
    } finally {
      await Promise.all(clients.map((c) => c.close({ drainTimeoutMs: 0 })));
      server.signal("SIGKILL");
      await server.stop();
      await svc.close();
    }
  },
});

Deno.test({
  name: "tou server --workers: a worker that dies stops the others and the server exits 1",
  ignore: !ok,
  async fn() {
    const svc = echoService();
    const { server, pids } = await startWorkers(svc.port);
    try {
      Deno.kill(pids[1], "SIGKILL");
      const st = await server.stop(30_000);
      assert.equal(st.code, 1);
      await server.waitFor(
        (r) =>
          r.level === "error" &&
          /worker 1 \(pid \d+\) ended unexpectedly \(signal SIGKILL\)/.test(r.msg),
        "crash logged",
      );
      assert.ok(server.records.some((r) => r.msg === "stopped" && r.worker === 0));
      assert.ok(!alive(pids[0]));
    } finally {
      server.signal("SIGKILL");
      await server.stop();
      await svc.close();
    }
  },
});

Deno.test({
  name: "tou server --workers: workers whose parent is killed (SIGKILL) drain and exit",
  ignore: !ok,
  async fn() {
    const svc = echoService();
    const { server, pids } = await startWorkers(svc.port);
    try {
      server.signal("SIGKILL");
      await server.stop();
      await within(
        20_000,
        "workers gone",
        (async () => {
          while (pids.some(alive)) await new Promise((r) => setTimeout(r, 100));
        })(),
      );
    } finally {
      for (const p of pids.filter(alive)) Deno.kill(p, "SIGKILL");
      await svc.close();
    }
  },
});

Deno.test("tou server --workers refuses a bad count, and runs only with the kernel UDP backend", async () => {
  const base = ["server", "--forward", "80=127.0.0.1:9", "--listen", "127.0.0.1:0", "--plaintext"];
  const zero = await runTou([...base, "--workers", "0"]);
  assert.equal(zero.code, 2);
  assert.match(
    zero.stderr,
    /^tou: --workers: must be a whole number of worker processes between 1 and 64, got 0\n$/,
  );
  const text = await runTou([...base, "--workers", "two"]);
  assert.equal(text.code, 2);
  assert.match(text.stderr, /--workers: .* got "two"/);
  // No --allow-ffi: no SO_REUSEPORT.
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--allow-run",
      MAIN,
      ...base,
      "--workers",
      "2",
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, err);
  assert.match(err, /--workers needs the kernel UDP backend to share the UDP port \(SO_REUSEPORT/);
});
