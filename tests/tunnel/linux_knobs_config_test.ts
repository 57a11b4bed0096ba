// The Linux knobs of docs/linux-knobs.md reach a tunnel through its config
// file's `tcp` object (`tou server|client --config`), validated like any option.
import assert from "node:assert/strict";
import { validateConfig } from "../../src/tunnel/config.ts";
import { resolveTouOptions, toStackOptions } from "../../src/net/options.ts";

const FILE = { kind: "file", path: "tou.json" } as const;

Deno.test("a tunnel config file turns tcp_tw_reuse, tcp_max_tw_buckets, somaxconn, tcp_orphan_retries and TCP_USER_TIMEOUT by their tou names", () => {
  const cfg = validateConfig({
    tcp: { twReuse: 0, maxTwBuckets: 1000, somaxconn: 64, orphanRetries: 3, userTimeout: 30_000 },
  }, FILE);
  const stack = toStackOptions(resolveTouOptions(cfg.tcp));
  assert.deepEqual(
    [
      stack.twReuse,
      stack.maxTwBuckets,
      stack.somaxconn,
      stack.tcp?.orphanRetries,
      stack.tcp?.userTimeout,
    ],
    [0, 1000, 64, 3, 30_000],
  );
  assert.throws(
    () => validateConfig({ tcp: { twReuse: 3 } }, FILE),
    { message: "config file tou.json: tcp.twReuse: must be between 0 and 2, got 3" },
  );
});
