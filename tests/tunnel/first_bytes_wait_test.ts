import assert from "node:assert/strict";
import { FirstBytesWait } from "../../src/tunnel/first_bytes_wait.ts";

const never = new Promise<number>(() => {});

Deno.test("FirstBytesWait: each of many overlapping waits lasts its full length unless its read settles", async () => {
  const w = new FirstBytesWait(20);
  const waited: number[] = [];
  const one = async () => {
    const t0 = performance.now();
    await w.wait(never);
    waited.push(performance.now() - t0);
  };
  const all: Promise<void>[] = [];
  for (let i = 0; i < 5; i++) {
    all.push(one());
    await new Promise((r) => setTimeout(r, 7)); // started while earlier waits are pending
  }
  const t0 = performance.now();
  await w.wait(Promise.resolve(1)); // a settled read ends its wait at once
  assert.ok(performance.now() - t0 < 15);
  await w.wait(Promise.reject(new Error("reset")));
  await Promise.all(all);
  assert.equal(waited.length, 5);
  for (const ms of waited) assert.ok(ms >= 19, `waited ${ms} ms`);
});
