// Composition root: config → CA, policy store, secrets, guard, upstream → listeners; SIGTERM drain.
import crypto from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { DestinationStream } from 'pino';
import type { LoadedConfig } from './config/index.ts';
import { createLogger, type Logger } from './audit/index.ts';
import type { Metrics } from './audit/metrics.ts';
import type { CertificateAuthority } from './tls/index.ts';
import type { PolicyStore } from './policy/index.ts';
import type { SecretStore } from './secrets/index.ts';
import type { DialTarget } from './forward/context.ts';
import { createAddressGuard } from './net/address-guard.ts';
import { createResolver, dialChecked } from './net/resolve.ts';
import { bindListener, parseListen, isLoopbackHost, ListenError, createHttpServer, type BoundListener } from './net/listen.ts';
import type { NetContext } from './net/net-context.ts';
import { startAdminServer, type AdminServer } from './admin/server.ts';
import { createInflight, type Inflight } from './inflight.ts';
import { createComponents, closeComponents, type Components } from './server/components.ts';
import { createHandlers, type ConnectionState } from './server/handlers.ts';
import { startBufferReclaim } from './server/buffer-reclaim.ts';

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
  const parts = await createComponents(config, log, options.watchPolicies !== false);
  const bound: BoundListener[] = [];
  const adminRef: { server: AdminServer | null } = { server: null };
  const inflight = createInflight();
  // Computed once the listeners are bound (ports resolved from 0): the address guard asks on every dial.
  let self: { address: string; port?: number }[] = [];
  const ctx = createNetContext(config, log, parts, inflight, () => self);
  const state: ConnectionState = { sockets: new Set<Duplex>(), draining: false };
  const handlers = createHandlers(ctx, state);
  try {
    for (const entry of config.listen) {
      bound.push(await bindListener(parseListen(entry), config.limits, handlers));
      self = selfAddresses(bound, null);
    }
    adminRef.server = config.admin ? await startAdmin(config.admin, parts) : null;
    self = selfAddresses(bound, adminRef.server);
  } catch (e) {
    await Promise.all(bound.map((b) => new Promise((r) => b.server.close(r))));
    await closeComponents(parts);
    throw e;
  }
  const listeners = bound.map((b) => b.address);
  log.info({ listeners, admin: adminRef.server?.address ?? null, ca: parts.ca.certPath }, 'listening');
  // Scripts wait for this line; it goes out now, not with the next batch (LOG_FLUSH_MS).
  log.flush();
  const reclaim = startBufferReclaim();
  let closing: Promise<void> | null = null;
  return {
    listeners,
    admin: adminRef.server?.address ?? null,
    ca: parts.ca,
    log,
    metrics: parts.metrics,
    policy: parts.policy,
    secrets: parts.secrets,
    close() {
      reclaim.stop();
      closing ??= drainAndClose({ config, log, parts, bound, ctx, state, inflight, admin: adminRef.server });
      return closing;
    },
  };
}

function createNetContext(config: LoadedConfig, log: Logger, parts: Components, inflight: Inflight, self: () => { address: string; port?: number }[]): NetContext {
  const addressGuard = createAddressGuard({ selfAddresses: self });
  const resolver = createResolver(config.upstream.resolve);
  return {
    instanceId: crypto.randomBytes(6).toString('hex'),
    config,
    log,
    policy: () => parts.policy.current(),
    secrets: parts.secrets,
    guard: parts.guard,
    upstream: parts.upstream,
    metrics: parts.metrics,
    dial: (target: DialTarget, allowPrivate) => dialChecked(resolver, addressGuard, target, allowPrivate, config.limits.upstreamConnectTimeoutMs),
    inflight,
    limiter: parts.limiter,
    observe: parts.observe,
    leaves: parts.leaves,
    innerServer: createHttpServer(config.limits),
    tunnels: new WeakMap(),
  };
}

function startAdmin(listen: string, parts: Components): Promise<AdminServer> {
  const { policy, ca, secrets } = parts;
  return startAdminServer({
    listen,
    metrics: parts.metrics,
    readiness: [
      {
        name: 'policy',
        check: async () =>
          policy.status().ok ? { ok: true } : { ok: false, detail: `${policy.status().problems.length} problem(s) in the last policy edit; the last good policy is serving` },
      },
      { name: 'ca', check: async () => ({ ok: ca.certPem.length > 0 }) },
      {
        name: 'secrets',
        check: async () => {
          const bad = (await secrets.health()).filter((x) => !x.ok).map((x) => x.kind);
          return bad.length ? { ok: false, detail: `unreachable: ${bad.join(', ')}` } : { ok: true };
        },
      },
    ],
  });
}

interface DrainInput {
  readonly config: LoadedConfig;
  readonly log: Logger;
  readonly parts: Components;
  readonly bound: readonly BoundListener[];
  readonly ctx: NetContext;
  readonly state: ConnectionState;
  readonly inflight: Inflight;
  readonly admin: AdminServer | null;
}

const DRAIN_PARSE_GRACE_MS = 100;

async function drainAndClose(d: DrainInput): Promise<void> {
  d.state.draining = true;
  const deadline = Date.now() + d.config.limits.drainTimeoutMs;
  // Stop accepting only. http.Server#close would also close "idle" connections at once, dropping requests whose
  // bytes are already in the socket buffer but not parsed yet (Node >= 19).
  for (const b of d.bound) net.Server.prototype.close.call(b.server);
  // Let requests already on the wire be parsed; each is served with Connection: close.
  await delay(DRAIN_PARSE_GRACE_MS);
  await d.inflight.idle(Math.max(0, deadline - Date.now()));
  for (const b of d.bound) b.server.closeIdleConnections();
  d.ctx.innerServer.closeIdleConnections();
  await delay(DRAIN_PARSE_GRACE_MS);
  await d.inflight.idle(Math.max(0, deadline - Date.now()));
  for (const b of d.bound) b.server.close(() => undefined);
  for (const s of d.state.sockets) s.destroy();
  await d.admin?.close();
  await closeComponents(d.parts);
  d.log.info({ inflight: d.inflight.count }, 'stopped');
  d.log.flush();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
    // A wildcard listener is reported as such: the address guard treats it as self on every address.
    if (a && typeof a === 'object') out.push({ address: a.address, port: a.port });
  }
  if (admin) {
    const m = /^(.*):(\d+)$/.exec(admin.address);
    if (m) out.push({ address: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
  }
  return out;
}
