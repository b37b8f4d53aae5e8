// Leaf minting throughput: `npx node bench/mint.ts [COUNT]`. Prints one JSON line with mints per second
// for the raw minter (certificate only) and for the cache (certificate + tls.SecureContext), each host new.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLeafCache, createLeafMinter, loadOrCreateCa } from '../src/tls/index.ts';

const count = Number(process.argv[2] ?? 2000);
const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-bench-mint-'));
try {
  const ca = await loadOrCreateCa({ stateDir, certPath: null, keyPath: null, create: true });
  const minter = await createLeafMinter(ca);
  await minter.mintLeafCertificate('warmup.test');
  let start = performance.now();
  for (let i = 0; i < count; i++) await minter.mintLeafCertificate(`host-${i}.bench.test`);
  const minterPerSecond = (count / (performance.now() - start)) * 1000;

  const cache = createLeafCache(ca, { max: count + 1 });
  await cache.contextFor('warmup.test');
  start = performance.now();
  for (let i = 0; i < count; i++) await cache.contextFor(`host-${i}.bench.test`);
  const cachePerSecond = (count / (performance.now() - start)) * 1000;

  start = performance.now();
  for (let i = 0; i < count; i++) await cache.contextFor(`host-${i}.bench.test`);
  const hitsPerSecond = (count / (performance.now() - start)) * 1000;

  process.stdout.write(
    JSON.stringify({
      bench: 'mint',
      count,
      mintsPerSecond: Math.round(minterPerSecond),
      contextsPerSecond: Math.round(cachePerSecond),
      cacheHitsPerSecond: Math.round(hitsPerSecond),
      node: process.version,
    }) + '\n',
  );
} finally {
  await fs.rm(stateDir, { recursive: true, force: true });
}
