/**
 * Keeps docs/wire-format.md true: every ```hex <name>``` block and every
 * `<!-- bytes: <name> -->` table must match what the codec emits today.
 */
import assert from "node:assert/strict";
import { rechecksumForIpv4 } from "../../src/wire/checksum.ts";
import { emitEnvelope, ENVELOPE_HEADER_LEN, EnvelopeType } from "../../src/wire/envelope.ts";
import { seq } from "../../src/wire/seq.ts";
import { emitSegment, parseSegment, segmentEncodedLength } from "../../src/wire/tcp_codec.ts";
import { ACK, PSH, SYN } from "../../src/wire/tcp_flags.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";
import { fromHex, hex } from "./_segments.ts";

const doc = Deno.readTextFileSync(new URL("../../docs/wire-format.md", import.meta.url));

const syn: TcpSegment = {
  srcPort: 49152,
  dstPort: 7000,
  seq: seq(0x12345678),
  ack: seq(0),
  flags: SYN,
  window: 64240,
  urgentPointer: 0,
  options: {
    mss: 1448,
    sackPermitted: true,
    timestamps: { tsVal: 12345678, tsEcr: 0 },
    windowScale: 7,
  },
  payload: new Uint8Array(0),
};

const data: TcpSegment = {
  srcPort: 49152,
  dstPort: 7000,
  seq: seq(0x12345679),
  ack: seq(0x9abcdef1),
  flags: PSH | ACK,
  window: 502,
  urgentPointer: 0,
  options: { timestamps: { tsVal: 12345700, tsEcr: 87654321 } },
  payload: new TextEncoder().encode("hello"),
};

function datagram(seg: TcpSegment): Uint8Array {
  const buf = new Uint8Array(ENVELOPE_HEADER_LEN + segmentEncodedLength(seg));
  emitEnvelope(EnvelopeType.TCP_SEGMENT, 0, buf);
  emitSegment(seg, buf, ENVELOPE_HEADER_LEN);
  return buf;
}

function ipv4Segment(seg: TcpSegment): Uint8Array {
  const bytes = datagram(seg).slice(ENVELOPE_HEADER_LEN);
  rechecksumForIpv4(bytes, new Uint8Array([192, 0, 2, 1]), new Uint8Array([198, 51, 100, 2]));
  return bytes;
}

const expected: Record<string, Uint8Array> = {
  "tou-syn": datagram(syn),
  "tou-data": datagram(data),
  "tou-data-ipv4-segment": ipv4Segment(data),
};

function hexBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of doc.matchAll(/^```hex ([\w-]+)\n([\s\S]*?)^```/gm)) {
    blocks.set(m[1], m[2].replace(/\s+/g, ""));
  }
  return blocks;
}

Deno.test("docs/wire-format.md hex blocks equal the codec output when regenerated", () => {
  const blocks = hexBlocks();
  assert.deepEqual([...blocks.keys()].sort(), Object.keys(expected).sort());
  for (const [name, bytes] of Object.entries(expected)) {
    assert.equal(blocks.get(name), hex(bytes), `hex block ${name}`);
  }
});

Deno.test("docs/wire-format.md example datagrams parse back to the described segments", () => {
  for (const [name, seg] of [["tou-syn", syn], ["tou-data", data]] as const) {
    const bytes = fromHex(hexBlocks().get(name)!);
    const r = parseSegment(bytes.subarray(ENVELOPE_HEADER_LEN));
    assert.ok(r.ok, name);
    assert.deepEqual(r.value, seg);
  }
});

Deno.test("docs/wire-format.md byte tables cover each example exactly when read row by row", () => {
  const lines = doc.split("\n");
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const marker = lines[i].match(/^<!-- bytes: ([\w-]+) -->$/);
    if (!marker) continue;
    const name = marker[1];
    const bytes = expected[name];
    assert.ok(bytes, `unknown example ${name}`);
    seen.add(name);
    let next = 0;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j];
      if (line.trim() === "" && next === 0) continue; // blank line before the table
      if (!line.startsWith("|")) break;
      const row = line.match(/^\| (\d+)(?:–(\d+))?\s*\| `([0-9a-f ]+)`\s*\|/);
      if (!row) continue; // header and separator rows
      const start = Number(row[1]);
      const end = row[2] === undefined ? start : Number(row[2]);
      const listed = row[3].split(" ");
      assert.equal(start, next, `${name}: row at ${start} leaves a gap or overlaps`);
      assert.equal(listed.length, end - start + 1, `${name}: row ${start}–${end} byte count`);
      assert.equal(listed.join(""), hex(bytes.subarray(start, end + 1)), `${name}: row ${start}`);
      next = end + 1;
    }
    assert.equal(next, bytes.length, `${name}: table stops at ${next} of ${bytes.length} bytes`);
  }
  assert.deepEqual([...seen].sort(), ["tou-data", "tou-syn"]);
});
