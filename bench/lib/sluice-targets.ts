// The three Sluice targets, each its own `bin/sluice.js start` process (so CPU and peak RSS are its own):
// tunnel mode, inspect with the guard off, and inspect with credential injection and the full guard.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';
import { SLUICE_NODE_FLAGS } from '../../bin/runtime.js';
import { BENCH_DOMAIN, UPSTREAM_ADDR, type BenchCerts } from './certs.ts';
import { sleep, type ProcSet } from './procs.ts';
import type { Target } from './target.ts';

export type SluiceVariant = 'tunnel' | 'inspect' | 'full';

export const BENCH_SECRET_NAME = 'BENCH_TOKEN';
const BENCH_SECRET_VALUE = 'bench-secret-value-0123456789abcdef';

const LABELS: Record<SluiceVariant, string> = {
  tunnel: 'Sluice tunnel',
  inspect: 'Sluice inspect, no guard',
  full: 'Sluice inspect + credential + full guard',
};

/** Every guard stage on: secrets and exfiltration blocked, PII redacted in requests, responses sanitised. */
const FULL_GUARD = {
  request: 'on',
  response: 'sanitize',
  secrets: 'block',
  exfil: 'block',
  pii: { email: 'redact', phone: 'redact', card: 'block', iban: 'redact', ssn: 'redact' },
};

function hostEntries(variant: SluiceVariant, ports: readonly number[], names: readonly string[]): unknown[] {
  const base = { ports: [...ports], allowPrivate: ['127.0.0.0/8'] };
  const extra: Record<string, unknown> =
    variant === 'tunnel'
      ? { mode: 'tunnel' }
      : variant === 'inspect'
        ? { mode: 'inspect', guard: { request: 'off', response: 'off' } }
        : { mode: 'inspect', credential: { secret: BENCH_SECRET_NAME, type: 'bearer' }, guard: FULL_GUARD };
  // A credential binds to exact names only (a wildcard could hand it to any subdomain), so the injecting target
  // lists the warm host and every cold name.
  const hosts = variant === 'full' ? [BENCH_DOMAIN, ...names] : [BENCH_DOMAIN, `*.${BENCH_DOMAIN}`];
  return hosts.map((host) => ({ host, ...base, ...extra }));
}

export interface SluiceStartOptions {
  readonly dir: string;
  readonly certs: BenchCerts;
  readonly ports: readonly number[];
  readonly node: string;
  /** Every cold-request host name (exact policy entries for the injecting target). */
  readonly names: readonly string[];
  /** Extra node flags, e.g. --cpu-prof for the profiling run. */
  readonly nodeArgs?: readonly string[];
  /** Another checkout to run instead of this one (bench/ab.ts), and a tag that keeps its files and id apart. */
  readonly root?: string;
  readonly tag?: string;
}

export async function startSluiceTarget(variant: SluiceVariant, opts: SluiceStartOptions, procs: ProcSet): Promise<Target> {
  const id = opts.tag ? `sluice-${variant}-${opts.tag}` : `sluice-${variant}`;
  const root = opts.root ?? process.cwd();
  const dir = path.join(opts.dir, id);
  fs.mkdirSync(path.join(dir, 'policies'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'policies', 'bench.yaml'), YAML.stringify({ hosts: hostEntries(variant, opts.ports, opts.names) }));
  const config = {
    listen: ['127.0.0.1:0'],
    stateDir: path.join(dir, 'state'),
    ca: { cert: opts.certs.caCert, key: opts.certs.caKey },
    policies: path.join(dir, 'policies'),
    secrets: [{ type: 'env', prefix: 'SLUICE_SECRET_' }],
    upstream: {
      resolve: { [BENCH_DOMAIN]: UPSTREAM_ADDR, [`*.${BENCH_DOMAIN}`]: UPSTREAM_ADDR },
      trustCa: [opts.certs.caCert],
      allowPrivate: ['127.0.0.0/8'],
    },
    log: { level: 'info' },
    limits: { drainTimeoutMs: 2000 },
  };
  const configFile = path.join(dir, 'sluice.yaml');
  fs.writeFileSync(configFile, YAML.stringify(config));
  const logFile = path.join(dir, 'sluice.log');
  const env = { ...process.env, [`SLUICE_SECRET_${BENCH_SECRET_NAME}`]: BENCH_SECRET_VALUE };
  // Measure what `npm start` runs: the compiled build (rebuilt here if src/ changed) with the same V8 flags.
  execFileSync(process.execPath, [path.resolve(root, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  const proc = procs.start(
    id,
    opts.node,
    [...SLUICE_NODE_FLAGS, ...(opts.nodeArgs ?? []), path.resolve(root, 'bin/sluice.js'), 'start', '--config', configFile],
    { logFile, env, cwd: dir },
  );
  const tcp = await waitForListening(logFile, () => proc.exited(), 30_000);
  return {
    id,
    label: opts.tag ? `${LABELS[variant]} (${opts.tag})` : LABELS[variant],
    mode: variant === 'tunnel' ? 'tunnel' : 'intercept',
    proxy: `http://${tcp}`,
    pid: proc.pid,
    headers: variant === 'full' ? { authorization: `Bearer sluice:${BENCH_SECRET_NAME}` } : {},
    note: variant === 'full' ? 'agent sends the placeholder; Sluice injects the real bearer token' : '',
  };
}

/** Sluice logs {"msg":"listening","listeners":[{"tcp":"127.0.0.1:PORT"}]} once it accepts; port 0 is resolved there. */
async function waitForListening(logFile: string, exited: () => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
    for (const line of text.split('\n')) {
      if (!line.includes('"listening"')) continue;
      const o = JSON.parse(line) as { listeners?: Array<{ tcp?: string }> };
      const tcp = o.listeners?.find((l) => l.tcp !== undefined)?.tcp;
      if (tcp) return tcp;
    }
    if (exited()) throw new Error(`sluice exited before listening: ${text.slice(-2000)}`);
    await sleep(100);
  }
  throw new Error(`sluice did not log "listening" within ${timeoutMs} ms (${logFile})`);
}
