/**
 * CPU cost of one forged SYN in the stack (issue 11): a listener whose SYN
 * queue is full answers each SYN with a SYN cookie. Forged tunnel SYNs (as
 * `bench/synflood.ts` sends them: random TCP ports and ISNs, 64 source
 * addresses, a fresh address object per datagram as a real socket decodes
 * it) are fed straight into a {@linkcode Stack} over an in-memory socket
 * whose batched output only counts, so the figure is the stack's own work
 * (decode, listener, cookie, SYN-ACK encode), without system calls.
 *
 *   deno run -A bench/syn_cost.ts [--syns 200000] [--rounds 5] [--baseline DIR]
 *
 * Prints µs per SYN (the best of the rounds). On a loaded machine compare
 * two builds in one run: `--baseline DIR` (a checkout's root, e.g. from
 * `git worktree add` or `git archive <commit> src | tar -x -C DIR`) loads
 * that tree's stack too and alternates rounds between the two.
 *
 * @module
 */

import { Stack } from "../src/stack/stack.ts";
import type {
  DatagramAddr,
  DatagramBatchOutput,
  DatagramHandler,
  DatagramSocket,
} from "../src/udp/datagram_socket.ts";
import type { Runtime } from "../src/stack/runtime.ts";
import { forgedSyn } from "./synflood.ts";

/** An in-memory socket: push handler kept, output counted and thrown away. */
class NullSocket implements DatagramSocket {
  readonly localAddr: DatagramAddr = { hostname: "127.0.0.1", port: 7000 };
  readonly remoteAddr = undefined;
  handler: DatagramHandler | undefined;
  sent = 0;
  readonly #buf = new Uint8Array(65_536);
  readonly batch: DatagramBatchOutput = {
    reserve: (n) => this.#buf.subarray(0, n),
    commit: () => void this.sent++,
    flush: () => {},
  };
  send(): void {
    this.sent++;
  }
  receive(): Promise<never> {
    return Promise.reject(new Error("push only"));
  }
  setHandler(h: DatagramHandler): void {
    this.handler = h;
  }
  connect(): void {}
  disconnect(): void {}
  close(): void {}
}

/** A runtime whose clock the bench moves; timers never fire (the flood is short). */
class BenchRuntime implements Runtime {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  schedule(): number {
    return 0;
  }
  cancel(): void {}
  randomBytes(b: Uint8Array): void {
    crypto.getRandomValues(b);
  }
}

/**
 * Feeds `n` forged SYNs to a fresh stack with a full SYN queue; returns µs
 * per SYN and how many SYN-ACKs went out.
 */
export function measureSynCost(
  n: number,
  StackClass: typeof Stack = Stack,
): { usPerSyn: number; synAcks: number } {
  const sock = new NullSocket();
  const rt = new BenchRuntime();
  const stack = new StackClass(sock, rt, { synQueueLimit: 16 });
  stack.listen(80);
  // Prebuilt datagrams: building them is the flooder's work, not the server's.
  const kinds = 4096;
  const grams: Uint8Array[] = [];
  let x = 12345;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < kinds; i++) {
    const b = new Uint8Array(64);
    grams.push(b.subarray(0, forgedSyn(b, 80, 1024 + (rnd() % 64512), rnd())));
  }
  const h = sock.handler!;
  // Fill the SYN queue first (and warm up).
  for (let i = 0; i < 20_000; i++) {
    h(grams[i % kinds], { hostname: `127.0.0.${2 + (i % 64)}`, port: 40000 + (i % 1000) });
  }
  const before = sock.sent;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if ((i & 1023) === 0) rt.t += 1;
    // As a socket delivers it: a new address object (new text) per new source.
    h(grams[i % kinds], { hostname: `127.0.0.${2 + (i % 64)}`, port: 1024 + (i % 60000) });
  }
  const us = ((performance.now() - t0) * 1000) / n;
  const synAcks = sock.sent - before;
  stack.abort();
  return { usPerSyn: us, synAcks };
}

if (import.meta.main) {
  const arg = (name: string, d: number) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Number(Deno.args[i + 1]) : d;
  };
  const n = arg("--syns", 200_000);
  const rounds = arg("--rounds", 5);
  const bi = Deno.args.indexOf("--baseline");
  const builds: [string, typeof Stack][] = [["this tree", Stack]];
  if (bi >= 0) {
    const dir = Deno.args[bi + 1].replace(/\/$/, "");
    const m = await import(`${dir}/src/stack/stack.ts`) as { Stack: typeof Stack };
    builds.push([dir, m.Stack]);
  }
  const best = builds.map(() => Infinity);
  let acks = 0;
  for (let r = 0; r < rounds; r++) {
    builds.forEach(([, S], i) => {
      const m = measureSynCost(n, S);
      best[i] = Math.min(best[i], m.usPerSyn);
      acks = m.synAcks;
    });
  }
  builds.forEach(([name], i) => {
    console.log(
      `forged SYN in the stack (${name}): ${best[i].toFixed(2)} µs per SYN ` +
        `(best of ${rounds} × ${n})`,
    );
  });
  if (builds.length === 2) console.log(`ratio this/baseline: ${(best[0] / best[1]).toFixed(2)}`);
  console.log(`${acks} SYN-ACKs in the last round`);
}
