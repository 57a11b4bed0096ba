import assert from "node:assert/strict";
import { seq } from "../../src/wire/seq.ts";
import { ACK, FIN, PSH } from "../../src/wire/tcp_flags.ts";
import { bytes, TcpPair, TcpScript } from "../_harness/tcp_script.ts";

Deno.test("TcpConnection numbers data across 2^32 when the ISS is just below the wrap", () => {
  const s = TcpScript.established({ iss: 2 ** 32 - 3, peerIss: 2 ** 32 - 2 });
  s.app((c) => c.write(bytes("abcdef")));
  s.expectSent({ flags: ACK | PSH, seq: 2 ** 32 - 2, payload: "abcdef" });
  s.send({ ack: 4 });
  assert.equal(s.conn.sndUna, seq(4));
  s.send({ seq: 2 ** 32 - 1, ack: 4, payload: "0123" });
  s.advance(40);
  s.expectSent({ ack: 3 });
  s.send({ seq: 3, ack: 4, flags: ACK | FIN });
  s.expectSent({ ack: 4 });
  assert.equal(s.conn.state, "CLOSE_WAIT");
  assert.equal(s.readText(), "0123");
});

Deno.test("TcpPair transfers 1 MB across the 2^32 wrap in both directions", () => {
  const total = 1 << 20;
  const pair = new TcpPair({ clientIss: 2 ** 32 - 1000, serverIss: 2 ** 32 - 1000 });
  pair.keepTrace = false;
  const data = new Uint8Array(total);
  for (let i = 0; i < total; i++) data[i] = (i * 31 + (i >>> 8)) & 0xff;
  const sent = { client: 0, server: 0 };
  const got = { client: new Uint8Array(total), server: new Uint8Array(total) };
  const read = { client: 0, server: 0 };
  const buf = new Uint8Array(1 << 16);
  pair.run({
    app: () => {
      for (const end of ["client", "server"] as const) {
        const c = end === "client" ? pair.client : pair.server;
        if (c === undefined || c.state !== "ESTABLISHED") continue;
        if (sent[end] < total) sent[end] += c.write(data.subarray(sent[end]));
        for (let n = c.read(buf); n > 0; n = c.read(buf)) {
          got[end].set(buf.subarray(0, n), read[end]);
          read[end] += n;
        }
      }
    },
    until: () => read.client === total && read.server === total,
  });
  assert.deepEqual(got.server, data);
  assert.deepEqual(got.client, data);
  // both sequence spaces wrapped: ISS + 1 MB is past 2^32
  assert.ok(pair.client.sndUna < total);
  assert.ok(pair.server!.sndUna < total);
  assert.ok(pair.client.rcvNxt < total);
  assert.equal(pair.client.info().retransmits, 0);
});
