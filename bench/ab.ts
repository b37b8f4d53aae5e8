// Two versions of Sluice side by side under the same small-GET load, alternated round by round:
//   node bench/ab.ts --base DIR [tunnel|inspect|full] [ROUNDS] [SECONDS] [--c N] [--download]
// DIR is another checkout (say `git worktree add /tmp/base HEAD~1`, with node_modules linked or installed); its
// build is made as `npm start` makes it. Why a script of its own: the suite's c=32 figure is bimodal (hey's dropped
// spare CONNECTs, bench/README.md), so two suite runs do not compare two versions; rounds that alternate the two
// (ABBA order) under the same host state do. Prints per round req/s and CPU per 10k requests, and the medians;
// with --download, the suite's 100 MiB download instead (MiB/s and Sluice's CPU per MiB).
import fs from 'node:fs';
import path from 'node:path';
import { coldName, hostsFile, makeCerts } from './lib/certs.ts';
import { heyAvailable, heyRps } from './lib/hey.ts';
import { commonFor, runClient, type MeasureContext } from './lib/measure.ts';
import { BIG_BYTES } from './lib/upstream.ts';
import { createProcSet, killSync, treeCpu, cpuDelta } from './lib/procs.ts';
import { startSluiceTarget, type SluiceVariant } from './lib/sluice-targets.ts';
import { runInScratchDir } from './lib/scratch.ts';
import { median } from './lib/stats.ts';
import { startUpstream } from './lib/upstream.ts';
import type { Target } from './lib/target.ts';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const base = option('--base');
const concurrency = Number(option('--c') ?? 32);
const download = args.includes('--download');
const positional = args.filter((a, i) => !a.startsWith('--') && !['--base', '--c'].includes(args[i - 1] ?? ''));
const variant = (positional[0] ?? 'inspect') as SluiceVariant;
const rounds = Number(positional[1] ?? 8);
const seconds = Number(positional[2] ?? 5);

const procs = createProcSet();
process.on('exit', () => killSync(procs.pids()));

runInScratchDir('sluice-ab-', procs, async (dir) => {
  if (!base || !fs.existsSync(path.join(base, 'bin', 'sluice.js'))) throw new Error('--base DIR must name another Sluice checkout');
  if (!heyAvailable()) throw new Error('bench/ab.ts needs hey (bench/setup.sh installs it)');
  const certs = makeCerts(path.join(dir, 'certs'));
  const hosts = path.join(dir, 'hosts');
  hostsFile(hosts, []);
  const upstream = await startUpstream(path.join(dir, 'upstream'), certs, procs, process.execPath);
  const common = { dir, certs, ports: [upstream.staticPort, upstream.appPort], node: process.execPath, names: [coldName('ab')] };
  const targets: Record<'new' | 'base', Target> = {
    new: await startSluiceTarget(variant, { ...common, tag: 'new' }, procs),
    base: await startSluiceTarget(variant, { ...common, tag: 'base', root: path.resolve(base) }, procs),
  };
  const settings = { rounds, warmupMs: 1000, durationMs: seconds * 1000, coldSamples: 0, sseSamples: 0, uploadBytes: 0 };
  const ctx: MeasureContext = { procs, node: process.execPath, caFile: certs.caCert, staticPort: upstream.staticPort, appPort: upstream.appPort, settings, hostsFile: hosts, useHey: true };
  const cpu: Record<'new' | 'base', number[]> = { new: [], base: [] };
  const rate: Record<'new' | 'base', number[]> = { new: [], base: [] };
  let newLower = 0;
  const what = download ? `the ${BIG_BYTES / 1048576} MiB download` : `hey -c ${concurrency}, ${seconds} s after 1 s warm-up`;
  console.log(`# ${variant}, ${what}, ${rounds} rounds; new = ${process.cwd()}, base = ${path.resolve(base)}`);
  for (let r = 0; r < rounds; r++) {
    const order: Array<'new' | 'base'> = r % 2 === 0 ? ['new', 'base'] : ['base', 'new'];
    for (const which of order) {
      const t = targets[which];
      const before = treeCpu(t.pid!);
      if (download) {
        const result = await runClient(ctx, { figure: 'download', common: commonFor(t, ctx) }, 300_000);
        const perMiB = (cpuDelta(before, treeCpu(t.pid!)) * 1000) / (BIG_BYTES / 1048576);
        cpu[which].push(perMiB);
        rate[which].push(result['mibPerSecond'] as number);
        console.log(`round ${r + 1} ${which.padEnd(4)} ${(result['mibPerSecond'] as number).toFixed(0).padStart(6)} MiB/s  ${perMiB.toFixed(2).padStart(6)} ms CPU / MiB`);
      } else {
        const result = await heyRps(procs, hosts, commonFor(t, ctx), concurrency, settings.warmupMs, settings.durationMs);
        const per10k = ((cpuDelta(before, treeCpu(t.pid!)) * 1000) / result.total) * 10_000;
        cpu[which].push(per10k);
        rate[which].push(result.rps);
        console.log(`round ${r + 1} ${which.padEnd(4)} ${result.rps.toFixed(0).padStart(6)} req/s  ${per10k.toFixed(0).padStart(5)} ms CPU / 10k  errors ${result.errors}`);
      }
    }
    if (cpu.new[r]! < cpu.base[r]!) newLower++;
  }
  const [unit, cpuUnit, digits] = download ? ['MiB/s', 'ms / MiB', 2] : ['req/s', 'ms / 10k', 0];
  console.log(`median CPU: new ${median(cpu.new).toFixed(digits)}, base ${median(cpu.base).toFixed(digits)} ${cpuUnit}; median ${unit}: new ${median(rate.new).toFixed(0)}, base ${median(rate.base).toFixed(0)}; new lower CPU in ${newLower} of ${rounds} rounds`);
});
