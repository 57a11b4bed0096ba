/**
 * The TCP state diagram of RFC 9293 §3.3.2 (Figure 5) as SVG, with the
 * path one or more connections took highlighted: every transition taken is
 * drawn thick in its host's colour and numbered in the order it happened.
 * A transition the figure does not draw (a reset, an abort) is added as a
 * dashed curve.
 *
 * @module
 */

import { escapeXml } from "./svg.ts";

/** The transitions one host's connection went through, in order. */
export interface StatePath {
  /** Host name (legend). */
  readonly who: string;
  /** [from, to] state pairs, RFC 9293 names with underscores ("SYN_SENT"). */
  readonly transitions: readonly (readonly [string, string])[];
}

/** Node positions: the layout of RFC 9293 Figure 5, two CLOSED boxes (start and end). */
const NODES: Record<string, [number, number]> = {
  CLOSED: [380, 60],
  LISTEN: [380, 160],
  SYN_RCVD: [150, 260],
  SYN_SENT: [610, 260],
  ESTABLISHED: [380, 360],
  FIN_WAIT_1: [150, 470],
  CLOSE_WAIT: [610, 470],
  FIN_WAIT_2: [150, 590],
  CLOSING: [380, 590],
  LAST_ACK: [610, 590],
  TIME_WAIT: [380, 700],
  "CLOSED ": [610, 780],
};

/** RFC 9293 Figure 5's arrows: from, to, "event / action". */
export const RFC9293_TRANSITIONS: readonly (readonly [string, string, string, number?])[] = [
  ["CLOSED", "LISTEN", "passive OPEN"],
  ["CLOSED", "SYN_SENT", "active OPEN / snd SYN", 0.72],
  ["LISTEN", "SYN_RCVD", "rcv SYN / snd SYN,ACK"],
  ["LISTEN", "SYN_SENT", "SEND / snd SYN"],
  ["LISTEN", "CLOSED", "CLOSE"],
  ["SYN_SENT", "SYN_RCVD", "rcv SYN / snd SYN,ACK"],
  ["SYN_SENT", "ESTABLISHED", "rcv SYN,ACK / snd ACK"],
  ["SYN_SENT", "CLOSED", "CLOSE / timeout"],
  ["SYN_RCVD", "ESTABLISHED", "rcv ACK of SYN"],
  ["SYN_RCVD", "FIN_WAIT_1", "CLOSE / snd FIN"],
  ["SYN_RCVD", "LISTEN", "rcv RST"],
  ["ESTABLISHED", "FIN_WAIT_1", "CLOSE / snd FIN"],
  ["ESTABLISHED", "CLOSE_WAIT", "rcv FIN / snd ACK"],
  ["FIN_WAIT_1", "FIN_WAIT_2", "rcv ACK of FIN"],
  ["FIN_WAIT_1", "CLOSING", "rcv FIN / snd ACK"],
  ["FIN_WAIT_1", "TIME_WAIT", "rcv FIN+ACK / snd ACK"],
  ["FIN_WAIT_2", "TIME_WAIT", "rcv FIN / snd ACK"],
  ["CLOSING", "TIME_WAIT", "rcv ACK of FIN"],
  ["CLOSE_WAIT", "LAST_ACK", "CLOSE / snd FIN"],
  ["LAST_ACK", "CLOSED ", "rcv ACK of FIN"],
  ["TIME_WAIT", "CLOSED ", "timeout = 2MSL"],
];

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
const W = 760, H = 830, BOX_W = 120, BOX_H = 32;

/** The node a transition ends on: the end CLOSED box, except where the figure returns to the start one. */
function nodeOf(state: string, asTarget: boolean, from?: string): string {
  if (state !== "CLOSED" || !asTarget) return state;
  return from === "LISTEN" || from === "SYN_SENT" ? "CLOSED" : "CLOSED ";
}

/** Where the segment from a box centre towards `to` leaves the box. */
function clip(from: [number, number], to: [number, number]): [number, number] {
  const dx = to[0] - from[0], dy = to[1] - from[1];
  const sx = dx === 0 ? Infinity : (BOX_W / 2 + 3) / Math.abs(dx);
  const sy = dy === 0 ? Infinity : (BOX_H / 2 + 3) / Math.abs(dy);
  const s = Math.min(sx, sy);
  return [from[0] + dx * s, from[1] + dy * s];
}

/**
 * Renders the state diagram with `paths` highlighted.
 *
 * @param paths Each host's transitions in order.
 * @param title Title above the diagram.
 * @returns A standalone SVG document.
 *
 * @example The client side of a handshake
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderStateDiagram } from "./state_diagram.ts";
 * const svg = renderStateDiagram([
 *   { who: "client", transitions: [["CLOSED", "SYN_SENT"], ["SYN_SENT", "ESTABLISHED"]] },
 * ]);
 * assert.ok(svg.includes('data-from="SYN_SENT" data-to="ESTABLISHED" data-taken="client"'));
 * ```
 */
export function renderStateDiagram(paths: readonly StatePath[], title?: string): string {
  const taken = new Map<string, { who: string; step: number; color: string }[]>();
  const extra: [string, string][] = [];
  const known = new Set(RFC9293_TRANSITIONS.map(([a, b]) => `${a}>${b}`));
  const visited = new Map<string, string>();
  paths.forEach((p, i) => {
    const color = COLORS[i % COLORS.length];
    p.transitions.forEach(([from, to], step) => {
      const a = nodeOf(from, false), b = nodeOf(to, true, from);
      const key = `${a}>${b}`;
      if (!(a in NODES) || !(b in NODES)) return;
      if (!known.has(key) && !extra.some(([x, y]) => x === a && y === b)) extra.push([a, b]);
      const list = taken.get(key) ?? [];
      list.push({ who: p.who, step: step + 1, color });
      taken.set(key, list);
      if (!visited.has(a)) visited.set(a, color);
      visited.set(b, color);
    });
  });
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">`,
    `<title>${escapeXml(title ?? "TCP state diagram (RFC 9293 Figure 5)")}</title>`,
    `<defs>${
      [...COLORS, "#bbb"].map((c, i) =>
        `<marker id="sarrow-${i}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" ` +
        `markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`
      ).join("")
    }</defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${
      escapeXml(title ?? "RFC 9293 state diagram: the path taken")
    }</text>`,
  ];
  const edge = (a: string, b: string, label: string, dashed: boolean, at = 0.5) => {
    let pa = NODES[a], pb = NODES[b];
    // An arrow with a reverse twin (or sharing a box pair) moves aside, so both stay readable.
    const twin = pairs.has(`${b}>${a}`);
    let nx = 0, ny = 0;
    if (twin) {
      const len = Math.hypot(pb[0] - pa[0], pb[1] - pa[1]) || 1;
      nx = -(pb[1] - pa[1]) / len * 7;
      ny = (pb[0] - pa[0]) / len * 7;
      pa = [pa[0] + nx, pa[1] + ny];
      pb = [pb[0] + nx, pb[1] + ny];
    }
    const [x1, y1] = clip(pa, pb), [x2, y2] = clip(pb, pa);
    const hits = taken.get(`${a}>${b}`) ?? [];
    const color = hits.length > 0 ? hits[0].color : "#bbb";
    // Dashed extras bend, so they do not hide a figure arrow between the same boxes.
    const mx = x1 + (x2 - x1) * at + (dashed ? 40 : 0) + nx * 1.5,
      my = y1 + (y2 - y1) * at + (dashed ? -20 : 0) + ny * 2.2;
    const anchor = Math.abs(nx) > 3 ? (nx > 0 ? "start" : "end") : "middle";
    const d = dashed
      ? `M${r(x1)},${r(y1)} Q${r(mx)},${r(my)} ${r(x2)},${r(y2)}`
      : `M${r(x1)},${r(y1)} L${r(x2)},${r(y2)}`;
    out.push(
      `<g class="transition${hits.length > 0 ? " taken" : ""}" data-from="${
        escapeXml(a.trim())
      }" ` +
        `data-to="${escapeXml(b.trim())}"${
          hits.length > 0 ? ` data-taken="${escapeXml(hits.map((h) => h.who).join(" "))}"` : ""
        }>`,
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="${hits.length > 0 ? 3 : 1.2}"` +
        `${dashed ? ` stroke-dasharray="6,4"` : ""} marker-end="url(#${
          hits.length > 0 ? `sarrow-${COLORS.indexOf(color)}` : `sarrow-${COLORS.length}`
        })"/>`,
      `<text x="${r(mx)}" y="${r(my - 4)}" text-anchor="${anchor}" fill="${
        hits.length > 0 ? "#222" : "#999"
      }">${escapeXml(label)}</text>`,
    );
    hits.forEach((h, i) => {
      const cx = mx + 14 * (i - (hits.length - 1) / 2), cy = my + 10;
      out.push(
        `<circle cx="${r(cx)}" cy="${r(cy)}" r="7" fill="${h.color}"/><text x="${r(cx)}" y="${
          r(cy + 4)
        }" text-anchor="middle" fill="#fff" font-size="9" font-weight="bold">${h.step}</text>`,
      );
    });
    out.push(`</g>`);
  };
  const pairs = new Set([
    ...RFC9293_TRANSITIONS.map(([a, b]) => `${a}>${b}`),
    ...extra.map(([a, b]) => `${a}>${b}`),
  ]);
  for (const [a, b, label, at] of RFC9293_TRANSITIONS) edge(a, b, label, false, at);
  for (const [a, b] of extra) edge(a, b, `${a.trim()} → ${b.trim()}`, true);
  for (const [name, [x, y]] of Object.entries(NODES)) {
    const color = visited.get(name);
    out.push(
      `<g class="state${color ? " visited" : ""}" data-state="${escapeXml(name.trim())}">` +
        `<rect x="${x - BOX_W / 2}" y="${
          y - BOX_H / 2
        }" width="${BOX_W}" height="${BOX_H}" rx="6" ` +
        `fill="${color ? "#fff8e1" : "#f4f4f4"}" stroke="${color ?? "#999"}" stroke-width="${
          color ? 2.5 : 1
        }"/><text x="${x}" y="${y + 4}" text-anchor="middle" font-size="12" font-weight="bold">${
          escapeXml(name.trim())
        }</text></g>`,
    );
  }
  // Legend.
  paths.forEach((p, i) => {
    const y = H - 40 + 16 * i - 16 * (paths.length - 1);
    out.push(
      `<g class="legend"><rect x="20" y="${y - 9}" width="14" height="10" fill="${
        COLORS[i % COLORS.length]
      }"/><text x="40" y="${y}">${escapeXml(p.who)}</text></g>`,
    );
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

function r(n: number): string {
  return String(Math.round(n * 10) / 10);
}
