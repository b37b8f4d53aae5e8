// Soak: N requests over mixed modes (plain HTTP, intercepted HTTPS, blind tunnel) and sizes at concurrency 64,
// against a real Sluice in this process, sampling RSS and open file descriptors (/proc/self/fd: this process holds
// Sluice, the clients and the upstreams, so growth is the sum; a leak in any of them shows). Prints the growth
// after warm-up. Usage: node bench/soak.ts [requests=200000] [concurrency=64]
// The short CI variant is test/soak/soak.test.ts (runSoak with ~3,000 requests).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import YAML from 'yaml';
import { Agent as UndiciAgent, ProxyAgent, request } from 'undici';
import { loadConfig } from '../src/config/index.ts';
import { startSluice } from '../src/server.ts';
import { makeTestCa } from '../test/helpers/certs.ts';
import { startUpstream } from '../test/helpers/upstream.ts';

export interface SoakOptions {
  readonly requests: number;
  readonly concurrency: number;
  /** Print progress lines (the bench does; the test does not). */
  readonly verbose?: boolean;
}

export interface SoakResult {
  readonly requests: number;
  readonly errors: Record<string, number>;
  readonly byMode: Record<string, number>;
  readonly auditLines: number;
  readonly badLogLines: number;
  readonly seconds: number;
  readonly rss: { readonly warm: number; readonly end: number; readonly growthPct: number };
  readonly fds: { readonly warm: number; readonly end: number; readonly growthPct: number };
}

const SIZES = [0, 512, 4096, 65536, 262144];

function fdCount(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return NaN;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const ca = makeTestCa('soak');
  const payloads = new Map(SIZES.map((n) => [n, Buffer.alloc(n, 'soak data ')]));
  const handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const size = Number(/\/size\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    res.writeHead(200, { 'content-type': 'text/plain', 'x-body-in': String(body.length) });
    res.end(payloads.get(size) ?? Buffer.alloc(0));
  };
  const plain = await startUpstream({ handler });
  const secure = await startUpstream({ tls: ca.issue(['api.soak.test', 'blind.soak.test']), handler });
  // startUpstream records every request; a soak must not keep them all.
  const trim = setInterval(() => {
    plain.seen.length = 0;
    secure.seen.length = 0;
  }, 1000);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-soak-'));
  fs.mkdirSync(path.join(dir, 'policies'));
  fs.writeFileSync(path.join(dir, 'policies', 'p.yaml'), YAML.stringify({ hosts: [
    { host: 'plain.soak.test', ports: [plain.port] },
    { host: 'api.soak.test', ports: [secure.port] },
    { host: 'blind.soak.test', ports: [secure.port], mode: 'tunnel' },
  ] }));
  const configFile = path.join(dir, 'sluice.yaml');
  fs.writeFileSync(configFile, YAML.stringify({
    listen: ['127.0.0.1:0'], stateDir: path.join(dir, 'state'), policies: path.join(dir, 'policies'), secrets: [],
    upstream: { resolve: { 'plain.soak.test': '127.0.0.1', 'api.soak.test': '127.0.0.1', 'blind.soak.test': '127.0.0.1' }, trustCa: [ca.caPath], allowPrivate: ['127.0.0.0/8'] },
  }));
  let auditLines = 0;
  let badLogLines = 0;
  let partial = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (l.length === 0) continue;
        try {
          if ((JSON.parse(l) as { msg?: string }).msg === 'request') auditLines++;
        } catch {
          badLogLines++;
        }
      }
      done();
    },
  });
  const sluice = await startSluice(loadConfig(configFile, { required: true }), { logDestination: sink });
  const tcp = sluice.listeners.find((l): l is { tcp: string } => 'tcp' in l)!.tcp;
  const port = Number(tcp.split(':').pop());

  const plainAgent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const tlsCa = [sluice.ca.certPem, ca.caPem];
  const inspect = new ProxyAgent({ uri: `http://127.0.0.1:${port}`, requestTls: { ca: tlsCa }, connections: options.concurrency } as ProxyAgent.Options);
  const tunnel = new ProxyAgent({ uri: `http://127.0.0.1:${port}`, requestTls: { ca: tlsCa }, connections: options.concurrency } as ProxyAgent.Options);

  const errors: Record<string, number> = {};
  const byMode: Record<string, number> = {};
  const fail = (kind: string) => (errors[kind] = (errors[kind] ?? 0) + 1);

  const plainRequest = (size: number, post: boolean) =>
    new Promise<void>((resolve) => {
      const body = post ? payloads.get(size)! : null;
      const req = http.request({ host: '127.0.0.1', port, method: post ? 'POST' : 'GET', path: `http://plain.soak.test:${plain.port}/size/${size}`, agent: plainAgent, headers: { host: `plain.soak.test:${plain.port}`, ...(body ? { 'content-length': String(body.length), 'content-type': 'text/plain' } : {}) } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          if (res.statusCode !== 200) fail(`plain:${res.statusCode}`);
          resolve();
        });
        res.on('error', () => (fail('plain:body'), resolve()));
      });
      req.on('error', (e: NodeJS.ErrnoException) => (fail(`plain:${e.code ?? 'error'}`), resolve()));
      req.end(body ?? undefined);
    });

  const viaAgent = async (mode: 'inspect' | 'tunnel', size: number, post: boolean) => {
    const name = mode === 'inspect' ? 'api.soak.test' : 'blind.soak.test';
    try {
      const res = await request(`https://${name}:${secure.port}/size/${size}`, { method: post ? 'POST' : 'GET', body: post ? payloads.get(size)! : null, headers: post ? { 'content-type': 'text/plain' } : {}, dispatcher: mode === 'inspect' ? inspect : tunnel });
      await res.body.dump({ limit: Infinity });
      if (res.statusCode !== 200) fail(`${mode}:${res.statusCode}`);
    } catch (e) {
      fail(`${mode}:${(e as { code?: string }).code ?? 'error'}`);
    }
  };

  const rssSamples: { at: number; rss: number; fds: number }[] = [];
  let done = 0;
  const started = Date.now();
  const sampler = setInterval(() => {
    rssSamples.push({ at: done, rss: process.memoryUsage().rss, fds: fdCount() });
    if (options.verbose && rssSamples.length % 10 === 0) {
      const last = rssSamples.at(-1)!;
      console.log(`${done} requests, rss ${(last.rss / 1e6).toFixed(1)} MB, fds ${last.fds}, errors ${JSON.stringify(errors)}`);
    }
  }, 500);

  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= options.requests) return;
      const mode = (['plain', 'inspect', 'tunnel'] as const)[i % 3]!;
      const size = SIZES[(i * 7) % SIZES.length]!;
      const post = i % 5 === 0;
      byMode[mode] = (byMode[mode] ?? 0) + 1;
      if (mode === 'plain') await plainRequest(size, post);
      else await viaAgent(mode, size, post);
      done++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  rssSamples.push({ at: done, rss: process.memoryUsage().rss, fds: fdCount() });

  plainAgent.destroy();
  await inspect.close();
  await tunnel.close();
  await sluice.close();
  clearInterval(trim);
  await plain.close();
  await secure.close();
  fs.rmSync(dir, { recursive: true, force: true });

  // Warm-up: the first 20% of requests. Compare the median of the samples just after it with the last ones.
  const warmAt = options.requests * 0.2;
  const after = rssSamples.filter((s) => s.at >= warmAt);
  const head = after.slice(0, Math.max(1, Math.ceil(after.length / 5)));
  const tail = after.slice(-Math.max(1, Math.ceil(after.length / 5)));
  const pct = (a: number, b: number) => ((b - a) / a) * 100;
  const rssWarm = median(head.map((s) => s.rss));
  const rssEnd = median(tail.map((s) => s.rss));
  const fdWarm = median(head.map((s) => s.fds));
  const fdEnd = median(tail.map((s) => s.fds));
  await new Promise((r) => setTimeout(r, 50));
  return {
    requests: done,
    errors,
    byMode,
    auditLines,
    badLogLines,
    seconds,
    rss: { warm: rssWarm, end: rssEnd, growthPct: pct(rssWarm, rssEnd) },
    fds: { warm: fdWarm, end: fdEnd, growthPct: pct(fdWarm, fdEnd) },
  };
}

if (import.meta.main) {
  const requests = Number(process.argv[2] ?? 200_000);
  const concurrency = Number(process.argv[3] ?? 64);
  const r = await runSoak({ requests, concurrency, verbose: true });
  console.log(JSON.stringify(r, null, 2));
  console.log(`soak: ${r.requests} requests in ${r.seconds.toFixed(1)} s (${(r.requests / r.seconds).toFixed(0)}/s), errors ${Object.values(r.errors).reduce((a, b) => a + b, 0)}, audit lines ${r.auditLines}, RSS ${(r.rss.warm / 1e6).toFixed(1)} -> ${(r.rss.end / 1e6).toFixed(1)} MB (${r.rss.growthPct.toFixed(1)}%), fds ${r.fds.warm} -> ${r.fds.end} (${r.fds.growthPct.toFixed(1)}%)`);
  process.exit(Object.keys(r.errors).length === 0 && r.rss.growthPct <= 10 && r.fds.growthPct <= 10 ? 0 : 1);
}
