// WebSocket upgrades (RFC 6455) through http-proxy-3, for hosts whose policy entry allows them. The agent's
// credentials are stripped and the host's injected exactly as for a plain request; the upstream is dialled at the
// checked address with TLS verified against the canonical name; frames are relayed only after the upstream
// answers 101 (http-proxy-3 relays any other answer and closes), so an unrequested switch cannot smuggle bytes.
import { http } from '../net/node-http.ts';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { createProxyServer } from 'http-proxy-3';
import { BadRequestError, PolicyDeniedError, SluiceError, errorResponse } from '../errors.ts';
import { writeAudit, type ExchangeRecord } from '../audit/index.ts';
import { identifyAgent } from '../net/identify.ts';
import { denialMessage } from '../policy/index.ts';
import { stripAgentCredentials, injectCredential, replacePlaceholders } from './credentials.ts';
import { guardBlockedError } from '../guard/index.ts';
import { endToEndRequestHeaders } from './headers.ts';
import { requestTarget, type RequestTarget } from './target.ts';
import type { ProxyContext, RequestOrigin } from './context.ts';

export async function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer, origin: RequestOrigin): Promise<void> {
  const started = performance.now();
  const done = ctx.inflight.add();
  const record: ExchangeRecord = {
    decision: 'allow', agent: origin.tunnel?.agent ?? 'unknown', method: req.method ?? '', host: '', port: 0, path: '', status: 101,
    bytesIn: 0, bytesOut: 0, durationMs: 0, credential: null, findings: [], reason: 'websocket', mode: origin.tunnel ? 'inspect' : 'http', listener: origin.listener,
  };
  socket.once('close', () => {
    record.durationMs = performance.now() - started;
    writeAudit(ctx.log, record);
    ctx.metrics.recordExchange(record);
    done();
  });
  socket.on('error', () => socket.destroy());
  try {
    const plan = await prepareUpgrade(ctx, req, origin, record);
    relayUpgrade(ctx, req, socket, head, plan, record);
  } catch (error) {
    refuseUpgrade(socket, record, error);
  }
}

interface UpgradePlan {
  readonly target: RequestTarget;
  readonly dialled: { address: string; family: 4 | 6 };
  readonly headers: [string, string][];
  readonly path: string;
}

/** Decide, strip, check and inject exactly as for a plain request; nothing is dialled yet. */
async function prepareUpgrade(ctx: ProxyContext, req: IncomingMessage, origin: RequestOrigin, record: ExchangeRecord): Promise<UpgradePlan> {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || req.method !== 'GET') {
    throw new BadRequestError('Only WebSocket upgrades (GET with Upgrade: websocket) are relayed.');
  }
  const target = requestTarget(req, origin, ctx.config.limits.maxUrlLength);
  const pathAndQuery = target.path + (target.query ? `?${target.query}` : '');
  Object.assign(record, { host: target.authority.host, port: target.authority.port, path: pathAndQuery });
  const agent = origin.tunnel?.agent ?? identifyAgent(req.headers['proxy-authorization'], origin.listenerAgent, ctx.config.agents);
  record.agent = agent;
  const decision = ctx.policy().decide({ agent, host: target.authority.host, port: target.authority.port, method: 'GET', path: target.path, scheme: target.scheme });
  record.reason = decision.reason;
  if (decision.verdict === 'deny') throw new PolicyDeniedError(denialMessage(decision));
  if (!decision.websocket) throw new PolicyDeniedError(`WebSocket connections to ${target.authority.host} are not allowed by policy (the entry needs websocket: true).`);
  // The upgrade request's URL and headers get the same head checks as any request (known secrets, placeholders
  // of other hosts, secret patterns in the query).
  const stripped = stripAgentCredentials(endToEndRequestHeaders(req.rawHeaders), decision.credentialHeaders).headers;
  const ex = { agent, host: target.authority.host, port: target.authority.port, method: 'GET', decision };
  const checked = ctx.guard.checkRequestHead(ex, { target: pathAndQuery, headers: stripped });
  record.findings = [...checked.report.findings];
  if (checked.report.verdict === 'block') throw guardBlockedError(checked.report);
  const secret = decision.credential ? await ctx.secrets.resolve(decision.credential.secret) : null;
  record.credential = decision.credential?.secret ?? null;
  const dialled = await ctx.dial(target.authority, decision.allowPrivate);
  let head = { target: checked.head.target, headers: checked.head.headers.map(([k, v]): [string, string] => [k, v]) };
  if (secret && decision.credential) {
    head = replacePlaceholders(head, decision.credential, secret);
    head = injectCredential(head, decision.credential, secret);
  }
  return { target, dialled, headers: head.headers, path: head.target };
}

/** Hand the cleaned request to http-proxy-3, dialling the checked address with TLS verified against the name. */
function relayUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer, plan: UpgradePlan, record: ExchangeRecord): void {
  const { target, dialled } = plan;
  // http-proxy-3 copies req.headers wholesale; replace them with the cleaned set (plus the upgrade pair).
  const cleaned: Record<string, string> = {};
  for (const [k, v] of plan.headers) cleaned[k.toLowerCase()] = v;
  cleaned['connection'] = 'Upgrade';
  cleaned['upgrade'] = 'websocket';
  cleaned['host'] = target.authority.port === (target.scheme === 'https' ? 443 : 80) ? target.authority.host : `${target.authority.host}:${target.authority.port}`;
  req.headers = cleaned;
  req.url = plan.path;
  // Pin the checked address. Node's happy-eyeballs connect asks for `all: true` and expects an array.
  const pinned = (_h: string, o: { all?: boolean }, cb: (e: Error | null, a: unknown, f?: number) => void) =>
    o?.all ? cb(null, [{ address: dialled.address, family: dialled.family }]) : cb(null, dialled.address, dialled.family);
  const agentOptions = { keepAlive: false, lookup: pinned as never };
  const upstreamAgent =
    target.scheme === 'https'
      ? new https.Agent({ ...agentOptions, ca: [...ctx.upstream.ca], servername: target.authority.kind === 'name' ? target.authority.host : '' })
      : new http.Agent(agentOptions);
  const proxy = createProxyServer({
    target: { protocol: `${target.scheme}:`, host: target.authority.host, hostname: target.authority.host, port: target.authority.port },
    agent: upstreamAgent,
    secure: true,
    ws: true,
    prependPath: false,
  } as never);
  proxy.on('error', (e: Error) => {
    record.reason = `WebSocket upstream failed (${(e as NodeJS.ErrnoException).code ?? e.message})`;
    record.decision = 'error';
    record.status = 502;
    socket.destroy();
  });
  proxy.ws(req, socket as never, head);
}

function refuseUpgrade(socket: Duplex, record: ExchangeRecord, error: unknown): void {
  const answer = errorResponse(error);
  record.decision = error instanceof SluiceError ? error.decision : 'error';
  record.status = answer.status;
  if (error instanceof SluiceError) record.reason = error.message;
  const lines = [`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? ''}`, ...Object.entries(answer.headers).map(([k, v]) => `${k}: ${v}`), 'connection: close'];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${answer.body}`);
}
