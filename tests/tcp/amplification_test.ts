import assert from "node:assert/strict";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";
import { TcpScript } from "../_harness/tcp_script.ts";

const PLAIN = { windowScaling: false, timestamps: false, sack: false };

Deno.test("TcpConnection holds back SYN-ACK retransmissions beyond amplificationLimit × the bytes received", () => {
  const s = TcpScript.server({ config: { ...PLAIN, amplificationLimit: 3 } });
  s.expectSent({ flags: SYN | ACK }); // 24 bytes for a 20-byte SYN
  const sent: number[] = [];
  for (let i = 0; i < 5; i++) {
    const at = s.fireNext();
    if (s.sent.length > 0) {
      s.expectSent({ flags: SYN | ACK });
      sent.push(at);
    }
  }
  // 24 + 24 <= 60; a third SYN-ACK (72 bytes in all) would exceed 3 × 20.
  assert.deepEqual(sent, [1_000]);
  assert.equal(s.conn.state, "SYN_RCVD");
});

Deno.test("TcpConnection retransmits SYN-ACKs without limit when amplificationLimit is 0 (the default)", () => {
  const s = TcpScript.server({ config: PLAIN });
  s.expectSent({ flags: SYN | ACK });
  let n = 0;
  for (let i = 0; i < 5; i++) {
    s.fireNext();
    if (s.sent.length > 0) (s.expectSent({ flags: SYN | ACK }), n++);
  }
  assert.equal(n, 5);
});
