/**
 * Segment scripts on a path with a round-trip time: the handshake takes
 * `rtt` ms, so SRTT and min_RTT start at `rtt` (RACK's reordering window,
 * the probe timeout and the RTO all derive from them), and a receiver model
 * that answers which of our segments arrived with SACK blocks.
 */
import type { TcpConfig } from "../../src/tcp/config.ts";
import { ACK, SYN } from "../../src/wire/tcp_flags.ts";
import type { SackBlock } from "../../src/wire/tcp_segment.ts";
import { type SegmentTemplate, TcpScript } from "./tcp_script.ts";

/** A client in ESTABLISHED whose handshake took `rtt` ms (default 100). */
export function establishedAfterRtt(
  config: Partial<TcpConfig>,
  synAck: SegmentTemplate,
  rtt = 100,
): TcpScript {
  const s = TcpScript.client({ config });
  s.expectSent({ flags: SYN, seq: s.localIss });
  s.advance(rtt);
  s.send({ seq: s.remoteIss, ack: s.l(), flags: SYN | ACK, ...synAck });
  s.expectSent({ flags: ACK, seq: s.l(), ack: s.r() });
  s.events.length = 0;
  return s;
}

/**
 * A receiver's view of which of our `mss`-byte segments arrived:
 * `arrive(i)` returns the ACK it sends, cumulative up to the first gap, with
 * its SACK blocks most recent first (RFC 2018 §4), at most four.
 */
export function sackReceiver(s: TcpScript, mss: number): (i: number) => SegmentTemplate {
  const got = new Set<number>();
  let next = 0;
  let recent: number[] = [];
  return (i) => {
    got.add(i);
    while (got.has(next)) next++;
    recent = [i, ...recent.filter((j) => j !== i)];
    const blocks: SackBlock[] = [];
    for (const j of recent) {
      if (j < next || blocks.length === 4) continue;
      let l = j, r = j;
      while (got.has(l - 1) && l - 1 >= next) l--;
      while (got.has(r + 1)) r++;
      const b = { left: s.l(l * mss), right: s.l((r + 1) * mss) };
      if (!blocks.some((x) => x.left === b.left)) blocks.push(b);
    }
    return {
      ack: s.l(next * mss),
      window: 60000,
      options: blocks.length > 0 ? { sackBlocks: blocks } : {},
    };
  };
}
