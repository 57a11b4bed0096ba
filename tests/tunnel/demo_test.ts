import assert from "node:assert/strict";
import { runDemo } from "../../src/tunnel/demo.ts";

Deno.test("runDemo echoes the data intact and prints the handshake and close", async () => {
  const lines: string[] = [];
  const r = await runDemo({ bytes: 2 * 1024 * 1024, print: (l) => lines.push(l) });
  assert.equal(r.sent, 2 * 1024 * 1024);
  assert.equal(r.received, r.sent);
  assert.ok(r.sha256Equal);
  assert.ok(r.rtt > 0);
  assert.ok(r.segments > 100);
  const text = lines.join("\n");
  // SYN, SYN-ACK, ACK first; FINs from both sides and the last ACK at the end.
  assert.match(r.trace[0], /client > server .*Flags \[S\]/);
  assert.match(r.trace[1], /server > client .*Flags \[S\.\]/);
  assert.match(r.trace[2], /client > server .*Flags \[\.\]/);
  assert.ok(r.trace.some((l) => /client > server .*Flags \[F/.test(l)), text);
  assert.ok(r.trace.some((l) => /server > client .*Flags \[F/.test(l)), text);
  assert.match(r.trace.at(-1)!, /Flags \[\.\]/);
  assert.match(text, /sha256 equal/);
  assert.match(text, /throughput [0-9.]+ MiB\/s each way/);
  assert.match(text, /rtt [0-9.]+ ms, rto \d+ ms, mss \d+, cwnd \d+ segments, retransmits \d+/);
  assert.match(text, /encryption +(aes-256-gcm|chacha20-poly1305) \(/);
});
