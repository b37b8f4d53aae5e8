// The benchmark suite (issue 8): `node bench/run.ts [--quick] [--only id,id]`.
// Starts nginx + a Node app server as the upstream, Sluice in three modes and the Debian proxies (bench/setup.sh
// installs them), measures every target in interleaved rounds, and writes bench/results/latest{,-quick}.{md,json}.
// Loopback only; every process is started through one ProcSet and stopped by its PID.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { coldName, makeCerts, hostsFile, UPSTREAM_ADDR } from './lib/certs.ts';
import { describeMachine, opensslSpeed } from './lib/machine.ts';
import { coldTags, commonFor, measureRound, runClient, type MeasureContext, type RoundResult, type Settings } from './lib/measure.ts';
import { startMitmdump, startNodeFloor, startSquid, startTinyproxy, type OtherStartOptions } from './lib/other-targets.ts';
import { SLUICE_NODE_FLAGS } from '../bin/runtime.js';
import { heyAvailable } from './lib/hey.ts';
import { createProcSet, killSync, type ProcSet } from './lib/procs.ts';
import { goals, markdown, summarise, type Report } from './lib/report.ts';
import { startSluiceTarget } from './lib/sluice-targets.ts';
import type { SkippedTarget, Target } from './lib/target.ts';
import { startUpstream } from './lib/upstream.ts';
import { UPLOAD_BYTES } from './lib/bodies.ts';

const NODE = process.execPath;
const QUICK: Settings = { rounds: 2, warmupMs: 500, durationMs: 2000, coldSamples: 3, sseSamples: 2, uploadBytes: UPLOAD_BYTES };
const FULL: Settings = { rounds: 5, warmupMs: 1000, durationMs: 4000, coldSamples: 5, sseSamples: 3, uploadBytes: UPLOAD_BYTES };

interface Candidate {
  readonly id: string;
  readonly label: string;
  start(): Promise<Target>;
}

function candidates(dir: string, other: OtherStartOptions, ports: number[], names: string[], procs: ProcSet): Candidate[] {
  const sluiceOpts = { dir, certs: other.certs, ports, node: NODE, names };
  const direct: Target = { id: 'direct', label: 'direct', mode: 'direct', proxy: null, pid: null, headers: {}, note: '' };
  return [
    { id: 'direct', label: 'direct', start: async () => direct },
    { id: 'sluice-tunnel', label: 'Sluice tunnel', start: () => startSluiceTarget('tunnel', sluiceOpts, procs) },
    { id: 'sluice-inspect', label: 'Sluice inspect, no guard', start: () => startSluiceTarget('inspect', sluiceOpts, procs) },
    { id: 'sluice-full', label: 'Sluice inspect + credential + full guard', start: () => startSluiceTarget('full', sluiceOpts, procs) },
    { id: 'tinyproxy', label: 'tinyproxy (tunnel)', start: () => startTinyproxy(other, procs) },
    { id: 'squid', label: 'squid (tunnel)', start: () => startSquid(other, procs, false) },
    { id: 'squid-bump', label: 'squid ssl-bump (intercept)', start: () => startSquid(other, procs, true) },
    { id: 'mitmdump', label: 'mitmproxy mitmdump (intercept)', start: () => startMitmdump(other, procs) },
    {
      id: 'node-floor',
      label: 'Node floor: minimal interceptor (reference)',
      start: () => startNodeFloor({ ...other, node: NODE, nodeFlags: SLUICE_NODE_FLAGS, upstreamAddr: UPSTREAM_ADDR }, procs),
    },
  ];
}

/** Start each target and prove it serves one GET; a target that fails is skipped with the reason. */
async function startTargets(list: readonly Candidate[], ctx: MeasureContext): Promise<{ targets: Target[]; skipped: SkippedTarget[] }> {
  const targets: Target[] = [];
  const skipped: SkippedTarget[] = [];
  for (const c of list) {
    try {
      const t = await c.start();
      await runClient(ctx, { figure: 'cold', names: ['bench.test'], common: commonFor(t, ctx) }, 60_000);
      targets.push(t);
      log(`started ${t.label}${t.proxy ? ` at ${t.proxy} (pid ${t.pid})` : ''}`);
    } catch (e) {
      const reason = (e as Error).message.replaceAll('\n', ' ').slice(0, 400);
      skipped.push({ id: c.id, label: c.label, reason });
      log(`SKIP ${c.label}: ${reason}`);
    }
  }
  return { targets, skipped };
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function references(ctx: MeasureContext, tcpPort: number, quick: boolean): Promise<Record<string, number>> {
  const seconds = quick ? 1 : 3;
  const tcp = await runClient(ctx, { figure: 'tcp', durationMs: seconds * 1000, port: tcpPort }, 60_000).catch(() => ({ mibPerSecond: NaN }));
  return {
    aes128gcm_bytes_s: opensslSpeed('aes-128-gcm', seconds),
    chacha20_bytes_s: opensslSpeed('chacha20-poly1305', seconds),
    loopback_tcp_mib_s: tcp['mibPerSecond'] as number,
  };
}

async function main(procs: ProcSet, scratch: string[]): Promise<void> {
  const quick = process.argv.includes('--quick');
  const onlyArg = process.argv[process.argv.indexOf('--only') + 1];
  const only = process.argv.includes('--only') && onlyArg ? new Set(['direct', ...onlyArg.split(',')]) : null;
  const settings = quick ? QUICK : FULL;
  const machine = describeMachine();
  log(`load average at start: ${machine.loadAverageAtStart.join(', ')}; ${settings.rounds} rounds`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
  fs.chmodSync(dir, 0o755);
  scratch.push(dir);
  const certs = makeCerts(path.join(dir, 'certs'));
  const hosts = path.join(dir, 'hosts');
  hostsFile(hosts, coldTags(settings));
  const upstream = await startUpstream(path.join(dir, 'upstream'), certs, procs, NODE);
  const useHey = heyAvailable() && upstream.staticPort === 443 && !process.argv.includes('--no-hey');
  const ctx: MeasureContext = { procs, node: NODE, caFile: certs.caCert, staticPort: upstream.staticPort, appPort: upstream.appPort, settings, hostsFile: hosts, useHey };
  const refs = await references(ctx, upstream.tcpPort, quick);
  log(`references: ${JSON.stringify(refs)}`);
  const list = candidates(dir, { dir, certs, hostsFile: hosts }, [upstream.staticPort, upstream.appPort], coldTags(settings).map(coldName), procs).filter((c) => !only || only.has(c.id));
  const { targets, skipped } = await startTargets(list, ctx);

  const rounds: RoundResult[] = [];
  for (let r = 0; r < settings.rounds; r++) {
    // Rotate the order each round so no target always runs first (or right after the heaviest one).
    const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
    for (const t of order) {
      log(`round ${r + 1}/${settings.rounds}: ${t.label}`);
      const result = await measureRound(t, r, ctx);
      for (const e of result.errors) log(`  error: ${e.slice(0, 300)}`);
      log(`  ${JSON.stringify(Object.fromEntries(Object.entries(result.metrics).map(([k, v]) => [k, Math.round(v * 100) / 100])))}`);
      rounds.push(result);
    }
  }

  const summaries = summarise(targets, rounds);
  const report: Report = {
    date: new Date().toISOString(),
    quick,
    loadClient: ctx.useHey ? 'hey -x (Go, keep-alive, one CONNECT per connection)' : 'undici ProxyAgent (bench/load-client.ts)',
    settings,
    machine,
    references: refs,
    targets: summaries,
    skipped,
    goals: goals(summaries),
    rounds,
  };
  const outDir = path.resolve('bench/results');
  fs.mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, quick ? 'latest-quick' : 'latest');
  const md = markdown(report);
  fs.writeFileSync(`${base}.md`, md);
  fs.writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(md + '\n');
  log(`wrote ${base}.md and ${base}.json`);
}

const procs = createProcSet();
process.on('exit', () => killSync(procs.pids()));
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void procs.stopAll().finally(() => process.exit(130));
  });
}
const scratch: string[] = [];
try {
  await main(procs, scratch);
} catch (e) {
  log(`failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
} finally {
  await procs.stopAll();
  // --keep leaves configs and proxy logs for debugging.
  for (const dir of scratch) {
    if (process.argv.includes('--keep')) log(`scratch dir kept: ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}
