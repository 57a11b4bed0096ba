const sab = new SharedArrayBuffer(8);
const ia = new Int32Array(sab);
const w = new Worker("file:///tmp/w.ts", { type: "module" });
w.postMessage(sab);
await new Promise((r) => setTimeout(r, 200));
const N = 20000;
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  Atomics.store(ia, 0, 1);
  Atomics.notify(ia, 0);
  const r = Atomics.waitAsync(ia, 1, 0);
  if (r.async) await r.value;
  Atomics.store(ia, 1, 0);
}
console.log(`worker round trip via waitAsync: ${((performance.now() - t0) * 1000 / N).toFixed(1)} us`);
w.terminate();
