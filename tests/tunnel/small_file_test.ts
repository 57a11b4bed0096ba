import assert from "node:assert/strict";
import { readSmallFile } from "../../src/tunnel/small_file.ts";

Deno.test("readSmallFile stops at the cap when a file's size lies (a /proc file says 0 bytes)", async () => {
  assert.equal((await Deno.stat("/proc/self/maps")).size, 0);
  await assert.rejects(readSmallFile("/proc/self/maps", { what: "key file", maxBytes: 64 }), {
    name: "ConfigError",
    message: "key file /proc/self/maps is too large: more than 64 bytes (is it the right file?)",
  });
});

Deno.test("readSmallFile refuses FIFOs and directories without opening them, and names a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await new Deno.Command("mkfifo", { args: [`${dir}/p`] }).output();
    assert.equal(r.code, 0);
    const opts = { what: "config file", maxBytes: 64, timeoutMs: 1_000 };
    await assert.rejects(readSmallFile(`${dir}/p`, opts), {
      message: `config file ${dir}/p is a FIFO, not a regular file`,
    });
    await assert.rejects(readSmallFile(dir, opts), {
      message: `config file ${dir} is a directory, not a regular file`,
    });
    await assert.rejects(readSmallFile(`${dir}/none`, opts), {
      message: `cannot read config file ${dir}/none: no such file`,
    });
    await Deno.writeTextFile(`${dir}/ok`, "{}", { mode: 0o640 });
    const ok = await readSmallFile(`${dir}/ok`, opts);
    assert.deepEqual([...ok.bytes], [123, 125]);
    assert.equal(ok.mode, 0o640);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
