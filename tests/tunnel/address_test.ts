import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AddressError,
  formatHostPort,
  isLoopback,
  parseForwardSpec,
  parseHostPort,
  parseIpv4,
  parseIpv6,
  parseLocalSpec,
  parsePort,
} from "../../src/tunnel/address.ts";

Deno.test("parseHostPort accepts IPv4, bracketed IPv6 and DNS names when well formed", () => {
  assert.deepEqual(parseHostPort("0.0.0.0:7000"), { hostname: "0.0.0.0", port: 7000 });
  assert.deepEqual(parseHostPort("[::1]:22"), { hostname: "::1", port: 22 });
  assert.deepEqual(parseHostPort("[2001:db8::5]:443"), { hostname: "2001:db8::5", port: 443 });
  assert.deepEqual(parseHostPort("web.internal:8080"), { hostname: "web.internal", port: 8080 });
  assert.deepEqual(parseHostPort("localhost:1"), { hostname: "localhost", port: 1 });
});

Deno.test("parseHostPort uses the default host when given a bare port", () => {
  assert.deepEqual(parseHostPort("7000", { defaultHost: "0.0.0.0" }), {
    hostname: "0.0.0.0",
    port: 7000,
  });
  assert.throws(() => parseHostPort("7000"), {
    name: "AddressError",
    message: 'missing host in "7000": expected host:port',
  });
});

Deno.test("parseHostPort names the problem when the input is malformed", () => {
  const cases: [string, string][] = [
    ["", "empty address: expected host:port"],
    ["host", 'missing port in "host": expected host:port'],
    ["host:", 'invalid port "" in "host:": must be a number 1..65535'],
    ["host:0", 'invalid port "0" in "host:0": must be 1..65535'],
    ["host:65536", 'invalid port "65536" in "host:65536": must be 1..65535'],
    ["host:-1", 'invalid port "-1" in "host:-1": must be a number 1..65535'],
    ["host:22x", 'invalid port "22x" in "host:22x": must be a number 1..65535'],
    [":22", 'missing host in ":22": expected host:port'],
    ["1.2.3:22", 'invalid IPv4 address "1.2.3" in "1.2.3:22"'],
    ["256.1.1.1:22", 'invalid IPv4 address "256.1.1.1" in "256.1.1.1:22"'],
    ["::1:22", 'invalid address "::1:22": write IPv6 addresses in brackets, like [::1]:7000'],
    ["[::1]22", 'invalid address "[::1]22": expected [ipv6]:port'],
    ["[1::2::3]:22", 'invalid IPv6 address "1::2::3" in "[1::2::3]:22"'],
    ["bad_host:22", 'invalid host "bad_host" in "bad_host:22"'],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseHostPort(input), (e: unknown) => {
      assert.ok(e instanceof AddressError, input);
      assert.equal(e.message, message, input);
      return true;
    });
  }
});

Deno.test("parseHostPort allows port 0 only when asked", () => {
  assert.equal(parseHostPort("127.0.0.1:0", { allowZeroPort: true }).port, 0);
  assert.throws(() => parseHostPort("127.0.0.1:0"), AddressError);
});

Deno.test("parsePort round-trips every valid port", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 65535 }), (p) => parsePort(String(p)) === p),
    { seed: 5 },
  );
});

Deno.test("parseHostPort never throws anything but AddressError when fed arbitrary text", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        const r = parseHostPort(s, { defaultHost: "0.0.0.0", allowZeroPort: true });
        return r.port >= 0 && r.port <= 65535;
      } catch (e) {
        return e instanceof AddressError && !e.message.includes("\n");
      }
    }),
    { seed: 11, numRuns: 2000 },
  );
});

Deno.test("formatHostPort inverts parseHostPort when the host is IPv4 or IPv6", () => {
  for (const text of ["127.0.0.1:7", "[::1]:7000", "[2001:db8::1]:1"]) {
    assert.equal(formatHostPort(parseHostPort(text)), text);
  }
});

Deno.test("parseIpv4 and parseIpv6 return bytes when the literal is valid", () => {
  assert.deepEqual(parseIpv4("10.1.2.3"), new Uint8Array([10, 1, 2, 3]));
  assert.equal(parseIpv4("01.1.1.1"), undefined);
  const v6 = parseIpv6("2001:db8::ff00:42:8329");
  assert.deepEqual(
    v6,
    new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29]),
  );
  assert.deepEqual(parseIpv6("::"), new Uint8Array(16));
  assert.equal(parseIpv6("1:2:3:4:5:6:7:8:9"), undefined);
  assert.equal(parseIpv6("1:2:3:4:5:6:7"), undefined);
});

Deno.test("isLoopback accepts 127/8, ::1 and localhost only", () => {
  assert.ok(isLoopback("127.0.0.1"));
  assert.ok(isLoopback("127.1.2.3"));
  assert.ok(isLoopback("::1"));
  assert.ok(isLoopback("localhost"));
  assert.ok(!isLoopback("0.0.0.0"));
  assert.ok(!isLoopback("10.0.0.1"));
  assert.ok(!isLoopback("::"));
});

Deno.test("parseForwardSpec maps a tunnel port to a target when well formed", () => {
  assert.deepEqual(parseForwardSpec("22=127.0.0.1:22"), {
    tunnelPort: 22,
    target: { hostname: "127.0.0.1", port: 22 },
  });
  assert.deepEqual(parseForwardSpec("443=[::1]:8443"), {
    tunnelPort: 443,
    target: { hostname: "::1", port: 8443 },
  });
});

Deno.test("parseForwardSpec names the problem when the spec is malformed", () => {
  const cases: [string, string][] = [
    ["22", 'invalid forward "22": expected TUNNELPORT=HOST:PORT, like 22=127.0.0.1:22'],
    ["22=", 'invalid forward "22=": missing target HOST:PORT'],
    ["=127.0.0.1:22", 'invalid port "" in "=127.0.0.1:22": must be a number 1..65535'],
    ["0=127.0.0.1:22", 'invalid port "0" in "0=127.0.0.1:22": must be 1..65535'],
    ["22=127.0.0.1", 'missing port in "127.0.0.1": expected host:port'],
    ["22=127.0.0.1:0", 'invalid port "0" in "127.0.0.1:0": must be 1..65535'],
    [
      "65535=127.0.0.1:22",
      'invalid forward "65535=127.0.0.1:22": tunnel port 65535 is reserved for multiplexed ' +
      "sessions (tou client --mux)",
    ],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseForwardSpec(input), { name: "AddressError", message }, input);
  }
});

Deno.test("parseLocalSpec defaults the host to 127.0.0.1 when only a port is given", () => {
  assert.deepEqual(parseLocalSpec("2222=22"), {
    listen: { hostname: "127.0.0.1", port: 2222 },
    tunnelPort: 22,
  });
  assert.deepEqual(parseLocalSpec("0.0.0.0:0=80"), {
    listen: { hostname: "0.0.0.0", port: 0 },
    tunnelPort: 80,
  });
  assert.deepEqual(parseLocalSpec("[::1]:2222=22"), {
    listen: { hostname: "::1", port: 2222 },
    tunnelPort: 22,
  });
});

Deno.test("parseLocalSpec names the problem when the spec is malformed", () => {
  assert.throws(() => parseLocalSpec("2222"), {
    message: 'invalid local "2222": expected [HOST:]PORT=TUNNELPORT, like 127.0.0.1:2222=22',
  });
  assert.throws(() => parseLocalSpec("=22"), {
    message: 'invalid local "=22": missing local [HOST:]PORT',
  });
  assert.throws(() => parseLocalSpec("2222=ssh"), {
    message: 'invalid port "ssh" in "2222=ssh": must be a number 1..65535',
  });
  assert.throws(() => parseLocalSpec("2222=65535"), {
    message: 'invalid local "2222=65535": tunnel port 65535 is reserved for multiplexed ' +
      "sessions (tou client --mux)",
  });
});
