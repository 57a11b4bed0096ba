import assert from "node:assert/strict";
import fc from "fast-check";
import { onesComplementSum, tcpChecksum } from "../../src/wire/checksum.ts";
import {
  ipBytes,
  ipPacketLength,
  LINKTYPE_RAW,
  parseIpTcpPacket,
  parsePcap,
  pcapFileHeader,
  writeIpTcpPacket,
  writePcapRecordHeader,
} from "../../src/wire/pcap.ts";

/** A TCP segment of `len` bytes carrying tou's (zero-address) checksum. */
function touSegment(bytes: Uint8Array): Uint8Array {
  const seg = bytes.slice();
  seg[12] = 0x50;
  seg[16] = 0;
  seg[17] = 0;
  const c = tcpChecksum(seg);
  seg[16] = c >> 8;
  seg[17] = c & 0xff;
  return seg;
}

/** Whether `tcp` verifies under the real IPv4/IPv6 pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1). */
function verifiesWith(tcp: Uint8Array, src: Uint8Array, dst: Uint8Array): boolean {
  const pseudo = new Uint8Array(src.length === 4 ? 12 : 40);
  pseudo.set(src, 0);
  pseudo.set(dst, src.length);
  const dv = new DataView(pseudo.buffer);
  if (src.length === 4) {
    pseudo[9] = 6;
    dv.setUint16(10, tcp.length);
  } else {
    dv.setUint32(32, tcp.length);
    pseudo[39] = 6;
  }
  return onesComplementSum(tcp, onesComplementSum(pseudo)) === 0xffff;
}

Deno.test("pcap file header: little-endian magic, version 2.4, snaplen, LINKTYPE_RAW", () => {
  const h = pcapFileHeader();
  assert.equal(h.length, 24);
  const v = new DataView(h.buffer);
  assert.equal(v.getUint32(0, true), 0xa1b2c3d4);
  assert.deepEqual([v.getUint16(4, true), v.getUint16(6, true)], [2, 4]);
  assert.deepEqual([v.getInt32(8, true), v.getUint32(12, true)], [0, 0]);
  assert.ok(v.getUint32(16, true) >= 65535 + 40);
  assert.equal(v.getUint32(20, true), LINKTYPE_RAW);
  assert.equal(LINKTYPE_RAW, 101);
});

Deno.test("pcap record header: seconds, microseconds, captured and original length", () => {
  const b = new Uint8Array(20).fill(0xee);
  writePcapRecordHeader(b, 2, 1_700_000_000_123.456, 1500);
  const v = new DataView(b.buffer, 2);
  assert.equal(v.getUint32(0, true), 1_700_000_000);
  assert.equal(v.getUint32(4, true), 123_456);
  assert.equal(v.getUint32(8, true), 1500);
  assert.equal(v.getUint32(12, true), 1500);
  assert.equal(b[0], 0xee);
  assert.equal(b[18], 0xee);
});

Deno.test("ipBytes: IPv4, IPv6 forms, IPv4-mapped, garbage", () => {
  assert.deepEqual([...ipBytes("192.168.1.254")!], [192, 168, 1, 254]);
  assert.deepEqual(
    [...ipBytes("2001:db8::1")!],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  );
  assert.deepEqual([...ipBytes("::")!], new Array(16).fill(0));
  assert.deepEqual([...ipBytes("fe80::1%eth0")!].slice(0, 2), [0xfe, 0x80]);
  assert.deepEqual([...ipBytes("[::1]")!].slice(14), [0, 1]);
  assert.deepEqual([...ipBytes("::ffff:10.1.2.3")!], [10, 1, 2, 3]);
  assert.deepEqual([...ipBytes("1:2:3:4:5:6:7:8")!].slice(14), [0, 8]);
  for (const bad of ["", "1.2.3", "1.2.3.256", "a.b.c.d", "1::2::3", "1:2:3:4:5:6:7:8:9", "g::1"]) {
    assert.equal(ipBytes(bad), undefined, bad);
  }
});

Deno.test("IPv4 packet: header fields, header checksum, TCP checksum valid for the addresses", () => {
  const seg = touSegment(new Uint8Array(28).fill(7));
  const src = new Uint8Array([10, 0, 0, 1]), dst = new Uint8Array([192, 168, 7, 9]);
  const buf = new Uint8Array(ipPacketLength(4, seg.length) + 3);
  const n = writeIpTcpPacket(buf, 3, src, dst, seg, 0x1234);
  assert.equal(n, 48);
  const ip = buf.subarray(3, 3 + n);
  assert.deepEqual([...ip.subarray(0, 10)], [0x45, 0, 0, 48, 0x12, 0x34, 0x40, 0, 64, 6]);
  assert.deepEqual([...ip.subarray(12, 20)], [10, 0, 0, 1, 192, 168, 7, 9]);
  assert.equal(onesComplementSum(ip.subarray(0, 20)), 0xffff, "IPv4 header checksum");
  assert.ok(verifiesWith(ip.subarray(20), src, dst), "TCP checksum for the real pseudo-header");
  assert.deepEqual([...ip.subarray(20, 36)], [...seg.subarray(0, 16)], "header copied");
  assert.deepEqual([...ip.subarray(38)], [...seg.subarray(18)], "rest copied");
  assert.ok(!verifiesWith(seg, src, dst), "the input segment is left alone");
});

Deno.test("IPv6 packet: fixed header fields and a TCP checksum valid for the addresses", () => {
  const seg = touSegment(new Uint8Array(21).fill(3)); // odd length
  const src = ipBytes("2001:db8::1")!, dst = ipBytes("2001:db8::2")!;
  const buf = new Uint8Array(ipPacketLength(16, seg.length));
  assert.equal(writeIpTcpPacket(buf, 0, src, dst, seg), 61);
  assert.deepEqual([...buf.subarray(0, 8)], [0x60, 0, 0, 0, 0, 21, 6, 64]);
  assert.deepEqual([...buf.subarray(8, 24)], [...src]);
  assert.deepEqual([...buf.subarray(24, 40)], [...dst]);
  assert.ok(verifiesWith(buf.subarray(40), src, dst));
});

Deno.test("a corrupt tou checksum stays corrupt in the capture", () => {
  const seg = touSegment(new Uint8Array(24).fill(9));
  seg[22] ^= 1;
  const src = new Uint8Array([1, 2, 3, 4]), dst = new Uint8Array([5, 6, 7, 8]);
  const buf = new Uint8Array(ipPacketLength(4, seg.length));
  writeIpTcpPacket(buf, 0, src, dst, seg);
  assert.ok(!verifiesWith(buf.subarray(20), src, dst));
});

Deno.test("mixed address lengths are refused", () => {
  assert.throws(
    () =>
      writeIpTcpPacket(
        new Uint8Array(80),
        0,
        new Uint8Array(4),
        new Uint8Array(16),
        new Uint8Array(20),
      ),
    RangeError,
  );
});

Deno.test("property: any valid tou segment verifies under any IPv4/IPv6 pseudo-header", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 20, maxLength: 300 }),
      fc.boolean(),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      (bytes, v6, a, b) => {
        const seg = touSegment(bytes);
        const len = v6 ? 16 : 4;
        const src = a.subarray(0, len), dst = b.subarray(0, len);
        const buf = new Uint8Array(ipPacketLength(len, seg.length));
        writeIpTcpPacket(buf, 0, src, dst, seg);
        return verifiesWith(buf.subarray(v6 ? 40 : 20), src, dst);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("parsePcap and parseIpTcpPacket read back what was written (IPv4 and IPv6)", () => {
  const seg = touSegment(new Uint8Array(30).fill(1));
  const cases: [string, string][] = [["10.0.0.1", "10.0.0.2"], ["2001:db8::1", "fe80::a:0:0:2"]];
  for (const [s, d] of cases) {
    const src = ipBytes(s)!, dst = ipBytes(d)!;
    const plen = ipPacketLength(src.length as 4 | 16, seg.length);
    const file = new Uint8Array(24 + 16 + plen);
    file.set(pcapFileHeader());
    writePcapRecordHeader(file, 24, 2500.5, plen);
    writeIpTcpPacket(file, 40, src, dst, seg);
    const r = parsePcap(file);
    assert.ok(r.ok);
    assert.equal(r.value.linkType, LINKTYPE_RAW);
    assert.equal(r.value.records.length, 1);
    assert.equal(r.value.records[0].timeMs, 2500.5);
    const p = parseIpTcpPacket(r.value.records[0].data)!;
    assert.deepEqual([p.src, p.dst, p.segment.length], [s, d, seg.length]);
  }
  // A truncated last record is left out; a wrong magic is an error.
  const r = parsePcap(new Uint8Array([...pcapFileHeader(), 1, 2, 3]));
  assert.ok(r.ok && r.value.records.length === 0);
  assert.ok(!parsePcap(new Uint8Array(24)).ok);
});

Deno.test("a sealed segment (checksum field 0) gets a valid checksum computed from scratch", () => {
  const seg = new Uint8Array(33).fill(5); // odd length
  seg[12] = 0x50;
  seg[16] = 0;
  seg[17] = 0;
  for (
    const [src, dst] of [
      [new Uint8Array([10, 0, 0, 1]), new Uint8Array([10, 0, 0, 2])],
      [ipBytes("2001:db8::1")!, ipBytes("2001:db8::2")!],
    ]
  ) {
    const buf = new Uint8Array(ipPacketLength(src.length as 4 | 16, seg.length));
    const hlen = buf.length - seg.length;
    writeIpTcpPacket(buf, 0, src, dst, seg, 1, false);
    assert.ok(!verifiesWith(buf.subarray(hlen), src, dst), "updating a zero field is not enough");
    writeIpTcpPacket(buf, 0, src, dst, seg, 1, true);
    assert.ok(verifiesWith(buf.subarray(hlen), src, dst));
    assert.deepEqual([seg[16], seg[17]], [0, 0], "the input segment is left alone");
  }
});
