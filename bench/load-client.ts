// The load client, one process per measurement so it never shares the proxy's (or the runner's) event loop.
// `node bench/load-client.ts '<JSON ClientJob>'` prints one JSON line with the result.
// Through a proxy it is an undici ProxyAgent: one CONNECT per connection, then keep-alive HTTP/1.1 inside it.
import fs from 'node:fs';
import net from 'node:net';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { uploadBody } from './lib/bodies.ts';
import { UPSTREAM_ADDR } from './lib/certs.ts';
import { percentile } from './lib/stats.ts';

export type ClientJob =
  | { figure: 'rps'; concurrency: number; warmupMs: number; durationMs: number; common: Common }
  | { figure: 'cold'; names: string[]; common: Common }
  | { figure: 'download'; common: Common }
  | { figure: 'upload'; bytes: number; common: Common }
  | { figure: 'sse'; samples: number; common: Common }
  | { figure: 'tcp'; durationMs: number; port: number };

export interface Common {
  readonly host: string;
  readonly staticPort: number;
  readonly appPort: number;
  readonly proxy: string | null;
  readonly ca: string;
  readonly headers: Record<string, string>;
}

// Direct requests resolve every bench name to loopback, as the proxies do through their hosts files.
const loopbackLookup = ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
  if (options.all) cb(null, [{ address: UPSTREAM_ADDR, family: 4 }]);
  else cb(null, UPSTREAM_ADDR, 4);
}) as unknown as LookupFunction;

function dispatcher(common: Common, connections: number): Dispatcher {
  const ca = fs.readFileSync(common.ca, 'utf8');
  if (common.proxy === null) return new Agent({ connections, pipelining: 1, connect: { ca, lookup: loopbackLookup } });
  return new ProxyAgent({ uri: common.proxy, connections, pipelining: 1, requestTls: { ca } });
}

async function get(d: Dispatcher, url: string, common: Common): Promise<number> {
  // A fresh object each time: undici's ProxyAgent writes `host` into the headers object it is given.
  const res = await request(url, { dispatcher: d, headers: { ...common.headers } });
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  if (res.statusCode !== 200) throw new Error(`GET ${url}: status ${res.statusCode}`);
  return bytes;
}

async function rps(job: Extract<ClientJob, { figure: 'rps' }>) {
  const c = job.common;
  const d = dispatcher(c, job.concurrency);
  const url = `https://${c.host}:${c.staticPort}/small`;
  const latencies: number[] = [];
  let total = 0;
  let errors = 0;
  const t0 = performance.now();
  const measureFrom = t0 + job.warmupMs;
  const end = measureFrom + job.durationMs;
  async function worker() {
    while (performance.now() < end) {
      const start = performance.now();
      try {
        await get(d, url, c);
      } catch {
        errors++;
        if (errors > 1000) throw new Error('too many errors');
        continue;
      }
      total++;
      if (start >= measureFrom) latencies.push(performance.now() - start);
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, () => worker()));
  const seconds = (performance.now() - measureFrom) / 1000;
  await d.close();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, total, errors, seconds, rps: latencies.length / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

/** A fresh client per request: a new CONNECT, a full TLS handshake, and (intercepting proxies) a leaf never minted before. */
async function cold(job: Extract<ClientJob, { figure: 'cold' }>) {
  const samples: number[] = [];
  for (const name of job.names) {
    const d = dispatcher(job.common, 1);
    const start = performance.now();
    await get(d, `https://${name}:${job.common.staticPort}/small`, job.common);
    samples.push(performance.now() - start);
    await d.close();
  }
  return { samples, median: percentile([...samples].sort((a, b) => a - b), 0.5) };
}

async function download(job: Extract<ClientJob, { figure: 'download' }>) {
  const c = job.common;
  const d = dispatcher(c, 1);
  await get(d, `https://${c.host}:${c.staticPort}/small`, c);
  const start = performance.now();
  const bytes = await get(d, `https://${c.host}:${c.staticPort}/100m`, c);
  const seconds = (performance.now() - start) / 1000;
  await d.close();
  return { bytes, seconds, mibPerSecond: bytes / 1048576 / seconds };
}

async function upload(job: Extract<ClientJob, { figure: 'upload' }>) {
  const c = job.common;
  const d = dispatcher(c, 1);
  const body = uploadBody(job.bytes);
  const post = async () => {
    const res = await request(`https://${c.host}:${c.appPort}/upload`, {
      dispatcher: d,
      method: 'POST',
      headers: { ...c.headers, 'content-type': 'application/json' },
      body,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`upload: status ${res.statusCode}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as { received: number };
  };
  await request(`https://${c.host}:${c.appPort}/warm`, { dispatcher: d, headers: { ...c.headers } }).then((r) => r.body.dump());
  const start = performance.now();
  const { received } = await post();
  const seconds = (performance.now() - start) / 1000;
  await d.close();
  if (received !== body.length) throw new Error(`upload: upstream received ${received} of ${body.length} bytes`);
  return { bytes: body.length, seconds, mibPerSecond: body.length / 1048576 / seconds };
}

/** Time from sending the request to the first event's bytes, on a warm connection (the CONNECT is not counted). */
async function sse(job: Extract<ClientJob, { figure: 'sse' }>) {
  const c = job.common;
  const d = dispatcher(c, 1);
  const first: number[] = [];
  const third: number[] = [];
  for (let i = 0; i < job.samples; i++) {
    // Leaving a stream after three events closes its connection, so each sample warms a new one first: the figure
    // is the streaming path's delay, not a CONNECT and handshake (the cold figure measures those).
    await request(`https://${c.host}:${c.appPort}/warm`, { dispatcher: d, headers: { ...c.headers } }).then((r) => r.body.dump());
    const start = performance.now();
    const res = await request(`https://${c.host}:${c.appPort}/sse`, { dispatcher: d, headers: { ...c.headers } });
    let seen = 0;
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString('utf8');
      const events = text.split('\n\n').length - 1;
      if (seen === 0 && events >= 1) first.push(performance.now() - start);
      seen = events;
      if (seen >= 3) break;
    }
    third.push(performance.now() - start);
    res.body.destroy();
  }
  await d.destroy();
  const med = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 0.5);
  return { firstEventMs: med(first), thirdEventMs: med(third), firstEventSamples: first };
}

async function tcp(job: Extract<ClientJob, { figure: 'tcp' }>) {
  const socket = net.connect({ host: UPSTREAM_ADDR, port: job.port });
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  const chunk = Buffer.alloc(256 * 1024, 7);
  let bytes = 0;
  const start = performance.now();
  while (performance.now() - start < job.durationMs) {
    bytes += chunk.length;
    if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
  }
  const seconds = (performance.now() - start) / 1000;
  socket.destroy();
  return { bytes, seconds, mibPerSecond: bytes / 1048576 / seconds };
}

async function run(job: ClientJob): Promise<unknown> {
  switch (job.figure) {
    case 'rps':
      return rps(job);
    case 'cold':
      return cold(job);
    case 'download':
      return download(job);
    case 'upload':
      return upload(job);
    case 'sse':
      return sse(job);
    case 'tcp':
      return tcp(job);
  }
}

if (import.meta.filename === process.argv[1]) {
  const job = JSON.parse(process.argv[2] ?? '{}') as ClientJob;
  run(job).then(
    (result) => {
      process.stdout.write(JSON.stringify({ ok: true, result }) + '\n');
      process.exit(0);
    },
    (err: unknown) => {
      process.stdout.write(JSON.stringify({ ok: false, error: String((err as Error)?.stack ?? err) }) + '\n');
      process.exit(1);
    },
  );
}
