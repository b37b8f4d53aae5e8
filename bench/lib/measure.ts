// One round of every figure for one target. Each figure is one load-client process; the proxy's CPU is read from
// /proc before and after (whole process tree), its memory sampled every 50 ms during the 100 MiB download.
import path from 'node:path';
import type { ClientJob, Common } from '../load-client.ts';
import { coldName, BENCH_DOMAIN } from './certs.ts';
import { heyRps, type RpsResult } from './hey.ts';
import { cpuDelta, memoryOf, treeCpu, type ProcSet } from './procs.ts';
import type { Target } from './target.ts';

export interface Settings {
  readonly rounds: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly coldSamples: number;
  readonly sseSamples: number;
  readonly uploadBytes: number;
}

export interface RoundResult {
  readonly target: string;
  readonly round: number;
  readonly metrics: Record<string, number>;
  readonly errors: string[];
}

export interface MeasureContext {
  readonly procs: ProcSet;
  readonly node: string;
  readonly caFile: string;
  readonly staticPort: number;
  readonly appPort: number;
  readonly settings: Settings;
  readonly hostsFile: string;
  /** Small-GET load with hey (true) or the undici client (false). */
  readonly useHey: boolean;
}

export const CLIENT = path.resolve('bench/load-client.ts');

export async function runClient(ctx: Pick<MeasureContext, 'procs' | 'node'>, job: ClientJob, timeoutMs: number): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await ctx.procs.capture(`client-${job.figure}`, ctx.node, [CLIENT, JSON.stringify(job)], timeoutMs);
  const line = stdout.trim().split('\n').pop() ?? '';
  let parsed: { ok?: boolean; result?: Record<string, unknown>; error?: string } = {};
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    // fall through with the raw output below
  }
  if (code !== 0 || !parsed.ok || !parsed.result) {
    throw new Error(`${job.figure}: ${parsed.error ?? ''} ${stderr.slice(-600)}`.trim().slice(0, 800));
  }
  return parsed.result;
}

export function commonFor(target: Target, ctx: MeasureContext): Common {
  return { host: BENCH_DOMAIN, staticPort: ctx.staticPort, appPort: ctx.appPort, proxy: target.proxy, ca: ctx.caFile, headers: { ...target.headers } };
}

export function coldTags(settings: Settings): string[] {
  const tags: string[] = [];
  for (let r = 0; r < settings.rounds; r++) for (let i = 0; i < settings.coldSamples; i++) tags.push(`r${r}-${i}`);
  return tags;
}

export async function measureRound(target: Target, round: number, ctx: MeasureContext): Promise<RoundResult> {
  const s = ctx.settings;
  const common = commonFor(target, ctx);
  const metrics: Record<string, number> = {};
  const errors: string[] = [];
  const loadTimeout = s.warmupMs + s.durationMs + 60_000;
  const attempt = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message}`);
    }
  };

  for (const concurrency of [1, 32]) {
    await attempt(`c${concurrency}`, async () => {
      const before = target.pid ? treeCpu(target.pid) : null;
      const r = ctx.useHey
        ? await heyRps(ctx.procs, ctx.hostsFile, common, concurrency, s.warmupMs, s.durationMs)
        : ((await runClient(ctx, { figure: 'rps', concurrency, warmupMs: s.warmupMs, durationMs: s.durationMs, common }, loadTimeout)) as unknown as RpsResult);
      metrics[`rps_c${concurrency}`] = r.rps;
      metrics[`p50_c${concurrency}`] = r.p50;
      metrics[`p99_c${concurrency}`] = r.p99;
      metrics[`errors_c${concurrency}`] = r.errors;
      if (r.newConnections !== undefined) metrics[`new_conns_c${concurrency}`] = r.newConnections;
      if (before && target.pid) {
        const cpu = cpuDelta(before, treeCpu(target.pid));
        metrics[`cpu_ms_per_10k_c${concurrency}`] = ((cpu * 1000) / r.total) * 10_000;
      }
    });
  }
  await attempt('cold', async () => {
    const names = Array.from({ length: s.coldSamples }, (_, i) => coldName(`r${round}-${i}`));
    const r = await runClient(ctx, { figure: 'cold', names, common }, 120_000);
    metrics['cold_ms'] = r['median'] as number;
  });
  await attempt('download', async () => {
    let peakRss = 0;
    const sampler = target.pid
      ? setInterval(() => {
          peakRss = Math.max(peakRss, memoryOf(target.pid!)?.rssMiB ?? 0);
        }, 50)
      : null;
    try {
      const r = await runClient(ctx, { figure: 'download', common }, 300_000);
      metrics['download_mib_s'] = r['mibPerSecond'] as number;
    } finally {
      if (sampler) clearInterval(sampler);
    }
    if (target.pid) {
      metrics['rss_peak_download_mib'] = peakRss;
      metrics['vmhwm_mib'] = memoryOf(target.pid)?.hwmMiB ?? NaN;
    }
  });
  await attempt('upload', async () => {
    const r = await runClient(ctx, { figure: 'upload', bytes: s.uploadBytes, common }, 300_000);
    metrics['upload_mib_s'] = r['mibPerSecond'] as number;
  });
  await attempt('sse', async () => {
    const r = await runClient(ctx, { figure: 'sse', samples: s.sseSamples, common }, 60_000);
    metrics['sse_first_ms'] = r['firstEventMs'] as number;
    metrics['sse_third_ms'] = r['thirdEventMs'] as number;
  });
  return { target: target.id, round, metrics, errors };
}
