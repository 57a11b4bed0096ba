/**
 * The command-line values of bench/impair.ts, parsed and validated with zod
 * into one {@linkcode LinkConfig} per direction.
 *
 * Every impairment flag takes one value for both directions or `UP/DOWN`
 * (up = client → upstream), e.g. `--loss 1%` or `--loss 1%/0.2%`:
 *
 * - probabilities: `1%`, `0.5%` or a fraction `0.01`;
 * - times in ms: `20`, `2.5`;
 * - rates: `100mbit`, `1.5gbit`, `800kbit`, `12000bit` (bits per second;
 *   like tc, `mbps`/`kbps` mean bytes per second);
 * - queues: `1000` or `1000p` datagrams, `1500000b`, `64kb`, `2mb` bytes;
 * - burst loss: `p,r` or `p,r,goodLoss,badLoss` (Gilbert–Elliott, see
 *   src/sim/link.ts; each a probability). `2%` average loss in bursts of 4
 *   datagrams on average: `--burst-loss 0.51%,25%`.
 *
 * @module
 */

import { z } from "zod";
import type { GilbertElliott, LinkConfig } from "../src/sim/link.ts";
import { validateLinkConfig } from "../src/sim/link.ts";

/** Parses `1%` (→ 0.01) or `0.01`; throws on anything else or outside [0, 1]. */
export function parseProbability(s: string): number {
  const t = s.trim();
  const m = /^(\d+(?:\.\d+)?|\.\d+)(%?)$/.exec(t);
  if (m === null) throw new Error(`not a probability: "${s}" (use e.g. 1% or 0.01)`);
  const v = Number(m[1]) / (m[2] === "%" ? 100 : 1);
  if (!(v >= 0 && v <= 1)) throw new Error(`probability out of [0, 1]: "${s}"`);
  return v;
}

/** Parses a duration in ms (`20`, `2.5`, optional `ms` suffix). */
export function parseMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms)?$/.exec(s.trim());
  if (m === null) throw new Error(`not a duration in ms: "${s}"`);
  return Number(m[1]);
}

const RATE_UNITS: Record<string, number> = {
  bit: 1 / 8,
  kbit: 1e3 / 8,
  mbit: 1e6 / 8,
  gbit: 1e9 / 8,
  bps: 1,
  kbps: 1e3,
  mbps: 1e6,
  gbps: 1e9,
};

/** Parses a rate (`100mbit`, `1gbit`, `10mbps` = bytes/s as tc) into bytes per second. */
export function parseRate(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(s.trim());
  const unit = m?.[2].toLowerCase();
  if (m === null || unit === undefined || !(unit in RATE_UNITS)) {
    throw new Error(`not a rate: "${s}" (use e.g. 100mbit, 1gbit, 500kbit)`);
  }
  const v = Number(m[1]) * RATE_UNITS[unit];
  if (!(v > 0)) throw new Error(`rate must be > 0: "${s}"`);
  return v;
}

/** A drop-tail queue size. */
export type QueueSize = { readonly packets: number } | { readonly bytes: number };

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6 };

/** Parses `1000`/`1000p` (datagrams) or `1500000b`/`64kb`/`2mb` (bytes). */
export function parseQueue(s: string): QueueSize {
  const m = /^(\d+(?:\.\d+)?)\s*(p|b|kb|mb)?$/i.exec(s.trim());
  if (m === null) throw new Error(`not a queue size: "${s}" (use e.g. 1000, 1000p or 1500kb)`);
  const unit = (m[2] ?? "p").toLowerCase();
  const v = Number(m[1]);
  if (unit === "p") {
    if (!Number.isInteger(v)) throw new Error(`queue in datagrams must be an integer: "${s}"`);
    return { packets: v };
  }
  return { bytes: Math.round(v * BYTE_UNITS[unit]) };
}

/** Parses Gilbert–Elliott `p,r[,goodLoss,badLoss]`. */
export function parseBurstLoss(s: string): GilbertElliott {
  const parts = s.split(",").map(parseProbability);
  if (parts.length !== 2 && parts.length !== 4) {
    throw new Error(`burst loss is p,r or p,r,goodLoss,badLoss: "${s}"`);
  }
  const [p, r, goodLoss, badLoss] = parts;
  return parts.length === 2 ? { p, r } : { p, r, goodLoss, badLoss };
}

/** Splits `UP/DOWN` (or one value for both) and parses each side. */
export function perDirection<T>(s: string, parse: (v: string) => T): [T, T] {
  const parts = s.split("/");
  if (parts.length > 2) throw new Error(`expected VALUE or UP/DOWN: "${s}"`);
  const up = parse(parts[0]);
  return [up, parts.length === 2 ? parse(parts[1]) : up];
}

/** Parses `host:port` (IPv4 literal or `[v6]`); a bare port means 127.0.0.1. */
export function parseHostPort(s: string): { hostname: string; port: number } {
  const t = s.trim();
  let host = "127.0.0.1";
  let port: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6 !== null) {
    host = v6[1];
    port = v6[2];
  } else if (/^\d+$/.test(t)) {
    port = t;
  } else {
    const i = t.lastIndexOf(":");
    if (i <= 0) throw new Error(`not host:port: "${s}"`);
    host = t.slice(0, i);
    port = t.slice(i + 1);
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) throw new Error(`bad port in "${s}"`);
  return { hostname: host, port: n };
}

/** Wraps a throwing parser as a zod transform. */
function zParse<T>(parse: (s: string) => T) {
  return z.string().transform((s, ctx): T => {
    try {
      return parse(s);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: e instanceof Error ? e.message : String(e) });
      return z.NEVER;
    }
  });
}

/** The raw option bag (commander's output: strings) and its validation. */
export const ImpairOptionsSchema = z.object({
  listen: zParse(parseHostPort),
  upstream: zParse(parseHostPort),
  delay: zParse((s) => perDirection(s, parseMs)).optional(),
  jitter: zParse((s) => perDirection(s, parseMs)).optional(),
  jitterDist: z.enum(["uniform", "normal"]).optional(),
  preserveOrder: z.boolean().optional(),
  loss: zParse((s) => perDirection(s, parseProbability)).optional(),
  burstLoss: zParse((s) => perDirection(s, parseBurstLoss)).optional(),
  rate: zParse((s) => perDirection(s, parseRate)).optional(),
  queue: zParse((s) => perDirection(s, parseQueue)).optional(),
  reorder: zParse((s) => perDirection(s, parseProbability)).optional(),
  reorderDelay: zParse((s) => perDirection(s, parseMs)).optional(),
  duplicate: zParse((s) => perDirection(s, parseProbability)).optional(),
  corrupt: zParse((s) => perDirection(s, parseProbability)).optional(),
  mtu: z.coerce.number().int().min(1).max(65535).optional(),
  seed: z.coerce.number().int().default(1),
  duration: z.coerce.number().min(0).default(0),
  maxClients: z.coerce.number().int().min(1).max(4096).default(64),
  sockbuf: z.coerce.number().int().min(0).max(1 << 30).default(4 << 20),
  statsJson: z.string().optional(),
  quiet: z.boolean().optional(),
});

/** Validated options. */
export type ImpairOptions = z.output<typeof ImpairOptionsSchema>;

/** Default queue when `--rate` is given without `--queue`: 1000 datagrams. */
export const DEFAULT_QUEUE: QueueSize = { packets: 1000 };

/**
 * The {@linkcode LinkConfig} of each direction from validated options
 * (checked by {@linkcode validateLinkConfig}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImpairOptionsSchema, linkConfigs } from "./_impair_config.ts";
 * const o = ImpairOptionsSchema.parse({ listen: "9000", upstream: "7000", loss: "1%/0", rate: "100mbit" });
 * const { up, down } = linkConfigs(o);
 * assert.equal(up.loss, 0.01);
 * assert.equal(down.loss, 0);
 * assert.equal(up.bandwidth, 12_500_000);
 * assert.equal(up.queuePackets, 1000);
 * ```
 */
export function linkConfigs(o: ImpairOptions): { up: LinkConfig; down: LinkConfig } {
  const side = (i: 0 | 1): LinkConfig => {
    const cfg: Record<string, unknown> = {};
    if (o.delay) cfg.delay = o.delay[i];
    if (o.jitter) cfg.jitter = o.jitter[i];
    if (o.jitterDist) cfg.jitterDistribution = o.jitterDist;
    if (o.preserveOrder) cfg.preserveOrder = true;
    if (o.loss) cfg.loss = o.loss[i];
    if (o.burstLoss) cfg.burstLoss = o.burstLoss[i];
    if (o.reorder) cfg.reorder = o.reorder[i];
    if (o.reorderDelay) cfg.reorderDelay = o.reorderDelay[i];
    if (o.duplicate) cfg.duplicate = o.duplicate[i];
    if (o.corrupt) cfg.corrupt = o.corrupt[i];
    if (o.mtu !== undefined) cfg.mtu = o.mtu;
    if (o.rate) {
      cfg.bandwidth = o.rate[i];
      const q = o.queue ? o.queue[i] : DEFAULT_QUEUE;
      if ("packets" in q) cfg.queuePackets = q.packets;
      else cfg.queueLimit = q.bytes;
    }
    const c = cfg as LinkConfig;
    validateLinkConfig(c);
    return c;
  };
  return { up: side(0), down: side(1) };
}
