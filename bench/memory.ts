// Where a proxy's memory is, idle and during the suite's 100 MiB download:
//   node bench/memory.ts [tunnel|inspect|full|floor] [DOWNLOADS] [-- NODE_FLAG...]
// Starts the bench upstream and one target (a Sluice variant as `npm start` runs it, or the Node floor), then
// prints its RSS split into anonymous and file pages, and /proc/PID/smaps grouped by mapping (the node binary,
// glibc's brk heap, anonymous mappings: V8's heap and the thread arenas), once idle and at the peak of each
// download (sampled every 50 ms). Node flags after `--` go to the target (say --max-semi-space-size=4), so two
// settings can be compared; run each a few times, as an idle RSS varies by about 10 MiB from one start to the next.
import fs from 'node:fs';
import path from 'node:path';
import { SLUICE_NODE_FLAGS } from '../bin/runtime.js';
import { coldName, hostsFile, makeCerts, UPSTREAM_ADDR } from './lib/certs.ts';
import { commonFor, runClient, type MeasureContext } from './lib/measure.ts';
import { startNodeFloor } from './lib/other-targets.ts';
import { createProcSet, killSync, memoryOf } from './lib/procs.ts';
import { runInScratchDir } from './lib/scratch.ts';
import { startSluiceTarget, type SluiceVariant } from './lib/sluice-targets.ts';
import { startUpstream } from './lib/upstream.ts';

const args = process.argv.slice(2);
const dashes = args.indexOf('--');
const own = dashes === -1 ? args : args.slice(0, dashes);
const nodeFlags = dashes === -1 ? [] : args.slice(dashes + 1);
const variant = own[0] ?? 'full';
const downloads = Number(own[1] ?? 2);
if (!['tunnel', 'inspect', 'full', 'floor'].includes(variant)) throw new Error('variant: tunnel, inspect, full or floor');

type Rss = NonNullable<ReturnType<typeof memoryOf>>;

function rssOf(pid: number): Rss {
  const m = memoryOf(pid);
  if (m === null) throw new Error(`the target (pid ${pid}) is gone`);
  return m;
}

/** Resident MiB per mapping name, the largest first; every anonymous mapping is one group. */
function mappingsOf(pid: number): string {
  const resident = new Map<string, number>();
  let mapping = '';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] || '[anonymous]';
      mapping = /\/node$|\/node_modules\/node\//.test(name) ? 'node binary' : name.replace(/^.*\//, '');
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) resident.set(mapping, (resident.get(mapping) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...resident]
    .filter(([, mib]) => mib >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, mib]) => `${name} ${mib.toFixed(0)}`)
    .join(', ');
}

const format = (m: Rss) => `RSS ${m.rssMiB.toFixed(0)} MiB (anonymous ${m.anonMiB.toFixed(0)}, file ${m.fileMiB.toFixed(0)}), VmHWM ${m.hwmMiB.toFixed(0)}`;

const procs = createProcSet();
process.on('exit', () => killSync(procs.pids()));

runInScratchDir('sluice-memory-', procs, async (dir) => {
  const certs = makeCerts(path.join(dir, 'certs'));
  const hosts = path.join(dir, 'hosts');
  hostsFile(hosts, []);
  const upstream = await startUpstream(path.join(dir, 'upstream'), certs, procs, process.execPath);
  const target =
    variant === 'floor'
      ? await startNodeFloor({ dir, certs, hostsFile: hosts, node: process.execPath, nodeFlags: [...SLUICE_NODE_FLAGS, ...nodeFlags], upstreamAddr: UPSTREAM_ADDR }, procs)
      : await startSluiceTarget(variant as SluiceVariant, { dir, certs, ports: [upstream.staticPort, upstream.appPort], node: process.execPath, names: [coldName('memory')], nodeArgs: nodeFlags }, procs);
  const pid = target.pid!;
  const ctx = { procs, node: process.execPath, caFile: certs.caCert, staticPort: upstream.staticPort, appPort: upstream.appPort, hostsFile: hosts, useHey: false } as MeasureContext;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  console.log(`# ${target.label}${nodeFlags.length > 0 ? ` with ${nodeFlags.join(' ')}` : ''}`);
  console.log(`idle: ${format(rssOf(pid))}\n  ${mappingsOf(pid)}`);
  for (let i = 1; i <= downloads; i++) {
    let peak = rssOf(pid);
    let peakMappings = mappingsOf(pid);
    const sampler = setInterval(() => {
      const now = rssOf(pid);
      if (now.rssMiB > peak.rssMiB) {
        peak = now;
        peakMappings = mappingsOf(pid);
      }
    }, 50);
    let rate: number;
    try {
      rate = (await runClient(ctx, { figure: 'download', common: commonFor(target, ctx) }, 300_000))['mibPerSecond'] as number;
    } finally {
      clearInterval(sampler);
    }
    console.log(`download ${i} (${rate.toFixed(0)} MiB/s), peak: ${format(peak)}\n  ${peakMappings}`);
  }
});
