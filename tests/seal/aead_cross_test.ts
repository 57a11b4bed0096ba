// Every AEAD implementation must put the same bytes on the wire: fixed
// vectors (RFC 8439 §2.8.2 and Appendix A.5, plus fixed inputs of the sizes a
// tunnel sends), random inputs, and whole SealedSocket datagrams.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Aead,
  chacha20Poly1305Native,
  chacha20Poly1305Noble,
  chacha20Poly1305Sodium,
  defaultAead,
  sodiumUnavailableReason,
} from "../../src/seal/aead.ts";
import { SealedSocket } from "../../src/seal/sealed_socket.ts";
import { SimNetwork } from "../../src/sim/sim_network.ts";
import { VirtualClock } from "../../src/sim/virtual_clock.ts";
import type { DatagramAddr } from "../../src/udp/datagram_socket.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// The tests run with -A, so the addon must load: a silent fallback to
// node:crypto would hide a broken dependency.
Deno.test("chacha20Poly1305Sodium loads when FFI is allowed", () => {
  assert.equal(sodiumUnavailableReason, undefined);
  assert.ok(chacha20Poly1305Sodium !== undefined);
  assert.equal(defaultAead, chacha20Poly1305Sodium);
});

const IMPLS: Aead[] = [chacha20Poly1305Native, chacha20Poly1305Noble];
if (chacha20Poly1305Sodium !== undefined) IMPLS.push(chacha20Poly1305Sodium);

interface Vector {
  readonly name: string;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
  readonly aad: Uint8Array;
  readonly plaintext: Uint8Array;
  readonly sealed: Uint8Array;
}

const RFC_VECTORS: Vector[] = [
  {
    name: "RFC 8439 §2.8.2",
    key: hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
    nonce: hex("070000004041424344454647"),
    aad: hex("50515253c0c1c2c3c4c5c6c7"),
    plaintext: new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    ),
    sealed: hex(`
      d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
      3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
      92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
      3ff4def08e4b7a9de576d26586cec64b6116
      1ae10b594f09e26a7e902ecbd0600691`),
  },
  {
    name: "RFC 8439 Appendix A.5",
    key: hex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"),
    nonce: hex("000000000102030405060708"),
    aad: hex("f33388860000000000004e91"),
    plaintext: new TextEncoder().encode(
      "Internet-Drafts are draft documents valid for a maximum of six months and may be " +
        "updated, replaced, or obsoleted by other documents at any time. It is inappropriate " +
        "to use Internet-Drafts as reference material or to cite them other than as " +
        "/\u201cwork in progress./\u201d",
    ),
    sealed: hex(`
      64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2
      4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
      332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
      9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
      b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e
      af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
      0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
      49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
      a6ad5cb4022b02709b
      eead9d67890cbb22392336fea1851f38`),
  },
];

for (const v of RFC_VECTORS) {
  for (const aead of IMPLS) {
    Deno.test(`${aead.name} seals and opens the ${v.name} vector byte for byte`, () => {
      const out = new Uint8Array(v.plaintext.length + 16);
      assert.equal(aead.seal(v.key, v.nonce, v.aad, v.plaintext, out), v.sealed.length);
      assert.equal(toHex(out), toHex(v.sealed));
      const back = new Uint8Array(v.plaintext.length);
      assert.equal(aead.open(v.key, v.nonce, v.aad, v.sealed, back), v.plaintext.length);
      assert.deepEqual(back, v.plaintext);
    });
  }
}

// Sizes around block boundaries and the tunnel's datagrams (1400-byte MSS,
// 1424-byte inner datagram). Inputs are fixed patterns, so any change of any
// implementation's output shows as a mismatch with the others.
const SIZES = [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1399, 1400, 1424, 4096];

Deno.test("every AEAD implementation produces identical bytes when given fixed inputs", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 3) & 0xff);
  const nonce = hex("00000000 0000000100000002");
  for (const size of SIZES) {
    for (const aadLen of [0, 1, 32]) {
      const plaintext = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
      const aad = Uint8Array.from({ length: aadLen }, (_, i) => 0xa0 ^ i);
      const outs = IMPLS.map((aead) => {
        const out = new Uint8Array(size + 16);
        assert.equal(aead.seal(key, nonce, aad, plaintext, out), size + 16);
        return toHex(out);
      });
      for (let i = 1; i < outs.length; i++) {
        assert.equal(outs[i], outs[0], `${IMPLS[i].name}, ${size} bytes, aad ${aadLen}`);
      }
      for (const aead of IMPLS) {
        const back = new Uint8Array(size);
        assert.equal(aead.open(key, nonce, aad, hex(outs[0]), back), size, aead.name);
        assert.deepEqual(back, plaintext);
      }
    }
  }
});

Deno.test("every AEAD implementation agrees with the others when given random inputs", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 1500 }),
      fc.nat(),
      (key, nonce, aad, pt, flip) => {
        const sealed = IMPLS.map((aead) => {
          const out = new Uint8Array(pt.length + 16);
          aead.seal(key, nonce, aad, pt, out);
          return out;
        });
        for (const s of sealed) assert.deepEqual(s, sealed[0]);
        const bad = sealed[0].slice();
        bad[flip % bad.length] ^= 1 << (flip % 8);
        for (const aead of IMPLS) {
          const out = new Uint8Array(pt.length);
          assert.equal(aead.open(key, nonce, aad, sealed[0], out), pt.length, aead.name);
          assert.deepEqual(out, pt);
          const untouched = new Uint8Array(pt.length).fill(0x5a);
          assert.equal(aead.open(key, nonce, aad, bad, untouched), -1, aead.name);
          // Left as it was, or wiped (libsodium zeroes `m` on failure): never plaintext.
          const kept = untouched.every((b) => b === 0x5a) || untouched.every((b) => b === 0);
          assert.ok(kept, `${aead.name} wrote unauthenticated bytes`);
        }
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("chacha20Poly1305Sodium seals in place when output and plaintext share the offset", () => {
  const aead = chacha20Poly1305Sodium;
  assert.ok(aead !== undefined);
  const v = RFC_VECTORS[0];
  const buf = new Uint8Array(v.plaintext.length + 16);
  buf.set(v.plaintext);
  aead.seal(v.key, v.nonce, v.aad, buf.subarray(0, v.plaintext.length), buf);
  assert.equal(toHex(buf), toHex(v.sealed));
});

Deno.test("chacha20Poly1305Sodium writes into longer buffers when out has spare room", () => {
  const aead = chacha20Poly1305Sodium;
  assert.ok(aead !== undefined);
  const v = RFC_VECTORS[0];
  const out = new Uint8Array(v.sealed.length + 10).fill(0xee);
  assert.equal(aead.seal(v.key, v.nonce, v.aad, v.plaintext, out), v.sealed.length);
  assert.equal(toHex(out.subarray(0, v.sealed.length)), toHex(v.sealed));
  assert.ok(out.subarray(v.sealed.length).every((b) => b === 0xee));
  const back = new Uint8Array(v.plaintext.length + 5);
  assert.equal(aead.open(v.key, v.nonce, v.aad, v.sealed, back), v.plaintext.length);
  assert.deepEqual(back.subarray(0, v.plaintext.length), v.plaintext);
});

Deno.test("SealedSocket puts identical bytes on the wire when only the AEAD implementation differs", () => {
  const A: DatagramAddr = { hostname: "10.0.0.1", port: 1001 };
  const B: DatagramAddr = { hostname: "10.0.0.2", port: 2002 };
  const psk = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
  const run = (aead: Aead) => {
    const clock = new VirtualClock({ seed: 7, start: 1_700_000_000_000 });
    const net = new SimNetwork(clock, { seed: 7 });
    const wire: string[] = [];
    const rawB = net.bind(B);
    rawB.setHandler((d) => wire.push(toHex(d)));
    const opts = {
      psk,
      role: "initiator" as const,
      now: () => clock.now(),
      randomBytes: (b: Uint8Array) => clock.randomBytes(b),
      aead,
    };
    const a = new SealedSocket(net.bind(A), opts);
    for (const size of [0, 20, 1424]) {
      a.send(Uint8Array.from({ length: size }, (_, i) => i & 0xff), B);
    }
    clock.runUntilIdle();
    a.close();
    rawB.close();
    return wire;
  };
  const wires = IMPLS.map(run);
  assert.equal(wires[0].length, 3);
  for (let i = 1; i < wires.length; i++) assert.deepEqual(wires[i], wires[0], IMPLS[i].name);
});

Deno.test("defaultAead falls back to node:crypto when the addon may not load (no --allow-ffi)", async () => {
  const aead = new URL("../../src/seal/aead.ts", import.meta.url).href;
  const code = `import { defaultAead, sodiumUnavailableReason } from ${JSON.stringify(aead)};
console.log(JSON.stringify({ name: defaultAead.name, why: sodiumUnavailableReason ?? null }));`;
  const root = new URL("../../", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-env", "-"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(r.name, chacha20Poly1305Native.name);
  assert.equal(typeof r.why, "string");
});
