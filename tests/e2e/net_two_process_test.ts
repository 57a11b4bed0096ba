// End-to-end over real loopback UDP with the peer in a second Deno process
// (tests/e2e/_peer.ts): the "Done when" list of issue 4 across processes.

import assert from "node:assert/strict";
import {
  AddrInUseError,
  connect,
  ConnectionRefusedError,
  openEndpoint,
  type TouConn,
} from "../../mod.ts";
import {
  bulkDigest,
  bulkReceive,
  bulkSend,
  deadline,
  pattern,
  readAll,
  waitFor,
  writeAll,
} from "../net/_util.ts";
import { BULK_MIB, HALF_CLOSE_BYTES } from "./_peer.ts";

const PEER = new URL("./_peer.ts", import.meta.url).pathname;
const LO = "127.0.0.1";

/** The child's stdout, line by line. */
class Lines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buf = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line starting with `prefix` (other lines are skipped). */
  async next(prefix: string): Promise<string> {
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        if (line.startsWith(prefix)) return line;
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`peer exited before printing ${prefix}`);
      this.#buf += value;
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Longest a step may take before it fails naming itself (a stall must not hang CI). */
const STEP_MS = 60_000;

/** `t.step` with a deadline: a step that stalls fails with its name instead of hanging. */
function step(t: Deno.TestContext, name: string, fn: () => Promise<void>): Promise<boolean> {
  return t.step(name, () => deadline(fn(), STEP_MS, `step "${name}"`));
}

/** Echo round trip: writes `data`, half-closes, reads everything back. */
async function echo(conn: TouConn, data: Uint8Array): Promise<Uint8Array> {
  const [, back] = await Promise.all([
    writeAll(conn, data).then(() => conn.closeWrite()),
    readAll(conn),
  ]);
  return back;
}

Deno.test("tou works between two Deno processes over loopback UDP", async (t) => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", PEER],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const lines = new Lines(child.stdout);
  try {
    const m = /^LISTENING (\d+)$/.exec(await lines.next("LISTENING"));
    assert.ok(m);
    const port = Number(m[1]);

    await step(t, "connect echoes every byte when the peer process echoes", async () => {
      for (let i = 0; i < 3; i++) {
        const conn = await connect({ hostname: LO, port, tcpPort: 7 });
        const data = pattern(1_000_000, 100 + i);
        assert.deepEqual(await echo(conn, data), data);
        conn.close();
        assert.equal((await conn.closed).reason, "closed");
      }
    });

    await step(
      t,
      "TouConn streams carry pipeTo both ways when piped to the peer process",
      async () => {
        const conn = await connect({ hostname: LO, port, tcpPort: 7 });
        const data = pattern(4 * 1024 * 1024, 5);
        const chunks: Uint8Array[] = [];
        let total = 0;
        const source = new ReadableStream<Uint8Array>({
          start(c) {
            for (let off = 0; off < data.length; off += 65_536) {
              c.enqueue(data.slice(off, off + 65_536));
            }
            c.close();
          },
        });
        const sink = new WritableStream<Uint8Array>({
          write(chunk) {
            chunks.push(chunk.slice());
            total += chunk.length;
          },
        });
        // The writable's close would close the whole connection (as on a Deno.TcpConn):
        // half-close instead, and let the readable's end close it.
        await Promise.all([
          source.pipeTo(conn.writable, { preventClose: true }).then(() => conn.closeWrite()),
          conn.readable.pipeTo(sink),
        ]);
        const back = new Uint8Array(total);
        let off = 0;
        for (const c of chunks) {
          back.set(c, off);
          off += c.length;
        }
        assert.deepEqual(back, data);
        conn.close();
        await conn.closed;
      },
    );

    await step(
      t,
      "TouConn moves 100 MB each way with equal sha256 when the peer is another process",
      async () => {
        const conn = await connect({ hostname: LO, port, tcpPort: 9 });
        const start = performance.now();
        const [sentHash, got, report] = await deadline(
          Promise.all([bulkSend(conn, BULK_MIB, 1), bulkReceive(conn), lines.next("BULK")]),
          50_000,
          "100 MB each way",
          () => conn.abort(),
        );
        const secs = (performance.now() - start) / 1000;
        console.log(
          `two processes: ${BULK_MIB} MiB each way in ${secs.toFixed(1)} s ` +
            `(${
              (2 * BULK_MIB / secs).toFixed(1)
            } MiB/s total), retransmits ${conn.info().retransmits}`,
        );
        // What we received is exactly the peer's stream 2 ...
        assert.equal(got.bytes, BULK_MIB * 1024 * 1024);
        assert.equal(got.sha256, bulkDigest(BULK_MIB, 2));
        // ... and the peer received exactly what we sent.
        assert.equal(report, `BULK ${BULK_MIB * 1024 * 1024} ${sentHash}`);
        conn.close();
        assert.equal((await conn.closed).reason, "closed");
      },
    );

    await step(
      t,
      "TouConn.closeWrite lets the peer process read EOF and keep writing",
      async () => {
        const conn = await connect({ hostname: LO, port, tcpPort: 13 });
        await writeAll(conn, pattern(10_000, 1));
        await conn.closeWrite();
        await assert.rejects(conn.write(new Uint8Array(1)), Deno.errors.BrokenPipe);
        // The service writes only after it has read our EOF.
        const back = await readAll(conn);
        assert.equal(back.length, HALF_CLOSE_BYTES);
        assert.deepEqual(back, pattern(HALF_CLOSE_BYTES, 13));
        conn.close();
        const closed = await conn.closed;
        assert.equal(closed.reason, "closed");
        assert.equal(closed.state, "TIME_WAIT"); // we sent the first FIN
      },
    );

    await step(
      t,
      "connect rejects with ConnectionRefusedError when nothing listens in the peer process",
      async () => {
        const err = await connect({ hostname: LO, port, tcpPort: 22 }).then(
          () => assert.fail("connected"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ConnectionRefusedError, String(err));
        assert.ok(err instanceof Deno.errors.ConnectionRefused);
        assert.equal(err.message, `Cannot connect to ${LO}:${port} tcp 22: connection refused`);
      },
    );

    await step(
      t,
      "Endpoint.connections shows our active close in TIME_WAIT and its port rules",
      async () => {
        const msl = 150;
        await using ep = await openEndpoint({ hostname: LO, msl });
        const opts = { hostname: LO, port, tcpPort: 7, localTcpPort: 40_007 };
        const conn = await ep.connect(opts);
        assert.deepEqual(await echo(conn, new Uint8Array([1, 2, 3])), new Uint8Array([1, 2, 3]));
        conn.close();
        assert.equal((await conn.closed).state, "TIME_WAIT");
        const start = performance.now();
        assert.deepEqual(ep.connections().map((c) => [c.state, c.tuple.local.tcpPort]), [
          ["TIME_WAIT", 40_007],
        ]);
        await assert.rejects(
          ep.connect({ ...opts, reuseAddress: true }),
          (e: unknown) => e instanceof AddrInUseError && /TIME_WAIT/.test(e.message),
        );
        assert.throws(() => ep.listen({ tcpPort: 40_007 }), AddrInUseError);
        ep.listen({ tcpPort: 40_007, reuseAddress: true }).close();
        await waitFor(() => ep.connections().length === 0, 5_000, "TIME_WAIT to end");
        assert.ok(performance.now() - start >= 2 * msl - 50);
        const again = await ep.connect(opts); // the 4-tuple is free after 2·MSL
        assert.deepEqual(await echo(again, new Uint8Array([4])), new Uint8Array([4]));
        again.close();
      },
    );

    await step(t, "the peer process is the one in TIME_WAIT when it closes first", async () => {
      const conn = await connect({ hostname: LO, port, tcpPort: 79 });
      assert.equal(new TextDecoder().decode(await readAll(conn)), "bye");
      conn.close();
      const closed = await conn.closed;
      assert.equal(closed.state, "CLOSED"); // the passive closer
      assert.equal(await lines.next("CLOSED79"), "CLOSED79 TIME_WAIT");
    });

    await step(t, "Endpoint carries 200 concurrent connections to the peer process", async () => {
      await using ep = await openEndpoint({ hostname: LO });
      const results = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const conn = await ep.connect({ hostname: LO, port, tcpPort: 7 });
          const data = pattern(10_000, 1000 + i);
          const back = await echo(conn, data);
          conn.close();
          await conn.closed;
          return back.length === data.length && back.every((b, j) => b === data[j]);
        }),
      );
      assert.equal(results.filter((ok) => ok).length, 200);
      assert.equal(ep.counters.activeOpens, 200);
      assert.equal(new Set(ep.connections().map((c) => c.tuple.local.tcpPort)).size, 200);
    });
  } finally {
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000); // never wait forever
    const status = await child.status;
    clearTimeout(killer);
    await lines.cancel();
    assert.equal(status.signal, "SIGTERM"); // it was still serving: no crash
  }
});
