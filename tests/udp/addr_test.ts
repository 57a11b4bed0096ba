import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalIp,
  formatAddr,
  ipFamily,
  isValidPort,
  parseAddr,
  sameAddr,
  validateAddr,
} from "../../src/udp/addr.ts";
import { InvalidAddrError } from "../../src/udp/errors.ts";

/** fast-check seed: fixed for replay; override with FC_SEED. fast-check prints it on failure. */
const SEED = Number(Deno.env.get("FC_SEED") ?? 0x7075);

Deno.test("isValidPort accepts integers 0..65535 and rejects the rest", () => {
  for (const p of [0, 1, 80, 65535]) assert.equal(isValidPort(p), true, String(p));
  for (const p of [-1, 65536, 1.5, NaN, Infinity]) assert.equal(isValidPort(p), false, String(p));
});

Deno.test("parseAddr parses host:port when given an IPv4 literal", () => {
  assert.deepEqual(parseAddr("127.0.0.1:9000"), { hostname: "127.0.0.1", port: 9000 });
  assert.deepEqual(parseAddr("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
  assert.deepEqual(parseAddr("255.255.255.255:65535"), {
    hostname: "255.255.255.255",
    port: 65535,
  });
});

Deno.test("parseAddr parses [v6]:port and canonicalises the host when given an IPv6 literal", () => {
  assert.deepEqual(parseAddr("[::1]:53"), { hostname: "::1", port: 53 });
  assert.deepEqual(parseAddr("[0:0:0:0:0:0:0:1]:53"), { hostname: "::1", port: 53 });
  assert.deepEqual(parseAddr("[2001:DB8::1]:443"), { hostname: "2001:db8::1", port: 443 });
  assert.deepEqual(parseAddr("[::ffff:10.0.0.1]:1"), { hostname: "::ffff:10.0.0.1", port: 1 });
  assert.deepEqual(parseAddr("[fe80::1%eth0]:5"), { hostname: "fe80::1%eth0", port: 5 });
});

Deno.test("parseAddr uses defaultPort when the text has no port", () => {
  assert.deepEqual(parseAddr("10.1.2.3", { defaultPort: 7 }), { hostname: "10.1.2.3", port: 7 });
  assert.deepEqual(parseAddr("::1", { defaultPort: 7 }), { hostname: "::1", port: 7 });
  assert.deepEqual(parseAddr("[::1]", { defaultPort: 7 }), { hostname: "::1", port: 7 });
  assert.deepEqual(parseAddr("[::1]:8", { defaultPort: 7 }), { hostname: "::1", port: 8 });
});

Deno.test("parseAddr accepts DNS names only when allowNames is set", () => {
  assert.deepEqual(parseAddr("Example.COM:80", { allowNames: true }), {
    hostname: "example.com",
    port: 80,
  });
  assert.deepEqual(parseAddr("localhost:1", { allowNames: true }), {
    hostname: "localhost",
    port: 1,
  });
  assert.throws(() => parseAddr("localhost:1"), InvalidAddrError);
  assert.throws(() => parseAddr("1.2.3:1", { allowNames: true }), InvalidAddrError);
  assert.throws(() => parseAddr("-bad.com:1", { allowNames: true }), InvalidAddrError);
});

Deno.test("parseAddr throws InvalidAddrError naming the input when the text is malformed", () => {
  const bad = [
    "",
    "127.0.0.1",
    "127.0.0.1:",
    "127.0.0.1:65536",
    "127.0.0.1:-1",
    "127.0.0.1:+80",
    "127.0.0.1:8a",
    "127.0.0.1:123456",
    "256.0.0.1:80",
    "01.2.3.4:80",
    "1.2.3.4.5:80",
    "::1:80",
    "[::1:80",
    "[::1]80",
    "[127.0.0.1]:80",
    "[1::2::3]:80",
    "[12345::]:80",
    "[1:2:3:4:5:6:7:8:9]:80",
    "[1:2:3:4:5:6:7:8::]:80",
    "[::1%]:80",
    " 127.0.0.1:80",
  ];
  for (const text of bad) {
    assert.throws(() => parseAddr(text), (e: unknown) => {
      assert.ok(e instanceof InvalidAddrError, `${text}: ${e}`);
      assert.equal(e.name, "InvalidAddr");
      assert.ok(e.message.startsWith(`Invalid address ${JSON.stringify(text)}: `), e.message);
      return true;
    });
  }
  assert.throws(() => parseAddr("1.2.3.4", { defaultPort: 70000 }), /default port out of range/);
});

Deno.test("parseAddr throws only InvalidAddrError when given arbitrary text", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), fc.boolean(), (text, allowNames) => {
      try {
        const a = parseAddr(text, { allowNames });
        assert.ok(isValidPort(a.port));
      } catch (e) {
        assert.ok(e instanceof InvalidAddrError, String(e));
      }
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

Deno.test("canonicalIp follows RFC 5952 when given IPv6 literals", () => {
  const cases: [string, string][] = [
    ["::", "::"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["2001:0DB8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group is not compressed
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longer run wins
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of equal runs wins
    ["::ffff:7f00:1", "::ffff:127.0.0.1"],
    ["::FFFF:192.168.0.1", "::ffff:192.168.0.1"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["fe80::1%lo", "fe80::1%lo"],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
});

Deno.test("canonicalIp returns undefined when the text is not an IP literal", () => {
  for (
    const t of ["", "localhost", "1.2.3", "1.2.3.256", "00.1.2.3", ":::", "1:2", "g::1", "::1%"]
  ) {
    assert.equal(canonicalIp(t), undefined, t);
  }
});

Deno.test("ipFamily tells IPv4 from IPv6 and names", () => {
  assert.equal(ipFamily("10.0.0.1"), 4);
  assert.equal(ipFamily("fe80::1"), 6);
  assert.equal(ipFamily("example.com"), undefined);
});

Deno.test("formatAddr brackets IPv6 hosts", () => {
  assert.equal(formatAddr({ hostname: "10.0.0.1", port: 80 }), "10.0.0.1:80");
  assert.equal(formatAddr({ hostname: "2001:db8::1", port: 443 }), "[2001:db8::1]:443");
});

Deno.test("sameAddr matches an IPv4 host with its IPv4-mapped IPv6 form", () => {
  const v4 = { hostname: "127.0.0.1", port: 5 };
  assert.equal(sameAddr(v4, { hostname: "::ffff:127.0.0.1", port: 5 }), true);
  assert.equal(sameAddr({ hostname: "::ffff:127.0.0.1", port: 5 }, v4), true);
  assert.equal(sameAddr(v4, { hostname: "127.0.0.2", port: 5 }), false);
  assert.equal(sameAddr(v4, { hostname: "127.0.0.1", port: 6 }), false);
  assert.equal(sameAddr({ hostname: "::1", port: 5 }, { hostname: "::1", port: 5 }), true);
});

Deno.test("validateAddr canonicalises the host and returns the same object when already canonical", () => {
  const a = { hostname: "127.0.0.1", port: 9 };
  assert.equal(validateAddr(a), a);
  assert.deepEqual(validateAddr({ hostname: "0::1", port: 9 }), { hostname: "::1", port: 9 });
  assert.deepEqual(validateAddr({ hostname: "0.0.0.0", port: 0 }, { allowPortZero: true }), {
    hostname: "0.0.0.0",
    port: 0,
  });
});

Deno.test("validateAddr throws InvalidAddrError naming the address when it is invalid", () => {
  assert.throws(() => validateAddr({ hostname: "127.0.0.1", port: 0 }), {
    name: "InvalidAddr",
    message: "Invalid address 127.0.0.1:0: port 0 is not a destination",
  });
  assert.throws(() => validateAddr({ hostname: "::1", port: 70000 }), {
    name: "InvalidAddr",
    message: "Invalid address [::1]:70000: port must be an integer 0..65535",
  });
  assert.throws(() => validateAddr({ hostname: "host", port: 1 }), {
    name: "InvalidAddr",
    message: "Invalid address host:1: hostname must be an IP literal",
  });
  const junk = { hostname: 5, port: "x" } as unknown as { hostname: string; port: number };
  assert.throws(() => validateAddr(junk), InvalidAddrError);
});

Deno.test("parseAddr round-trips formatAddr when given any IPv4 or IPv6 address", () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) =>
    g.map((x) => x.toString(16)).join(":")
  );
  fc.assert(
    fc.property(fc.oneof(v4, v6), fc.nat(65535), (host, port) => {
      const canon = canonicalIp(host);
      assert.ok(canon !== undefined, host);
      assert.equal(canonicalIp(canon), canon); // idempotent
      assert.equal(canon, canon.toLowerCase());
      assert.ok(!canon.includes("::") || canon.indexOf("::") === canon.lastIndexOf("::"));
      const addr = { hostname: canon, port };
      assert.deepEqual(parseAddr(formatAddr(addr)), addr);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});
