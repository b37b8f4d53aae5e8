// CONNECT: parse the authority strictly, identify the agent, decide on (host, port), then either a blind
// tunnel or TLS interception. A denied CONNECT gets a 403 and the connection closes; nothing is minted for it.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { PolicyDeniedError, RateLimitedError, SluiceError, errorResponse } from '../errors.ts';
import { writeAudit, type ExchangeRecord } from '../audit/index.ts';
import { parseConnectAuthority } from './authority.ts';
import { identifyAgent } from './identify.ts';
import { openBlindTunnel } from './tunnel.ts';
import { denialMessage } from '../policy/index.ts';
import { interceptTunnel } from './intercept.ts';
import type { NetContext } from './net-context.ts';

export async function handleConnect(ctx: NetContext, req: IncomingMessage, socket: Duplex, head: Buffer, listener: { name: string; agent: string | null }): Promise<void> {
  const record: ExchangeRecord = {
    decision: 'deny', agent: listener.agent ?? 'unknown', method: 'CONNECT', host: '', port: 0, path: '', status: 0,
    bytesIn: 0, bytesOut: 0, durationMs: 0, credential: null, findings: [], reason: '', listener: listener.name,
  };
  const started = performance.now();
  const finish = () => {
    record.durationMs = performance.now() - started;
    writeAudit(ctx.log, record);
    ctx.metrics.recordExchange(record);
    ctx.observe(record.agent, record.host, record.decision);
  };
  socket.on('error', () => socket.destroy());
  try {
    const authority = parseConnectAuthority(req.url ?? '');
    record.host = authority.host;
    record.port = authority.port;
    record.path = '';
    const agent = identifyAgent(header(req, 'proxy-authorization'), listener.agent, ctx.config.agents);
    record.agent = agent;
    const decision = ctx.policy().decideHost(agent, authority.host, authority.port, 'https');
    record.reason = decision.reason;
    record.rule = decision.rule ? `${decision.rule.file}:${decision.rule.line}` : null;
    if (decision.verdict === 'deny') throw new PolicyDeniedError(denialMessage(decision));
    const release = ctx.limiter.acquireTunnel(agent);
    if (!release) {
      ctx.metrics.rateLimited('agent_tunnels');
      throw new RateLimitedError('Too many open tunnels for this agent. Close idle connections and retry.', 1);
    }
    socket.once('close', release);
    if (decision.mode === 'tunnel') {
      record.decision = 'tunnel';
      record.mode = 'tunnel';
      await openBlindTunnel(ctx, { socket, head, authority, decision, record, finish });
    } else {
      record.decision = 'allow';
      record.mode = 'inspect';
      await interceptTunnel(ctx, { socket, head, authority, agent, record, finish, listener, allowPrivate: decision.allowPrivate });
    }
  } catch (error) {
    refuse(socket, record, error);
    finish();
  }
}

/** Answer a CONNECT that will not be served: status line, JSON body, close (THREATS 2.3). */
export function refuse(socket: Duplex, record: ExchangeRecord, error: unknown): void {
  const answer = errorResponse(error);
  record.status = answer.status;
  record.decision = error instanceof SluiceError ? error.decision : 'error';
  if (error instanceof SluiceError) record.reason = error.message;
  else record.reason = 'internal error';
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = [`HTTP/1.1 ${answer.status} ${reasonPhrase(answer.status)}`, ...Object.entries(answer.headers).map(([k, v]) => `${k}: ${v}`), 'connection: close'];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${answer.body}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

function reasonPhrase(status: number): string {
  const phrases: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 407: 'Proxy Authentication Required', 429: 'Too Many Requests', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
  return phrases[status] ?? 'Error';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
