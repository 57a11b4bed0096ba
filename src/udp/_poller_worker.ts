/**
 * Internal: the readiness thread of {@linkcode Poller} (src/udp/_poller.ts).
 * It blocks in `epoll_wait` (a synchronous FFI call, on this thread only)
 * and, for each ready socket, sets its flag in shared memory and
 * `Atomics.notify`s it, which wakes the main thread's `Atomics.waitAsync`
 * (≈ 7–16 µs a round trip, against ≈ 100 µs for a `nonblocking` FFI call;
 * docs/udp.md §7). It runs until the process exits.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";
import { EINTR, EPOLL_EVENT, loadLibc } from "./_libc.ts";

/** What the main thread sends once. */
interface Start {
  sab: SharedArrayBuffer;
  epfd: number;
}

parentPort?.once("message", ({ sab, epfd }: Start) => {
  const libc = loadLibc();
  if (libc === undefined) return;
  const flags = new Int32Array(sab);
  const max = 64;
  const events = new Uint8Array(max * EPOLL_EVENT.size);
  const view = new DataView(events.buffer);
  for (;;) {
    const n = libc.epollWait(epfd, events, max, -1);
    if (n < 0) {
      if (libc.errno() === EINTR) continue;
      return;
    }
    for (let i = 0; i < n; i++) {
      const slot = view.getUint32(i * EPOLL_EVENT.size + EPOLL_EVENT.data, true);
      Atomics.store(flags, slot, 1);
      Atomics.notify(flags, slot);
    }
  }
});
