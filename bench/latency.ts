// Focused latency bench: time to first SSE event and the cold request (new CONNECT, first leaf certificate),
// with many more samples than the suite's rounds, so a few milliseconds are told apart from noise. The cold
// request is timed with two clients: the suite's undici ProxyAgent (whose own CONNECT handling costs a few ms
// more than its direct Agent) and curl, which an agent's shell runs: `%{time_total}` of one fresh process.
// `node bench/latency.ts [--rounds N] [--sse N] [--cold N]`. Direct and the three Sluice targets are interleaved
// round by round; medians and each target's difference from direct are printed and written to
// bench/results/latency.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { coldName, hostsFile, makeCerts, UPSTREAM_ADDR } from './lib/certs.ts';
import { commonFor, runClient, type MeasureContext, type Settings } from './lib/measure.ts';
import { createProcSet, killSync } from './lib/procs.ts';
import { startSluiceTarget } from './lib/sluice-targets.ts';
import type { Target } from './lib/target.ts';
import { startUpstream } from './lib/upstream.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const rounds = arg('--rounds', 5);
const sseSamples = arg('--sse', 6);
const coldSamples = arg('--cold', 6);
const procs = createProcSet();
process.on('exit', () => killSync(procs.pids()));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-latency-'));
  fs.chmodSync(dir, 0o755);
  try {
    const certs = makeCerts(path.join(dir, 'certs'));
    const tags: string[] = [];
    for (let r = 0; r < rounds; r++) for (let i = 0; i < coldSamples; i++) tags.push(`l${r}-${i}`, `c${r}-${i}`);
    const hosts = path.join(dir, 'hosts');
    hostsFile(hosts, tags);
    const upstream = await startUpstream(path.join(dir, 'upstream'), certs, procs, process.execPath);
    const settings: Settings = { rounds, warmupMs: 0, durationMs: 0, coldSamples, sseSamples, uploadBytes: 0 };
    const ctx: MeasureContext = { procs, node: process.execPath, caFile: certs.caCert, staticPort: upstream.staticPort, appPort: upstream.appPort, settings, hostsFile: hosts, useHey: false };
    const opts = { dir, certs, ports: [upstream.staticPort, upstream.appPort], node: process.execPath, names: tags.map(coldName) };
    const targets: Target[] = [{ id: 'direct', label: 'direct', mode: 'direct', proxy: null, pid: null, headers: {}, note: '' }];
    for (const v of ['tunnel', 'inspect', 'full'] as const) targets.push(await startSluiceTarget(v, opts, procs));
    const sse = new Map<string, number[]>(targets.map((t) => [t.id, []]));
    const cold = new Map<string, number[]>(targets.map((t) => [t.id, []]));
    const curlCold = new Map<string, number[]>(targets.map((t) => [t.id, []]));
    const curl = (t: Target, name: string): number => {
      const route = t.proxy === null ? ['--resolve', `${name}:${upstream.staticPort}:${UPSTREAM_ADDR}`] : ['-x', t.proxy];
      const headers = Object.entries(t.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
      const args = ['-sS', '--fail', '-o', '/dev/null', '-w', '%{time_total}', '--cacert', certs.caCert, ...route, ...headers, `https://${name}:${upstream.staticPort}/small`];
      return Number(execFileSync('curl', args, { encoding: 'utf8', timeout: 30_000 })) * 1000;
    };
    for (const t of targets) await runClient(ctx, { figure: 'cold', names: ['bench.test'], common: commonFor(t, ctx) }, 60_000);
    for (let r = 0; r < rounds; r++) {
      const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
      for (const t of order) {
        const common = commonFor(t, ctx);
        const s = await runClient(ctx, { figure: 'sse', samples: sseSamples, common }, 120_000);
        sse.get(t.id)!.push(...(s['firstEventSamples'] as number[]));
        const names = Array.from({ length: coldSamples }, (_, i) => coldName(`l${r}-${i}`));
        const c = await runClient(ctx, { figure: 'cold', names, common }, 120_000);
        cold.get(t.id)!.push(...(c['samples'] as number[]));
        const viaCurl = names.map((_, i) => curl(t, coldName(`c${r}-${i}`)));
        curlCold.get(t.id)!.push(...viaCurl);
        process.stderr.write(`round ${r + 1}/${rounds} ${t.label}: sse ${median(s['firstEventSamples'] as number[]).toFixed(1)} ms, cold ${(c['median'] as number).toFixed(1)} ms, curl cold ${median(viaCurl).toFixed(1)} ms\n`);
      }
    }
    const d = { sse: median(sse.get('direct')!), cold: median(cold.get('direct')!), curl: median(curlCold.get('direct')!) };
    const lines = [
      `# Latency: first SSE event and cold request`,
      '',
      `Run ${new Date().toISOString()} with \`node bench/latency.ts --rounds ${rounds} --sse ${sseSamples} --cold ${coldSamples}\`: ${rounds} interleaved rounds; medians over every sample (${rounds * sseSamples} SSE streams and ${rounds * coldSamples} cold requests per client and target). Load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}.`,
      '',
      '| target | first SSE event ms | added over direct | cold request ms (undici) | added over direct | cold request ms (curl) | added over direct |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...targets.map((t) => {
        const s = median(sse.get(t.id)!);
        const c = median(cold.get(t.id)!);
        const k = median(curlCold.get(t.id)!);
        const add = (x: number, y: number) => (t.id === 'direct' ? '' : `${x - y >= 0 ? '+' : ''}${(x - y).toFixed(1)}`);
        return `| ${t.label} | ${s.toFixed(1)} | ${add(s, d.sse)} | ${c.toFixed(1)} | ${add(c, d.cold)} | ${k.toFixed(1)} | ${add(k, d.curl)} |`;
      }),
      '',
    ];
    const out = path.resolve('bench/results/latency.md');
    fs.writeFileSync(out, lines.join('\n'));
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await procs.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
