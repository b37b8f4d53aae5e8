// CPU profile of a spawned Sluice under the small-GET load: `node bench/profile.ts [tunnel|inspect|full] [SECONDS] [--c N]`,
// or over the suite's transfers with `--transfer upload|download`.
// Sluice runs with --inspect on loopback; the profiler is started over the inspector for exactly the load window
// (not --cpu-prof, which only writes on a clean exit). The top self-time functions and files are printed and
// appended to bench/results/profile-summary.md; the .cpuprofile is kept in bench/results/profiles/ for
// flame-graph viewers (Chrome DevTools, speedscope). With --heap, V8's sampling heap profiler runs over the same
// window and the functions that allocate most (bytes sampled, live or not) are printed and kept as .heapprofile.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { coldName, hostsFile, makeCerts } from './lib/certs.ts';
import { heyAvailable, heyRps } from './lib/hey.ts';
import { commonFor, runClient, type MeasureContext } from './lib/measure.ts';
import { connectInspector } from './lib/inspector.ts';
import { createProcSet, freePort, killSync, treeCpu, cpuDelta } from './lib/procs.ts';
import { startSluiceTarget, type SluiceVariant } from './lib/sluice-targets.ts';
import { BIG_BYTES, startUpstream } from './lib/upstream.ts';
import { UPLOAD_BYTES } from './lib/bodies.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const argv = process.argv.slice(2);
const concurrency = argv.includes('--c') ? Number(argv[argv.indexOf('--c') + 1]) : 32;
/** --transfer upload|download: profile ten 10 MiB uploads or three 100 MiB downloads instead of the small GETs. */
const transfer = argv.includes('--transfer') ? argv[argv.indexOf('--transfer') + 1] : null;
const positional = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--c' && argv[i - 1] !== '--transfer');
const variant = (positional[0] ?? 'full') as SluiceVariant;
const seconds = Number(positional[1] ?? 10);
/** --promoted: sample only what outlives a young collection (promoted to the old generation), the food of full marks. */
const promoted = process.argv.includes('--promoted');
const heap = process.argv.includes('--heap') || promoted;

interface HeapNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
interface HeapSample {
  size: number;
  nodeId: number;
}

/** Allocation by function from a sampling heap profile, including samples already collected (sampled bytes). */
function heapSummary(head: HeapNode, samples: readonly HeapSample[], requests: number, top: number, promotedOnly: boolean): string[] {
  const byId = new Map<number, HeapNode>();
  const walk = (n: HeapNode) => {
    byId.set(n.id, n);
    n.children.forEach(walk);
  };
  walk(head);
  const byFn = new Map<string, number>();
  let total = 0;
  for (const s of samples) {
    const n = byId.get(s.nodeId);
    if (!n) continue;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + s.size);
    total += s.size;
  }
  const rows = [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `| ${((v / total) * 100).toFixed(1)}% | ${(v / requests).toFixed(0)} | \`${k.replaceAll('|', '\\|')}\` |`);
  return [
    promotedOnly
      ? `Allocation that outlived a young collection (sampled, every 16 KiB on average): ${(total / requests).toFixed(0)} bytes per request in all.`
      : `Allocation (sampled, every 16 KiB on average): ${(total / requests).toFixed(0)} bytes per request in all.`,
    '',
    '| share | bytes / request | allocating function |',
    '| ---: | ---: | --- |',
    ...rows,
    '',
  ];
}
const procs = createProcSet();
process.on('exit', () => killSync(procs.pids()));

function short(url: string): string {
  const i = url.indexOf('/main/');
  if (url.includes('node_modules/')) return url.slice(url.indexOf('node_modules/'));
  return i >= 0 ? url.slice(i + 6) : url.replace('file://', '') || '(native)';
}

function summarise(profile: CpuProfile, top: number): string[] {
  const total = profile.samples.length;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const counts = new Map<number, number>();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  for (const n of profile.nodes) {
    const hits = counts.get(n.id) ?? 0;
    if (hits === 0) continue;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
    const file = f.url ? short(f.url) : f.functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + hits);
  }
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `| ${((v / total) * 100).toFixed(1)}% | \`${k.replaceAll('|', '\\|')}\` |`);
  return [
    'Top self time by function:', '', '| self | function |', '| ---: | --- |', ...rows(byFn), '',
    'Self time by file:', '', '| self | file |', '| ---: | --- |', ...rows(byFile), '',
    ...callers(profile, counts, total),
  ];
}

const frameKey = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

/** Inclusive time of Sluice's own functions, and who calls the hottest native leaves (nearest src/ or dist/ frame). */
function callers(profile: CpuProfile, counts: Map<number, number>, total: number): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  const leafCallers = new Map<string, Map<string, number>>();
  for (const [id, hits] of counts) {
    const seen = new Set<string>();
    let nearestSrc: string | null = null;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)!;
      if (!/\/(src|dist)\//.test(node.callFrame.url)) continue;
      const key = frameKey(node);
      nearestSrc ??= key;
      if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + hits);
      seen.add(key);
    }
    const leaf = byId.get(id)!;
    if (leaf.callFrame.url === '' && nearestSrc !== null) {
      const name = leaf.callFrame.functionName;
      const m = leafCallers.get(name) ?? new Map<string, number>();
      m.set(nearestSrc, (m.get(nearestSrc) ?? 0) + hits);
      leafCallers.set(name, m);
    }
  }
  const pct = (v: number) => `${((v / total) * 100).toFixed(1)}%`;
  const incl = [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `| ${pct(v)} | \`${k}\` |`);
  const leaves = [...leafCallers.entries()]
    .map(([name, m]) => [name, [...m.values()].reduce((a, b) => a + b, 0), m] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, sum, m]) => {
      const top = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `\`${k}\` ${pct(v)}`);
      return `| ${pct(sum)} | ${name} | ${top.join('<br>')} |`;
    });
  return [
    'Inclusive time of Sluice functions (src/):', '', '| incl | function |', '| ---: | --- |', ...incl, '',
    'Native leaves by nearest Sluice caller:', '', '| self | native | nearest src/ callers |', '| ---: | --- | --- |', ...leaves, '',
  ];
}

async function main(): Promise<void> {
  if (!heyAvailable()) throw new Error('bench/profile.ts needs hey (bench/setup.sh installs it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-prof-'));
  fs.chmodSync(dir, 0o755);
  const inspectPort = await freePort();
  try {
    const certs = makeCerts(path.join(dir, 'certs'));
    const hosts = path.join(dir, 'hosts');
    hostsFile(hosts, []);
    const upstream = await startUpstream(path.join(dir, 'upstream'), certs, procs, process.execPath);
    const target = await startSluiceTarget(
      variant,
      { dir, certs, ports: [upstream.staticPort, upstream.appPort], node: process.execPath, names: [coldName('p')], nodeArgs: [`--inspect=127.0.0.1:${inspectPort}`] },
      procs,
    );
    const settings = { rounds: 1, warmupMs: 1000, durationMs: seconds * 1000, coldSamples: 0, sseSamples: 0, uploadBytes: 0 };
    const ctx: MeasureContext = { procs, node: process.execPath, caFile: certs.caCert, staticPort: upstream.staticPort, appPort: upstream.appPort, settings, hostsFile: hosts, useHey: true };
    const inspector = await connectInspector(inspectPort);
    await inspector.call('Profiler.enable');
    await inspector.call('Profiler.setSamplingInterval', { interval: 500 });
    await inspector.call('Profiler.start');
    if (heap) {
      await inspector.call('HeapProfiler.enable');
      await inspector.call('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !promoted });
    }
    const before = treeCpu(target.pid!);
    let load: string;
    let figures: string;
    let requests: number;
    if (transfer === null) {
      const r = await heyRps(procs, hosts, commonFor(target, ctx), concurrency, 1000, seconds * 1000);
      const cpuMsPer10k = ((cpuDelta(before, treeCpu(target.pid!)) * 1000) / r.total) * 10_000;
      load = `${seconds} s of hey -c ${concurrency} small GETs`;
      figures = `${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${cpuMsPer10k.toFixed(0)} ms CPU per 10k requests`;
      requests = r.total;
    } else {
      const job = transfer === 'upload' ? { figure: 'upload' as const, bytes: UPLOAD_BYTES } : { figure: 'download' as const };
      const count = transfer === 'upload' ? 10 : 3;
      const rates: number[] = [];
      for (let i = 0; i < count; i++) rates.push((await runClient(ctx, { ...job, common: commonFor(target, ctx) }, 300_000))['mibPerSecond'] as number);
      const mib = (count * (transfer === 'upload' ? UPLOAD_BYTES : BIG_BYTES)) / 1048576;
      load = transfer === 'upload' ? `${count} uploads of ${UPLOAD_BYTES / 1048576} MiB` : `${count} downloads of ${BIG_BYTES / 1048576} MiB`;
      figures = `${rates.map((x) => x.toFixed(0)).join(', ')} MiB/s, ${((cpuDelta(before, treeCpu(target.pid!)) * 1000) / mib).toFixed(2)} ms CPU per MiB`;
      requests = count;
    }
    const { profile } = (await inspector.call('Profiler.stop')) as unknown as { profile: CpuProfile };
    const heapProfile = heap ? ((await inspector.call('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapNode; samples: HeapSample[] } }).profile : null;
    inspector.close();
    const fds = fs.readdirSync(`/proc/${target.pid}/fd`).length;
    const keepDir = path.resolve('bench/results/profiles');
    fs.mkdirSync(keepDir, { recursive: true });
    const profileName = `sluice-${variant}${transfer !== null ? `-${transfer}` : concurrency === 32 ? '' : `-c${concurrency}`}.cpuprofile`;
    fs.writeFileSync(path.join(keepDir, profileName), JSON.stringify(profile));
    const lines = [
      `## Sluice ${variant}: ${load} (${new Date().toISOString()})`,
      '',
      `${figures} (profiler on). ` +
        `Open fds after the load ended: ${fds}. Load average ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}. Profile: \`bench/results/profiles/${profileName}\`.`,
      '',
      ...summarise(profile, 25),
      ...(heapProfile ? heapSummary(heapProfile.head, heapProfile.samples, requests, 30, promoted) : []),
    ];
    if (heapProfile) fs.writeFileSync(path.join(keepDir, `sluice-${variant}.heapprofile`), JSON.stringify(heapProfile));
    process.stdout.write(lines.join('\n') + '\n');
    fs.appendFileSync(path.resolve('bench/results/profile-summary.md'), lines.join('\n') + '\n');
  } finally {
    await procs.stopAll();
    if (process.env['BENCH_KEEP']) process.stderr.write(`kept ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
