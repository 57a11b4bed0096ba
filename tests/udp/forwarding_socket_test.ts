// ForwardingSocket passes the inner socket's seal promise (`authenticated`)
// on always, and its batched output only while `send` is not overridden, so
// that a decorator watching what goes out still sees every datagram.

import assert from "node:assert/strict";
import type {
  DatagramAddr,
  DatagramBatchOutput,
  DatagramSocket,
} from "../../src/udp/datagram_socket.ts";
import { ForwardingSocket } from "../../src/udp/forwarding_socket.ts";

const batch: DatagramBatchOutput = {
  reserve: (n) => new Uint8Array(n),
  commit: () => {},
  flush: () => {},
};

function inner(extra: Partial<DatagramSocket>): DatagramSocket {
  return { send() {}, ...extra } as unknown as DatagramSocket;
}

class Watching extends ForwardingSocket {
  override send(data: Uint8Array, addr?: DatagramAddr): void {
    super.send(data, addr);
  }
}

class WatchingIn extends ForwardingSocket {
  override setHandler(): void {}
}

Deno.test("ForwardingSocket passes authenticated on from the inner socket", () => {
  assert.equal(new ForwardingSocket(inner({ authenticated: true })).authenticated, true);
  assert.equal(new Watching(inner({ authenticated: true })).authenticated, true);
  assert.equal(new ForwardingSocket(inner({})).authenticated, undefined);
});

Deno.test("ForwardingSocket passes the inner batch on when send is not overridden", () => {
  assert.equal(new ForwardingSocket(inner({ batch })).batch, batch);
  assert.equal(new WatchingIn(inner({ batch })).batch, batch);
  assert.equal(new ForwardingSocket(new ForwardingSocket(inner({ batch }))).batch, batch);
  assert.equal(new ForwardingSocket(inner({})).batch, undefined);
});

Deno.test("ForwardingSocket hides the inner batch when a subclass overrides send", () => {
  assert.equal(new Watching(inner({ batch })).batch, undefined);
  assert.equal(new ForwardingSocket(new Watching(inner({ batch }))).batch, undefined);
});
