/**
 * The Deno end of `kernel_bridge.py`: starts it in a fresh network namespace,
 * moves tou's segments across the checksum boundary (tou's zero-address
 * pseudo-header ↔ the real IPv4 one, docs/wire-format.md) and hands out what
 * comes back as lines, with a deadline on every wait.
 *
 * @module
 */

import {
  onesComplementSum,
  rechecksumForIpv4,
  TCP_CHECKSUM_OFFSET,
} from "../../src/wire/checksum.ts";
import { emitSegment, parseSegment, segmentEncodedLength } from "../../src/wire/tcp_codec.ts";
import type { TcpSegment } from "../../src/wire/tcp_segment.ts";

/** The bridge script. */
export const BRIDGE_SCRIPT: string = new URL("./kernel_bridge.py", import.meta.url).pathname;
/** Exit status of the bridge when the machine cannot run the test. */
const SKIP_STATUS = 77;

/** A kernel-side report, e.g. `{ event: "served", received: 1048576, ... }`. */
export interface KernelReport {
  /** What happened. */
  readonly event: string;
  // deno-lint-ignore no-explicit-any
  readonly [field: string]: any;
}

/** What the bridge sent up. */
export type BridgeLine =
  /** A TCP segment from the kernel, its real IPv4 checksum verified and converted to tou's. */
  | { readonly kind: "segment"; readonly segment: TcpSegment; readonly bytes: Uint8Array }
  /** A report from the kernel side. */
  | { readonly kind: "report"; readonly report: KernelReport };

function parseIpv4(text: string): Uint8Array {
  return new Uint8Array(text.split(".").map(Number));
}

/** Sum of the address words of an IPv4 pseudo-header (RFC 9293 §3.1). */
function addressSum(src: Uint8Array, dst: Uint8Array): number {
  return ((src[0] << 8) | src[1]) + ((src[2] << 8) | src[3]) + ((dst[0] << 8) | dst[1]) +
    ((dst[2] << 8) | dst[3]);
}

/**
 * Whether `segment` carries a correct checksum for `src` → `dst` under the
 * real IPv4 pseudo-header (addresses, zero, protocol 6, TCP length).
 */
export function verifyIpv4TcpChecksum(
  segment: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
): boolean {
  return onesComplementSum(segment, addressSum(src, dst) + 6 + segment.length) === 0xffff;
}

/**
 * The inverse of `rechecksumForIpv4`: rewrites, in place, a checksum made for
 * `src` → `dst` into tou's zero-address form. RFC 1624 eqn. 3 with the
 * address words as m and zero as m': `new = ~(~old + ~m)`.
 */
export function rechecksumFromIpv4(segment: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
  const old = (segment[TCP_CHECKSUM_OFFSET] << 8) | segment[TCP_CHECKSUM_OFFSET + 1];
  const m = onesComplementSum(new Uint8Array(0), addressSum(src, dst)); // folded
  let sum = (~old & 0xffff) + (~m & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  const updated = ~sum & 0xffff;
  segment[TCP_CHECKSUM_OFFSET] = updated >>> 8;
  segment[TCP_CHECKSUM_OFFSET + 1] = updated & 0xff;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function unhex(text: string): Uint8Array {
  const out = new Uint8Array(text.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

async function commandFails(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    if (out.success) return undefined;
    return `\`${cmd} ${args.join(" ")}\` failed: ${new TextDecoder().decode(out.stderr).trim()}`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return `${cmd} is not installed`;
    return `${cmd}: ${e instanceof Error ? e.message : e}`;
  }
}

/**
 * Why this machine cannot run the kernel interop test, or undefined when it
 * can. Only missing privileges, tools or kernel features give a reason; a bug
 * in the bridge's set-up makes the probe fail some other way, and the test then
 * runs and reports it.
 *
 * @param touPorts The ports the tou side will use.
 */
export async function kernelInteropSkipReason(touPorts: number[]): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `needs Linux, this is ${Deno.build.os}`;
  if (Deno.uid() !== 0) return "needs root (network namespaces, raw sockets, tc)";
  for (const [cmd, args] of [["unshare", ["-n", "true"]], ["python3", ["-c", "pass"]]] as const) {
    const why = await commandFails(cmd, [...args]);
    if (why !== undefined) return why;
  }
  for (const cmd of ["ip", "tc"]) {
    const why = await commandFails(cmd, ["-V"]);
    if (why !== undefined) return why;
  }
  const probe = await new Deno.Command("unshare", {
    args: ["-n", "python3", BRIDGE_SCRIPT, "--probe", "--tou-ports", touPorts.join(",")],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(10_000),
  }).output();
  if (probe.code === SKIP_STATUS) {
    return new TextDecoder().decode(probe.stderr).trim().replace(/^SKIP: /, "");
  }
  return undefined;
}

/** A running bridge: the tou side at `touAddr`, the kernel at `kernelAddr`. */
export class KernelBridge {
  /** The tou side's address (source of what we send). */
  touAddr: Uint8Array = new Uint8Array(4);
  /** The kernel side's address. */
  kernelAddr: Uint8Array = new Uint8Array(4);
  /** What the bridge reported when ready. */
  ready: KernelReport = { event: "starting" };
  /** Segments from the kernel whose real IPv4 checksum did not verify (not delivered). */
  badChecksums = 0;
  /** Segments from the kernel whose checksum verified. */
  goodChecksums = 0;

  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();
  #lines: string[] = [];
  #head = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #reading: Promise<void>;
  readonly #stderr: Promise<string>;
  #out: string[] = [];
  #buf = new Uint8Array(1 << 16);

  private constructor(touPorts: number[]) {
    this.#child = new Deno.Command("unshare", {
      args: ["-n", "python3", BRIDGE_SCRIPT, "--tou-ports", touPorts.join(",")],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#stderr = new Response(this.#child.stderr).text();
    this.#reading = this.#read();
  }

  /**
   * Starts the bridge (`unshare -n python3 kernel_bridge.py`) and waits for its
   * READY line.
   *
   * @param touPorts The tou side's ports: segments to them are relayed, and the
   *   tou namespace's own RSTs from them are dropped.
   * @param deadline When to give up (a performance.now() time); at most 10 s from now.
   */
  static async start(touPorts: number[], deadline: number): Promise<KernelBridge> {
    const bridge = new KernelBridge(touPorts);
    const until = Math.min(deadline, performance.now() + 10_000);
    try {
      for (;;) {
        const line = await bridge.#nextLine(until);
        if (line === undefined) throw new Error("no READY line in time");
        if (line.startsWith("READY ")) {
          bridge.ready = { event: "ready", ...JSON.parse(line.slice(6)) };
          bridge.touAddr = parseIpv4(bridge.ready.tou);
          bridge.kernelAddr = parseIpv4(bridge.ready.kernel);
          return bridge;
        }
      }
    } catch (e) {
      const why = await bridge.close();
      throw new Error(
        `Cannot start ${BRIDGE_SCRIPT}: ${e instanceof Error ? e.message : e}\n${why}`,
      );
    }
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of this.#child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let start = 0;
      let i;
      while ((i = pending.indexOf("\n", start)) >= 0) {
        this.#lines.push(pending.slice(start, i));
        start = i + 1;
      }
      pending = pending.slice(start);
      this.#wake?.();
    }
    this.#ended = true;
    this.#wake?.();
  }

  /** The next raw line, or undefined at `until` (a performance.now() time). */
  async #nextLine(until: number): Promise<string | undefined> {
    for (;;) {
      if (this.#head < this.#lines.length) {
        const line = this.#lines[this.#head++];
        if (this.#head > 4096) {
          this.#lines = this.#lines.slice(this.#head);
          this.#head = 0;
        }
        if (line.startsWith("E ")) throw new Error(`bridge: ${line.slice(2)}`);
        return line;
      }
      if (this.#ended) throw new Error("the bridge exited");
      const wait = until - performance.now();
      if (wait <= 0) {
        // A macrotask turn even so: a caller looping on past deadlines must not starve the
        // reader of the bridge's stdout (it would fill the pipe and stall the bridge).
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        if (this.#head < this.#lines.length) continue;
        return undefined;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /**
   * The next segment or report, or undefined when `until` (a
   * performance.now() time) comes first. A kernel segment whose real IPv4
   * checksum does not verify is counted in {@linkcode badChecksums} and
   * skipped; the others get tou's checksum and are parsed with verification.
   *
   * @throws {Error} When the bridge reports an error or exits.
   */
  async next(until: number): Promise<BridgeLine | undefined> {
    for (;;) {
      const line = await this.#nextLine(until);
      if (line === undefined) return undefined;
      if (line.startsWith("K ")) return { kind: "report", report: JSON.parse(line.slice(2)) };
      if (!line.startsWith("R ")) throw new Error(`bridge: unexpected line ${line.slice(0, 80)}`);
      const bytes = unhex(line.slice(2));
      // Kernel → tou: the kernel computed this checksum for kernelAddr → touAddr.
      if (!verifyIpv4TcpChecksum(bytes, this.kernelAddr, this.touAddr)) {
        this.badChecksums++;
        continue;
      }
      this.goodChecksums++;
      rechecksumFromIpv4(bytes, this.kernelAddr, this.touAddr);
      const parsed = parseSegment(bytes); // tou's zero-address rule, verified
      if (!parsed.ok) {
        throw new Error(`kernel segment does not parse: ${parsed.error.message} (${hex(bytes)})`);
      }
      return { kind: "segment", segment: parsed.value, bytes };
    }
  }

  /**
   * Encodes one of our segments with the real IPv4 checksum for touAddr →
   * kernelAddr (`rechecksumForIpv4`). The caller passes the bytes to
   * {@linkcode sendBytes} (or drops or alters them).
   */
  encode(seg: TcpSegment): Uint8Array {
    const n = segmentEncodedLength(seg);
    if (this.#buf.length < n) this.#buf = new Uint8Array(n);
    emitSegment(seg, this.#buf);
    const bytes = this.#buf.slice(0, n);
    rechecksumForIpv4(bytes, this.touAddr, this.kernelAddr);
    return bytes;
  }

  /** Queues raw segment bytes for the raw socket (sent by {@linkcode flush}). */
  sendBytes(bytes: Uint8Array): void {
    this.#out.push(`S ${hex(bytes)}\n`);
  }

  /** Queues a command for the kernel side (sent by {@linkcode flush}). */
  command(cmd: Record<string, unknown>): void {
    this.#out.push(`K ${JSON.stringify(cmd)}\n`);
  }

  /** Writes everything queued to the bridge. */
  async flush(): Promise<void> {
    if (this.#out.length === 0) return;
    const text = this.#out.join("");
    this.#out = [];
    await this.#writer.write(this.#encoder.encode(text));
  }

  /**
   * Stops the bridge: closes its stdin (it exits and takes its kernel-side
   * child with it), and after a grace period SIGKILLs it by PID.
   *
   * @returns The bridge's stderr, for failure messages.
   */
  async close(): Promise<string> {
    await this.#writer.close().catch(() => {});
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 2_000);
        this.#child.status.finally(() => clearTimeout(t));
      }),
    ]);
    if (!exited) {
      try {
        this.#child.kill("SIGKILL"); // its kernel-side child follows (PR_SET_PDEATHSIG)
      } catch { /* already gone */ }
    }
    await this.#child.status;
    await this.#reading.catch(() => {});
    return await this.#stderr;
  }
}
