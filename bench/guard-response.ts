// Response guard measurements (not a test): throughput on 1 MiB HTML and JSON, and detection on the labelled
// corpus in bench/corpus/injection (recall on hidden-content injections, false positives on benign look-alikes).
// Run: node bench/guard-response.ts [--only html|json|detection]   (regenerate the corpus: node bench/corpus/injection/build.ts)
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { DEFAULT_GUARD_SETTINGS } from '../src/guard/settings.ts';
import type { ExchangeContext, Finding } from '../src/guard/types.ts';
import { createResponseFilter } from '../src/guard/response/index.ts';

const ctx = { agent: 'bench', host: 'site.test', port: 443, method: 'GET', decision: { credential: null } } as unknown as ExchangeContext;
const MiB = 1024 * 1024;

/** `collect`: join and decode the output (detection needs it); throughput only counts it, as the proxy writes it on. */
async function run(contentType: string, body: Buffer, collect = true, chunk = 64 * 1024): Promise<{ out: string; findings: readonly Finding[]; error: Error | null }> {
  const f = createResponseFilter(ctx, { status: 200, headers: [['content-type', contentType]] }, {
    stages: [],
    settings: DEFAULT_GUARD_SETTINGS,
    isHostAllowed: (h) => h.endsWith('allowed.test'),
    maxDecodedBytes: 64 * MiB,
  })!;
  const parts: Buffer[] = [];
  let error: Error | null = null;
  let bytes = 0;
  f.stream.on('data', (c: Buffer) => (collect ? parts.push(c) : (bytes += c.length)));
  f.stream.on('error', (e: Error) => (error = e));
  const done = Promise.race([once(f.stream, 'end'), once(f.stream, 'close')]);
  for (let i = 0; i < body.length; i += chunk) f.stream.write(body.subarray(i, i + chunk));
  f.stream.end();
  await done.catch(() => undefined);
  return { out: collect ? Buffer.concat(parts).toString('utf8') : `(${bytes} bytes)`, findings: f.findings(), error };
}

function htmlMiB(): Buffer {
  const words = 'the quick brown fox jumps over lazy dogs while system administrators review documentation about network security and user settings'.split(' ');
  let s = '<!doctype html><html><head><title>Bench</title><style>p{margin:0}</style></head><body>';
  let i = 0;
  while (s.length < MiB) {
    const sentence = Array.from({ length: 30 }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(' ');
    s += `<div class="post" id="p${i}"><h2>Post ${i}</h2><p>${sentence}. <a href="https://example.test/p/${i}">more</a> <b>note</b> ${sentence}</p><img src="/i/${i}.png" alt="picture ${i}"></div>\n`;
    if (i % 50 === 0) s += '<!-- tracking --><div style="display:none">hidden promo</div>';
    i++;
  }
  return Buffer.from(s + '</body></html>');
}

function jsonMiB(): Buffer {
  const items = [];
  let size = 0;
  for (let i = 0; size < MiB; i++) {
    const item = { id: i, title: `Issue ${i}: crash when saving settings`, body: 'Steps to reproduce: open the settings page, change the proxy port, press save. Expected: saved. Actual: the app crashes with an error about the configuration file. 한국어 설명 포함.', labels: ['bug', 'p2'], user: { login: `user${i}`, admin: false }, score: i * 1.5 };
    size += JSON.stringify(item).length;
    items.push(item);
  }
  return Buffer.from(JSON.stringify(items));
}

async function throughput(name: string, contentType: string, body: Buffer): Promise<void> {
  // Steady state, as in a proxy that has been up a while (see bench/guard-request.ts).
  for (let k = 0; k < 100; k++) await run(contentType, body, false);
  // CPU time as well as wall time: on a shared machine the wall clock also measures the neighbours.
  const times: number[] = [];
  const cpu: number[] = [];
  for (let k = 0; k < 21; k++) {
    const t = performance.now();
    const c = process.cpuUsage();
    const r = await run(contentType, body, false);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
    times.push(performance.now() - t);
    if (r.error) throw r.error;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mbs = (ms: number) => (body.length / 1e6 / (ms / 1000)).toFixed(1);
  console.log(`${name.padEnd(6)} ${(body.length / MiB).toFixed(2)} MiB  wall median ${median(times).toFixed(1)} ms = ${mbs(median(times))} MB/s  cpu median ${median(cpu).toFixed(1)} ms = ${mbs(median(cpu))} MB/s`);
}

interface Sample { id: string; label: 'attack' | 'benign'; contentType: string; lang: string; technique: string; body: string }

function load(file: string): Sample[] {
  return readFileSync(new URL(`./corpus/injection/${file}`, import.meta.url), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Sample);
}

const RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

async function detection(): Promise<void> {
  const attacks = load('attacks.jsonl');
  const benign = load('benign.jsonl');
  let caught = 0;
  const missed: string[] = [];
  const byTech = new Map<string, [number, number]>();
  for (const s of attacks) {
    const r = await run(s.contentType, Buffer.from(s.body), true, 97);
    // Caught: flagged at medium or above, and the payload's destination no longer reaches the agent.
    const flagged = r.findings.some((f) => RANK[f.severity] >= 1 && !f.rule.startsWith('response/html-hidden/') && f.rule !== 'response/invisible-unicode');
    const ok = flagged && !r.out.includes('evil.test/') && !r.out.includes('id_rsa');
    if (ok) caught++;
    else missed.push(s.id);
    const t = byTech.get(s.technique) ?? [0, 0];
    byTech.set(s.technique, [t[0] + (ok ? 1 : 0), t[1] + 1]);
  }
  let fp = 0;
  const fps: string[] = [];
  for (const s of benign) {
    const r = await run(s.contentType, Buffer.from(s.body), true, 97);
    const changed = r.out !== s.body;
    const high = r.findings.some((f) => RANK[f.severity] >= 2);
    if (changed || high) {
      fp++;
      fps.push(`${s.id}${changed ? ' (changed)' : ''}${high ? ' (high)' : ''}`);
    }
  }
  console.log('\ntechnique              caught/total');
  for (const [t, [c, n]] of [...byTech].sort()) console.log(`${t.padEnd(22)} ${c}/${n}`);
  console.log(`\nrecall on hidden-content injections: ${((100 * caught) / attacks.length).toFixed(1)}% (${caught}/${attacks.length})`);
  if (missed.length > 0) console.log(`  missed: ${missed.join(', ')}`);
  console.log(`false positives on benign look-alikes: ${((100 * fp) / benign.length).toFixed(1)}% (${fp}/${benign.length})`);
  if (fps.length > 0) console.log(`  false positives: ${fps.join(', ')}`);
}

// `--only html|json|detection` runs one part (for a profile of it alone).
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
if (only === null || only === 'html') await throughput('html', 'text/html; charset=utf-8', htmlMiB());
if (only === null || only === 'json') await throughput('json', 'application/json', jsonMiB());
if (only === null || only === 'detection') await detection();
