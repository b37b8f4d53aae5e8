// CPU profile of a spawned Sluice under the small-GET load: `node bench/profile.ts [tunnel|inspect|full] [SECONDS]`.
// Sluice runs with --cpu-prof; after SIGTERM (a clean drain, so V8 writes the profile) the top self-time
// functions and files are printed and appended to bench/results/profile-summary.md. The .cpuprofile is kept in
// bench/results/profiles/ for flame-graph viewers (Chrome DevTools, speedscope).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { coldName, hostsFile, makeCerts } from './lib/certs.ts';
import { heyAvailable, heyRps } from './lib/hey.ts';
import { commonFor, type MeasureContext } from './lib/measure.ts';
import { createProcSet, killSync, treeCpu, cpuDelta } from './lib/procs.ts';
import { startSluiceTarget, type SluiceVariant } from './lib/sluice-targets.ts';
import { startUpstream } from './lib/upstream.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const variant = (process.argv[2] ?? 'full') as SluiceVariant;
const seconds = Number(process.argv[3] ?? 10);
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
  return ['Top self time by function:', '', '| self | function |', '| ---: | --- |', ...rows(byFn), '', 'Self time by file:', '', '| self | file |', '| ---: | --- |', ...rows(byFile), ''];
}

async function main(): Promise<void> {
  if (!heyAvailable()) throw new Error('bench/profile.ts needs hey (bench/setup.sh installs it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-prof-'));
  fs.chmodSync(dir, 0o755);
  const profDir = path.join(dir, 'prof');
  fs.mkdirSync(profDir);
  try {
    const certs = makeCerts(path.join(dir, 'certs'));
    const hosts = path.join(dir, 'hosts');
    hostsFile(hosts, []);
    const upstream = await startUpstream(path.join(dir, 'upstream'), certs, procs, process.execPath);
    const target = await startSluiceTarget(
      variant,
      { dir, certs, ports: [upstream.staticPort, upstream.appPort], node: process.execPath, names: [coldName('p')], nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] },
      procs,
    );
    const settings = { rounds: 1, warmupMs: 1000, durationMs: seconds * 1000, coldSamples: 0, sseSamples: 0, uploadBytes: 0 };
    const ctx: MeasureContext = { procs, node: process.execPath, caFile: certs.caCert, staticPort: upstream.staticPort, appPort: upstream.appPort, settings, hostsFile: hosts, useHey: true };
    const before = treeCpu(target.pid!);
    const r = await heyRps(procs, hosts, commonFor(target, ctx), 32, 1000, seconds * 1000);
    const cpuMsPer10k = ((cpuDelta(before, treeCpu(target.pid!)) * 1000) / r.total) * 10_000;
    await procs.stopAll();
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no .cpuprofile written (did Sluice exit cleanly on SIGTERM?)');
    const keepDir = path.resolve('bench/results/profiles');
    fs.mkdirSync(keepDir, { recursive: true });
    const kept = path.join(keepDir, `sluice-${variant}.cpuprofile`);
    fs.copyFileSync(path.join(profDir, file), kept);
    const profile = JSON.parse(fs.readFileSync(kept, 'utf8')) as CpuProfile;
    const lines = [
      `## Sluice ${variant}: ${seconds} s of hey -c 32 small GETs (${new Date().toISOString()})`,
      '',
      `${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${cpuMsPer10k.toFixed(0)} ms CPU per 10k requests (profiler on). ` +
        `Load average ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}. Profile: \`bench/results/profiles/sluice-${variant}.cpuprofile\`.`,
      '',
      ...summarise(profile, 25),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    fs.appendFileSync(path.resolve('bench/results/profile-summary.md'), lines.join('\n') + '\n');
  } finally {
    await procs.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
