// Medians over rounds, ratios to direct, the goal checks from issue 8, and the markdown table.
import type { Machine } from './machine.ts';
import type { RoundResult, Settings } from './measure.ts';
import { median } from './stats.ts';
import type { SkippedTarget, Target } from './target.ts';

export interface Summary {
  readonly id: string;
  readonly label: string;
  readonly mode: Target['mode'];
  readonly note: string;
  readonly medians: Record<string, number>;
  readonly errors: string[];
}

export interface Report {
  readonly date: string;
  readonly quick: boolean;
  /** What drove the small-GET load: hey (Go) or the undici client. */
  readonly loadClient: string;
  readonly settings: Settings;
  readonly machine: Machine;
  readonly references: Record<string, number>;
  readonly targets: Summary[];
  readonly skipped: SkippedTarget[];
  readonly goals: Goal[];
  readonly rounds: RoundResult[];
}

export interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | null;
}

export function summarise(targets: readonly Target[], rounds: readonly RoundResult[]): Summary[] {
  return targets.map((t) => {
    const mine = rounds.filter((r) => r.target === t.id);
    const keys = new Set(mine.flatMap((r) => Object.keys(r.metrics)));
    const medians: Record<string, number> = {};
    for (const k of keys) medians[k] = median(mine.map((r) => r.metrics[k] ?? NaN));
    return { id: t.id, label: t.label, mode: t.mode, note: t.note, medians, errors: [...new Set(mine.flatMap((r) => r.errors))] };
  });
}

const f = (x: number | undefined, digits = 0): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

export function goals(summaries: readonly Summary[]): Goal[] {
  const m = (id: string, k: string) => summaries.find((s) => s.id === id)?.medians[k];
  const cmp = (a: number | undefined, b: number | undefined, ok: (a: number, b: number) => boolean) =>
    a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) ? null : ok(a, b);
  const full = 'sluice-full';
  const bump = 'squid-bump';
  const out: Goal[] = [
    {
      goal: 'full guard req/s at c=32 ≥ squid ssl-bump',
      measured: `${f(m(full, 'rps_c32'))} vs ${f(m(bump, 'rps_c32'))}`,
      met: cmp(m(full, 'rps_c32'), m(bump, 'rps_c32'), (a, b) => a >= b),
    },
    {
      goal: 'full guard CPU per 10k requests ≤ squid ssl-bump',
      measured: `${f(m(full, 'cpu_ms_per_10k_c32'))} ms vs ${f(m(bump, 'cpu_ms_per_10k_c32'))} ms`,
      met: cmp(m(full, 'cpu_ms_per_10k_c32'), m(bump, 'cpu_ms_per_10k_c32'), (a, b) => a <= b),
    },
    {
      goal: 'full guard p99 added over direct at c=1 < 1 ms',
      measured: `${f((m(full, 'p99_c1') ?? NaN) - (m('direct', 'p99_c1') ?? NaN), 2)} ms`,
      met: cmp(m(full, 'p99_c1'), m('direct', 'p99_c1'), (a, b) => a - b < 1),
    },
    {
      goal: 'inspect 100 MiB download ≥ squid ssl-bump',
      measured: `${f(m('sluice-inspect', 'download_mib_s'))} (full: ${f(m(full, 'download_mib_s'))}) vs ${f(m(bump, 'download_mib_s'))} MiB/s`,
      met: cmp(m('sluice-inspect', 'download_mib_s'), m(bump, 'download_mib_s'), (a, b) => a >= b),
    },
    {
      goal: 'tunnel 100 MiB download ≥ 90% of direct',
      measured: `${f(m('sluice-tunnel', 'download_mib_s'))} vs ${f(m('direct', 'download_mib_s'))} MiB/s`,
      met: cmp(m('sluice-tunnel', 'download_mib_s'), m('direct', 'download_mib_s'), (a, b) => a >= 0.9 * b),
    },
  ];
  const sluices = summaries.filter((s) => s.id.startsWith('sluice-'));
  const maxRss = Math.max(...sluices.map((s) => s.medians['vmhwm_mib'] ?? NaN));
  out.push({ goal: 'Sluice peak RSS < 100 MB (VmHWM, any body size)', measured: `${f(maxRss)} MiB (max over Sluice targets)`, met: Number.isFinite(maxRss) ? maxRss * 1.048576 < 100 : null });
  for (const s of sluices) {
    out.push({
      goal: `${s.label}: first SSE event within 5 ms of direct`,
      measured: `${f(s.medians['sse_first_ms'], 1)} vs ${f(m('direct', 'sse_first_ms'), 1)} ms`,
      met: cmp(s.medians['sse_first_ms'], m('direct', 'sse_first_ms'), (a, b) => a - b <= 5),
    });
  }
  out.push({
    goal: 'cold request (new CONNECT + first leaf) within 10 ms of direct',
    measured: `${f(m(full, 'cold_ms'), 1)} (inspect: ${f(m('sluice-inspect', 'cold_ms'), 1)}) vs ${f(m('direct', 'cold_ms'), 1)} ms`,
    met: cmp(m(full, 'cold_ms'), m('direct', 'cold_ms'), (a, b) => a - b <= 10),
  });
  return out;
}

/** The value, and its ratio to the reference row's value unless this is the reference row itself. */
function cell(s: Summary, base: Summary | undefined, key: string, digits: number, ratio: boolean): string {
  const v = s.medians[key];
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  const d = base?.medians[key];
  if (!ratio || s === base || d === undefined || !Number.isFinite(d) || d === 0) return f(v, digits);
  return `${f(v, digits)} (${(v / d).toFixed(2)}×)`;
}

const TABLE1: Array<[string, string, number]> = [
  ['req/s c=1', 'rps_c1', 0],
  ['p50 ms c=1', 'p50_c1', 2],
  ['p99 ms c=1', 'p99_c1', 2],
  ['req/s c=32', 'rps_c32', 0],
  ['p50 ms c=32', 'p50_c32', 2],
  ['p99 ms c=32', 'p99_c32', 2],
  ['proxy CPU ms / 10k req (c=32)', 'cpu_ms_per_10k_c32', 0],
];
const TABLE2: Array<[string, string, number]> = [
  ['cold request ms', 'cold_ms', 1],
  ['100 MiB down MiB/s', 'download_mib_s', 0],
  ['10 MiB up MiB/s', 'upload_mib_s', 0],
  ['RSS peak in 100 MiB down (MiB)', 'rss_peak_download_mib', 0],
  ['VmHWM MiB', 'vmhwm_mib', 0],
  ['first SSE event ms', 'sse_first_ms', 1],
  ['3rd SSE event ms', 'sse_third_ms', 1],
];

/** Memory figures are absolute: direct has none to divide by. */
const ratioToDirect = (key: string): boolean => !key.startsWith('rss') && !key.startsWith('vmhwm') && !key.startsWith('new_conns');

function table(rows: readonly Summary[], cols: Array<[string, string, number]>, base: Summary | undefined, ratio: (key: string) => boolean): string[] {
  const lines = [`| target | ${cols.map((c) => c[0]).join(' | ')} |`, `| --- | ${cols.map(() => '---:').join(' | ')} |`];
  for (const s of rows) lines.push(`| ${s.label} | ${cols.map(([, k, d]) => cell(s, base, k, d, ratio(k))).join(' | ')} |`);
  return lines;
}

const FLOOR_ROWS: Array<[string, string, number]> = [
  ['req/s c=32', 'rps_c32', 0],
  ['proxy CPU ms / 10k req (c=32)', 'cpu_ms_per_10k_c32', 0],
  ['p99 ms c=1', 'p99_c1', 2],
  ['cold request ms', 'cold_ms', 1],
  ['100 MiB down MiB/s', 'download_mib_s', 0],
  ['VmHWM MiB', 'vmhwm_mib', 0],
];

/**
 * Each intercepting target against the Node floor of the same run: the part of a figure that the platform
 * (node:tls, node:http, undici) sets, and the part that is the proxy's own work. Empty without the floor.
 */
function floorTable(summaries: readonly Summary[]): string[] {
  const floor = summaries.find((s) => s.id === 'node-floor');
  if (!floor) return [];
  const rows = summaries.filter((s) => s.id.startsWith('sluice-') && s.id !== 'sluice-tunnel').concat(summaries.filter((s) => s.id === 'squid-bump'));
  return [
    '## Intercepting targets against the Node floor (ratio to the floor in parentheses)',
    '',
    ...table([floor, ...rows], FLOOR_ROWS, floor, () => true),
    '',
  ];
}

export function markdown(r: Report): string {
  const mc = r.machine;
  const gib = (x: number | undefined) => f((x ?? NaN) / 1024 ** 3, 2);
  const direct = r.targets.find((s) => s.id === 'direct');
  const lines = [
    `# Sluice benchmark${r.quick ? ' (quick)' : ''}`,
    '',
    `Run ${r.date} with \`node bench/run.ts${r.quick ? ' --quick' : ''}\`: ${r.settings.rounds} interleaved rounds, medians; ratio to direct in parentheses.`,
    `Small-GET load by ${r.loadClient}, ${r.settings.durationMs / 1000} s after ${r.settings.warmupMs / 1000} s warm-up; cold = median of ${r.settings.coldSamples} fresh clients per round.`,
    '',
    `Machine: ${mc.nproc} cores (${mc.cpuModel}), ${mc.memoryGiB} GiB, ${mc.os}, kernel ${mc.kernel}, Node ${mc.node}. ` +
      `Load average at start: ${mc.loadAverageAtStart.join(', ')} (shared machine: client, proxy and upstream share the cores).`,
    `Versions: ${Object.entries(mc.versions).map(([k, v]) => `${k}: ${v}`).join('; ')}.`,
    '',
    `References: openssl speed one core AES-128-GCM ${gib(r.references['aes128gcm_bytes_s'])} GB/s, ChaCha20-Poly1305 ${gib(r.references['chacha20_bytes_s'])} GB/s (16 KiB blocks); ` +
      `raw loopback TCP (Node to Node) ${f(r.references['loopback_tcp_mib_s'])} MiB/s.`,
    '',
    '## Small HTTPS GET (~200 B JSON, keep-alive)',
    '',
    ...table(r.targets, TABLE1, direct, ratioToDirect),
    '',
    '## Cold start, transfers, memory, streaming',
    '',
    ...table(r.targets, TABLE2, direct, ratioToDirect),
    '',
    ...floorTable(r.targets),
    '## Goals (issue 8)',
    '',
    '| goal | measured | met |',
    '| --- | --- | --- |',
    ...r.goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.met === null ? 'n/a' : g.met ? 'yes' : 'no'} |`),
    '',
  ];
  if (r.skipped.length > 0) {
    lines.push('## Skipped targets', '', ...r.skipped.map((s) => `- ${s.label}: ${s.reason}`), '');
  }
  const notes = r.targets.filter((t) => t.note || t.errors.length > 0);
  if (notes.length > 0) {
    lines.push('## Notes and errors', '');
    for (const t of notes) {
      if (t.note) lines.push(`- ${t.label}: ${t.note}`);
      for (const e of t.errors.slice(0, 5)) lines.push(`- ${t.label} error: ${e.replaceAll('\n', ' ').slice(0, 300)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
