/**
 * A ladder diagram from a pcap file (tou's own or any tcpdump capture of
 * TCP over raw IPv4/IPv6): the segments of the first TCP connection found,
 * and each side's states inferred from them by RFC 9293's rules.
 *
 * A capture is taken at one point, so when each segment arrived is not
 * known: arrows go one step down. States are what the segments imply, as a
 * tcpdump reader would work them out, not what the hosts reported.
 *
 * @module
 */

import { parseIpTcpPacket, parsePcap } from "../wire/pcap.ts";
import { parseSegment } from "../wire/tcp_codec.ts";
import { type Seq, seqGe } from "../wire/seq.ts";
import type { LadderInput, LadderSegment, LadderState } from "./ladder.ts";
import type { StatePath } from "./state_diagram.ts";

/** What {@linkcode ladderFromPcap} found. */
export interface PcapLadder {
  /** The diagram input. */
  readonly ladder: LadderInput;
  /** Each side's inferred transitions, for the state diagram. */
  readonly paths: StatePath[];
}

const SYN = 0x02, FIN = 0x01, RST = 0x04, ACK = 0x10;

interface Side {
  name: string;
  state: string;
  isn?: number;
  /** Sequence number just past our FIN, once sent. */
  finEnd?: number;
  path: [string, string][];
}

/**
 * Reads a pcap file and builds the ladder of its first TCP connection.
 *
 * @param bytes The pcap file.
 * @param opts `relative` (default true): sequence numbers relative to each
 *   side's ISN, as Wireshark shows them.
 * @returns The ladder input and inferred state paths.
 * @throws {Error} When the file is not pcap or holds no TCP segment.
 *
 * @example
 * ```ts ignore
 * const { ladder, paths } = ladderFromPcap(Deno.readFileSync("tou.pcap"));
 * ```
 */
export function ladderFromPcap(bytes: Uint8Array, opts: { relative?: boolean } = {}): PcapLadder {
  const file = parsePcap(bytes);
  if (!file.ok) throw new Error(`Cannot read the capture: ${file.error}`);
  const relative = opts.relative ?? true;
  const segments: LadderSegment[] = [];
  const states: LadderState[] = [];
  const sides = new Map<string, Side>();
  let pair: string | undefined;
  let t0: number | undefined;
  for (const rec of file.value.records) {
    const ip = parseIpTcpPacket(rec.data);
    if (!ip) continue;
    const seg = parseSegment(ip.segment, { verifyChecksum: false });
    if (!seg.ok) continue;
    const s = seg.value;
    const from = `${ip.src}:${s.srcPort}`, to = `${ip.dst}:${s.dstPort}`;
    const key = [from, to].sort().join(" ");
    pair ??= key;
    if (key !== pair) continue; // only the first connection
    t0 ??= rec.timeMs;
    const time = +(rec.timeMs - t0).toFixed(3);
    const a = side(sides, from), b = side(sides, to);
    const change = (x: Side, next: string, at = time) => {
      if (x.state === next) return;
      x.path.push([x.state, next]);
      x.state = next;
      states.push({ time: at, who: x.name, to: next });
    };
    if ((s.flags & SYN) !== 0) a.isn = s.seq;
    const len = s.payload.length;
    const end = (s.seq + len + ((s.flags & SYN) ? 1 : 0) + ((s.flags & FIN) ? 1 : 0)) >>> 0;
    // What sending it says about the sender (RFC 9293 §3.10: the events that emit segments).
    if (s.flags & RST) change(a, "CLOSED");
    else if ((s.flags & (SYN | ACK)) === SYN) {
      if (a.state === "CLOSED" || a.state === "LISTEN") change(a, "SYN_SENT");
    } else if ((s.flags & (SYN | ACK)) === (SYN | ACK)) {
      if (a.state === "CLOSED") change(a, "LISTEN", 0);
      if (a.state === "LISTEN" || a.state === "SYN_SENT") change(a, "SYN_RCVD");
    }
    if ((s.flags & FIN) && !(s.flags & RST)) {
      a.finEnd = end;
      if (a.state === "ESTABLISHED" || a.state === "SYN_RCVD") change(a, "FIN_WAIT_1");
      else if (a.state === "CLOSE_WAIT") change(a, "LAST_ACK");
    }
    // What receiving it does to the receiver.
    const acksFin = (x: Side) =>
      (s.flags & ACK) !== 0 && x.finEnd !== undefined && seqGe(s.ack as Seq, x.finEnd as Seq);
    if (s.flags & RST) {
      change(b, b.state === "SYN_RCVD" && b.path[0]?.[0] === "LISTEN" ? "LISTEN" : "CLOSED");
    } else if ((s.flags & (SYN | ACK)) === SYN) {
      if (b.state === "CLOSED") change(b, "LISTEN", 0); // a passive open, before the capture shows it
      if (b.state === "LISTEN" || b.state === "SYN_SENT") change(b, "SYN_RCVD");
    } else if ((s.flags & (SYN | ACK)) === (SYN | ACK)) {
      if (b.state === "SYN_SENT") change(b, "ESTABLISHED");
      else if (b.state === "SYN_RCVD") change(b, "ESTABLISHED");
    } else if (s.flags & ACK) {
      if (b.state === "SYN_RCVD") change(b, "ESTABLISHED");
    }
    if (!(s.flags & RST) && acksFin(b)) {
      if (b.state === "FIN_WAIT_1") change(b, (s.flags & FIN) ? "TIME_WAIT" : "FIN_WAIT_2");
      else if (b.state === "CLOSING") change(b, "TIME_WAIT");
      else if (b.state === "LAST_ACK") change(b, "CLOSED");
    }
    if ((s.flags & FIN) && !(s.flags & RST)) {
      if (b.state === "ESTABLISHED") change(b, "CLOSE_WAIT");
      else if (b.state === "FIN_WAIT_2") change(b, "TIME_WAIT");
      else if (b.state === "FIN_WAIT_1") change(b, "CLOSING");
    }
    const rel = (x: Side, n: number) =>
      relative && x.isn !== undefined ? (n - x.isn) >>> 0 : n >>> 0;
    segments.push({
      time,
      from: a.name,
      to: b.name,
      flags: s.flags,
      seq: rel(a, s.seq),
      ack: rel(b, s.ack),
      len,
    });
  }
  if (segments.length === 0) throw new Error("Cannot draw the capture: it holds no TCP segment");
  const hosts = [...sides.keys()];
  return {
    ladder: {
      title: `TCP ${hosts.join(" ⇄ ")} (from a capture; states inferred)`,
      hosts,
      segments,
      states,
    },
    paths: [...sides.values()].map((s) => ({ who: s.name, transitions: s.path })),
  };
}

function side(sides: Map<string, Side>, name: string): Side {
  let s = sides.get(name);
  if (s === undefined) {
    s = { name, state: "CLOSED", path: [] };
    sides.set(name, s);
  }
  return s;
}
