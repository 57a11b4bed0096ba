/**
 * Ladder (sequence) diagrams of TCP conversations as SVG, the picture of
 * RFC 9293 §3.5's figures: one vertical timeline per host, one arrow per
 * segment labelled with its flags and seq/ack/len, each side's state names
 * along its timeline, lost segments as arrows that stop short with a ✗.
 * Pure string generation; the input comes from a lab run or a pcap file.
 *
 * Time runs down, compressed: every instant at which something happens gets
 * its own row, so that a 60 s TIME_WAIT takes no more room than 10 ms (the
 * time of each row is written in the left margin).
 *
 * @module
 */

import { formatFlags } from "../wire/tcp_flags.ts";
import { escapeXml } from "./svg.ts";

/** One segment of a ladder diagram. */
export interface LadderSegment {
  /** When it was sent (ms). */
  readonly time: number;
  /** Sending host (a column). */
  readonly from: string;
  /** Receiving host (a column). */
  readonly to: string;
  /** TCP flag bits. */
  readonly flags: number;
  /** Sequence number. */
  readonly seq: number;
  /** Acknowledgment number (shown when ACK is set). */
  readonly ack: number;
  /** Payload bytes. */
  readonly len: number;
  /** When it arrived (ms); undefined when unknown (then drawn one step down). */
  readonly arrived?: number;
  /** Why it was lost, when it was: drawn as an arrow that stops short. */
  readonly lost?: string;
}

/** A state change of one host's connection. */
export interface LadderState {
  /** When (ms). */
  readonly time: number;
  /** The host (a column). */
  readonly who: string;
  /** The state entered (RFC 9293 name, e.g. "SYN_SENT"). */
  readonly to: string;
}

/** What a ladder diagram shows. */
export interface LadderInput {
  /** Title above the diagram. */
  readonly title?: string;
  /** Columns, left to right. Default: hosts in order of first appearance. */
  readonly hosts?: readonly string[];
  /** The segments. */
  readonly segments: readonly LadderSegment[];
  /** State changes (each host's first "from" state may be given as a change at its first time). */
  readonly states?: readonly LadderState[];
}

const ROW = 34;
const COL = 420;
const LEFT = 170;
const TOP = 70;
const LOST_FRACTION = 0.55;

/**
 * The label of a segment: flags as Wireshark names them, then seq, ack
 * (when ACK is set) and len, e.g. `SYN, ACK seq=5000 ack=1001`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segmentLabel } from "./ladder.ts";
 * assert.equal(segmentLabel({ flags: 0x12, seq: 5000, ack: 1001, len: 0 }), "SYN, ACK seq=5000 ack=1001");
 * assert.equal(segmentLabel({ flags: 0x18, seq: 1, ack: 2, len: 3 }), "PSH, ACK seq=1 ack=2 len=3");
 * ```
 */
export function segmentLabel(s: Pick<LadderSegment, "flags" | "seq" | "ack" | "len">): string {
  const names: [number, string][] = [
    [0x02, "SYN"],
    [0x01, "FIN"],
    [0x04, "RST"],
    [0x08, "PSH"],
    [0x10, "ACK"],
    [0x20, "URG"],
    [0x40, "ECE"],
    [0x80, "CWR"],
  ];
  const f = names.filter(([bit]) => (s.flags & bit) !== 0).map(([, n]) => n);
  let label = `${f.length > 0 ? f.join(", ") : `[${formatFlags(s.flags)}]`} seq=${s.seq >>> 0}`;
  if (s.flags & 0x10) label += ` ack=${s.ack >>> 0}`;
  if (s.len > 0) label += ` len=${s.len}`;
  return label;
}

function fmtTime(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${+ms.toFixed(3)} ms`;
}

/**
 * Renders a ladder diagram.
 *
 * @param input Hosts, segments and state changes.
 * @returns A standalone SVG document.
 *
 * @example A handshake
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderLadder } from "./ladder.ts";
 * const svg = renderLadder({
 *   segments: [
 *     { time: 0, arrived: 10, from: "client", to: "server", flags: 0x02, seq: 1000, ack: 0, len: 0 },
 *     { time: 10, arrived: 20, from: "server", to: "client", flags: 0x12, seq: 5000, ack: 1001, len: 0 },
 *   ],
 *   states: [{ time: 0, who: "client", to: "SYN_SENT" }],
 * });
 * assert.ok(svg.startsWith("<svg"));
 * assert.ok(svg.includes("SYN, ACK seq=5000 ack=1001"));
 * ```
 */
export function renderLadder(input: LadderInput): string {
  const hosts = [...(input.hosts ?? [])];
  const states = input.states ?? [];
  for (const s of input.segments) {
    for (const h of [s.from, s.to]) if (!hosts.includes(h)) hosts.push(h);
  }
  for (const s of states) if (!hosts.includes(s.who)) hosts.push(s.who);

  // Rows: every instant at which something happens gets one row, or more when a host sends
  // (or receives) several segments at that instant: a burst fans out, one arrow per row, while
  // a reply sent on arrival stays level with the arrival.
  const groups = new Map<number, { sends: Map<string, number>; arrivals: Map<string, number> }>();
  const group = (t: number) => {
    let g = groups.get(t);
    if (g === undefined) groups.set(t, g = { sends: new Map(), arrivals: new Map() });
    return g;
  };
  const slot = (m: Map<string, number>, h: string) => {
    const k = m.get(h) ?? 0;
    m.set(h, k + 1);
    return k;
  };
  const sendSlot: number[] = [], arriveSlot: number[] = [];
  input.segments.forEach((s, i) => {
    sendSlot[i] = slot(group(s.time).sends, s.from);
    if (s.arrived !== undefined && s.lost === undefined) {
      arriveSlot[i] = slot(group(s.arrived).arrivals, s.to);
    }
  });
  for (const s of states) group(s.time);
  const sorted = [...groups.keys()].sort((a, b) => a - b);
  const base = new Map<number, number>();
  let rows = 0;
  for (const t of sorted) {
    base.set(t, rows);
    const g = groups.get(t)!;
    rows += Math.max(1, ...g.sends.values(), ...g.arrivals.values());
  }
  const y = (t: number, k = 0) => TOP + 30 + (base.get(t)! + k) * ROW;
  const x = (h: string) => LEFT + 60 + hosts.indexOf(h) * COL;
  const bottom = TOP + 30 + Math.max(1, rows) * ROW + 20;
  const width = LEFT + 120 + Math.max(1, hosts.length - 1) * COL + 140;
  const height = bottom + 30;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" ` +
      `font-size="12">`,
    `<title>${escapeXml(input.title ?? "TCP ladder diagram")}</title>`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" ` +
      `markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e9c"/>` +
      `</marker></defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  );
  if (input.title) {
    out.push(
      `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${
        escapeXml(input.title)
      }</text>`,
    );
  }
  // Timelines.
  out.push(`<g class="timelines">`);
  for (const h of hosts) {
    out.push(
      `<text class="host" x="${x(h)}" y="${TOP}" text-anchor="middle" font-size="14" ` +
        `font-weight="bold">${escapeXml(h)}</text>`,
      `<line class="timeline" data-host="${escapeXml(h)}" x1="${x(h)}" y1="${TOP + 10}" ` +
        `x2="${x(h)}" y2="${bottom}" stroke="#444" stroke-width="2"/>`,
    );
  }
  out.push(`</g>`);
  // Time axis.
  out.push(`<g class="times" fill="#777" font-size="11">`);
  for (const t of sorted) {
    out.push(`<text x="${LEFT - 105}" y="${y(t) + 4}" text-anchor="end">${fmtTime(t)}</text>`);
  }
  out.push(`</g>`);
  // States: a label beside the timeline, left of the first column, right of the others.
  out.push(`<g class="states" font-size="11">`);
  for (const s of states) {
    const left = hosts.indexOf(s.who) === 0;
    const w = 8 + 7 * s.to.length;
    const bx = left ? x(s.who) - 8 - w : x(s.who) + 8;
    out.push(
      `<g class="state" data-host="${escapeXml(s.who)}" data-state="${escapeXml(s.to)}">` +
        `<rect x="${bx}" y="${y(s.time) - 9}" width="${w}" height="18" rx="4" fill="#eef5e9" ` +
        `stroke="#5a8f3c"/><text x="${bx + w / 2}" y="${y(s.time) + 4}" text-anchor="middle" ` +
        `fill="#2f5a1a">${escapeXml(s.to)}</text></g>`,
    );
  }
  out.push(`</g>`);
  // Segments.
  out.push(`<g class="segments">`);
  input.segments.forEach((s, i) => {
    const x1 = x(s.from), x2full = x(s.to), y1 = y(s.time, sendSlot[i]);
    const y2full = arriveSlot[i] !== undefined ? y(s.arrived!, arriveSlot[i]) : y1 + ROW * 0.8;
    const label = segmentLabel(s);
    if (s.from === s.to) {
      // A host talking to itself (self-connect): a loop out to the right and back.
      const bend = x1 + 90;
      out.push(
        `<g class="segment self" data-from="${escapeXml(s.from)}" data-to="${escapeXml(s.to)}" ` +
          `data-label="${escapeXml(label)}">`,
        `<path d="M${r(x1)},${r(y1)} C${r(bend)},${r(y1)} ${r(bend)},${r(y2full)} ${r(x1)},${
          r(y2full)
        }" fill="none" stroke="#1f4e9c" stroke-width="1.6" marker-end="url(#arrow)"/>`,
        `<text x="${r(bend - 10)}" y="${r((y1 + y2full) / 2 + 4)}" fill="#1f4e9c">${
          escapeXml(label)
        }</text>`,
        `</g>`,
      );
      return;
    }
    const lost = s.lost !== undefined;
    const x2 = lost ? x1 + (x2full - x1) * LOST_FRACTION : x2full;
    const y2 = lost ? y1 + (y2full - y1) * LOST_FRACTION : y2full;
    const color = lost ? "#c0392b" : (s.flags & 0x04) ? "#8e44ad" : "#1f4e9c";
    const angle = Math.atan2(y2full - y1, x2full - x1) * 180 / Math.PI;
    const tx = x1 + (x2full - x1) * (lost ? 0.27 : 0.5),
      ty = y1 + (y2full - y1) * (lost ? 0.27 : 0.5);
    const rot = Math.abs(angle) > 90 ? angle + 180 : angle;
    out.push(
      `<g class="segment${lost ? " lost" : ""}" data-from="${escapeXml(s.from)}" ` +
        `data-to="${escapeXml(s.to)}" data-label="${escapeXml(label)}">`,
      `<line x1="${r(x1)}" y1="${r(y1)}" x2="${r(x2)}" y2="${r(y2)}" stroke="${color}" ` +
        `stroke-width="1.6"${lost ? ` stroke-dasharray="5,3"` : ` marker-end="url(#arrow)"`}/>`,
    );
    if (lost) {
      out.push(
        `<text class="cross" x="${r(x2)}" y="${r(y2 + 5)}" text-anchor="middle" fill="${color}" ` +
          `font-size="16" font-weight="bold">✗</text>`,
      );
    }
    out.push(
      `<text x="${r(tx)}" y="${r(ty - 5)}" text-anchor="middle" fill="${color}" ` +
        `transform="rotate(${r(rot)} ${r(tx)} ${r(ty)})">${escapeXml(label)}${
          lost ? ` (lost: ${escapeXml(s.lost!)})` : ""
        }</text>`,
      `</g>`,
    );
  });
  out.push(`</g>`, `</svg>`);
  return out.join("\n") + "\n";
}

function r(n: number): string {
  return String(Math.round(n * 10) / 10);
}
