import assert from "node:assert/strict";
import { mergeSnapshots } from "../../src/tunnel/stat_merge.ts";
import {
  formatPrometheus,
  formatStatTable,
  type StatRow,
  type StatSnapshot,
} from "../../src/tunnel/stat.ts";
import { describeExit, forEachLine } from "../../src/tunnel/worker_pool.ts";

function row(peer: string): StatRow {
  return {
    state: "ESTABLISHED",
    local: "127.0.0.1:7000/80",
    peer,
    sendQ: 0,
    recvQ: 0,
    rtt: 1,
    rttvar: 0.5,
    rto: 200,
    cwnd: 14_000,
    ssthresh: null,
    mss: 1400,
    retransmits: 1,
    lost: 0,
    bytesSent: 10,
    bytesAcked: 10,
    bytesReceived: 5,
  };
}

function snap(rows: StatRow[], counters: Record<string, number>, time: number): StatSnapshot {
  return {
    role: "server",
    udp: "127.0.0.1:7000",
    encrypted: true,
    time,
    connections: rows,
    counters,
    options: { synRetries: 2 },
  };
}

Deno.test("mergeSnapshots: rows marked with their worker, counters summed, a clock offset the largest", () => {
  const m = mergeSnapshots([
    {
      worker: 1,
      pid: 21,
      snapshot: snap([row("127.0.0.1:5000/40000")], {
        sessions_active: 1,
        sessions_opened_total: 3,
        seal_last_stale_offset: 7,
      }, 200),
    },
    {
      worker: 0,
      pid: 20,
      snapshot: snap([row("127.0.0.1:5001/40000"), row("127.0.0.1:5001/40001")], {
        sessions_active: 2,
        sessions_opened_total: 4,
        seal_last_stale_offset: 3,
      }, 100),
    },
  ], { role: "server", udp: "127.0.0.1:7000", encrypted: true });
  assert.deepEqual(m.connections.map((r) => r.worker), [0, 0, 1]);
  assert.deepEqual(m.counters, {
    sessions_active: 3,
    sessions_opened_total: 7,
    seal_last_stale_offset: 7,
  });
  assert.deepEqual(m.workers?.map((w) => [w.worker, w.pid, w.connections]), [[0, 20, 2], [
    1,
    21,
    1,
  ]]);
  assert.equal(m.time, 200);
  assert.deepEqual(m.options, { synRetries: 2 });

  const table = formatStatTable(m).split("\n");
  assert.equal(
    table[0],
    "tou server udp 127.0.0.1:7000 (encrypted), 2 workers (#0 pid 20: 2, #1 pid 21: 1), 3 connections",
  );
  assert.match(table[1], /^Worker State +Recv-Q/);
  assert.match(table[2], /^0 +ESTABLISHED /);
  assert.match(table[6], /^1 +ESTABLISHED /);

  const text = formatPrometheus(m);
  assert.match(text, /^tou_workers\{role="server"\} 2$/m);
  assert.match(text, /^tou_sessions_opened_total\{role="server"\} 7$/m);
  assert.match(text, /^tou_worker_sessions_opened_total\{role="server",worker="0"\} 4$/m);
  assert.match(text, /^tou_worker_sessions_active\{role="server",worker="1"\} 1$/m);
});

Deno.test("mergeSnapshots with no worker answering is an empty snapshot; one server's table has no Worker column", () => {
  const m = mergeSnapshots([], { role: "server", udp: "0.0.0.0:7000", encrypted: false });
  assert.deepEqual([m.connections, m.counters, m.workers], [[], {}, []]);
  assert.ok(m.time > 0);
  const single = formatStatTable(snap([row("127.0.0.1:5000/40000")], {}, 1));
  assert.match(single.split("\n")[1], /^State /);
});

Deno.test("worker_pool helpers: lines of a stream, the last without a newline; how a process ended", async () => {
  const lines: string[] = [];
  const stream = ReadableStream.from(
    ["a\nb", "c\n", "\nd"].map((t) => new TextEncoder().encode(t)),
  );
  await forEachLine(stream, (l) => lines.push(l));
  assert.deepEqual(lines, ["a", "bc", "", "d"]);
  assert.equal(describeExit({ success: false, code: 3, signal: null }), "exit code 3");
  assert.equal(describeExit({ success: false, code: 137, signal: "SIGKILL" }), "signal SIGKILL");
});
