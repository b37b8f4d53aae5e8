// The keep-alive load for the small GET with `hey` (Debian package, Go): multi-threaded and about twice the
// rate of a single Node client on this machine, so "direct" is not capped by the client. Through a proxy, Go's
// transport sends one CONNECT per connection and keeps it alive. hey's -o csv gives every request's latency at
// full precision and its offset from the start, so the warm-up is cut exactly. hey does not verify the server
// certificate (hard-coded InsecureSkipVerify): it saves the client work equally for every target; the proxies
// still verify the upstream. hey resolves names itself for direct requests, hence the private /etc/hosts.
import fs from 'node:fs';
import type { Common } from '../load-client.ts';
import { withPrivateResolver, type ProcSet } from './procs.ts';
import { percentile } from './stats.ts';

export const HEY = '/usr/bin/hey';

export function heyAvailable(): boolean {
  return fs.existsSync(HEY);
}

export interface RpsResult {
  readonly requests: number;
  readonly total: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Requests whose DNS+dialup column is non-zero (a new connection). A lower bound: hey prints 4 decimals of a
   *  second, so a dial under 50 µs reads 0. In the JSON only. hey's CSV omits transport errors entirely. */
  readonly newConnections?: number;
}

export async function heyRps(
  procs: ProcSet,
  hostsFile: string,
  common: Common,
  concurrency: number,
  warmupMs: number,
  durationMs: number,
): Promise<RpsResult> {
  const args = ['-z', `${(warmupMs + durationMs) / 1000}s`, '-c', String(concurrency), '-t', '30', '-disable-compression', '-o', 'csv'];
  if (common.proxy) args.push('-x', common.proxy);
  for (const [k, v] of Object.entries(common.headers)) args.push('-H', `${k}: ${v}`);
  if (common.staticPort !== 443) throw new Error('hey needs the upstream on port 443 (it sends the port in the TLS SNI)');
  args.push(`https://${common.host}/small`);
  const [cmd, wrapped] = withPrivateResolver(hostsFile, HEY, args);
  const { code, stdout, stderr } = await procs.capture('hey', cmd, wrapped, warmupMs + durationMs + 60_000);
  if (code !== 0) throw new Error(`hey exited ${code}: ${stderr.slice(-500)}`);
  return parseCsv(stdout, warmupMs / 1000, durationMs / 1000);
}

/** Columns: response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset (seconds). */
function parseCsv(csv: string, warmupS: number, durationS: number): RpsResult {
  const latencies: number[] = [];
  let total = 0;
  let errors = 0;
  let lastOffset = warmupS;
  let newConnections = 0;
  for (const line of csv.split('\n')) {
    const cols = line.split(',');
    if (cols.length < 8 || cols[0] === 'response-time') continue;
    const status = Number(cols[6]);
    const offset = Number(cols[7]);
    total++;
    if (Number(cols[1]) > 0) newConnections++;
    if (status !== 200) {
      errors++;
      continue;
    }
    if (offset >= warmupS) {
      latencies.push(Number(cols[0]) * 1000);
      lastOffset = Math.max(lastOffset, offset);
    }
  }
  if (latencies.length === 0) throw new Error(`hey: no successful request (${errors} errors)`);
  latencies.sort((a, b) => a - b);
  const seconds = Math.min(durationS, Math.max(lastOffset - warmupS, 0.001));
  return { requests: latencies.length, total, errors, seconds, rps: latencies.length / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), newConnections };
}
