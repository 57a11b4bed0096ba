import assert from "node:assert/strict";
import {
  type DropSummary,
  MAX_ADDRESSES_PER_WINDOW,
  SealDropWatch,
  WindowedReport,
} from "../../src/tunnel/drop_reports.ts";
import type {
  Datagram,
  DatagramAddr,
  DatagramHandler,
  DatagramSocket,
} from "../../src/udp/datagram_socket.ts";
import { SealedSocket } from "../../src/seal/sealed_socket.ts";
import { captureLog } from "./_harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A socket the test feeds by hand; records what is sent. */
class Feed implements DatagramSocket {
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
  setHandler(h: DatagramHandler): void {
    this.#handler = h;
  }
  feed(data: Uint8Array, from: DatagramAddr): void {
    this.#handler?.(data, from);
  }
  connect(): void {}
  disconnect(): void {}
  close(): void {}
}

Deno.test("WindowedReport keeps at most the address limit per window and says how many others sent", async () => {
  const got: DropSummary[] = [];
  const r = new WindowedReport({ emit: (s) => got.push(s), windowMs: 30 });
  r.add("a");
  for (let i = 0; i < 1000; i++) r.add(`10.0.${i >> 8}.${i & 255}:1`);
  for (let i = 0; i < 5; i++) r.add("b");
  await sleep(60);
  r.close();
  assert.equal(got.length, 2);
  assert.deepEqual(got[0], { count: 1, top: "a", topCount: 1, others: 0, windowMs: 30 });
  assert.equal(got[1].count, 1005);
  assert.equal(got[1].others, MAX_ADDRESSES_PER_WINDOW); // capped: 31 tracked + "more"
  assert.equal(got[1].top, "10.0.0.0:1");
});

Deno.test("WindowedReport reports the first event of a quiet period at once", async () => {
  const got: number[] = [];
  const r = new WindowedReport({ emit: (s) => got.push(s.count), windowMs: 20 });
  r.add("a");
  await sleep(60); // a quiet window: nothing more to say
  assert.deepEqual(got, [1]);
  r.add("a");
  assert.deepEqual(got, [1, 1]);
  r.close();
});

Deno.test("SealDropWatch logs datagrams sealed with another key as failed authentication, naming the sender", async () => {
  const cap = captureLog();
  const watch = new SealDropWatch(cap.logger, 30);
  const wire = new Feed();
  const server = watch.above(
    new SealedSocket(watch.below(wire), {
      psk: crypto.getRandomValues(new Uint8Array(32)),
      role: "responder",
    }),
  );
  const delivered: Uint8Array[] = [];
  server.setHandler((d) => delivered.push(d));
  const out = new Feed();
  const wrongKey = new SealedSocket(out, {
    psk: crypto.getRandomValues(new Uint8Array(32)),
    role: "initiator",
  });
  for (let i = 0; i < 4; i++) wrongKey.send(new Uint8Array([1, 2, 3]), wire.localAddr);
  for (const d of out.sent) wire.feed(d, { hostname: "192.0.2.7", port: 4000 });
  wire.feed(out.sent[0], { hostname: "192.0.2.8", port: 4000 });
  await sleep(60);
  watch.close();
  assert.equal(delivered.length, 0);
  const lines = cap.lines.filter((l) => /failed authentication/.test(l));
  assert.equal(lines.length, 2, cap.lines.join(""));
  assert.match(
    lines[0],
    /WARN {2}1 datagram failed authentication from 192\.0\.2\.7:4000 in the last 0\.03 s — wrong key\?/,
  );
  assert.match(
    lines[1],
    /4 datagrams failed authentication from 192\.0\.2\.7:4000 \(3 of them; the rest from 1 other address\) in the last 0\.03 s — wrong key\?/,
  );
});
