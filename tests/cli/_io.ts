/**
 * A `CliIo` for in-process `main()` runs: stdout dropped, stderr collected,
 * no environment, empty stdin.
 */
import type { CliIo } from "../../cli/_common.ts";

/** The io, what went to stderr so far, and a wait for a line there. */
export interface CapturedIo {
  readonly io: CliIo;
  err(): string;
  /** Resolves with the first match of `re` in stderr; rejects after about 10 s. */
  waitErr(re: RegExp): Promise<RegExpMatchArray>;
}

/** A fresh {@linkcode CapturedIo}. */
export function capture(): CapturedIo {
  let err = "";
  return {
    io: {
      stdout: () => {},
      stderr: (t) => err += t,
      env: () => undefined,
      stdin: { read: () => Promise.resolve(null) },
      stdoutBytes: { write: (p) => Promise.resolve(p.length) },
    },
    err: () => err,
    waitErr: async (re) => {
      for (let i = 0; i < 200; i++) {
        const m = err.match(re);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${re} in: ${err}`);
    },
  };
}
