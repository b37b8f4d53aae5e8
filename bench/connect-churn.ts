// The cost of a CONNECT that is answered and then dropped before TLS, the way Go's transport (hey) drops the
// spare dials it no longer needs (bench/README.md: one such CONNECT for every three requests in a slow c=32 run).
//   node bench/connect-churn.ts [tunnel|inspect|full] [ROUNDS] [COUNT] [--base DIR] [--c N]
// Each round sends COUNT CONNECTs for the bench host at concurrency N (default 8): write the CONNECT, read the
// 200, close. Prints Sluice's CPU (process tree, /proc) per CONNECT for each round and the median; with --base,
// another checkout runs the same rounds alternated with this one (ABBA), as in bench/ab.ts. --node-args A,B adds
// node flags to this checkout's Sluice (a CPU profile: --cpu-prof,--cpu-prof-dir=DIR, written when it stops).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BENCH_DOMAIN, coldName, hostsFile, makeCerts } from './lib/certs.ts';
import { createProcSet, cpuDelta, killSync, treeCpu } from './lib/procs.ts';
import { startSluiceTarget, type SluiceVariant } from './lib/sluice-targets.ts';
import { runInScratchDir } from './lib/scratch.ts';
import { median } from './lib/stats.ts';
import { startUpstream } from './lib/upstream.ts';
import type { Target } from './lib/target.ts';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const base = option('--base');
const concurrency = Number(option('--c') ?? 8);
/** Extra node flags for the Sluice under test, comma-separated (say --cpu-prof,--cpu-prof-dir=/tmp/p). */
const nodeArgs = option('--node-args')?.split(',') ?? [];
const positional = args.filter((a, i) => !a.startsWith('--') && !['--base', '--c', '--node-args'].includes(args[i - 1] ?? ''));
const variant = (positional[0] ?? 'full') as SluiceVariant;
const rounds = Number(positional[1] ?? 6);
const count = Number(positional[2] ?? 5000);

const procs = createProcSet();
process.on('exit', () => killSync(procs.pids()));

/** One CONNECT: resolves once the 200 has been read and the socket closed by us. */
function connectAndDrop(port: number, targetPort: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let seen = '';
    socket.setEncoding('latin1');
    socket.once('connect', () => socket.write(`CONNECT ${BENCH_DOMAIN}:${targetPort} HTTP/1.1\r\nHost: ${BENCH_DOMAIN}:${targetPort}\r\n\r\n`));
    socket.on('data', (d: string) => {
      seen += d;
      if (!seen.includes('\r\n\r\n')) return;
      if (!seen.startsWith('HTTP/1.1 200')) reject(new Error(`CONNECT answered ${seen.split('\r\n')[0]}`));
      socket.destroy();
    });
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

async function churn(t: Target, targetPort: number): Promise<number> {
  const port = Number(new URL(t.proxy!).port);
  let next = 0;
  const before = treeCpu(t.pid!);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        await connectAndDrop(port, targetPort);
      }
    }),
  );
  // Sluice's side of each close (the audit line, the metrics) runs just after the client's close.
  await new Promise((r) => setTimeout(r, 300));
  return (cpuDelta(before, treeCpu(t.pid!)) * 1_000_000) / count;
}

runInScratchDir('sluice-churn-', procs, async (dir) => {
  if (base && !fs.existsSync(path.join(base, 'bin', 'sluice.js'))) throw new Error('--base DIR must name another Sluice checkout');
  const certs = makeCerts(path.join(dir, 'certs'));
  hostsFile(path.join(dir, 'hosts'), []);
  const upstream = await startUpstream(path.join(dir, 'upstream'), certs, procs, process.execPath);
  const common = { dir, certs, ports: [upstream.staticPort, upstream.appPort], node: process.execPath, names: [coldName('churn')] };
  const targets: Array<['new' | 'base', Target]> = [['new', await startSluiceTarget(variant, { ...common, tag: 'new', nodeArgs }, procs)]];
  if (base) targets.push(['base', await startSluiceTarget(variant, { ...common, tag: 'base', root: path.resolve(base) }, procs)]);
  for (const [, t] of targets) await churn(t, upstream.staticPort); // warm-up: leaf minted, code optimised
  console.log(`# ${variant}: ${rounds} rounds of ${count} CONNECTs dropped after the 200, concurrency ${concurrency}; new = ${process.cwd()}${base ? `, base = ${path.resolve(base)}` : ''}`);
  const cost: Record<string, number[]> = { new: [], base: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const [which, t] of order) {
      const us = await churn(t, upstream.staticPort);
      cost[which]!.push(us);
      console.log(`round ${r + 1} ${which.padEnd(4)} ${us.toFixed(1).padStart(6)} µs of Sluice CPU per dropped CONNECT`);
    }
  }
  console.log(`median: new ${median(cost['new']!).toFixed(1)} µs${base ? `, base ${median(cost['base']!).toFixed(1)} µs` : ''}`);
});
