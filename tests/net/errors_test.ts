// Every typed error of the public API, raised the way an application meets
// it: the class, the Deno.errors class it extends, its name, and a message
// that says what happened and to which address. Simulated network unless
// the case needs the real UDP socket.

import assert from "node:assert/strict";
import {
  AddrInUseError,
  BrokenPipeError,
  ClosedError,
  ConnectionAbortedError,
  ConnectionRefusedError,
  ConnectionResetError,
  InvalidAddrError,
  InvalidOptionError,
  NotConnectedError,
  openEndpoint,
  TimedOutError,
  type TouConn,
} from "../../mod.ts";
import { CLIENT_HOST, SERVER_HOST, SERVER_PORT, type SimWorld, simWorld } from "./_sim.ts";

const PEER = `${SERVER_HOST}:${SERVER_PORT}`;

async function pair(w: SimWorld): Promise<{ a: TouConn; b: TouConn }> {
  const l = w.server.listen({ tcpPort: 80 });
  const a = await w.until(
    w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 80 }),
    "connect",
  );
  const b = await w.until(l.accept(), "accept");
  return { a, b };
}

/** Asserts `err` is a `cls` that is also a `base`, named `name`, with message `message`. */
function check(
  err: unknown,
  cls: abstract new (...args: never[]) => Error,
  base: abstract new (...args: never[]) => Error,
  name: string,
  message: string | RegExp,
): void {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
  assert.ok(err instanceof base, `${cls.name} should extend ${base.name}`);
  assert.equal(err.name, name);
  if (typeof message === "string") assert.equal(err.message, message);
  else assert.match(err.message, message);
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  return await p.then(() => assert.fail("expected a rejection"), (e: unknown) => e);
}

Deno.test("Endpoint.connect rejects with ConnectionRefusedError naming the address when nothing listens", async () => {
  const w = simWorld();
  const err = await w.until(
    caught(w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT, tcpPort: 22 })),
    "connect",
  );
  check(
    err,
    ConnectionRefusedError,
    Deno.errors.ConnectionRefused,
    "ConnectionRefused",
    `Cannot connect to ${PEER} tcp 22: connection refused`,
  );
  await w.close();
});

Deno.test("Endpoint.connect rejects with TimedOutError naming the address when the SYNs go unanswered", async () => {
  const w = simWorld({ clientOptions: { synRetries: 2 } });
  const err = await w.until(
    caught(w.client.connect({ hostname: SERVER_HOST, port: 7777, tcpPort: 22 })),
    "connect",
  );
  check(
    err,
    TimedOutError,
    Deno.errors.TimedOut,
    "TimedOut",
    `Cannot connect to ${SERVER_HOST}:7777 tcp 22: timed out after 2 SYN retransmissions`,
  );
  // 1 s, 2 s, 4 s of RFC 6298 backoff from rtoInitial = 1 s.
  assert.equal(w.clock.now(), 7_000);
  await w.close();
});

Deno.test("TouConn.read rejects with TimedOutError naming the address when retransmissions run out", async () => {
  const w = simWorld({ clientOptions: { retries: 3, rtoMax: 1_000 } });
  const { a } = await pair(w);
  w.net.setPath(CLIENT_HOST, SERVER_HOST, { partitions: [{ from: w.clock.now(), to: 1e12 }] });
  await w.until(a.write(new Uint8Array(100)), "write");
  const err = await w.until(caught(a.read(new Uint8Array(1))), "retries");
  check(
    err,
    TimedOutError,
    Deno.errors.TimedOut,
    "TimedOut",
    new RegExp(`^Connection to ${PEER} tcp 80 timed out`),
  );
  assert.equal((await w.until(a.closed, "closed")).reason, "timed_out");
  await w.close();
});

Deno.test("TouConn.write rejects with ConnectionResetError naming the address when the peer resets", async () => {
  const w = simWorld();
  const { a, b } = await pair(w);
  b.abort();
  await w.drive(() => a.state === "CLOSED", "RST arrives");
  const err = await caught(a.write(new Uint8Array(1)));
  check(
    err,
    ConnectionResetError,
    Deno.errors.ConnectionReset,
    "ConnectionReset",
    `Connection to ${PEER} tcp 80 reset by peer`,
  );
  await w.close();
});

Deno.test("TouConn.read rejects with ConnectionAbortedError naming the address when its endpoint closes", async () => {
  const w = simWorld();
  const { a } = await pair(w);
  const pending = caught(a.read(new Uint8Array(1)));
  w.client.close();
  check(
    await pending,
    ConnectionAbortedError,
    Deno.errors.ConnectionAborted,
    "ConnectionAborted",
    `Connection to ${PEER} tcp 80 aborted: its endpoint was closed`,
  );
  await w.close();
});

Deno.test("TouConn.write rejects with BrokenPipeError naming the address after closeWrite", async () => {
  const w = simWorld();
  const { a } = await pair(w);
  await a.closeWrite();
  check(
    await caught(a.write(new Uint8Array(1))),
    BrokenPipeError,
    Deno.errors.BrokenPipe,
    "BrokenPipe",
    `Cannot write to ${PEER} tcp 80: the write side is shut down`,
  );
  await w.close();
});

Deno.test("TouConn calls reject with ClosedError naming the address after close", async () => {
  const w = simWorld();
  const { a } = await pair(w);
  a.close();
  for (
    const [p, what] of [
      [a.read(new Uint8Array(1)), "read from"],
      [a.write(new Uint8Array(1)), "write to"],
      [a.closeWrite(), "shut down"],
    ] as const
  ) {
    check(
      await caught(p),
      ClosedError,
      Deno.errors.BadResource,
      "BadResource",
      `Cannot ${what} ${PEER} tcp 80: connection closed`,
    );
  }
  await w.close();
});

Deno.test("TouListener.accept rejects with ClosedError naming the address when closed", async () => {
  const w = simWorld();
  const l = w.server.listen({ tcpPort: 80 });
  const pending = caught(l.accept());
  l.close();
  check(
    await pending,
    ClosedError,
    Deno.errors.BadResource,
    "BadResource",
    `Cannot accept on ${PEER} tcp 80: listener closed`,
  );
  await w.close();
});

Deno.test("Endpoint calls throw ClosedError naming the address when the endpoint is closed", async () => {
  const w = simWorld();
  w.client.close();
  const at = `${CLIENT_HOST}:${w.client.addr.port}`;
  check(
    await caught(w.client.connect({ hostname: SERVER_HOST, port: SERVER_PORT })),
    ClosedError,
    Deno.errors.BadResource,
    "BadResource",
    `Cannot connect from ${at}: endpoint closed`,
  );
  assert.throws(() => w.client.listen(), {
    name: "BadResource",
    message: `Cannot listen on ${at}: endpoint closed`,
  });
  await w.close();
});

Deno.test("Endpoint.listen throws AddrInUseError naming the endpoint address when the TCP port is taken", async () => {
  const w = simWorld();
  using _l = w.server.listen({ tcpPort: 80 });
  const err = (() => {
    try {
      w.server.listen({ tcpPort: 80 });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  check(
    err,
    AddrInUseError,
    Deno.errors.AddrInUse,
    "AddrInUse",
    `Cannot listen on ${PEER} tcp 80: a listener already uses it`,
  );
  await w.close();
});

Deno.test("openEndpoint rejects with AddrInUseError naming the address when the UDP port is bound", async () => {
  await using ep = await openEndpoint({ hostname: "127.0.0.1" });
  check(
    await caught(openEndpoint({ hostname: "127.0.0.1", port: ep.addr.port })),
    AddrInUseError,
    Deno.errors.AddrInUse,
    "AddrInUse",
    `Cannot bind 127.0.0.1:${ep.addr.port}: address already in use`,
  );
});

Deno.test("Endpoint.connect rejects with InvalidAddrError naming the host when it does not resolve", async () => {
  const w = simWorld();
  const err = await caught(w.client.connect({ hostname: "nosuch.invalid", port: 1 }));
  check(err, InvalidAddrError, TypeError, "InvalidAddr", /^Cannot resolve "nosuch\.invalid"/);
  await w.close();
});

Deno.test("Endpoint.connect rejects with InvalidOptionError naming the field when an option is bad", async () => {
  const w = simWorld();
  const err = await caught(w.client.connect({ hostname: SERVER_HOST, port: 70_000 }));
  check(
    err,
    InvalidOptionError,
    TypeError,
    "InvalidOption",
    "Invalid option port: must be between 1 and 65535, got 70000",
  );
  assert.equal((err as InvalidOptionError).option, "port");
  await w.close();
});

Deno.test("NotConnectedError extends Deno.errors.NotConnected and keeps its name", () => {
  // Raised when the TCP core refuses an operation in a state the API layer
  // did not expect (e.g. a write racing the connection's teardown).
  const e = new NotConnectedError(`Cannot write to ${PEER} tcp 80: not connected (CLOSED)`);
  check(
    e,
    NotConnectedError,
    Deno.errors.NotConnected,
    "NotConnected",
    `Cannot write to ${PEER} tcp 80: not connected (CLOSED)`,
  );
});
