/**
 * kcptun as a baseline for the tunnel benchmarks: finding (or installing)
 * its binaries, building the argument lists of a server/client pair, and
 * reading its SNMP counters (retransmissions, FEC recoveries).
 *
 * Debian's `kcptun` package installs `/usr/bin/kcptun-server` and
 * `/usr/bin/kcptun-client` (version 20210922 on bookworm). The benchmarks
 * install it (and iperf3) with {@linkcode ensureTools}; CI never does.
 *
 * A pair carries TCP: `kcptun-client` listens on a local TCP address and
 * sends KCP over UDP to `kcptun-server`, which connects to the TCP target.
 *
 * @example Start a pair and stop it
 * ```ts ignore
 * import { ProcessGroup } from "./_proc.ts";
 * import { findKcptun, KCPTUN_FAST3, kcptunSnmp, startKcptun } from "./_kcptun.ts";
 * const bins = findKcptun()!;
 * const group = new ProcessGroup();
 * const pair = startKcptun(group, bins, {
 *   udpListen: "127.0.0.1:29900", udpRemote: "127.0.0.1:29900",
 *   target: "127.0.0.1:5201", local: "127.0.0.1:12948", options: KCPTUN_FAST3,
 * });
 * // ... traffic ...
 * console.log(await kcptunSnmp(pair.client));
 * await group.killAll();
 * ```
 *
 * @module
 */

import { ProcessGroup, sleep, type Started, which } from "./_proc.ts";

/** Paths of the two kcptun binaries. */
export interface KcptunBinaries {
  /** kcptun-server. */
  readonly server: string;
  /** kcptun-client. */
  readonly client: string;
}

/** The KCP settings both ends must share. */
export interface KcptunOptions {
  /** Profile: fast3 is the most aggressive (nodelay 1, interval 10, resend 2, nc 1: no CC). */
  readonly mode: "fast3" | "fast2" | "fast" | "normal";
  /** Reed–Solomon data shards; 0 with parityShard 0 turns FEC off. */
  readonly dataShard: number;
  /** Reed–Solomon parity shards. */
  readonly parityShard: number;
  /** Send window in packets. */
  readonly sndwnd: number;
  /** Receive window in packets. */
  readonly rcvwnd: number;
  /** Encryption ("none" for the fairest comparison with plaintext tou). */
  readonly crypt: string;
  /** Disable snappy compression (iperf3's payload would compress otherwise). */
  readonly nocomp: boolean;
}

/** fast3, no encryption, no compression, windows 1024, FEC 10/3 (kcptun's default FEC). */
export const KCPTUN_FAST3_FEC: KcptunOptions = {
  mode: "fast3",
  dataShard: 10,
  parityShard: 3,
  sndwnd: 1024,
  rcvwnd: 1024,
  crypt: "none",
  nocomp: true,
};

/** fast3 as {@linkcode KCPTUN_FAST3_FEC} with FEC off (0/0). */
export const KCPTUN_FAST3: KcptunOptions = { ...KCPTUN_FAST3_FEC, dataShard: 0, parityShard: 0 };

/** The kcptun binaries on PATH, or undefined when either is missing. */
export function findKcptun(): KcptunBinaries | undefined {
  const server = which("kcptun-server");
  const client = which("kcptun-client");
  return server && client ? { server, client } : undefined;
}

/**
 * Installs the Debian packages that provide the missing commands
 * (`apt-get update` once, then `apt-get install -y …`). Returns the list of
 * commands still missing afterwards (empty on success). Needs root; never
 * called by tests or CI.
 *
 * @param commands command name → Debian package, e.g. `{ iperf3: "iperf3" }`.
 * @param log where progress goes.
 */
export async function ensureTools(
  commands: Readonly<Record<string, string>>,
  log: (line: string) => void = console.error,
): Promise<string[]> {
  const missing = Object.keys(commands).filter((c) => which(c) === undefined);
  if (missing.length === 0) return [];
  const pkgs = [...new Set(missing.map((c) => commands[c]))];
  log(`setup: installing ${pkgs.join(" ")} with apt-get (missing: ${missing.join(", ")})`);
  const run = async (args: string[]) => {
    const out = await new Deno.Command("apt-get", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    if (!out.success) {
      log(
        `setup: apt-get ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
    return out.success;
  };
  try {
    if (await run(["update", "-q"])) await run(["install", "-y", "-q", ...pkgs]);
  } catch (e) {
    log(`setup: cannot run apt-get: ${e instanceof Error ? e.message : e}`);
  }
  return Object.keys(commands).filter((c) => which(c) === undefined);
}

/** The arguments both ends share. */
export function kcptunCommonArgs(o: KcptunOptions): string[] {
  const args = [
    "--mode",
    o.mode,
    "--crypt",
    o.crypt,
    "--sndwnd",
    String(o.sndwnd),
    "--rcvwnd",
    String(o.rcvwnd),
    "--datashard",
    String(o.dataShard),
    "--parityshard",
    String(o.parityShard),
    "--quiet",
  ];
  if (o.nocomp) args.push("--nocomp");
  return args;
}

/** kcptun-server arguments: KCP on `udpListen`, forwarding to TCP `target`. */
export function kcptunServerArgs(udpListen: string, target: string, o: KcptunOptions): string[] {
  return ["--listen", udpListen, "--target", target, ...kcptunCommonArgs(o)];
}

/** kcptun-client arguments: TCP on `local`, KCP to `udpRemote`. */
export function kcptunClientArgs(local: string, udpRemote: string, o: KcptunOptions): string[] {
  return ["--localaddr", local, "--remoteaddr", udpRemote, ...kcptunCommonArgs(o)];
}

/** Where a kcptun pair listens and connects. */
export interface KcptunPairSpec {
  /** UDP address kcptun-server binds. */
  readonly udpListen: string;
  /** UDP address kcptun-client sends to (the server, or an impairment proxy in front of it). */
  readonly udpRemote: string;
  /** TCP address kcptun-server connects to. */
  readonly target: string;
  /** TCP address kcptun-client listens on. */
  readonly local: string;
  /** Shared KCP settings. */
  readonly options: KcptunOptions;
}

/** A started kcptun pair. */
export interface KcptunPair {
  /** kcptun-server. */
  readonly server: Started;
  /** kcptun-client. */
  readonly client: Started;
}

/** Starts kcptun-server and kcptun-client in `group` (killed by PID with the group). */
export function startKcptun(
  group: ProcessGroup,
  bins: KcptunBinaries,
  spec: KcptunPairSpec,
): KcptunPair {
  const server = group.start(
    "kcptun-server",
    bins.server,
    kcptunServerArgs(spec.udpListen, spec.target, spec.options),
  );
  const client = group.start(
    "kcptun-client",
    bins.client,
    kcptunClientArgs(spec.local, spec.udpRemote, spec.options),
  );
  return { server, client };
}

/** kcptun's KCP SNMP counters (those the benchmarks use). */
export interface KcptunSnmp {
  /** Bytes sent over UDP (FEC parity included). */
  readonly bytesSent: number;
  /** Segments retransmitted (all kinds). */
  readonly retransSegs: number;
  /** Of those, fast retransmissions. */
  readonly fastRetransSegs: number;
  /** Segments marked lost (timeout). */
  readonly lostSegs: number;
  /** Datagrams FEC recovered. */
  readonly fecRecovered: number;
}

/** Parses the last `KCP SNMP:&{…}` line kcptun logs on SIGUSR1, or undefined. */
export function parseKcptunSnmp(log: string): KcptunSnmp | undefined {
  const lines = log.split("\n").filter((l) => l.includes("KCP SNMP:"));
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  const num = (k: string) => Number(new RegExp(`\\b${k}:(\\d+)`).exec(last)?.[1] ?? Number.NaN);
  return {
    bytesSent: num("BytesSent"),
    retransSegs: num("RetransSegs"),
    fastRetransSegs: num("FastRetransSegs"),
    lostSegs: num("LostSegs"),
    fecRecovered: num("FECRecovered"),
  };
}

/**
 * Asks a running kcptun process for its SNMP counters (SIGUSR1 makes it log
 * them to stderr) and parses them; undefined when nothing came within
 * `waitMs`.
 */
export async function kcptunSnmp(p: Started, waitMs = 300): Promise<KcptunSnmp | undefined> {
  try {
    p.child.kill("SIGUSR1");
  } catch {
    return undefined;
  }
  for (let waited = 0; waited < waitMs; waited += 50) {
    await sleep(50);
    const s = parseKcptunSnmp(p.stderr());
    if (s !== undefined) return s;
  }
  return parseKcptunSnmp(p.stderr());
}
