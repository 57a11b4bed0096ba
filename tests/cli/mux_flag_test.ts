/**
 * `tou client --mux` (and `"mux": true` in its config file) reaches
 * `TunnelClient.start`, and `tou server` refuses a forward on the tunnel port
 * multiplexed sessions use, exiting 2 with one line.
 */
import assert from "node:assert/strict";
import { main } from "../../cli/main.ts";
import { capture } from "./_io.ts";
import { helpText } from "../../cli/gen_docs.ts";
import { TunnelClient, type TunnelClientOptions } from "../../src/tunnel/client.ts";

/** Runs `tou client ARGS` until it has started and returns the options TunnelClient.start got. */
async function clientOptions(args: string[]): Promise<TunnelClientOptions> {
  const original = TunnelClient.start;
  const { promise: started, resolve } = Promise.withResolvers<TunnelClientOptions>();
  const { promise: stop, resolve: stopNow } = Promise.withResolvers<string>();
  TunnelClient.start = (opts) => {
    resolve(opts);
    return original.call(TunnelClient, opts);
  };
  const c = capture();
  let running: Promise<number> | undefined;
  try {
    running = main([
      "client",
      "--server",
      "127.0.0.1:9",
      "--local",
      "127.0.0.1:0=80",
      "--plaintext",
      "--log-level",
      "error",
      ...args,
    ], { io: c.io, shutdownTrigger: stop });
    const opts = await Promise.race([
      started,
      running.then((code) => {
        throw new Error(`tou client exited ${code} before starting: ${c.err()}`);
      }),
    ]);
    return opts;
  } finally {
    stopNow("SIGTERM");
    if (running) assert.equal(await running, 0, c.err());
    TunnelClient.start = original;
  }
}

Deno.test("tou client --mux reaches TunnelClient.start as mux: true; without it mux is false", async () => {
  assert.match(helpText(["client"]), /\n {2}--mux {2,}carry all local connections as streams/);
  assert.ok(!helpText(["server"]).includes("--mux "), "a server needs no flag");
  assert.equal((await clientOptions(["--mux"])).mux, true);
  assert.equal((await clientOptions([])).mux, false);
});

Deno.test('tou client takes "mux": true from its config file', async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, JSON.stringify({ mux: true }));
    assert.equal((await clientOptions(["--config", path])).mux, true);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("tou server exits 2 with one line when a forward uses tunnel port 65535", async () => {
  const c = capture();
  const code = await main(
    ["server", "--forward", "65535=127.0.0.1:22", "--plaintext"],
    { io: c.io },
  );
  assert.equal(code, 2, c.err());
  assert.equal(
    c.err(),
    'tou: --forward: invalid forward "65535=127.0.0.1:22": tunnel port 65535 is reserved for ' +
      "multiplexed sessions (tou client --mux)\n",
  );
});
