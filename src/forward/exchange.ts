// One request, end to end, in the order of the flow in ARCHITECTURE.md: target → agent → decide → strip →
// guard (head, body) → secret → dial → inject → upstream → guard (response) → audit.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { BadRequestError, GuardBlockedError, PolicyDeniedError, RateLimitedError, SluiceError, TooLargeError, type AuditDecision } from '../errors.ts';
import { writeAudit, type ExchangeRecord } from '../audit/index.ts';
import type { AuditFinding, BodyFilter, ExchangeContext, GuardReport, RequestHead } from '../guard/types.ts';
import type { Decision } from '../policy/types.ts';
import { denialMessage } from '../policy/index.ts';
import { guardBlockedError } from '../guard/index.ts';
import type { SecretValue } from '../secrets/types.ts';
import { identifyAgent } from '../net/identify.ts';
import { formatAuthority } from '../net/authority.ts';
import { stripAgentCredentials, injectCredential, replacePlaceholders, createPlaceholderBodyTransform } from './credentials.ts';
import { endToEndRequestHeaders, withoutHeaders, type HeaderPairs } from './headers.ts';
import { byteCounter, firstScannedBytes, hasRequestBody } from './body.ts';
import { relayResponse, respondWithError } from './respond.ts';
import { requestTarget, type RequestTarget } from './target.ts';
import type { ProxyContext, RequestOrigin } from './context.ts';
import type { Readable, Transform } from 'node:stream';

interface Progress {
  readonly record: ExchangeRecord;
  readonly findings: AuditFinding[];
  redacted: boolean;
  /** Body filters of this exchange; their reports are read when the audit line is written. */
  readonly filters: BodyFilter[];
  /** Milliseconds spent deciding, waiting for upstream headers, and in the guard's head checks. */
  readonly timings: { decisionMs?: number; upstreamMs?: number; guardMs?: number };
}

export async function handleExchange(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, origin: RequestOrigin): Promise<void> {
  const started = performance.now();
  const done = ctx.inflight.add();
  const progress: Progress = { record: initialRecord(req, origin), findings: [], redacted: false, filters: [], timings: {} };
  res.once('close', () => {
    finishRecord(ctx, progress, res, started);
    done();
  });
  try {
    await forward(ctx, req, res, origin, progress);
  } catch (error) {
    fail(progress, error);
    progress.record.status = respondWithError(req, res, error);
  }
}

async function forward(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, origin: RequestOrigin, p: Progress): Promise<void> {
  const r = p.record;
  if ((req.headers['via'] ?? '').includes(`sluice-${ctx.instanceId}`)) {
    throw new BadRequestError('This request already passed through this Sluice: refusing a proxy loop.');
  }
  // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing; llhttp accepts it, we do not.
  if (req.httpVersion === '1.0' && req.headers['transfer-encoding'] !== undefined) {
    throw new BadRequestError('HTTP/1.0 requests cannot use Transfer-Encoding; send Content-Length or use HTTP/1.1.');
  }
  if (req.rawHeaders.length / 2 > ctx.config.limits.maxHeaderCount) {
    throw new TooLargeError(`The request has more than ${ctx.config.limits.maxHeaderCount} headers.`, 431);
  }
  const target = requestTarget(req, origin, ctx.config.limits.maxUrlLength);
  Object.assign(r, { host: target.authority.host, port: target.authority.port, path: pathWithQuery(target) });
  const agent = origin.tunnel?.agent ?? identifyAgent(headerOf(req, 'proxy-authorization'), origin.listenerAgent, ctx.config.agents);
  r.agent = agent;

  const decideStarted = performance.now();
  const decision = ctx.policy().decide({ agent, host: target.authority.host, port: target.authority.port, method: req.method ?? '', path: target.path, scheme: target.scheme });
  p.timings.decisionMs = performance.now() - decideStarted;
  r.rule = decision.rule ? `${decision.rule.file}:${decision.rule.line}` : null;
  r.reason = decision.reason;
  if (decision.verdict === 'deny') throw new PolicyDeniedError(denialMessage(decision));
  admit(ctx, agent, target.authority.host);
  holdConnection(ctx, req, agent);

  const ex: ExchangeContext = { agent, host: target.authority.host, port: target.authority.port, method: req.method ?? '', decision };
  const stripped = stripAgentCredentials(endToEndRequestHeaders(req.rawHeaders), decision.credentialHeaders);
  const guardStarted = performance.now();
  const headCheck = ctx.guard.checkRequestHead(ex, { target: pathWithQuery(target), headers: stripped.headers });
  p.timings.guardMs = performance.now() - guardStarted;
  note(p, headCheck.report);
  // A secret found in the path must not reach the log through the audit line's path field (query values
  // are always redacted there).
  if (headCheck.report.findings.some((f) => f.location === 'path')) r.path = `[path redacted: guard finding]${target.query ? `?${target.query}` : ''}`;
  if (headCheck.report.verdict === 'block') throw guardBlockedError(headCheck.report);

  const secret = decision.credential ? await ctx.secrets.resolve(decision.credential.secret) : null;
  r.credential = decision.credential?.secret ?? null;
  const dialled = await ctx.dial(target.authority, decision.allowPrivate);

  const body = await prepareBody(ctx, ex, req, decision, secret, p);
  const head = finalHead(ctx, target, headCheck.head, decision, secret, body);
  const upstreamStarted = performance.now();
  const upstream = await ctx.upstream.request(
    { scheme: target.scheme, host: target.authority.host, port: target.authority.port, address: dialled.address, kind: target.authority.kind },
    { method: req.method ?? 'GET', path: head.target, headers: flattenPairs(head.headers), body: body.body },
  );
  p.timings.upstreamMs = performance.now() - upstreamStarted;
  r.status = upstream.statusCode;
  const relayed = await relayResponse(ctx.guard, ex, req, res, upstream, (n) => {
    r.bytesOut += n;
  }, (filter) => p.filters.push(filter));
  note(p, relayed.head);
}

async function prepareBody(
  ctx: ProxyContext,
  ex: ExchangeContext,
  req: IncomingMessage,
  decision: Decision,
  secret: SecretValue | null,
  p: Progress,
): Promise<{ body: Buffer | Readable | null; decoded: boolean; charset?: string }> {
  if (!hasRequestBody(req)) return { body: null, decoded: false };
  const contentType = headerOf(req, 'content-type') ?? '';
  const filter = ctx.guard.requestBody(ex, contentType, headerOf(req, 'content-encoding') ?? 'identity');
  if (!filter && decision.guard.request === 'off') p.record.guardSkipped = 'request body scanning is off for this host';
  const transforms: Transform[] = [byteCounter((n) => (p.record.bytesIn += n))];
  if (filter) {
    transforms.push(filter.stream);
    p.filters.push(filter);
  }
  if (secret && decision.credential) transforms.push(createPlaceholderBodyTransform(decision.credential, secret, contentType));
  const body = await firstScannedBytes(req, transforms);
  return { body, decoded: filter !== null && filter.outputEncoding === 'identity', ...(filter?.outputCharset ? { charset: filter.outputCharset } : {}) };
}

/** Strip → (guard already ran) → inject exactly once, after the final routing decision (THREATS 2.6). */
function finalHead(
  ctx: ProxyContext,
  target: RequestTarget,
  scanned: RequestHead,
  decision: Decision,
  secret: SecretValue | null,
  body: { decoded: boolean; charset?: string },
): { target: string; headers: [string, string][] } {
  let headers: HeaderPairs = scanned.headers.map(([k, v]) => [k, v]);
  if (body.decoded) headers = withoutHeaders(headers, ['content-encoding']);
  if (body.charset) headers = headers.map(([k, v]) => (k.toLowerCase() === 'content-type' ? [k, withCharset(v, body.charset!)] : [k, v]));
  headers.unshift(['host', hostHeaderFor(target)]);
  headers.push(['via', `1.1 sluice-${ctx.instanceId}`]);
  let head = { target: scanned.target, headers };
  if (secret && decision.credential) {
    head = replacePlaceholders(head, decision.credential, secret);
    head = injectCredential(head, decision.credential, secret);
  }
  return head;
}

/** The guard re-encoded the body (e.g. windows-1252 to UTF-8): say so in Content-Type. */
function withCharset(contentType: string, charset: string): string {
  const base = contentType.split(';').filter((p) => !/^\s*charset=/i.test(p)).join(';');
  return `${base}; charset=${charset}`;
}

/** Host as clients write it: the port only when it is not the scheme's default (signatures such as AWS SigV4 cover Host). */
function hostHeaderFor(target: RequestTarget): string {
  const a = target.authority;
  const defaultPort = target.scheme === 'https' ? 443 : 80;
  if (a.port !== defaultPort) return formatAuthority(a);
  return a.kind === 'ipv6' ? `[${a.host}]` : a.host;
}

/** Rate limits after the policy decision, so a denied request never spends the agent's budget. */
function admit(ctx: ProxyContext, agent: string, host: string): void {
  const admission = ctx.limiter.admitRequest(agent, host);
  if (admission.ok) return;
  ctx.metrics.rateLimited(admission.kind);
  throw new RateLimitedError(`Too many requests (${admission.kind.replace('_', ' ')} limit). Wait ${Math.ceil(admission.retryAfterSeconds)} s before retrying.`, admission.retryAfterSeconds);
}

/** One slot per client connection per agent, held until the connection closes. */
function holdConnection(ctx: ProxyContext, req: IncomingMessage, agent: string): void {
  const socket = req.socket as IncomingMessage['socket'] & { [HELD]?: boolean };
  if (socket[HELD]) return;
  const release = ctx.limiter.acquireConnection(agent);
  if (!release) {
    ctx.metrics.rateLimited('agent_connections');
    throw new RateLimitedError('Too many concurrent connections for this agent. Close idle connections and retry.', 1);
  }
  socket[HELD] = true;
  socket.once('close', release);
}

const HELD = Symbol('sluice.connectionHeld');

function note(p: Progress, report: GuardReport): void {
  for (const f of report.findings) {
    if (!p.findings.some((x) => x.rule === f.rule && x.kind === f.kind && x.location === f.location)) p.findings.push(f);
  }
  if (report.verdict === 'redact') p.redacted = true;
  if (report.skipped) p.record.guardSkipped = report.skipped;
}



function fail(p: Progress, error: unknown): void {
  const decision: AuditDecision = error instanceof SluiceError ? error.decision : 'error';
  p.record.decision = decision;
  if (error instanceof GuardBlockedError) {
    for (const f of error.findings) if (!p.findings.some((x) => x.rule === f.rule)) p.findings.push({ rule: f.rule, kind: f.kind, location: 'body', action: 'block' });
  }
  if (error instanceof SluiceError && (decision !== 'deny' || !p.record.reason)) p.record.reason = error.message;
  else if (!(error instanceof SluiceError)) p.record.reason = 'internal error';
}

function initialRecord(req: IncomingMessage, origin: RequestOrigin): ExchangeRecord {
  return {
    decision: 'allow',
    agent: origin.tunnel?.agent ?? origin.listenerAgent ?? 'unknown',
    method: req.method ?? '',
    host: origin.tunnel?.host ?? '',
    port: origin.tunnel?.port ?? 0,
    path: '',
    status: 0,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 0,
    credential: null,
    findings: [],
    reason: '',
    mode: origin.tunnel ? 'inspect' : 'http',
    listener: origin.listener,
  };
}

function finishRecord(ctx: ProxyContext, p: Progress, res: ServerResponse, started: number): void {
  const r = p.record;
  r.durationMs = performance.now() - started;
  for (const filter of p.filters) note(p, filter.report());
  r.findings = p.findings;
  if (r.status === 0) r.status = res.statusCode;
  if (r.decision === 'allow') {
    if (p.findings.some((f) => f.action === 'block')) r.decision = 'block';
    else if (p.redacted) r.decision = 'redact';
    if (!res.writableFinished) {
      r.decision = 'error';
      r.reason = r.reason ? `${r.reason} (connection closed before the response completed)` : 'connection closed before the response completed';
    }
  }
  writeAudit(ctx.log, r);
  ctx.metrics.recordExchange(r, p.timings);
  ctx.limiter.addBytes(r.agent, r.bytesIn + r.bytesOut);
  ctx.observe(r.agent, r.host, r.decision);
}

function pathWithQuery(t: RequestTarget): string {
  return t.query ? `${t.path}?${t.query}` : t.path;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function flattenPairs(pairs: ReadonlyArray<readonly [string, string]>): string[] {
  const out: string[] = [];
  for (const [k, v] of pairs) out.push(k, v);
  return out;
}
