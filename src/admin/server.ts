// The admin listener: /healthz (the process answers), /readyz (every readiness check passes), /metrics
// (Prometheus text). It is meant for loopback or a cluster-internal port: it serves no secret, no token and
// no policy content, only counts and check names, so a scrape can never become a way to read credentials.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { http } from '../net/node-http.ts';
import type { Metrics } from '../audit/metrics.ts';
import { parseHostPort } from './listen-address.ts';
import { boundAddress, listenOn } from '../net/listen.ts';

export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: string }>;
}

export interface AdminServerOptions {
  listen: string;
  metrics: Metrics;
  readiness: readonly ReadinessCheck[];
  /** A check that has not answered by then counts as failed (a hung backend must not hang the probe). */
  checkTimeoutMs?: number;
}

export interface AdminServer {
  readonly address: string;
  close(): Promise<void>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail?: string;
}

const DEFAULT_CHECK_TIMEOUT_MS = 3000;
const MAX_DETAIL = 200;

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { host, port } = parseHostPort(options.listen);
  const server = http.createServer({ maxHeaderSize: 8192 }, (req, res) => {
    handle(options, req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await listenOn(server, { host, port });
  const address = boundAddress(server);
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(options: AdminServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
  if (!known) return sendJson(res, 404, { error: 'not_found', paths: ['/healthz', '/readyz', '/metrics'] });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendJson(res, 405, { error: 'method_not_allowed' });
  }
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (path === '/readyz') {
    const checks = await runChecks(options.readiness, options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
    const ready = checks.every((c) => c.ok);
    return sendJson(res, ready ? 200 : 503, { ready, checks });
  }
  const text = await options.metrics.registry.metrics();
  send(res, 200, options.metrics.registry.contentType, text);
}

/** Runs every check concurrently; a throw or a timeout is a failed check, never a crashed probe. */
export async function runChecks(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<CheckResult[]> {
  return Promise.all(checks.map((c) => runCheck(c, timeoutMs)));
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: boolean; detail?: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    const r = await Promise.race([c.check(), timeout]);
    return r.detail === undefined ? { name: c.name, ok: r.ok === true } : { name: c.name, ok: r.ok === true, detail: clip(r.detail) };
  } catch (e) {
    // The error's message is not echoed: a backend error could quote a URL with a token in it.
    return { name: c.name, ok: false, detail: `check failed (${(e as { name?: string }).name ?? 'Error'})` };
  } finally {
    clearTimeout(timer);
  }
}

function clip(s: string): string {
  return s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL)}…` : s;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
