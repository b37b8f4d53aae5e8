// Composition root: config → CA, policy store, secrets, guard, upstream → listeners; SIGTERM drain.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { DestinationStream } from 'pino';
import type { LoadedConfig } from './config/index.ts';
import { createLogger, writeAudit, type Logger } from './audit/index.ts';
import { createMetrics, type Metrics } from './audit/metrics.ts';
import { loadOrCreateCa, createLeafCache, type CertificateAuthority, type LeafCache } from './tls/index.ts';
import { PolicyStore, secretNames } from './policy/index.ts';
import { createSecretStore, type SecretStore } from './secrets/index.ts';
import { createGuard } from './guard/index.ts';
import { createUpstream, type Upstream } from './forward/upstream.ts';
import { handleExchange } from './forward/exchange.ts';
import { handleUpgrade } from './forward/upgrade.ts';
import type { RequestOrigin, DialTarget } from './forward/context.ts';
import { createAddressGuard } from './net/address-guard.ts';
import { createResolver, resolveChecked } from './net/resolve.ts';
import { bindListener, parseListen, isLoopbackHost, ListenError, createHttpServer, type BoundListener, type ListenerInfo } from './net/listen.ts';
import { handleConnect } from './net/connect.ts';
import type { NetContext } from './net/net-context.ts';
import { startAdminServer, type AdminServer } from './admin/server.ts';
import { createInflight } from './inflight.ts';
import { createLimiter, createAnomalyDetector } from './net/limits.ts';
import { SecretUnavailableError, UpstreamTimeoutError } from './errors.ts';

export interface StartOptions {
  /** Where JSON log lines go (stdout by default); tests pass a capturing stream. */
  readonly logDestination?: DestinationStream;
  /** Watch policy files for edits (default true). */
  readonly watchPolicies?: boolean;
}

export interface RunningSluice {
  readonly listeners: ReadonlyArray<{ tcp: string } | { unix: string }>;
  readonly admin: string | null;
  readonly ca: CertificateAuthority;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly policy: PolicyStore;
  readonly secrets: SecretStore;
  /** Stop accepting, let requests in flight finish (bounded by limits.drainTimeoutMs), close everything. */
  close(): Promise<void>;
}

export async function startSluice(config: LoadedConfig, options: StartOptions = {}): Promise<RunningSluice> {
  const log = createLogger(config.log.level, options.logDestination);
  checkListenSafety(config);
  const ca = await loadOrCreateCa({ stateDir: config.stateDir, certPath: config.ca.cert, keyPath: config.ca.key, create: true }, log);
  const metrics = createMetrics();
  const leaves = countMints(createLeafCache(ca, { max: config.limits.leafCacheSize }), metrics);
  metrics.setLeafCacheSize(() => leaves.size);
  const agents = config.agents.length > 0 ? config.agents.map((a) => a.id) : ['default'];
  const policy = PolicyStore.open(config.policies, { globalAllowPrivate: config.upstream.allowPrivate, agents }, log, { watch: options.watchPolicies !== false });
  const secrets = countFetches(createSecretStore(config.secrets, log), metrics);
  await primeSecrets(secrets, policy, log);
  policy.onReload((ok) => {
    metrics.policyReload(ok ? 'ok' : 'failed');
    if (ok) void primeSecrets(secrets, policy, log);
  });
  const guard = createGuard({
    knownSecrets: () => secrets.known(),
    credentials: () => policy.current().credentials,
    isHostAllowed: (host) => policy.current().isHostAllowed(host),
  });
  const upstream = createUpstream({
    trustCa: config.upstream.trustCa,
    connectTimeoutMs: config.limits.upstreamConnectTimeoutMs,
    headersTimeoutMs: config.limits.upstreamHeadersTimeoutMs,
    bodyTimeoutMs: config.limits.upstreamBodyTimeoutMs,
  });
  const bound: BoundListener[] = [];
  const addressGuard = createAddressGuard({ selfAddresses: () => selfAddresses(bound, admin) });
  const resolver = createResolver(config.upstream.resolve);
  const inflight = createInflight();
  const sockets = new Set<Duplex>();
  let draining = false;
  let admin: AdminServer | null = null;

  const limiter = createLimiter(definedOnly({
    requestsPerMinutePerAgent: config.limits.requestsPerMinutePerAgent,
    requestsPerMinutePerHost: config.limits.requestsPerMinutePerHost,
    bytesPerMinutePerAgent: config.limits.bytesPerMinutePerAgent,
    maxConnectionsPerAgent: config.limits.maxConnectionsPerAgent,
    maxTunnelsPerAgent: config.limits.maxTunnelsPerAgent,
  }));
  const anomalies = createAnomalyDetector({
    ...(config.limits.alertNewHostsPerMinute ? { newHostsPerMinute: config.limits.alertNewHostsPerMinute } : {}),
    ...(config.limits.alertDeniesPerMinute ? { deniesPerMinute: config.limits.alertDeniesPerMinute } : {}),
  });
  const observe = (agent: string, host: string, decision: string) => {
    const alert = anomalies.observe(agent, host, decision);
    if (!alert) return;
    metrics.alert(alert);
    log.warn({ alert, agent }, 'alert');
  };
  const innerServer = createHttpServer(config.limits);
  const ctx: NetContext = {
    instanceId: crypto.randomBytes(6).toString('hex'),
    config,
    log,
    policy: () => policy.current(),
    secrets,
    guard,
    upstream,
    metrics,
    dial: (target: DialTarget, allowPrivate) => withTimeout(resolveChecked(resolver, addressGuard, target, allowPrivate), config.limits.upstreamConnectTimeoutMs, target.host),
    inflight,
    limiter,
    observe,
    leaves,
    innerServer,
    tunnels: new WeakMap(),
  };

  const originOf = (socket: Duplex, listener: ListenerInfo | null): RequestOrigin =>
    ctx.tunnels.get(socket) ?? { listener: listener?.name ?? 'unknown', listenerAgent: listener?.agent ?? null, tunnel: null };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse, listener: ListenerInfo | null) => {
    if (draining) res.shouldKeepAlive = false;
    void handleExchange(ctx, req, res, originOf(req.socket, listener));
  };
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo | null) => {
    void handleUpgrade(ctx, req, socket, head, originOf(socket, listener));
  };
  const onClientError = (err: NodeJS.ErrnoException, socket: Duplex, listener: ListenerInfo | null) => {
    answerMalformed(log, err, socket, listener?.name ?? originOf(socket, null).listener);
  };
  innerServer.on('request', (req, res) => onRequest(req, res, null));
  innerServer.on('upgrade', (req, socket, head) => onUpgrade(req, socket, head, null));
  innerServer.on('clientError', (err, socket) => onClientError(err, socket, null));
  innerServer.on('connect', (_req, socket: Duplex) => socket.destroy());

  const handlers = {
    request: onRequest,
    upgrade: onUpgrade,
    clientError: onClientError,
    connect: (req: http.IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo) => void handleConnect(ctx, req, socket, head, listener),
    connection: (socket: net.Socket) => {
      sockets.add(socket);
      metrics.connectionOpened();
      socket.once('close', () => {
        sockets.delete(socket);
        metrics.connectionClosed();
      });
    },
  };
  try {
    for (const entry of config.listen) bound.push(await bindListener(parseListen(entry), config.limits, handlers));
    if (config.admin) {
      admin = await startAdminServer({
        listen: config.admin,
        metrics,
        readiness: [
          { name: 'policy', check: async () => (policy.status().ok ? { ok: true } : { ok: false, detail: `${policy.status().problems.length} problem(s) in the last policy edit; the last good policy is serving` }) },
          { name: 'ca', check: async () => ({ ok: ca.certPem.length > 0 }) },
          { name: 'secrets', check: async () => { const h = await secrets.health(); const bad = h.filter((x) => !x.ok).map((x) => x.kind); return bad.length ? { ok: false, detail: `unreachable: ${bad.join(', ')}` } : { ok: true }; } },
        ],
      });
    }
  } catch (e) {
    await Promise.all(bound.map((b) => new Promise((r) => b.server.close(r))));
    policy.close();
    await secrets.close();
    throw e;
  }
  const listeners = bound.map((b) => b.address);
  log.info({ listeners, admin: admin?.address ?? null, ca: ca.certPath }, 'listening');

  let closing: Promise<void> | null = null;
  return {
    listeners,
    admin: admin?.address ?? null,
    ca,
    log,
    metrics,
    policy,
    secrets,
    close() {
      closing ??= (async () => {
        draining = true;
        const deadline = Date.now() + config.limits.drainTimeoutMs;
        // Stop accepting only. http.Server#close would also close "idle" connections at once, dropping
        // requests whose bytes are already in the socket buffer but not parsed yet (Node >= 19).
        for (const b of bound) net.Server.prototype.close.call(b.server);
        // Let requests already on the wire be parsed; each is served with Connection: close.
        await delay(DRAIN_PARSE_GRACE_MS);
        await inflight.idle(Math.max(0, deadline - Date.now()));
        for (const b of bound) b.server.closeIdleConnections();
        innerServer.closeIdleConnections();
        await delay(DRAIN_PARSE_GRACE_MS);
        await inflight.idle(Math.max(0, deadline - Date.now()));
        for (const b of bound) b.server.close(() => undefined);
        for (const s of sockets) s.destroy();
        await admin?.close();
        policy.close();
        await secrets.close();
        await upstream.close();
        log.info({ inflight: inflight.count }, 'stopped');
        log.flush();
      })();
      return closing;
    },
  };
}

const DRAIN_PARSE_GRACE_MS = 100;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Report certificate mints to the metrics as they happen (the cache counts them; the delta is new work). */
function countMints(cache: LeafCache, metrics: Metrics): LeafCache {
  let reported = 0;
  return {
    get size() {
      return cache.size;
    },
    get mints() {
      return cache.mints;
    },
    async contextFor(host) {
      const context = await cache.contextFor(host);
      for (; reported < cache.mints; reported++) metrics.leafMinted();
      return context;
    },
  };
}

/** Count secret fetches by result for /metrics; the store itself stays free of metrics. */
function countFetches(store: SecretStore, metrics: Metrics): SecretStore {
  return Object.assign(Object.create(store) as SecretStore, {
    async resolve(name: string) {
      try {
        const v = await store.resolve(name);
        metrics.secretFetch('store', 'ok');
        return v;
      } catch (e) {
        metrics.secretFetch('store', e instanceof SecretUnavailableError && !e.cause ? 'missing' : 'error');
        throw e;
      }
    },
  });
}

function definedOnly<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}

/** dns.lookup cannot be cancelled; a stuck resolver must still give the agent a 504, not a hang. */
function withTimeout<T>(p: Promise<T>, ms: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamTimeoutError(`Resolving ${host} did not finish in time.`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function primeSecrets(secrets: SecretStore, policy: PolicyStore, log: Logger): Promise<void> {
  const { missing } = await secrets.prime(secretNames(policy.current()));
  if (missing.length > 0) log.warn({ missing }, 'secrets referenced by the policy are not available; requests that need them get 503');
}

/** A TCP listener off loopback would hand the proxy to the network: only with agent tokens (THREATS 2.12). */
function checkListenSafety(config: LoadedConfig): void {
  for (const entry of config.listen) {
    const spec = parseListen(entry);
    if (spec.kind === 'tcp' && !isLoopbackHost(spec.host) && config.agents.length === 0) {
      throw new ListenError(`listen "${entry}" is not a loopback address; configure agents (tokens) before exposing Sluice beyond this host`);
    }
  }
}

function selfAddresses(bound: readonly BoundListener[], admin: AdminServer | null): { address: string; port?: number }[] {
  const out: { address: string; port?: number }[] = [];
  for (const b of bound) {
    const a = b.server.address();
    if (a && typeof a === 'object') {
      // A wildcard listener is reported as such: the address guard treats it as self on every address.
      out.push({ address: a.address, port: a.port });
    }
  }
  if (admin) {
    const m = /^(.*):(\d+)$/.exec(admin.address);
    if (m) out.push({ address: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
  }
  return out;
}

/** Requests llhttp refused (bad framing, h2 preface, oversized headers): a JSON answer, an audit line, close. */
function answerMalformed(log: Logger, err: NodeJS.ErrnoException, socket: Duplex, listener: string): void {
  const code = err.code ?? 'ERR';
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  writeAudit(log, {
    decision: 'error', agent: 'unknown', method: '', host: '', port: 0, path: '', status, bytesIn: 0, bytesOut: 0,
    durationMs: 0, credential: null, findings: [], reason: `malformed request refused (${code})`, listener,
  });
  if (socket.writable) {
    const body = JSON.stringify({ error: 'sluice_bad_request', message: 'Sluice could not parse this request as HTTP/1.1 and closed the connection.' });
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
