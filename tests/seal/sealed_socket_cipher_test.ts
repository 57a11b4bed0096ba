// The cipher id in the sealed envelope: each side seals with its own choice
// and opens both, so AES-256-GCM and ChaCha20-Poly1305 ends interoperate,
// also with an end that cannot load libcrypto (no --allow-ffi). A datagram
// relabelled with the other cipher id, or an unknown id, never opens.
import assert from "node:assert/strict";
import { aes256GcmLibcrypto, aes256GcmNative } from "../../src/seal/aes_gcm.ts";
import { chacha20Poly1305Noble } from "../../src/seal/aead.ts";
import { type CipherChoice, sendingAead } from "../../src/seal/cipher_choice.ts";
import {
  AES_GCM_REKEY_LIMIT,
  SealedSocket,
  type SealedSocketOptions,
} from "../../src/seal/sealed_socket.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import { openUdpSocket } from "../../src/udp/deno_udp_socket.ts";
import type { DatagramAddr, DatagramSocket } from "../../src/udp/datagram_socket.ts";
import { ForwardingSocket } from "../../src/udp/forwarding_socket.ts";

/** Records a copy of every datagram sent: the wire as an attacker sees it. */
class Tap extends ForwardingSocket {
  constructor(inner: DatagramSocket, readonly wire: Uint8Array[]) {
    super(inner);
  }
  override send(data: Uint8Array, addr?: DatagramAddr): void {
    this.wire.push(data.slice());
    this.inner.send(data, addr);
  }
}

const PSK = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
const A = { hostname: "10.0.0.1", port: 1001 };
const B = { hostname: "10.0.0.2", port: 2002 };
const EVE = { hostname: "10.0.0.66", port: 6666 };

function pair(aOpts: Partial<SealedSocketOptions>, bOpts: Partial<SealedSocketOptions>) {
  const clock = new VirtualClock({ seed: 9, start: 1_700_000_000_000 });
  const net = new SimNetwork(clock, { seed: 9 });
  const base = {
    psk: PSK,
    now: () => clock.now(),
    randomBytes: (b: Uint8Array) => clock.randomBytes(b),
  };
  const wire: Uint8Array[] = [];
  const a = new SealedSocket(new Tap(net.bind(A), wire), {
    ...base,
    role: "initiator",
    ...aOpts,
  });
  const b = new SealedSocket(net.bind(B), { ...base, role: "responder", ...bOpts });
  const aGot: number[][] = [];
  const bGot: number[][] = [];
  a.setHandler((d) => aGot.push([...d]));
  b.setHandler((d, from) => {
    bGot.push([...d]);
    b.send(d, from);
  });
  const eve = net.bind(EVE);
  return { clock, a, b, aGot, bGot, wire, eve };
}

const CHOICES: CipherChoice[] = ["auto", "aes-256-gcm", "chacha20-poly1305"];

for (const ca of CHOICES) {
  for (const cb of CHOICES) {
    Deno.test(`a ${ca} sender and a ${cb} receiver understand each other both ways`, () => {
      const w = pair({ cipher: ca }, { cipher: cb });
      w.a.send(new Uint8Array([1, 2, 3]), B);
      w.a.send(new Uint8Array(1400).fill(7), B);
      w.clock.runUntilIdle();
      assert.deepEqual(w.bGot, [[1, 2, 3], Array(1400).fill(7)]);
      assert.deepEqual(w.aGot, w.bGot);
      assert.equal(w.a.cipher, sendingAead(ca).algorithm);
      assert.equal(w.b.cipher, sendingAead(cb).algorithm);
    });
  }
}

Deno.test("auto seals with AES-256-GCM through libcrypto when it loads", () => {
  assert.ok(aes256GcmLibcrypto !== undefined);
  assert.equal(sendingAead("auto"), aes256GcmLibcrypto);
  assert.equal(sendingAead("chacha20-poly1305").algorithm, "chacha20-poly1305");
});

Deno.test("the envelope flags carry the cipher id: 1 for AES-256-GCM, 0 for ChaCha20-Poly1305", () => {
  for (const [cipher, id] of [["aes-256-gcm", 1], ["chacha20-poly1305", 0]] as const) {
    const w = pair({ cipher }, {});
    w.a.send(new Uint8Array(10), B);
    assert.deepEqual([...w.wire[0].subarray(0, 4)], [0x00, 0x80, 0x00, id]);
  }
});

Deno.test("an AES sender opens at a receiver that opens AES with node:crypto (no libcrypto)", () => {
  const w = pair({ cipher: "aes-256-gcm" }, { aead: chacha20Poly1305Noble });
  w.a.send(new Uint8Array(300).fill(1), B);
  w.clock.runUntilIdle();
  assert.equal(w.bGot.length, 1);
  assert.equal(w.aGot.length, 1);
  const w2 = pair({ aead: aes256GcmNative }, { cipher: "aes-256-gcm" });
  w2.a.send(new Uint8Array(300).fill(1), B);
  w2.clock.runUntilIdle();
  assert.equal(w2.aGot.length, 1);
});

Deno.test("a datagram relabelled with the other cipher id or an unknown id never opens", () => {
  for (const cipher of ["aes-256-gcm", "chacha20-poly1305"] as const) {
    const w = pair({ cipher }, {});
    w.a.send(new Uint8Array([5, 6, 7]), B); // not yet delivered
    const first = w.wire[0].slice();
    // Relabelled before the receiver knows the salt: derived under the other algorithm's key.
    const relabel = first.slice();
    relabel[3] ^= 1;
    w.eve.send(relabel, B);
    w.clock.runUntilIdle();
    assert.equal(w.b.stats.authFailures, 1);
    assert.equal(w.bGot.length, 1); // the genuine one
    // Relabelled once the salt is known: refused without a key derivation.
    w.a.send(new Uint8Array([8]), B);
    const second = w.wire.at(-1)!.slice();
    w.clock.runUntilIdle();
    second[3] ^= 1;
    w.eve.send(second, B);
    const unknown = second.slice();
    unknown[3] = 7;
    w.eve.send(unknown, B);
    w.clock.runUntilIdle();
    assert.equal(w.b.stats.authFailures, 2);
    assert.equal(w.b.stats.malformed, 1);
    assert.equal(w.bGot.length, 2);
  }
});

Deno.test("SealedSocket refuses an aead option of the other algorithm than cipher", () => {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock, { seed: 1 });
  assert.throws(
    () =>
      new SealedSocket(net.bind(A), {
        psk: PSK,
        cipher: "aes-256-gcm",
        aead: chacha20Poly1305Noble,
      }),
    /cipher aes-256-gcm but the aead option is chacha20-poly1305/,
  );
});

Deno.test("an AES sender and a receiver without --allow-ffi (ChaCha sender, node:crypto AES) interoperate over UDP", async () => {
  const sealed = new URL("../../src/seal/sealed_socket.ts", import.meta.url).href;
  const udp = new URL("../../src/udp/deno_udp_socket.ts", import.meta.url).href;
  const code = `import { SealedSocket } from ${JSON.stringify(sealed)};
import { openUdpSocket } from ${JSON.stringify(udp)};
const psk = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
const s = new SealedSocket(await openUdpSocket({ hostname: "127.0.0.1", port: 0 }), { psk, role: "responder" });
console.log(JSON.stringify({ port: s.localAddr.port, cipher: s.cipherName }));
const d = await s.receive();
s.send(d.data, d.from);
await new Promise((r) => setTimeout(r, 200));
s.close();`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-env", "--allow-net", "-"],
    cwd: new URL("../../", import.meta.url),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    line += r.value;
  }
  const info = JSON.parse(line);
  assert.equal(info.cipher, "chacha20-poly1305 (native)"); // no libcrypto, no libsodium addon
  const a = new SealedSocket(await openUdpSocket({ hostname: "127.0.0.1", port: 0 }), {
    psk: PSK,
    role: "initiator",
  });
  try {
    assert.equal(a.cipherName, aes256GcmLibcrypto!.name);
    a.send(new Uint8Array(1400).fill(3), { hostname: "127.0.0.1", port: info.port });
    const got = await a.receive();
    assert.deepEqual(got.data, new Uint8Array(1400).fill(3));
  } finally {
    a.close();
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const st = await child.status;
    assert.equal(
      st.code,
      0,
      new TextDecoder().decode(await new Response(child.stderr).arrayBuffer()),
    );
  }
});

Deno.test("an AES-256-GCM sender rekeys at least every 2^23 datagrams; ChaCha20-Poly1305 keeps rekeyAfter", () => {
  const clock = new VirtualClock({ seed: 1 });
  const net = new SimNetwork(clock, { seed: 1 });
  const aes = new SealedSocket(net.bind(A), { psk: PSK, cipher: "aes-256-gcm" });
  assert.equal(aes.rekeyAfter, AES_GCM_REKEY_LIMIT);
  assert.equal(AES_GCM_REKEY_LIMIT, 2 ** 23);
  const small = new SealedSocket(net.bind(B), {
    psk: PSK,
    cipher: "aes-256-gcm",
    rekeyAfter: 1000,
  });
  assert.equal(small.rekeyAfter, 1000);
  const chacha = new SealedSocket(net.bind(EVE), { psk: PSK, cipher: "chacha20-poly1305" });
  assert.equal(chacha.rekeyAfter, 2 ** 32);
  for (const s of [aes, small, chacha]) s.close();
});

Deno.test("an AES-256-GCM sender picks a new salt after rekeyAfter datagrams and the receiver follows", () => {
  const w = pair({ cipher: "aes-256-gcm", rekeyAfter: 3 }, {});
  for (let i = 0; i < 7; i++) w.a.send(new Uint8Array([i]), B);
  w.clock.runUntilIdle();
  assert.equal(w.bGot.length, 7);
  assert.equal(w.a.stats.rekeys, 2);
  const salts = new Set(w.wire.map((d) => d.subarray(4, 20).join(",")));
  assert.equal(salts.size, 3);
  // Nonces (salt, counter) never repeat.
  const nonces = new Set(w.wire.map((d) => d.subarray(4, 28).join(",")));
  assert.equal(nonces.size, w.wire.length);
});
