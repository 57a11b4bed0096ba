/**
 * Application pumps for stack-to-stack tests on the simulator: write a
 * buffer as fast as the send buffer takes it, half-close, read everything
 * until EOF, record errors.
 */
import type { StackConnection } from "../../src/stack/stack_connection.ts";

const scratch = new Uint8Array(65536);

/** What one side of a pumped connection saw. */
export interface PumpResult {
  sent: number;
  received: Uint8Array;
  receivedLength: number;
  eof: boolean;
  error: string | undefined;
  closed: boolean;
}

/** Deterministic pseudo-random bytes (xorshift), so data corruption is caught. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Attaches a pump to `conn`: writes `data`, then closeWrite(); reads into a
 * buffer of `expect` bytes; calls close() after EOF once everything was sent
 * when `closeWhenDone` is set.
 */
export function pump(
  conn: StackConnection,
  data: Uint8Array,
  expect: number,
  opts: { closeWhenDone?: boolean } = {},
): PumpResult {
  const r: PumpResult = {
    sent: 0,
    received: new Uint8Array(expect),
    receivedLength: 0,
    eof: false,
    error: undefined,
    closed: false,
  };
  let wroteFin = false;
  let closing = false;
  const step = () => {
    while (r.sent < data.length) {
      const n = conn.write(data.subarray(r.sent));
      if (n === 0) break;
      r.sent += n;
    }
    if (r.sent === data.length && !wroteFin && conn.state !== "CLOSED") {
      wroteFin = true;
      conn.closeWrite();
    }
    for (;;) {
      const n = conn.read(scratch);
      if (n > 0) {
        if (r.receivedLength + n > expect) {
          r.error = `received more than the ${expect} bytes expected`;
          return;
        }
        r.received.set(scratch.subarray(0, n), r.receivedLength);
        r.receivedLength += n;
      } else {
        if (n < 0) r.eof = true;
        break;
      }
    }
    if (opts.closeWhenDone && r.eof && wroteFin && !closing) {
      closing = true;
      conn.close();
    }
  };
  conn.onEvent = (ev) => {
    if (ev.type === "error") r.error = `${ev.kind}: ${ev.detail}`;
    if (ev.type === "closed") r.closed = true;
    if (
      ev.type === "readable" || ev.type === "writable" || ev.type === "eof" ||
      ev.type === "connected"
    ) {
      step();
    }
  };
  step();
  return r;
}

/** First index where two buffers differ, or -1. */
export function firstDiff(a: Uint8Array, b: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
