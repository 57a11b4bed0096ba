// Issue 8: the public connection reaches the TCP core only through the stack's connection handle
// (src/stack/stack_connection.ts), so every app call is driven (transmit drained, timers armed) and
// a released connection is handled in one place.

import assert from "node:assert/strict";

Deno.test("src/net never touches a StackConnection's TcpConnection (sc.tcp) directly", async () => {
  const dir = new URL("../../src/net/", import.meta.url);
  const bad: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".ts")) continue;
    const lines = (await Deno.readTextFile(new URL(e.name, dir))).split("\n");
    lines.forEach((line, i) => {
      if (/\bsc\.tcp\b|#sc\.tcp\b/.test(line)) bad.push(`${e.name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, []);
});

Deno.test("src/net/conn.ts and its stream adapters import nothing from src/tcp: TCP only through the stack's handle", async () => {
  const bad: string[] = [];
  for (const name of ["conn.ts", "_conn_streams.ts"]) {
    const text = await Deno.readTextFile(new URL(`../../src/net/${name}`, import.meta.url));
    for (const m of text.matchAll(/^\s*(?:import|export)[^"';]*?from\s+["']([^"']+)["']/gm)) {
      if (m[1].includes("/tcp/")) bad.push(`${name} → ${m[1]}`);
    }
  }
  assert.deepEqual(bad, []);
});
