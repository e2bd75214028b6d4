/**
 * Measures what one PIN check costs with the default scrypt parameters: runs
 * verifyPin five times over a MemoryBackend and prints each time and the median.
 * Run from libs/keystore: `npm run bench:pin` (wrap it in `/usr/bin/time -v`
 * to see the peak resident memory).
 */

import { DEFAULT_SCRYPT, MemoryBackend, openKeystore } from "../src/index.ts";

const RUNS = 5;
const pin = new TextEncoder().encode("648219");

const store = await openKeystore(new MemoryBackend(), { deviceSecret: crypto.getRandomValues(new Uint8Array(32)) });
await store.initialize({ userPin: pin, soPin: new TextEncoder().encode("57621880"), userRetries: 3 });

const times: number[] = [];
for (let run = 0; run < RUNS; run++) {
  store.lock();
  const start = performance.now();
  const result = await store.verifyPin("user", pin);
  times.push(performance.now() - start);
  if (!result.ok) throw new Error("benchmark PIN did not verify");
}

const { N, r, p } = DEFAULT_SCRYPT;
const sorted = [...times].sort((a, b) => a - b);
console.log(`scrypt N=2^${Math.log2(N)} r=${r} p=${p}: ${(128 * N * r * p) / 2 ** 20} MiB scratch memory per check`);
console.log(`verifyPin: ${times.map((t) => t.toFixed(0)).join(", ")} ms; median ${sorted[Math.floor(RUNS / 2)].toFixed(0)} ms`);
